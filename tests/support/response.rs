//! A response read whole, with helpers for the cookies it sets.

use axum::body::Body;
use http::{HeaderMap, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;

use crate::wire::NAME;

/// A response, read whole.
#[derive(Debug)]
pub struct TestResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, as text.
    pub body: String,
}

impl TestResponse {
    /// Reads a response whole.
    pub async fn read(response: http::Response<Body>) -> Self {
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        Self {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8(bytes.to_vec()).expect("a UTF-8 body"),
        }
    }

    /// The body as JSON.
    ///
    /// # Panics
    ///
    /// When the body is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    /// Every `Set-Cookie` header value.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    /// The `Set-Cookie` values for cookie `name`.
    pub fn set_cookies_named(&self, name: &str) -> Vec<String> {
        let prefix = format!("{name}=");
        self.set_cookies()
            .into_iter()
            .filter(|c| c.starts_with(&prefix))
            .collect()
    }

    /// The single `Set-Cookie` for `session`, if any (panics if there are several).
    pub fn session_cookie(&self) -> Option<String> {
        self.cookie_named(NAME)
    }

    /// The single `Set-Cookie` for `name`, if any (panics if there are several).
    pub fn cookie_named(&self, name: &str) -> Option<String> {
        let mut found = self.set_cookies_named(name);
        assert!(
            found.len() <= 1,
            "more than one Set-Cookie for {name}: {found:?}"
        );
        found.pop()
    }

    /// The `name=value` pair of the session cookie, ready to replay as a `Cookie` header.
    pub fn replay(&self) -> String {
        self.replay_named(NAME)
    }

    /// The `name=value` pair of cookie `name`, ready to replay as a `Cookie` header.
    pub fn replay_named(&self, name: &str) -> String {
        let set = self
            .cookie_named(name)
            .unwrap_or_else(|| panic!("no Set-Cookie for {name}: {:?}", self.headers));
        set.split(';').next().unwrap().to_owned()
    }

    /// The session cookie's value (what follows `session=`).
    pub fn session_value(&self) -> String {
        self.replay().split_once('=').unwrap().1.to_owned()
    }

    /// The new value of the session cookie, if the response set one (an expiry is not one).
    pub fn issued(&self) -> Option<String> {
        let set = self.session_cookie()?;
        let value = set.split(';').next()?.split_once('=')?.1;
        (!value.is_empty()).then(|| value.to_owned())
    }

    /// Whether the response expires cookie `name`.
    pub fn expires_cookie(&self, name: &str) -> bool {
        self.cookie_named(name).is_some_and(|c| {
            c.starts_with(&format!("{name}=;")) && c.contains("Max-Age=0") && c.contains("1970")
        })
    }
}
