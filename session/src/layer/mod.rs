//! `SessionLayer`: the builder applications write, and the tower `Layer` it is.
//!
//! The builder's methods are in one file per concern, in the order the docs list them: where
//! sessions are kept ([`storage`]), how long they live ([`timeouts`]), how they travel
//! ([`transport`]). This file holds the layer itself and the check of the whole configuration.

mod storage;
mod timeouts;
mod transport;

use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use crate::Error;
use crate::config::Config;
use crate::service::SessionService;

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
    fn edit(mut self, change: impl FnOnce(&mut Config)) -> Self {
        let config = Arc::make_mut(&mut self.config);
        change(config);
        config.settle_name();
        self
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
    let mut problems = transport::cookie_problems(config);
    problems.extend(config.expiry.problem().map(String::from));
    problems.extend(transport::header_problem(config));
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
