//! How the session travels, as the builder sets it: the cookie's name and attributes, and the
//! header that may carry it beside the cookie; and the settings that would make browsers drop
//! or misplace the cookie, or clash with another header ([`SessionLayer::validate`] reports
//! those).

use cookie::SameSite;
use http::HeaderName;
use http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};

use super::SessionLayer;
use crate::config::Config;
use crate::cookies::is_valid_name;
use crate::plain_http::TAKES_EFFECT;

impl SessionLayer {
    /// The cookie's name (default `session`, sent as `__Host-session`: see
    /// [`with_host_prefix`](Self::with_host_prefix)). The name is bound into the cookie's MAC.
    ///
    /// It must be an RFC 6265 cookie name (letters, digits and ``!#$%&'*+-.^_`|~``);
    /// [`validate`](Self::validate) reports one that is not.
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::{Key, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate()).with_cookie_name("__Host-session");
    /// assert!(layer.validate().is_ok());
    ///
    /// let layer = SessionLayer::new(Key::generate()).with_cookie_name("koa:sess");
    /// assert!(layer.validate().is_err());
    /// ```
    pub fn with_cookie_name(self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.edit(|c| c.name = name)
    }

    /// Whether the cookie's name gets the `__Host-` prefix (default `true`) whenever the
    /// configuration allows it: `Secure`, `Path=/` and no `Domain`, as by default. Browsers then
    /// refuse a cookie of that name from any other site, sibling subdomains included, so that
    /// nobody can plant a session cookie beside the genuine one (a login CSRF, or a victim kept
    /// logged out). A name that already starts with `__Host-` or `__Secure-` is left alone.
    ///
    /// Turn it off to keep a cookie name that existing clients hold (changing the name logs
    /// everyone out once), or for a cookie shared with other subdomains (`with_domain`, where the
    /// prefix does not apply anyway).
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::{Key, SessionLayer};
    /// // Sent as `__Host-session` (the default)...
    /// let layer = SessionLayer::new(Key::generate());
    /// // ...or as `session`, as before.
    /// let layer = SessionLayer::new(Key::generate()).with_host_prefix(false);
    /// # let _ = layer;
    /// ```
    pub fn with_host_prefix(self, host_prefix: bool) -> Self {
        self.edit(|c| c.cookie.host_prefix = host_prefix)
    }

    /// Whether the cookie carries `Secure` (default `true`): browsers then send it only over
    /// HTTPS. Turn it off only for a deployment served over plain HTTP: Safari, and clients such
    /// as Python's cookie jar, do not send a `Secure` cookie to `http://localhost` either.
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::{Key, SessionLayer};
    /// let plain_http = std::env::var("PLAIN_HTTP").is_ok();
    /// let layer = SessionLayer::new(Key::generate()).with_secure(!plain_http);
    /// # let _ = layer;
    /// ```
    pub fn with_secure(self, secure: bool) -> Self {
        self.edit(|c| c.cookie.secure = secure)
    }

    /// Local development over plain `http://` (default `false`), in debug builds only: a
    /// request whose `Host` is a loopback host (`localhost`, a name under it, 127.0.0.0/8 or
    /// `[::1]`, any port) and that carries no proxy header (`Forwarded`, `X-Forwarded-*`,
    /// `X-Real-IP`, `Via`) gets its cookie without `Secure`, so that every client keeps it:
    /// Safari and Python's cookie jar do not send a `Secure` cookie over plain HTTP, even to
    /// `localhost` (curl and Chromium do).
    ///
    /// A release build ignores the setting (debug assertions off): a reverse proxy on the same
    /// machine may send `Host: 127.0.0.1` upstream (nginx's and Apache's default), so a
    /// loopback `Host` says nothing about the client in production. In a debug build, every
    /// other request keeps `Secure`, and the cookie goes without the `__Host-` name prefix
    /// (which needs `Secure` on every response). A `SameSite=None` cookie keeps `Secure`
    /// everywhere (browsers require it).
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::{Key, SessionLayer};
    /// // `cargo run` and open http://localhost:3000/ in any browser or client.
    /// let layer = SessionLayer::new(Key::generate()).with_http_on_localhost(true);
    /// # let _ = layer;
    /// ```
    pub fn with_http_on_localhost(self, on: bool) -> Self {
        self.edit(|c| c.cookie.http_on_localhost = on && TAKES_EFFECT)
    }

    /// Whether the cookie carries `HttpOnly` (default `true`), which hides it from scripts.
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::{Key, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate()).with_http_only(true);
    /// # let _ = layer;
    /// ```
    pub fn with_http_only(self, http_only: bool) -> Self {
        self.edit(|c| c.cookie.http_only = http_only)
    }

