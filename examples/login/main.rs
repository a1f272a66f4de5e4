//! Log in (with "remember me"), see a notice once, list your devices (your sessions in every
//! browser) and log the others out, log out: server-rendered forms, each with a CSRF token.
//!
//! ```sh
//! export SESSION_KEY="$(cargo run -q --example keygen)"   # the key, base64; keep it secret
//! cargo run --example login              # http://localhost:3000/ (PORT overrides); ann / ann-password
//! SESSION_STORE_URL=redis://127.0.0.1:6379/ cargo run --example login --features redis
//! SESSION_STORE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo run --example login --features postgres
//! ```
//!
//! Sessions live in a [`MemoryStore`](typed_sessions::MemoryStore) unless `SESSION_STORE_URL`
//! names Redis or PostgreSQL: the cookie carries only a signed id, and logging out removes the
//! record, so a copied cookie is dead afterwards. The app itself is in `app/`, which the tests
//! serve too.

mod app;
#[path = "../common/key.rs"]
mod key;
#[path = "../common/serve.rs"]
mod serve;

#[tokio::main]
async fn main() {
    // What went wrong behind a generic error page (a store outage, a forged cookie), at INFO
    // and above, on stderr.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let layer = app::session_layer(key::from_env());
    let url = std::env::var(app::store::VAR).ok();
    let (layer, store) = match app::store::with_store(layer, url.as_deref()).await {
        Ok(found) => found,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    println!("sessions in the {store} store");
    serve::serve(app::router(layer)).await;
}
