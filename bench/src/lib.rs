//! What a session costs per request: the same three routes on no session layer, on
//! typed-sessions (cookie, memory and Redis stores) and on tower-sessions (memory store, plain
//! and signed cookies), driven in-process and over loopback TCP.
//!
//! The route contract, the same on every row:
//!
//! - `GET /none` never touches the session;
//! - `GET /read` reads `views` and changes nothing;
//! - `GET /incr` increments `views`.
//!
//! Each is requested by a client that keeps its cookie ([`Scenario::Existing`]) or by a fresh
//! client with no cookie ([`Scenario::Fresh`]). See `bench/README.md` for the results and the
//! commands that produce them.

pub mod alloc;
pub mod apps;
pub mod client;
pub mod load;
pub mod profile;
pub mod wire;

pub use apps::{Route, Row, Scenario, app, typed_app, typed_key, typed_routes};
pub use client::Client;

/// The environment variable that names the Redis server for the Redis rows
/// (`redis://127.0.0.1:<port>/`); without it those rows are skipped.
pub const REDIS_URL_VAR: &str = "TS_BENCH_REDIS_URL";

/// A single-threaded Tokio runtime: every in-process measurement runs on the calling thread,
/// so instruction and allocation counts are those of one request and nothing else.
///
/// # Panics
///
/// If the runtime cannot be built.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread Tokio runtime")
}