    /// The cookie's `SameSite` (default `Lax`). `None` requires `Secure`:
    /// [`validate`](Self::validate) reports `SameSite=None` without it.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::{Key, SameSite, SessionLayer};
    ///
    /// let layer = SessionLayer::new(Key::generate()).with_same_site(SameSite::Strict);
    /// assert!(layer.validate().is_ok());
    /// ```
    pub fn with_same_site(self, same_site: SameSite) -> Self {
        self.edit(|c| c.cookie.same_site = same_site)
    }

    /// The cookie's `Path` (default `/`). Requests outside it neither read nor write the
    /// session, since the browser would not send the cookie back to them.
    ///
    /// It must start with `/` and hold no `;` or control characters;
    /// [`validate`](Self::validate) reports one that does not.
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::{Key, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate()).with_path("/app");
    /// assert!(layer.validate().is_ok());
    /// assert!(SessionLayer::new(Key::generate()).with_path("app").validate().is_err());
    /// ```
    pub fn with_path(self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.edit(|c| c.cookie.path = path)
    }

    /// The cookie's `Domain` (default: none, so only the exact host gets it).
    ///
    /// It must be non-empty and hold no `;`, whitespace or control characters;
    /// [`validate`](Self::validate) reports one that does not.
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::{Key, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate()).with_domain("example.com");
    /// assert!(layer.validate().is_ok());
    /// ```
    pub fn with_domain(self, domain: impl Into<String>) -> Self {
        let domain = domain.into();
        self.edit(|c| c.cookie.domain = Some(domain))
    }

    /// Sends a browser-session cookie (no `Max-Age`/`Expires`), which the browser forgets when
    /// it closes. The idle and absolute timeouts still apply on the server.
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::{Key, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate()).with_browser_session(true);
    /// # let _ = layer;
    /// ```
    pub fn with_browser_session(self, browser_session: bool) -> Self {
        self.edit(|c| c.cookie.persistent = !browser_session)
    }

    /// Also carries the session in the header `name`, for API and mobile clients that keep no
    /// cookies (koa-session's `externalKey`, axum_session's `rest_mode`): the request may
    /// present the token there, and a response that sets the cookie sends the same token in
    /// `name` (an empty value where the cookie is expired). The token is the cookie's value,
    /// signed or sealed alike, bound to the cookie's name.
    ///
    /// Cookies keep working beside it. When a request carries both, the header is tried first
    /// (a browser never sends a custom header by itself, so no other site can make it present
    /// one). Responses that depend on the session get `Vary` on the header too, and a response
    /// that sends the token gets `Cache-Control: no-cache="set-cookie, <name>"` unless the
    /// handler set its own. `Cookie`, `Set-Cookie` and `Authorization` cannot be the header
    /// ([`validate`](Self::validate) says so).
    ///
    /// # Examples
    ///
    /// ```
    /// use http::HeaderName;
    /// use typed_sessions::{Key, MemoryStore, SessionLayer};
    ///
    /// let layer = SessionLayer::new(Key::generate())
    ///     .with_store(MemoryStore::new())
    ///     .with_header(HeaderName::from_static("x-session"));
    /// assert!(layer.validate().is_ok());
    /// ```
    pub fn with_header(self, name: HeaderName) -> Self {
        self.edit(|c| c.token_header = Some(name))
    }
}

/// Everything wrong with the cookie's name and attributes in `config`, in words.
pub(super) fn cookie_problems(config: &Config) -> Vec<String> {
    let mut problems = Vec::new();
    let name = &config.name;
    if !is_valid_name(name) {
        problems.push(format!(
            "invalid session cookie name {name:?}: use letters, digits and !#$%&'*+-.^_`|~"
        ));
    }
    let path = &config.cookie.path;
    if !path.starts_with('/') || path.bytes().any(|b| b == b';' || b.is_ascii_control()) {
        problems.push(format!(
            "invalid session cookie path {path:?}: it must start with `/` and contain no `;`"
        ));
    }
    if let Some(domain) = &config.cookie.domain
        && (domain.is_empty()
            || domain
                .bytes()
                .any(|b| b == b';' || b.is_ascii_whitespace() || b.is_ascii_control()))
    {
        problems.push(format!("invalid session cookie domain {domain:?}"));
    }
    if config.cookie.same_site == SameSite::None && !config.cookie.secure {
        problems.push("`SameSite=None` requires `Secure`: browsers drop such cookies".into());
    }
    problems
}

/// What is wrong with the session header in `config`, in words: it cannot be a header that
/// already means something to cookies or credentials.
pub(super) fn header_problem(config: &Config) -> Option<String> {
    let name = config.token_header.as_ref()?;
    [COOKIE, SET_COOKIE, AUTHORIZATION].contains(name).then(|| {
        format!(
            "the session header cannot be `{name}`: choose a header of its own, such as `x-session`"
        )
    })
}
