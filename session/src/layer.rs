//! `SessionLayer`: the builder applications write, and the tower `Layer` it is.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum_core::response::Response;
use cookie::SameSite;
use http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use http::{HeaderName, StatusCode};
use tower_layer::Layer;

use crate::Error;
use crate::clock::Clock;
use crate::codec::Codec;
use crate::config::Config;
use crate::cookies::is_valid_name;
use crate::failure::Render;
use crate::key::{Key, KeyRing};
use crate::plain_http::TAKES_EFFECT;
use crate::service::SessionService;
use crate::store::SessionStore;
use crate::telemetry::Telemetry;

/// The session middleware: install it on a `Router` and extract [`Session<T>`](struct@crate::Session)
/// in handlers.
///
/// With no store, the session data lives in an encrypted (or only signed) cookie. With a
/// store, the cookie carries only the signed session id.
///
/// Defaults: cookie `__Host-session`, `HttpOnly`, `Secure`, `SameSite=Lax`, `Path=/`, no `Domain`,
/// persistent (`Max-Age`); idle timeout 1 day, refreshed at most every half idle timeout;
/// absolute timeout 14 days; store calls time out after 1 s; 5xx responses discard changes.
///
/// No builder method panics, and no call undoes another: [`validate`](Self::validate) reports
/// a configuration that cannot work (an invalid cookie name, path or domain, `SameSite=None`
/// without `Secure`, a zero timeout). Call it at startup. A layer installed anyway logs the
/// problem and answers `500 Internal Server Error` to every request that extracts a session,
/// rather than serve sessions on a setup that cannot keep them.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use axum::{routing::get, Router};
/// use typed_sessions::{Key, MemoryStore, SameSite, SessionLayer};
///
/// let layer = SessionLayer::new(Key::generate())
///     .with_store(MemoryStore::new())
///     .with_cookie_name("id")
///     .with_same_site(SameSite::Strict)
///     .with_idle_timeout(Duration::from_secs(30 * 60));
/// layer.validate().expect("a valid session configuration");
/// let app: Router = Router::new().route("/", get(|| async { "hi" })).layer(layer);
/// # let _ = app;
/// ```
#[derive(Clone)]
#[must_use]
pub struct SessionLayer {
    config: Arc<Config>,
}

impl SessionLayer {
    /// A layer that signs with `key` and keeps sessions in the cookie.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{routing::get, Router};
    /// use typed_sessions::{Key, SessionLayer};
    ///
    /// let app: Router = Router::new()
    ///     .route("/", get(|| async { "hi" }))
    ///     .layer(SessionLayer::new(Key::generate()));
    /// # let _ = app;
    /// ```
    pub fn new(key: Key) -> Self {
        let mut codec = Codec::new("session".to_owned(), KeyRing::new(key));
        codec.set_encrypt(true);
        Self {
            config: Arc::new(Config::new(codec)),
        }
    }

    fn edit(mut self, change: impl FnOnce(&mut Config)) -> Self {
        let config = Arc::make_mut(&mut self.config);
        change(config);
        config.settle_name();
        self
    }

    /// Adds an older key that still verifies cookies but no longer signs them (key rotation).
    ///
    /// A cookie verified by an older key is re-issued signed by the newest key whenever its
    /// session is extracted, so an old key can be dropped after one session lifetime.
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::{Key, SessionLayer};
    /// # let (new_key, old_key) = (Key::generate(), Key::generate());
    /// let layer = SessionLayer::new(new_key).with_old_key(old_key);
    /// # let _ = layer;
    /// ```
    pub fn with_old_key(self, key: Key) -> Self {
        self.edit(|c| c.codec.keys_mut().push_old(key))
    }

    /// Keeps sessions in `store`; the cookie then carries only the signed session id.
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::{Key, MemoryStore, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate()).with_store(MemoryStore::new());
    /// # let _ = layer;
    /// ```
    pub fn with_store(self, store: impl SessionStore) -> Self {
        self.edit(|c| {
            c.telemetry = Telemetry::new(store.kind());
            c.store = Some(Arc::new(store));
        })
    }

    /// Whether the cookie store's cookie is encrypted with AES-256-GCM (default `true`), so that
    /// clients can neither read nor change the session, as Rails and actix-session do. With
    /// `false` the cookie is only signed (HMAC-SHA256): clients can read what the session holds,
    /// though not change it, and a write costs a little less.
    ///
    /// Cookies of the other mode stay valid and are re-issued in the new one when extracted.
    /// Has no effect with a store (the cookie holds only the id).
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::{Key, SessionLayer};
    /// // Signed only: the session holds nothing the user may not read.
    /// let layer = SessionLayer::new(Key::generate()).with_encryption(false);
    /// # let _ = layer;
    /// ```
    pub fn with_encryption(self, encrypt: bool) -> Self {
        self.edit(|c| c.codec.set_encrypt(encrypt))
    }

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

