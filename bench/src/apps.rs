//! The rows of the table: one app per session library and store, all with the same routes.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::routing::get;
use http::Request;
use tower::{Layer, Service};

/// One way of keeping (or not keeping) sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Row {
    /// No session layer at all: the physical limit of the router and the client.
    Baseline,
    /// No session layer, but a layer that inserts one request extension and does nothing
    /// else: the least any session layer installed with `Router::layer` can cost, and what
    /// typed-sessions is held to on routes that never extract the session.
    Floor,
    /// typed-sessions, sessions in the encrypted cookie (its default).
    TsCookie,
    /// typed-sessions, sessions in a signed-only cookie (`with_encryption(false)`): what the
    /// default's encryption costs.
    TsCookieSigned,
    /// typed-sessions with its `MemoryStore`.
    TsMemory,
    /// typed-sessions with its `RedisStore` (feature `redis`, `TS_BENCH_REDIS_URL`).
    TsRedis,
    /// tower-sessions with its `MemoryStore` and its defaults (plain id cookie).
    TowerMemory,
    /// tower-sessions with its `MemoryStore` and signed cookies (`with_signed`).
    TowerSigned,
    /// No session layer: axum-extra's `SignedCookieJar` keeps the count itself in an
    /// HMAC-signed cookie, what the cookie store is measured against.
    ExtraSigned,
}

impl Row {
    /// Every row, in table order.
    pub const ALL: [Row; 9] = [
        Row::Baseline,
        Row::Floor,
        Row::TsCookie,
        Row::TsCookieSigned,
        Row::TsMemory,
        Row::TsRedis,
        Row::TowerMemory,
        Row::TowerSigned,
        Row::ExtraSigned,
    ];

    /// The rows this build and environment can run: the Redis row needs the `redis` feature
    /// and [`REDIS_URL_VAR`](crate::REDIS_URL_VAR).
    pub fn available() -> Vec<Row> {
        Row::ALL
            .into_iter()
            .filter(|row| *row != Row::TsRedis || redis_url().is_some())
            .collect()
    }

    /// The row's name on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            Row::Baseline => "baseline",
            Row::Floor => "floor",
            Row::TsCookie => "ts-cookie",
            Row::TsCookieSigned => "ts-cookie-signed",
            Row::TsMemory => "ts-memory",
            Row::TsRedis => "ts-redis",
            Row::TowerMemory => "tower-memory",
            Row::TowerSigned => "tower-signed",
            Row::ExtraSigned => "extra-signed",
        }
    }

    /// Whether the row keeps sessions (and so sets cookies).
    pub fn has_sessions(self) -> bool {
        !matches!(self, Row::Baseline | Row::Floor)
    }

    /// Whether the row is a typed-sessions row.
    pub fn is_typed_sessions(self) -> bool {
        matches!(
            self,
            Row::TsCookie | Row::TsCookieSigned | Row::TsMemory | Row::TsRedis
        )
    }
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Row {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Row::ALL
            .into_iter()
            .find(|row| row.name() == name)
            .ok_or_else(|| format!("unknown row {name:?}"))
    }
}

/// One of the three routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// `GET /none`: never touches the session.
    None,
    /// `GET /read`: reads `views`.
    Read,
    /// `GET /incr`: increments `views`.
    Incr,
}

impl Route {
    /// Every route, in table order.
    pub const ALL: [Route; 3] = [Route::None, Route::Read, Route::Incr];

    /// The request path.
    pub fn path(self) -> &'static str {
        match self {
            Route::None => "/none",
            Route::Read => "/read",
            Route::Incr => "/incr",
        }
    }

    /// The route's name on the command line and in tables.
    pub fn name(self) -> &'static str {
        &self.path()[1..]
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

impl FromStr for Route {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Route::ALL
            .into_iter()
            .find(|route| route.name() == name.trim_start_matches('/'))
            .ok_or_else(|| format!("unknown route {name:?}"))
    }
}

