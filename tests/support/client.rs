//! A client that keeps the session cookie as a browser does.

use axum::Router;

use crate::app::get_with;
use crate::response::TestResponse;
use crate::wire::NAME;

/// A client that keeps the session cookie's value as a browser does: replaced by every new
/// value, dropped when the server expires it.
#[derive(Default)]
pub struct Browser {
    /// The session cookie's value it holds.
    pub cookie: Option<String>,
}

impl Browser {
    /// `GET path` on `app` with the cookie it holds, keeping what the response sets.
    pub async fn get(&mut self, app: &Router, path: &str) -> TestResponse {
        let response = get_with(app, path, self.cookie.as_deref()).await;
        if let Some(cookie) = response.issued() {
            self.cookie = Some(cookie);
        } else if response.expires_cookie(NAME) {
            self.cookie = None;
        }
        response
    }

    /// The session cookie's value it holds.
    ///
    /// # Panics
    ///
    /// When it holds none.
    pub fn cookie(&self) -> String {
        self.cookie
            .clone()
            .expect("the client holds a session cookie")
    }
}
