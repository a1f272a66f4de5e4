//! The app under test: routes behind a `SessionLayer` on one backend, with a manual clock and,
//! on a store, the spy in front of it; and requests to any router.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http::{Request, header};
use tower::ServiceExt;
use typed_sessions::{Key, SessionLayer, clock::ManualClock};

use crate::backend::{Backend, Place};
use crate::response::TestResponse;
use crate::spy::SpyStore;
use crate::wire;

/// A layer signing with `key`, its cookie named `session`, as the wire helpers and the replay
/// helpers of [`TestResponse`] name it: the `__Host-` prefix a default layer adds has tests of
/// its own (`tests/behaviour/cookie_attributes.rs`).
pub fn layer(key: Key) -> SessionLayer {
    SessionLayer::new(key).with_host_prefix(false)
}

/// The key most tests sign with (64 bytes of 42).
pub fn test_key() -> Key {
    Key::from_bytes(&[42u8; 64]).unwrap()
}

/// An app under test: a router behind a session layer on one backend, with a manual clock.
pub struct TestApp {
    /// Where its sessions live.
    pub backend: Backend,
    /// The routes behind the layer.
    pub router: Router,
    /// The clock the layer and the store read.
    pub clock: ManualClock,
    /// The key the layer signs with.
    pub key: Key,
    /// The spy in front of the store (every backend but `Cookie`).
    pub spy: Option<SpyStore>,
}

impl TestApp {
    /// `routes` behind a default layer on `backend`.
    pub fn new(backend: Backend, routes: Router) -> Self {
        Self::with(backend, routes, |layer| layer)
    }

    /// `routes` behind a layer on `backend`, adjusted by `configure`.
    pub fn with(
        backend: Backend,
        routes: Router,
        configure: impl FnOnce(SessionLayer) -> SessionLayer,
    ) -> Self {
        Self::with_key(backend, routes, test_key(), configure)
    }

    /// `routes` behind a layer signing with `key` on `backend`, adjusted by `configure`.
    pub fn with_key(
        backend: Backend,
        routes: Router,
        key: Key,
        configure: impl FnOnce(SessionLayer) -> SessionLayer,
    ) -> Self {
        let clock = ManualClock::starting_now();
        let place = Place::with_clock(backend, clock.clone().into());
        let spy = place.connect().map(SpyStore::new);
        let mut layer = layer(key.clone()).with_clock(clock.clone());
        if let Some(spy) = &spy {
            layer = layer.with_store(spy.clone());
        }
        let router = routes.layer(configure(layer));
        Self {
            backend,
            router,
            clock,
            key,
            spy,
        }
    }

    /// Another app sharing this one's clock and store (for key rotation, schema changes).
    pub fn sibling(
        &self,
        routes: Router,
        key: Key,
        configure: impl FnOnce(SessionLayer) -> SessionLayer,
    ) -> TestApp {
        let mut layer = layer(key.clone()).with_clock(self.clock.clone());
        if let Some(spy) = &self.spy {
            layer = layer.with_store(spy.clone());
        }
        TestApp {
            backend: self.backend,
            router: routes.layer(configure(layer)),
            clock: self.clock.clone(),
            key,
            spy: self.spy.clone(),
        }
    }

    /// The spy in front of the store.
    ///
    /// # Panics
    ///
    /// On the cookie backend, which has no store.
    pub fn spy(&self) -> &SpyStore {
        self.spy
            .as_ref()
            .expect("only the store backends have a spy store")
    }

    /// Store call kinds since the last look (empty for the cookie backend).
    pub fn store_calls(&self) -> Vec<&'static str> {
        self.spy
            .as_ref()
            .map(SpyStore::take_kinds)
            .unwrap_or_default()
    }

    /// Sends `request` to the app.
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        send(&self.router, request).await
    }

    /// `GET path`, with a `Cookie` header if `cookie` is given.
    pub async fn get(&self, path: &str, cookie: Option<&str>) -> TestResponse {
        self.send(request("GET", path, cookie)).await
    }

    /// Moves the app's clock forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}

/// A request with a `Cookie` header if `cookie` is given.
pub fn request(method: &str, path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    builder.body(Body::empty()).unwrap()
}

/// Sends `request` to `router` and reads the response whole.
pub async fn send(router: &Router, request: Request<Body>) -> TestResponse {
    let response = router.clone().oneshot(request).await.unwrap();
    TestResponse::read(response).await
}

/// `GET path` on `router`, with a `Cookie` header if `cookie` is given.
pub async fn get(router: &Router, path: &str, cookie: Option<&str>) -> TestResponse {
    send(router, request("GET", path, cookie)).await
}

/// `GET path` on `router`, with `value` as the session cookie's value if it is given.
pub async fn get_with(router: &Router, path: &str, value: Option<&str>) -> TestResponse {
    let cookie = value.map(|value| format!("{}={value}", wire::NAME));
    get(router, path, cookie.as_deref()).await
}

/// (Re)starts an app on `place`: `routes` behind a new layer signing with `key`, verifying
/// `old` too, encrypting the cookie store's cookies if `encrypt`, on a new client of `place`.
pub fn start(place: &Place, routes: Router, key: &[u8], old: &[&[u8]], encrypt: bool) -> Router {
    let mut layer = layer(wire::key(key)).with_encryption(encrypt);
    for old in old {
        layer = layer.with_old_key(wire::key(old));
    }
    if let Some(store) = place.connect() {
        layer = layer.with_store(store);
    }
    routes.layer(layer)
}