/// Who sends the requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// A client that has a session (from one `GET /incr`) and keeps its cookie up to date.
    Existing,
    /// A client that never sends a cookie: every request is a new visitor.
    Fresh,
}

impl Scenario {
    /// Both scenarios, in table order.
    pub const ALL: [Scenario; 2] = [Scenario::Existing, Scenario::Fresh];

    /// The scenario's name on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Existing => "existing",
            Scenario::Fresh => "fresh",
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Scenario::ALL
            .into_iter()
            .find(|scenario| scenario.name() == name)
            .ok_or_else(|| format!("unknown scenario {name:?}"))
    }
}

/// The Redis URL for the Redis rows, when this build has them and one is configured.
pub fn redis_url() -> Option<String> {
    if cfg!(feature = "redis") {
        std::env::var(crate::REDIS_URL_VAR)
            .ok()
            .filter(|url| !url.is_empty())
    } else {
        None
    }
}

/// The app of `row`: the three routes behind that row's session layer.
///
/// # Panics
///
/// For [`Row::TsRedis`] when Redis is not configured or cannot be reached.
pub async fn app(row: Row) -> Router {
    let router = match row {
        Row::Baseline => baseline::app(),
        Row::Floor => baseline::app().layer(OneExtension),
        Row::TsCookie => typed::app(typed_sessions::SessionLayer::new(typed::key())),
        Row::TsCookieSigned => {
            typed::app(typed_sessions::SessionLayer::new(typed::key()).with_encryption(false))
        }
        Row::TsMemory => typed::app(
            typed_sessions::SessionLayer::new(typed::key())
                .with_store(typed_sessions::MemoryStore::new()),
        ),
        Row::TsRedis => typed::app(typed::redis_layer().await),
        Row::TowerMemory => rival::app(tower_sessions::SessionManagerLayer::new(
            tower_sessions::MemoryStore::default(),
        )),
        Row::TowerSigned => rival::app(
            tower_sessions::SessionManagerLayer::new(tower_sessions::MemoryStore::default())
                .with_signed(tower_sessions::cookie::Key::from(&[7u8; 64])),
        ),
        Row::ExtraSigned => extra::app(),
    };
    // What `axum::serve` does per connection: handlers become routes once, not per request.
    router.with_state(())
}

/// A layer that inserts one request extension and does nothing else (see [`Row::Floor`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct OneExtension;

/// The extension [`OneExtension`] inserts: one pointer, like typed-sessions' own.
#[derive(Clone, Debug)]
struct Marker(#[allow(dead_code)] Arc<()>);

/// The service of [`OneExtension`].
#[derive(Clone, Debug)]
pub struct OneExtensionService<S> {
    inner: S,
    marker: Marker,
}

impl<S> Layer<S> for OneExtension {
    type Service = OneExtensionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OneExtensionService {
            inner,
            marker: Marker(Arc::new(())),
        }
    }
}

impl<S, B> Service<Request<B>> for OneExtensionService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        request.extensions_mut().insert(self.marker.clone());
        self.inner.call(request)
    }
}

async fn none() -> &'static str {
    "none"
}

/// No session layer: `/read` and `/incr` answer with a number as the session rows do.
mod baseline {
    use super::*;

    async fn read() -> String {
        0u64.to_string()
    }

    async fn incr() -> String {
        1u64.to_string()
    }

    pub(super) fn app() -> Router {
        Router::new()
            .route("/none", get(none))
            .route("/read", get(read))
            .route("/incr", get(incr))
    }
}

/// The three routes on typed-sessions behind `layer`, the way [`app`] builds its rows (for
/// variants: another store, a wrapped store, a manual clock).
pub fn typed_app(layer: typed_sessions::SessionLayer) -> Router {
    typed::app(layer).with_state(())
}

/// The three routes with typed-sessions' handlers but no layer, for a caller to wrap in a
/// layer of its own (or to put the layer around the whole router).
pub fn typed_routes() -> Router {
    typed::routes().with_state(())
}

