//! The per-request session state the service puts into the request: created empty, loaded
//! once on the first extraction, shared by every `Session<_>` of the request, and handed to the
//! commit when the response comes back.

use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use http::{HeaderMap, StatusCode};
use tokio::sync::OnceCell;

use crate::Error;
use crate::backend;
use crate::config::Config;
use crate::plain_http::plain_http_for;
use crate::state::SessionState;

/// What the service puts into the request's extensions.
#[derive(Clone)]
pub(crate) struct Handle(pub(crate) Arc<RequestState>);

/// One request's session: the layer's configuration, and the session state behind a lock,
/// loaded at most once.
pub(crate) struct RequestState {
    config: Arc<Config>,
    loaded: OnceCell<()>,
    session: Mutex<SessionState>,
    /// The status a failed load answered with (0: none), for the commit to render it.
    load_failure: AtomicU16,
    /// Whether the cookie goes without `Secure` (local development, a loopback host).
    plain_http: AtomicBool,
}

impl RequestState {
    pub(crate) fn new(config: Arc<Config>) -> Self {
        Self {
            config,
            loaded: OnceCell::new(),
            session: Mutex::new(SessionState::default()),
            load_failure: AtomicU16::new(0),
            plain_http: AtomicBool::new(false),
        }
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// The layer's configuration, shared.
    pub(crate) fn config_arc(&self) -> Arc<Config> {
        self.config.clone()
    }

    /// Makes the state of a finished request as good as new, for the next request.
    pub(crate) fn reset(&mut self) {
        // Without a load nothing can have touched the session: no `Session` exists before one.
        if self.loaded.initialized() {
            self.loaded = OnceCell::new();
            *self
                .session
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner) = SessionState::default();
        }
        self.session.clear_poison();
        *self.load_failure.get_mut() = 0;
        *self.plain_http.get_mut() = false;
    }

    /// The session, locked. A panic while it was held cannot leave it worse than a session
    /// whose last change is lost, so a poisoned lock is taken over.
    pub(crate) fn lock(&self) -> MutexGuard<'_, SessionState> {
        self.session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether any handler extracted the session in this request.
    pub(crate) fn was_loaded(&self) -> bool {
        self.loaded.initialized()
    }

    /// Notes that loading failed and the request answers `status`.
    pub(crate) fn note_load_failure(&self, status: StatusCode) {
        self.load_failure.store(status.as_u16(), Ordering::Relaxed);
    }

    /// The status a failed load answered with, if loading failed.
    pub(crate) fn load_failure(&self) -> Option<StatusCode> {
        StatusCode::from_u16(self.load_failure.load(Ordering::Relaxed)).ok()
    }

    /// Whether the cookie goes without `Secure` in this request (see `plain_http`).
    pub(crate) fn plain_http(&self) -> bool {
        self.plain_http.load(Ordering::Relaxed)
    }

    /// Loads the session once per request, however many handles are extracted.
    ///
    /// # Errors
    ///
    /// What the store reported, or the reason a misconfigured layer cannot serve sessions.
    pub(crate) async fn ensure_loaded(&self, headers: &HeaderMap, path: &str) -> Result<(), Error> {
        if let Some(problem) = &self.config.misconfigured {
            return Err(Error::Config(problem.to_string()));
        }
        self.loaded
            .get_or_try_init(|| async {
                if self.config.cookie.http_on_localhost {
                    let plain = plain_http_for(&self.config.cookie, headers);
                    self.plain_http.store(plain, Ordering::Relaxed);
                }
                let telemetry = &self.config.telemetry;
                let traced = telemetry.load();
                // Built in place in each arm: a load future built first and then moved into
                // the span's would be copied once more per request.
                let loaded = if traced.is_on() {
                    traced
                        .instrumented(backend::load(&self.config, headers, path))
                        .await
                } else {
                    backend::load(&self.config, headers, path).await
                };
                telemetry.finish(traced, &loaded);
                *self.lock() = loaded?;
                Ok::<(), Error>(())
            })
            .await?;
        Ok(())
    }
}
