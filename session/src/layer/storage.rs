//! Where sessions are kept, as the builder sets it: in the cookie, signed by the keys and
//! encrypted unless told otherwise, or in a store (with the handle that lists a user's sessions
//! there); how long a store call may take, and what a request answers when keeping fails.

use std::sync::Arc;
use std::time::Duration;

use axum_core::response::Response;
use http::StatusCode;

use super::SessionLayer;
use crate::Error;
use crate::codec::Codec;
use crate::config::Config;
use crate::failure::Render;
use crate::key::{Key, KeyRing};
use crate::store::SessionStore;
use crate::telemetry::Telemetry;

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

    /// The handle that lists and revokes the sessions of one user (of one value of `T`'s
    /// `#[session(index)]` field), from outside any request: an admin page, a job that runs
    /// after a password change. See [`devices`](crate::devices).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for the cookie store, which keeps no sessions on the server to list,
    /// for a `T` without an index field, and for a `T` other than the layer's indexed type:
    /// the first type with an index field that the layer met, here or in a request, owns the
    /// index (see [`devices`](crate::devices)).
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
}
