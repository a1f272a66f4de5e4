//! The seed's example: `GET /` counts your visits, the count kept in an encrypted cookie.
//!
//! ```sh
//! cargo run --example counter            # listens on 127.0.0.1:3000 (PORT overrides)
//! curl -c jar -b jar http://127.0.0.1:3000/   # 1 views
//! curl -c jar -b jar http://127.0.0.1:3000/   # 2 views
//! ```
//!
//! The counter itself is in `examples/common/counter.rs`:
//!
//! ```ignore
//! #[derive(Session, Default)]
//! struct Visit {
//!     views: u64,
//! }
//!
//! async fn count(mut visit: Session<Visit>) -> String {
//!     visit.views += 1;
//!     format!("{} views", visit.views)
//! }
//! ```

#[path = "../common/counter.rs"]
mod counter;
#[path = "../common/serve.rs"]
mod serve;

use typed_sessions::{Key, SessionLayer};

#[tokio::main]
async fn main() {
    // A fresh key per run, so that the counter runs with no set-up: restart the server and
    // every cookie it issued is refused. The login, redis and postgres examples read a stored
    // key from `SESSION_KEY` instead (`examples/common/key.rs`).
    //
    // Local development over plain http: the cookie goes without `Secure` to localhost and
    // 127.0.0.1 only, so that every client keeps it (Safari and Python's cookie jar withhold
    // `Secure` cookies over http). Any other host still gets a `Secure` cookie.
    let layer = SessionLayer::new(Key::generate()).with_http_on_localhost(true);
    serve::serve(counter::app(layer)).await;
}