    /// Expires a session unused for `idle` (default 1 day).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use typed_sessions::{Key, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate()).with_idle_timeout(Duration::from_secs(30 * 60));
    /// # let _ = layer;
    /// ```
    pub fn with_idle_timeout(self, idle: Duration) -> Self {
        self.edit(|c| c.expiry.set_idle(Some(idle)))
    }

    /// Lets sessions live until the absolute timeout however long they are unused.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use typed_sessions::{Key, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate())
    ///     .without_idle_timeout()
    ///     .with_absolute_timeout(Duration::from_secs(8 * 60 * 60));
    /// # let _ = layer;
    /// ```
    pub fn without_idle_timeout(self) -> Self {
        self.edit(|c| c.expiry.set_idle(None))
    }

    /// Expires every session `absolute` after it was created, however active (default 14 days).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use typed_sessions::{Key, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate())
    ///     .with_absolute_timeout(Duration::from_secs(7 * 24 * 60 * 60));
    /// # let _ = layer;
    /// ```
    pub fn with_absolute_timeout(self, absolute: Duration) -> Self {
        self.edit(|c| c.expiry.set_absolute(absolute))
    }

    /// The longest idle or absolute timeout that a session's own
    /// [`Lifetime`](crate::lifetime::Lifetime) may have (default: the absolute timeout). A longer one is
    /// cut to it whenever a session is loaded or saved, so lowering it takes effect on sessions
    /// already stored, and a record edited to claim more gains nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use typed_sessions::{Key, SessionLayer};
    /// const DAY: Duration = Duration::from_secs(24 * 60 * 60);
    /// // Sessions end with the browser, after a day at most; "remember me" keeps one 30 days.
    /// let layer = SessionLayer::new(Key::generate())
    ///     .with_browser_session(true)
    ///     .with_absolute_timeout(DAY)
    ///     .with_max_lifetime(30 * DAY);
    /// # let _ = layer;
    /// ```
    pub fn with_max_lifetime(self, max: Duration) -> Self {
        self.edit(|c| c.expiry.set_max(max))
    }

    /// Moves the idle deadline only when it would move by at least `after` (default: half the
    /// idle timeout), so that reading a session is not a write on every request. Ignored while
    /// [`with_rolling(true)`](Self::with_rolling) is on, and in force again when it is off.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use typed_sessions::{Key, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate())
    ///     .with_idle_timeout(Duration::from_secs(60 * 60))
    ///     .with_idle_refresh_after(Duration::from_secs(5 * 60));
    /// # let _ = layer;
    /// ```
    pub fn with_idle_refresh_after(self, after: Duration) -> Self {
        self.edit(|c| c.expiry.set_refresh_after(after))
    }

    /// Refreshes the idle deadline (and re-sends a persistent cookie) on every request that
    /// extracts an existing session. Requests that never extract it still cost nothing. Turning
    /// it off again restores the refresh threshold set by
    /// [`with_idle_refresh_after`](Self::with_idle_refresh_after).
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::{Key, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate()).with_rolling(true);
    /// # let _ = layer;
    /// ```
    pub fn with_rolling(self, rolling: bool) -> Self {
        self.edit(|c| c.expiry.set_rolling(rolling))
    }

    /// Saves the session even when the response is a server error (default: 5xx responses
    /// discard the request's session changes).
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::{Key, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate()).with_save_on_server_error(true);
    /// # let _ = layer;
    /// ```
    pub fn with_save_on_server_error(self, save: bool) -> Self {
        self.edit(|c| c.save_on_server_error = save)
    }

    /// Bounds every store call (default 1 s); a call that takes longer fails the request with
    /// `503 Service Unavailable`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use typed_sessions::{Key, MemoryStore, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate())
    ///     .with_store(MemoryStore::new())
    ///     .with_store_timeout(Duration::from_millis(250));
    /// # let _ = layer;
    /// ```
    pub fn with_store_timeout(self, timeout: Duration) -> Self {
        self.edit(|c| c.store_timeout = timeout)
    }

