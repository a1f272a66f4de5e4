//! The peer: tower-sessions 0.14 with tower-sessions-redis-store (fred) and
//! tower-sessions-sqlx-store, serving the same three routes as typed-sessions' bench app
//! (`views`, a `u64`, read or incremented).

use axum::Router;
use axum::routing::get;
use peer_sessions::{Session, SessionManagerLayer, SessionStore};
use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::prelude::{ClientLike, Config, Pool};
use tower_sessions_sqlx_store::PostgresStore;

/// A store shared by the apps of the cells.
pub(crate) type Peer = std::sync::Arc<dyn Fn() -> Router + Send + Sync>;

async fn read(session: Session) -> String {
    let views: u64 = session.get("views").await.unwrap().unwrap_or(0);
    views.to_string()
}

async fn incr(session: Session) -> String {
    let views: u64 = session.get("views").await.unwrap().unwrap_or(0) + 1;
    session.insert("views", views).await.unwrap();
    views.to_string()
}

fn app_on<S: SessionStore + Clone>(store: S) -> Router {
    Router::new()
        .route("/none", get(|| async { "none" }))
        .route("/read", get(read))
        .route("/incr", get(incr))
        .layer(SessionManagerLayer::new(store).with_secure(false))
}

/// The app on `peer`'s store.
pub(crate) fn app(peer: Peer) -> Router {
    peer()
}

/// tower-sessions-redis-store on a one-connection fred pool at `url`, as its documentation
/// builds it.
pub(crate) async fn redis_store(url: &str) -> Peer {
    let pool =
        Pool::new(Config::from_url(url).expect("a URL"), None, None, None, 1).expect("a fred pool");
    let _connection = pool.connect();
    pool.wait_for_connect().await.expect("fred connects");
    let store = RedisStore::new(pool);
    std::sync::Arc::new(move || app_on(store.clone()))
}

/// tower-sessions-sqlx-store on a default sqlx 0.8 pool at `url`, migrated; and whether every
/// connection of that pool is back in it.
pub(crate) async fn postgres_store(url: &str) -> (Peer, impl Fn() -> bool + use<>) {
    let pool = peer_sqlx::PgPool::connect(url)
        .await
        .expect("sqlx 0.8 connects");
    let store = PostgresStore::new(pool.clone());
    store.migrate().await.expect("migrate");
    let idle = move || pool.num_idle() == pool.size() as usize;
    (std::sync::Arc::new(move || app_on(store.clone())), idle)
}
