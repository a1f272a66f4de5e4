#![allow(dead_code)]
//! Test harness: apps over each backend, a spy store, and cookie replay.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use time::OffsetDateTime;
use tower::ServiceExt;
use typed_sessions::{
    Error, Key, SessionLayer,
    clock::ManualClock,
    store::{Created, Patch, Record, SessionStore, StoreKey, Updated},
};

pub use crate::stores::AnyStore;

/// Where the session lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// In the signed cookie.
    Cookie,
    /// In a memory store behind a spy; the cookie holds the id.
    Memory,
    /// In the test Redis, behind a spy.
    #[cfg(feature = "redis")]
    Redis,
    /// In the test PostgreSQL, behind a spy.
    #[cfg(feature = "postgres")]
    Postgres,
    /// In the test MariaDB, behind a spy.
    #[cfg(feature = "mysql")]
    Mysql,
    /// In a SQLite database file of its own, behind a spy.
    #[cfg(feature = "sqlite")]
    Sqlite,
}

impl Backend {
    /// Whether sessions live in a store (the cookie holds only the id).
    pub fn is_store(self) -> bool {
        self != Backend::Cookie
    }
}

/// One store call, as the spy saw it.
#[derive(Clone, Debug)]
pub enum Call {
    Load(StoreKey),
    Create(StoreKey, Record),
    Patch(StoreKey, Patch),
    Remove(StoreKey),
    Touch(StoreKey, OffsetDateTime),
}

impl Call {
    pub fn kind(&self) -> &'static str {
        match self {
            Call::Load(_) => "load",
            Call::Create(..) => "create",
            Call::Patch(..) => "patch",
            Call::Remove(_) => "remove",
            Call::Touch(..) => "touch",
        }
    }
}

/// How the spy misbehaves for one kind of call.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Calls of these kinds fail with `Error::store("boom!")`.
    pub fail: Vec<&'static str>,
    /// Calls of these kinds fail as unavailable.
    pub unavailable: Vec<&'static str>,
    /// Calls of these kinds are delayed.
    pub delay: Option<(&'static str, Duration)>,
}

/// A store that records every call and forwards it to a memory store, unless told to fail.
#[derive(Clone)]
pub struct SpyStore {
    pub inner: AnyStore,
    calls: Arc<Mutex<Vec<Call>>>,
    faults: Arc<Mutex<Faults>>,
}

impl SpyStore {
    pub fn new(inner: AnyStore) -> Self {
        Self {
            inner,
            calls: Arc::default(),
            faults: Arc::default(),
        }
    }

    /// Every call so far, and forgets them.
    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    /// The kinds of the calls so far, in order, and forgets them.
    pub fn take_kinds(&self) -> Vec<&'static str> {
        self.take_calls().iter().map(Call::kind).collect()
    }

    pub fn set_faults(&self, faults: Faults) {
        *self.faults.lock().unwrap() = faults;
    }

    async fn enter(&self, call: Call) -> Result<(), Error> {
        let kind = call.kind();
        self.calls.lock().unwrap().push(call);
        let faults = self.faults.lock().unwrap().clone();
        if let Some((delayed, by)) = faults.delay {
            if delayed == kind {
                tokio::time::sleep(by).await;
            }
        }
        if faults.fail.contains(&kind) {
            return Err(Error::store("boom!"));
        }
        if faults.unavailable.contains(&kind) {
            return Err(Error::unavailable("connection refused"));
        }
        Ok(())
    }
}

