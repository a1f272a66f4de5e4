//! The counter, with sessions in Redis: the cookie carries only a signed id, so any number of
//! app instances behind a load balancer share the sessions.
//!
//! ```sh
//! export SESSION_KEY="$(cargo run -q --example keygen)"   # every instance shares it
//! REDIS_URL=redis://127.0.0.1:6379/ cargo run --example redis --features redis
//! curl -c jar -b jar http://127.0.0.1:3000/   # 1 views
//! ```
//!
//! `REDIS_CLUSTER_URLS=redis://a:7000/,redis://b:7001/` uses a Redis Cluster instead.

#[path = "../common/counter.rs"]
mod counter;
#[path = "../common/key.rs"]
mod key;
#[path = "../common/serve.rs"]
mod serve;

use typed_sessions::{RedisStore, SessionLayer};

#[tokio::main]
async fn main() {
    let key = key::from_env();
    let store = match std::env::var("REDIS_CLUSTER_URLS") {
        Ok(urls) => RedisStore::connect_cluster(urls.split(',').map(str::to_owned)).await,
        Err(_) => {
            let url =
                std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
            RedisStore::connect(&url).await
        }
    }
    .expect("connect to Redis (set REDIS_URL)");
    let layer = SessionLayer::new(key).with_store(store);
    serve::serve(counter::app(layer)).await;
}