    /// Renders the responses of requests whose session could not be loaded or saved: 500, 503
    /// when the store is out of reach or too slow, 409 when a concurrent request removed the
    /// session. By default they carry a short, generic body; what went wrong is logged either
    /// way and never sent to the client.
    ///
    /// The rendering is an axum response: it replaces the error responses of services whose
    /// body type is axum's `Body` (every axum `Router`); a service with another body type
    /// keeps the generic ones.
    ///
    /// # Examples
    ///
    /// An API answering JSON:
    ///
    /// ```
    /// use axum::Json;
    /// use axum::http::StatusCode;
    /// use axum::response::IntoResponse;
    /// use typed_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::new(Key::generate()).with_error_response(|status: StatusCode| {
    ///     let code = match status {
    ///         StatusCode::SERVICE_UNAVAILABLE => "session_store_unavailable",
    ///         StatusCode::CONFLICT => "session_ended_meanwhile",
    ///         _ => "session_error",
    ///     };
    ///     (status, Json(serde_json::json!({ "error": code }))).into_response()
    /// });
    /// # let _ = layer;
    /// ```
    pub fn with_error_response(
        self,
        render: impl Fn(StatusCode) -> Response + Send + Sync + 'static,
    ) -> Self {
        let render = Render::new(render);
        self.edit(|c| c.render_failure = Some(render))
    }

    /// Reads the time from `clock` (tests use a [`ManualClock`](crate::clock::ManualClock)).
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::clock::ManualClock;
    /// use typed_sessions::{Key, SessionLayer};
    ///
    /// let clock = ManualClock::starting_now();
    /// let layer = SessionLayer::new(Key::generate()).with_clock(clock.clone());
    /// clock.advance(std::time::Duration::from_secs(60)); // the layer's sessions age a minute
    /// # let _ = layer;
    /// ```
    pub fn with_clock(self, clock: impl Into<Clock>) -> Self {
        let clock = clock.into();
        self.edit(|c| c.clock = clock)
    }

    /// The handle that lists and revokes the sessions of one user (of one value of `T`'s
    /// `#[session(index)]` field), from outside any request: an admin page, a job that runs
    /// after a password change. See [`devices`](crate::devices).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for the cookie store, which keeps no sessions on the server to list,
    /// and for a `T` without an index field.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::{Key, MemoryStore, Session, SessionLayer};
    ///
    /// #[derive(Session, Default)]
    /// struct Auth {
    ///     #[session(index)]
    ///     user: Option<String>,
    /// }
    ///
    /// let with_store = SessionLayer::new(Key::generate()).with_store(MemoryStore::new());
    /// assert!(with_store.devices::<Auth>().is_ok());
    /// let cookie_only = SessionLayer::new(Key::generate());
    /// assert!(cookie_only.devices::<Auth>().is_err());
    /// ```
    pub fn devices<T: crate::SessionData>(&self) -> Result<crate::devices::Devices<T>, Error> {
        crate::devices::Devices::new(self.config.clone())
    }

    /// Checks the combination of settings.
    ///
    /// # Errors
    ///
    /// [`Error::Config`], naming every problem: a cookie name that is not an RFC 6265 token, a
    /// path that does not start with `/` or holds `;` or control characters, an empty domain or
    /// one holding `;`, whitespace or control characters, `SameSite=None` without `Secure`
    /// (browsers drop such cookies), a zero idle or absolute timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::{Key, SameSite, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate())
    ///     .with_same_site(SameSite::None)
    ///     .with_secure(false);
    /// assert!(layer.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        let problems = problems(&self.config);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Config(problems.join("; ")))
        }
    }
}

/// Everything wrong with `config`, in words.
fn problems(config: &Config) -> Vec<String> {
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
    if let Some(problem) = config.expiry.problem() {
        problems.push(problem.into());
    }
    if let Some(name) = &config.token_header
        && [COOKIE, SET_COOKIE, AUTHORIZATION].contains(name)
    {
        problems.push(format!(
            "the session header cannot be `{name}`: choose a header of its own, such as `x-session`"
        ));
    }
    problems
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let config = match self.validate() {
            Ok(()) => self.config.clone(),
            Err(error) => {
                tracing::error!(
                    %error,
                    "session layer installed with a configuration that cannot work: every \
                     request that extracts a session will answer 500"
                );
                let mut config = (*self.config).clone();
                config.misconfigured = Some(error.to_string().into());
                Arc::new(config)
            }
        };
        SessionService::new(inner, config)
    }
}

impl fmt::Debug for SessionLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = &self.config;
        f.debug_struct("SessionLayer")
            .field("cookie_name", &config.codec.name())
            .field("keys", &"REDACTED")
            .field(
                "store",
                &config.store.as_ref().map_or("cookie", |_| "external"),
            )
            .field("cookie", &config.cookie)
            .field("expiry", &config.expiry)
            .finish_non_exhaustive()
    }
}
