//! The counter, with sessions in PostgreSQL.
//!
//! ```sh
//! export SESSION_KEY="$(cargo run -q --example keygen)"   # every instance shares it
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo run --example postgres --features postgres
//! curl -c jar -b jar http://127.0.0.1:3000/   # 1 views
//! ```

#[path = "../common/counter.rs"]
mod counter;
#[path = "../common/key.rs"]
mod key;
#[path = "../common/serve.rs"]
mod serve;

use typed_sessions::{PostgresStore, SessionLayer};

#[tokio::main]
async fn main() {
    let key = key::from_env();
    let url = std::env::var("DATABASE_URL").expect("set DATABASE_URL to a PostgreSQL URL");
    let store = PostgresStore::connect(&url)
        .await
        .expect("connect to PostgreSQL");
    // Creates the table, and starts deleting expired rows every ten minutes.
    store.migrate().await.expect("create the sessions table");

    let layer = SessionLayer::new(key).with_store(store);
    serve::serve(counter::app(layer)).await;
}