impl SessionStore for SpyStore {
    async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        self.enter(Call::Load(key.clone())).await?;
        self.inner.load(key).await
    }
    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, Error> {
        self.enter(Call::Create(key.clone(), record.clone()))
            .await?;
        self.inner.create(key, record).await
    }
    async fn patch(&self, key: &StoreKey, patch: &Patch) -> Result<Updated, Error> {
        self.enter(Call::Patch(key.clone(), patch.clone())).await?;
        self.inner.patch(key, patch).await
    }
    async fn remove(&self, key: &StoreKey) -> Result<(), Error> {
        self.enter(Call::Remove(key.clone())).await?;
        self.inner.remove(key).await
    }
    async fn touch(&self, key: &StoreKey, expires: OffsetDateTime) -> Result<Updated, Error> {
        self.enter(Call::Touch(key.clone(), expires)).await?;
        self.inner.touch(key, expires).await
    }
}

/// An app under test: a router behind a session layer on one backend, with a manual clock.
pub struct TestApp {
    pub backend: Backend,
    pub router: Router,
    pub clock: ManualClock,
    pub key: Key,
    /// The spy in front of the store (every backend but `Cookie`).
    pub spy: Option<SpyStore>,
}

/// The key most tests sign with.
pub fn test_key() -> Key {
    Key::from_bytes(&[42u8; 64]).unwrap()
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

    pub fn with_key(
        backend: Backend,
        routes: Router,
        key: Key,
        configure: impl FnOnce(SessionLayer) -> SessionLayer,
    ) -> Self {
        let clock = ManualClock::starting_now();
        let spy = backend
            .is_store()
            .then(|| SpyStore::new(AnyStore::for_backend(backend, clock.clone().into())));
        let mut layer = SessionLayer::new(key.clone()).with_clock(clock.clone());
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
        let mut layer = SessionLayer::new(key.clone()).with_clock(self.clock.clone());
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

    pub fn spy(&self) -> &SpyStore {
        self.spy
            .as_ref()
            .expect("only the memory backend has a spy store")
    }

    /// Store call kinds since the last look (empty for the cookie backend).
    pub fn store_calls(&self) -> Vec<&'static str> {
        self.spy
            .as_ref()
            .map(SpyStore::take_kinds)
            .unwrap_or_default()
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.unwrap();
        TestResponse::read(response).await
    }

    /// `GET path`, with a `Cookie` header if `cookie` is given.
    pub async fn get(&self, path: &str, cookie: Option<&str>) -> TestResponse {
        self.send(request("GET", path, cookie)).await
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}

pub fn request(method: &str, path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    builder.body(Body::empty()).unwrap()
}

/// A response, read whole.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl TestResponse {
    /// Reads a response from a router called directly.
    pub async fn from(response: http::Response<Body>) -> Self {
        Self::read(response).await
    }

    async fn read(response: http::Response<Body>) -> Self {
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        Self {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    /// Every `Set-Cookie` header value.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    /// The `Set-Cookie` values for cookie `name`.
    pub fn set_cookies_named(&self, name: &str) -> Vec<String> {
        let prefix = format!("{name}=");
        self.set_cookies()
            .into_iter()
            .filter(|c| c.starts_with(&prefix))
            .collect()
    }

    /// The single `Set-Cookie` for `session`, if any (panics if there are several).
    pub fn session_cookie(&self) -> Option<String> {
        self.cookie_named("session")
    }

    pub fn cookie_named(&self, name: &str) -> Option<String> {
        let mut found = self.set_cookies_named(name);
        assert!(
            found.len() <= 1,
            "more than one Set-Cookie for {name}: {found:?}"
        );
        found.pop()
    }

    /// The `name=value` pair of the session cookie, ready to replay as a `Cookie` header.
    pub fn replay(&self) -> String {
        self.replay_named("session")
    }

    pub fn replay_named(&self, name: &str) -> String {
        let set = self
            .cookie_named(name)
            .unwrap_or_else(|| panic!("no Set-Cookie for {name}: {:?}", self.headers));
        set.split(';').next().unwrap().to_owned()
    }

    /// The session cookie's value (what follows `session=`).
    pub fn session_value(&self) -> String {
        self.replay().split_once('=').unwrap().1.to_owned()
    }

    /// Whether the response expires cookie `name`.
    pub fn expires_cookie(&self, name: &str) -> bool {
        self.cookie_named(name).is_some_and(|c| {
            c.starts_with(&format!("{name}=;")) && c.contains("Max-Age=0") && c.contains("1970")
        })
    }
}

/// The session id carried by an id cookie value `1.<kid>.<id>.<mac>`.
pub fn id_of(cookie_value: &str) -> String {
    let parts: Vec<_> = cookie_value.split('.').collect();
    assert_eq!(parts.len(), 4, "not an id cookie: {cookie_value}");
    assert_eq!(parts[0], "1", "not an id cookie: {cookie_value}");
    parts[2].to_owned()
}

/// The store key of the session whose cookie is `replay` (`session=<value>`).
pub fn store_key_of(replay: &str) -> StoreKey {
    use sha2::{Digest, Sha256};
    let value = replay.split_once('=').map_or(replay, |(_, v)| v);
    let digest = Sha256::digest(id_of(value).as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    StoreKey::from_digest_hex(hex).unwrap()
}

/// Runs a test body against backends, one `#[tokio::test]` each. `Memory` stands for every
/// external store: the memory store, and Redis, PostgreSQL, MariaDB and SQLite when their
/// features are on.
#[macro_export]
macro_rules! on_backends {
    ($name:ident, [$($backend:ident),+], $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $( $crate::on_backends!(@one $backend, $body); )+
        }
    };
    (@one Memory, $body:expr) => {
        $crate::on_backends!(@test Memory, $body);
        #[cfg(feature = "redis")]
        $crate::on_backends!(@test Redis, $body);
        #[cfg(feature = "postgres")]
        $crate::on_backends!(@test Postgres, $body);
        #[cfg(feature = "mysql")]
        $crate::on_backends!(@test Mysql, $body);
        #[cfg(feature = "sqlite")]
        $crate::on_backends!(@test Sqlite, $body);
    };
    (@one $backend:ident, $body:expr) => {
        $crate::on_backends!(@test $backend, $body);
    };
    (@test $backend:ident, $body:expr) => {
        #[tokio::test]
        #[allow(non_snake_case)]
        async fn $backend() {
            let body = $body;
            body($crate::harness::Backend::$backend).await;
        }
    };
}

/// The session the reference handlers use.
#[derive(typed_sessions::Session, Default, Clone, Debug, PartialEq)]
pub struct Msg {
    pub message: String,
    pub count: u64,
}

pub mod handlers {
    //! The handlers the behaviour cases name (`H_none`, `H_read`, `H_set`, `H_count`).
    use super::Msg;
    use typed_sessions::Session;

    /// `H_none`: never touches the session.
    pub async fn none() -> &'static str {
        "greetings"
    }

    /// `H_read`: returns `message`.
    pub async fn read(session: Session<Msg>) -> String {
        session.message.clone()
    }

    /// `H_set("hello")`.
    pub async fn set_hello(mut session: Session<Msg>) {
        session.message = "hello".into();
    }

    /// `H_count`: increments `count` and returns it.
    pub async fn count(mut session: Session<Msg>) -> String {
        session.count += 1;
        session.count.to_string()
    }

    /// Returns whether the session is new.
    pub async fn is_new(session: Session<Msg>) -> String {
        session.is_new().to_string()
    }

    /// Destroys the session.
    pub async fn destroy(mut session: Session<Msg>) {
        session.destroy();
    }
}

/// A router with the reference handlers: `/none`, `/read`, `/set`, `/count`, `/is_new`,
/// `/destroy`.
pub fn reference_routes() -> Router {
    use axum::routing::get;
    Router::new()
        .route("/none", get(handlers::none))
        .route("/read", get(handlers::read))
        .route("/set", get(handlers::set_hello))
        .route("/count", get(handlers::count))
        .route("/is_new", get(handlers::is_new))
        .route("/destroy", get(handlers::destroy))
}
