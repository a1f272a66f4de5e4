//! Log in, see who you are, log out.
//!
//! ```sh
//! export SESSION_KEY="$(cargo run -q --example keygen)"   # the key, base64; keep it secret
//! cargo run --example login              # listens on 127.0.0.1:3000 (PORT overrides)
//! curl -c jar -b jar -d user=ann http://127.0.0.1:3000/login
//! curl -c jar -b jar http://127.0.0.1:3000/          # logged in as ann (1 pages seen)
//! curl -c jar -b jar -X POST http://127.0.0.1:3000/logout
//! ```
//!
//! Sessions live in a [`MemoryStore`]: the cookie carries only a signed id, and logging out
//! removes the record, so a copied cookie is dead afterwards. The app itself is in `app.rs`,
//! which the browser test (`tests/browser`) serves too.

mod app;
#[path = "../common/key.rs"]
mod key;
#[path = "../common/serve.rs"]
mod serve;

use typed_sessions::{MemoryStore, SessionLayer};

#[tokio::main]
async fn main() {
    let layer = SessionLayer::new(key::from_env()).with_store(MemoryStore::new());
    serve::serve(app::app(layer)).await;
}
