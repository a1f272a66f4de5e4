//! The session cookie on the wire: finding it in `Cookie` headers, and writing `Set-Cookie`.

use cookie::{Cookie, SameSite};
use http::HeaderMap;
use http::header::COOKIE;
use time::{Duration, OffsetDateTime};

use crate::Error;

/// The largest `Set-Cookie` header value browsers are guaranteed to keep (RFC 6265 §6.1).
pub(crate) const MAX_SET_COOKIE_LEN: usize = 4096;

/// How many cookies named like the session cookie are tried (a browser may send one per
/// matching path); the rest are ignored rather than each costing a MAC computation.
const MAX_CANDIDATES: usize = 4;

/// The attributes of the session cookie.
#[derive(Clone, Debug)]
pub(crate) struct CookieConfig {
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: SameSite,
    pub(crate) path: String,
    pub(crate) domain: Option<String>,
    /// Whether the cookie carries `Max-Age`/`Expires` (otherwise it is a browser-session cookie).
    pub(crate) persistent: bool,
}

impl Default for CookieConfig {
    fn default() -> Self {
        Self {
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            path: "/".to_owned(),
            domain: None,
            persistent: true,
        }
    }
}

impl CookieConfig {
    /// A `Set-Cookie` value carrying `value` until `expires`, measured against the limit.
    pub(crate) fn set(
        &self,
        name: &str,
        value: String,
        now: OffsetDateTime,
        expires: OffsetDateTime,
    ) -> Result<String, Error> {
        let mut cookie = self.base(name, value);
        if self.persistent {
            let remaining = (expires - now).max(Duration::ZERO);
            // Round up: a cookie must not die in the browser before it dies on the server.
            let seconds = remaining.whole_seconds() + i64::from(remaining.subsec_nanoseconds() > 0);
            cookie.set_max_age(Duration::seconds(seconds));
            cookie.set_expires(expires);
        }
        let header = cookie.to_string();
        if header.len() > MAX_SET_COOKIE_LEN {
            return Err(Error::CookieTooLarge {
                size: header.len(),
                limit: MAX_SET_COOKIE_LEN,
            });
        }
        Ok(header)
    }

    /// A `Set-Cookie` value that deletes the cookie: same name, path and domain, in the past.
    pub(crate) fn expire(&self, name: &str) -> String {
        let mut cookie = self.base(name, String::new());
        cookie.set_max_age(Duration::ZERO);
        cookie.set_expires(OffsetDateTime::UNIX_EPOCH);
        cookie.to_string()
    }

    fn base(&self, name: &str, value: String) -> Cookie<'static> {
        let mut cookie = Cookie::new(name.to_owned(), value);
        cookie.set_path(self.path.clone());
        if let Some(domain) = &self.domain {
            cookie.set_domain(domain.clone());
        }
        cookie.set_secure(self.secure);
        cookie.set_http_only(self.http_only);
        cookie.set_same_site(self.same_site);
        cookie
    }

    /// Whether a request for `path` is inside the cookie's path (RFC 6265 §5.1.4), i.e. whether
    /// the browser would send the cookie with it.
    pub(crate) fn covers(&self, path: &str) -> bool {
        let scope = self.path.as_str();
        scope == "/"
            || path == scope
            || path
                .strip_prefix(scope)
                .is_some_and(|rest| scope.ends_with('/') || rest.starts_with('/'))
    }
}

/// Whether `name` is an RFC 6265 cookie name (an RFC 7230 token).
pub(crate) fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The values of the cookies called `name` in the request, in the order sent, at most a few.
pub(crate) fn values<'h>(headers: &'h HeaderMap, name: &'h str) -> impl Iterator<Item = &'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|header| header.as_bytes().split(|&b| b == b';'))
        .filter_map(move |pair| {
            let pair = pair.trim_ascii();
            let eq = pair.iter().position(|&b| b == b'=')?;
            let (key, value) = (&pair[..eq], &pair[eq + 1..]);
            (key.trim_ascii() == name.as_bytes())
                .then(|| std::str::from_utf8(value.trim_ascii()).ok())
                .flatten()
        })
        .take(MAX_CANDIDATES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn finds_the_named_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; session=abc ; b=2"));
        headers.append(COOKIE, HeaderValue::from_static("session=def"));
        let found: Vec<_> = values(&headers, "session").collect();
        assert_eq!(found, ["abc", "def"]);
        assert_eq!(values(&headers, "sess").count(), 0);
    }

    #[test]
    fn invalid_utf8_and_garbage_are_skipped() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_bytes(b"session=\xff\xfe; ;;=; x").unwrap(),
        );
        assert_eq!(values(&headers, "session").count(), 0);
    }

    #[test]
    fn candidates_are_capped() {
        let mut headers = HeaderMap::new();
        let many = vec!["session=x"; 1000].join("; ");
        headers.append(COOKIE, HeaderValue::from_str(&many).unwrap());
        assert_eq!(values(&headers, "session").count(), MAX_CANDIDATES);
    }

    #[test]
    fn names_must_be_tokens() {
        assert!(is_valid_name("session"));
        assert!(is_valid_name("__Host-id"));
        assert!(!is_valid_name("koa:sess"));
        assert!(!is_valid_name("a b"));
        assert!(!is_valid_name(""));
    }

    #[test]
    fn path_matching() {
        let config = CookieConfig {
            path: "/foo/bar".into(),
            ..CookieConfig::default()
        };
        assert!(config.covers("/foo/bar"));
        assert!(config.covers("/foo/bar/baz"));
        assert!(!config.covers("/foo/barn"));
        assert!(!config.covers("/"));
        assert!(CookieConfig::default().covers("/anything"));
    }
}
