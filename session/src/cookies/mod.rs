//! The session cookie: its attributes, the name it is sent under, and the requests it reaches.
//! On the wire, [`parse`] finds it in `Cookie` headers and [`set_cookie`] writes `Set-Cookie`.

mod parse;
mod set_cookie;

use cookie::SameSite;

pub(crate) use parse::values;

/// What a response does with the session cookie.
#[derive(Clone, Debug)]
pub(crate) enum CookieAction {
    /// Send this `Set-Cookie` value.
    Set(String),
    /// Expire the cookie.
    Expire,
}

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
    /// Whether the name gets the `__Host-` prefix where the attributes allow it.
    pub(crate) host_prefix: bool,
    /// Whether `Secure` is left off on requests to a loopback host (local development).
    pub(crate) http_on_localhost: bool,
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
            host_prefix: true,
            http_on_localhost: false,
        }
    }
}

/// The prefix browsers accept only on a cookie that is `Secure`, has `Path=/` and no `Domain`:
/// no other site, not even a sibling subdomain, can set a cookie of that name.
pub(crate) const HOST_PREFIX: &str = "__Host-";

impl CookieConfig {
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

    /// The name the cookie is sent under: `name` with the `__Host-` prefix when it is wanted and
    /// the attributes allow it, unless `name` already has a prefix browsers enforce.
    pub(crate) fn effective_name(&self, name: &str) -> Option<String> {
        let prefixed = |prefix: &str| {
            name.get(..prefix.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
        };
        let allowed =
            self.secure && !self.http_on_localhost && self.path == "/" && self.domain.is_none();
        (self.host_prefix && allowed && !prefixed(HOST_PREFIX) && !prefixed("__Secure-"))
            .then(|| format!("{HOST_PREFIX}{name}"))
    }
}

/// Whether `name` is an RFC 6265 cookie name (an RFC 7230 token).
pub(crate) fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_prefix_goes_where_browsers_accept_it() {
        let default = CookieConfig::default();
        assert_eq!(
            default.effective_name("session").as_deref(),
            Some("__Host-session")
        );
        assert_eq!(
            default.effective_name("__Host-id"),
            None,
            "already prefixed"
        );
        assert_eq!(
            default.effective_name("__secure-id"),
            None,
            "another prefix"
        );
        let refused = [
            CookieConfig {
                secure: false,
                ..CookieConfig::default()
            },
            CookieConfig {
                path: "/app".into(),
                ..CookieConfig::default()
            },
            CookieConfig {
                domain: Some("example.com".into()),
                ..CookieConfig::default()
            },
            CookieConfig {
                host_prefix: false,
                ..CookieConfig::default()
            },
            CookieConfig {
                http_on_localhost: true,
                ..CookieConfig::default()
            },
        ];
        for config in refused {
            assert_eq!(config.effective_name("session"), None, "{config:?}");
        }
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