/// The key every typed-sessions row signs with (fixed, so runs are comparable).
pub fn typed_key() -> typed_sessions::Key {
    typed::key()
}

/// typed-sessions.
mod typed {
    use super::*;
    use typed_sessions::{Key, Session, SessionLayer};

    #[derive(Session, Default)]
    struct Visit {
        views: u64,
    }

    async fn read(visit: Session<Visit>) -> String {
        visit.views.to_string()
    }

    async fn incr(mut visit: Session<Visit>) -> String {
        visit.views += 1;
        visit.views.to_string()
    }

    /// A fixed key, so that runs are comparable.
    pub(super) fn key() -> Key {
        Key::from_bytes(&[7u8; 64]).expect("64 bytes is long enough")
    }

    #[cfg(feature = "redis")]
    pub(super) async fn redis_layer() -> SessionLayer {
        let url = redis_url().expect("the Redis row needs TS_BENCH_REDIS_URL");
        let store = typed_sessions::RedisStore::connect(&url)
            .await
            .unwrap_or_else(|error| panic!("cannot connect to Redis at {url}: {error}"));
        SessionLayer::new(key()).with_store(store)
    }

    #[cfg(not(feature = "redis"))]
    pub(super) async fn redis_layer() -> SessionLayer {
        panic!("the Redis row needs the `redis` feature of typed-sessions-bench")
    }

    pub(super) fn routes() -> Router {
        Router::new()
            .route("/none", get(none))
            .route("/read", get(read))
            .route("/incr", get(incr))
    }

    pub(super) fn app(layer: SessionLayer) -> Router {
        routes().layer(layer)
    }
}

/// tower-sessions, with the same handlers written against its untyped API.
mod rival {
    use super::*;
    use tower_sessions::service::CookieController;
    use tower_sessions::{Session, SessionManagerLayer, SessionStore};

    async fn views(session: &Session) -> u64 {
        session
            .get::<u64>("views")
            .await
            .expect("the memory store does not fail")
            .unwrap_or_default()
    }

    async fn read(session: Session) -> String {
        views(&session).await.to_string()
    }

    async fn incr(session: Session) -> String {
        let views = views(&session).await + 1;
        session
            .insert("views", views)
            .await
            .expect("the memory store does not fail");
        views.to_string()
    }

    pub(super) fn app<S, C>(layer: SessionManagerLayer<S, C>) -> Router
    where
        S: SessionStore + Clone,
        C: CookieController + Sync,
    {
        Router::new()
            .route("/none", get(none))
            .route("/read", get(read))
            .route("/incr", get(incr))
            .layer(layer)
    }
}

/// axum-extra's `SignedCookieJar`, as its documentation shows it: no session, the count itself
/// in a cookie signed with HMAC-SHA256, with the attributes typed-sessions sets by default
/// (`Path=/`, `HttpOnly`, `Secure`, `SameSite=Lax`, a day's `Max-Age`).
mod extra {
    use super::*;
    use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};

    fn views(jar: &SignedCookieJar) -> u64 {
        jar.get("views")
            .and_then(|cookie| cookie.value().parse().ok())
            .unwrap_or_default()
    }

    async fn read(jar: SignedCookieJar) -> String {
        views(&jar).to_string()
    }

    async fn incr(jar: SignedCookieJar) -> (SignedCookieJar, String) {
        let views = views(&jar) + 1;
        let cookie = Cookie::build(("views", views.to_string()))
            .path("/")
            .http_only(true)
            .secure(true)
            .same_site(SameSite::Lax)
            .max_age(time::Duration::days(1));
        (jar.add(cookie), views.to_string())
    }

    pub(super) fn app() -> Router {
        Router::new()
            .route("/none", get(none))
            .route("/read", get(read))
            .route("/incr", get(incr))
            .with_state(Key::from(&[7u8; 64]))
    }
}
