//! The seed's example: `GET /` counts your visits, the count kept in a signed cookie.
//!
//! ```sh
//! cargo run --example counter            # listens on 127.0.0.1:3000 (PORT overrides)
//! curl -c jar -b jar http://127.0.0.1:3000/   # 1 views
//! curl -c jar -b jar http://127.0.0.1:3000/   # 2 views
//! ```

use axum::{Router, routing::get};
use typed_sessions::{Key, Session, SessionLayer};

#[derive(Session, Default)]
struct Visit {
    views: u64,
}

async fn count(mut visit: Session<Visit>) -> String {
    visit.views += 1;
    format!("{} views", visit.views)
}

#[tokio::main]
async fn main() {
    // A fresh key per run: restart the server and every cookie it issued is refused. Load a
    // stored key with `Key::from_bytes` to keep sessions across restarts.
    let layer = SessionLayer::new(Key::generate());
    let app = Router::new().route("/", get(count)).layer(layer);

    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
        .await
        .expect("bind 127.0.0.1:$PORT");
    println!(
        "listening on http://{}",
        listener.local_addr().expect("local address")
    );
    axum::serve(listener, app).await.expect("server error");
}
