//! `SessionLayer`: the configuration, and the builder users write.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use cookie::SameSite;
use tower_layer::Layer;

use crate::Error;
use crate::clock::Clock;
use crate::codec::Codec;
use crate::cookies::{CookieConfig, is_valid_name};
use crate::expiry::Expiry;
use crate::key::{Key, KeyRing};
use crate::service::SessionService;
use crate::store::{DynStore, SessionStore};

/// Everything a layer was configured with, shared by its services and their requests.
pub(crate) struct Config {
    pub(crate) codec: Codec,
    pub(crate) store: Option<Arc<dyn DynStore>>,
    pub(crate) cookie: CookieConfig,
    pub(crate) expiry: Expiry,
    pub(crate) clock: Clock,
    pub(crate) save_on_server_error: bool,
    pub(crate) store_timeout: Duration,
}

impl Clone for Config {
    fn clone(&self) -> Self {
        Self {
            codec: self.codec.clone(),
            store: self.store.clone(),
            cookie: self.cookie.clone(),
            expiry: self.expiry.clone(),
            clock: self.clock.clone(),
            save_on_server_error: self.save_on_server_error,
            store_timeout: self.store_timeout,
        }
    }
}

/// The session middleware: install it on a `Router` and extract [`Session<T>`](struct@crate::Session)
/// in handlers.
///
/// With no store, the session data lives in a signed (optionally encrypted) cookie. With a
/// store, the cookie carries only the signed session id.
///
/// Defaults: cookie `session`, `HttpOnly`, `Secure`, `SameSite=Lax`, `Path=/`, no `Domain`,
/// persistent (`Max-Age`); idle timeout 1 day, refreshed at most every half idle timeout;
/// absolute timeout 14 days; store calls time out after 1 s; 5xx responses discard changes.
///
/// # Panics
///
/// Building a `Router` with the layer panics on a configuration that can never work
/// (`SameSite=None` without `Secure`); [`SessionLayer::validate`] reports the same as a value.
///
/// # Example
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
    pub fn new(key: Key) -> Self {
        Self {
            config: Arc::new(Config {
                codec: Codec::new("session".to_owned(), KeyRing::new(key)),
                store: None,
                cookie: CookieConfig::default(),
                expiry: Expiry::default(),
                clock: Clock::system(),
                save_on_server_error: false,
                store_timeout: Duration::from_secs(1),
            }),
        }
    }

    fn edit(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(Arc::make_mut(&mut self.config));
        self
    }

    /// Adds an older key that still verifies cookies but no longer signs them (key rotation).
    ///
    /// A cookie verified by an older key is re-issued signed by the newest key whenever its
    /// session is extracted, so an old key can be dropped after one session lifetime.
    ///
    /// # Example
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
    /// # Example
    ///
    /// ```
    /// # use typed_sessions::{Key, MemoryStore, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate()).with_store(MemoryStore::new());
    /// # let _ = layer;
    /// ```
    pub fn with_store(self, store: impl SessionStore) -> Self {
        self.edit(|c| c.store = Some(Arc::new(store)))
    }

    /// Encrypts the cookie store's cookie with AES-256-GCM, so clients cannot read the session.
    ///
    /// Cookies of the other mode stay valid and are re-issued in the new one when extracted.
    /// Has no effect with a store (the cookie holds only the id).
    ///
    /// # Example
    ///
    /// ```
    /// # use typed_sessions::{Key, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate()).with_encryption(true);
    /// # let _ = layer;
    /// ```
    pub fn with_encryption(self, encrypt: bool) -> Self {
        self.edit(|c| c.codec.set_encrypt(encrypt))
    }

    /// The cookie's name (default `session`). The name is bound into the cookie's MAC.
    ///
    /// # Panics
    ///
    /// If `name` is not an RFC 6265 cookie name (letters, digits and ``!#$%&'*+-.^_`|~``).
    ///
    /// # Example
    ///
    /// ```
    /// # use typed_sessions::{Key, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate()).with_cookie_name("__Host-session");
    /// # let _ = layer;
    /// ```
    pub fn with_cookie_name(self, name: impl Into<String>) -> Self {
        let name = name.into();
        assert!(
            is_valid_name(&name),
            "invalid session cookie name {name:?}: use letters, digits and !#$%&'*+-.^_`|~"
        );
        self.edit(|c| c.codec.set_name(name))
    }

    /// Whether the cookie carries `Secure` (default `true`).
    ///
    /// Browsers accept `Secure` cookies from `http://localhost`; turn it off only for a
    /// deployment served over plain HTTP.
    pub fn with_secure(self, secure: bool) -> Self {
        self.edit(|c| c.cookie.secure = secure)
    }

    /// Whether the cookie carries `HttpOnly` (default `true`).
    pub fn with_http_only(self, http_only: bool) -> Self {
        self.edit(|c| c.cookie.http_only = http_only)
    }

    /// The cookie's `SameSite` (default `Lax`). `None` requires `Secure`.
    pub fn with_same_site(self, same_site: SameSite) -> Self {
        self.edit(|c| c.cookie.same_site = same_site)
    }

    /// The cookie's `Path` (default `/`). Requests outside it neither read nor write the
    /// session, since the browser would not send the cookie back to them.
    ///
    /// # Panics
    ///
    /// If `path` does not start with `/` or contains `;` or control characters.
    pub fn with_path(self, path: impl Into<String>) -> Self {
        let path = path.into();
        assert!(
            path.starts_with('/') && !path.bytes().any(|b| b == b';' || b.is_ascii_control()),
            "invalid session cookie path {path:?}: it must start with `/` and contain no `;`"
        );
        self.edit(|c| c.cookie.path = path)
    }

    /// The cookie's `Domain` (default: none, so only the exact host gets it).
    ///
    /// # Panics
    ///
    /// If `domain` contains `;`, whitespace or control characters.
    pub fn with_domain(self, domain: impl Into<String>) -> Self {
        let domain = domain.into();
        assert!(
            !domain.is_empty()
                && !domain
                    .bytes()
                    .any(|b| b == b';' || b.is_ascii_whitespace() || b.is_ascii_control()),
            "invalid session cookie domain {domain:?}"
        );
        self.edit(|c| c.cookie.domain = Some(domain))
    }

    /// Sends a browser-session cookie (no `Max-Age`/`Expires`), which the browser forgets when
    /// it closes. The idle and absolute timeouts still apply on the server.
    pub fn with_browser_session(self, browser_session: bool) -> Self {
        self.edit(|c| c.cookie.persistent = !browser_session)
    }

    /// Expires a session unused for `idle` (default 1 day).
    pub fn with_idle_timeout(self, idle: Duration) -> Self {
        self.edit(|c| c.expiry.set_idle(Some(idle)))
    }

    /// Lets sessions live until the absolute timeout however long they are unused.
    pub fn without_idle_timeout(self) -> Self {
        self.edit(|c| c.expiry.set_idle(None))
    }

    /// Expires every session `absolute` after it was created, however active (default 14 days).
    pub fn with_absolute_timeout(self, absolute: Duration) -> Self {
        self.edit(|c| c.expiry.set_absolute(absolute))
    }

    /// Moves the idle deadline only when it would move by at least `after` (default: half the
    /// idle timeout), so that reading a session is not a write on every request.
    pub fn with_idle_refresh_after(self, after: Duration) -> Self {
        self.edit(|c| c.expiry.set_refresh_after(Some(after)))
    }

    /// Refreshes the idle deadline (and re-sends a persistent cookie) on every request that
    /// extracts an existing session. Requests that never extract it still cost nothing.
    pub fn with_rolling(self, rolling: bool) -> Self {
        self.edit(|c| {
            c.expiry
                .set_refresh_after(rolling.then_some(Duration::ZERO))
        })
    }

    /// Saves the session even when the response is a server error (default: 5xx responses
    /// discard the request's session changes).
    pub fn with_save_on_server_error(self, save: bool) -> Self {
        self.edit(|c| c.save_on_server_error = save)
    }

    /// Bounds every store call (default 1 s); a call that takes longer fails the request with
    /// `503 Service Unavailable`.
    pub fn with_store_timeout(self, timeout: Duration) -> Self {
        self.edit(|c| c.store_timeout = timeout)
    }

    /// Reads the time from `clock` (tests use a [`ManualClock`](crate::clock::ManualClock)).
    pub fn with_clock(self, clock: impl Into<Clock>) -> Self {
        let clock = clock.into();
        self.edit(|c| c.clock = clock)
    }

    /// Checks the combination of settings.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for `SameSite=None` without `Secure` (browsers drop such cookies), or
    /// a zero absolute timeout.
    ///
    /// # Example
    ///
    /// ```
    /// # use typed_sessions::{Key, SameSite, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate())
    ///     .with_same_site(SameSite::None)
    ///     .with_secure(false);
    /// assert!(layer.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        let config = &self.config;
        if config.cookie.same_site == SameSite::None && !config.cookie.secure {
            return Err(Error::Config(
                "`SameSite=None` requires `Secure`: browsers drop such cookies".into(),
            ));
        }
        if let Some(problem) = config.expiry.problem() {
            return Err(Error::Config(problem.into()));
        }
        Ok(())
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        if let Err(error) = self.validate() {
            panic!("{error}");
        }
        SessionService::new(inner, self.config.clone())
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
