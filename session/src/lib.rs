//! Typed HTTP sessions for axum.
//!
//! A session is a plain struct: `#[derive(Session)]` generates its field-by-field codec, and the
//! [`Session<T>`](struct@Session) extractor loads it, verifies it, lets the handler change fields, and saves only
//! the fields that changed — in an encrypted (or only signed) cookie by default, or in a
//! [store](store::SessionStore) such as [`MemoryStore`].
//!
//! # Quick start
//!
//! ```rust
//! use axum::{routing::get, Router};
//! use typed_sessions::{Key, Session, SessionLayer};
//!
//! #[derive(Session, Default)]
//! struct Visit {
//!     views: u64,
//!     #[session(rename = "u")]
//!     user: Option<String>,
//! }
//!
//! async fn count(mut visit: Session<Visit>) -> String {
//!     visit.views += 1;
//!     format!("{} views", visit.views)
//! }
//!
//! async fn login(mut visit: Session<Visit>) {
//!     visit.regenerate(); // new id, data kept: defeats session fixation
//!     visit.user = Some("ann".into());
//! }
//!
//! async fn logout(mut visit: Session<Visit>) {
//!     visit.destroy(); // cookie expired (and the record removed, with a store)
//! }
//!
//! fn app(key: Key) -> Router {
//!     Router::new()
//!         .route("/", get(count))
//!         .route("/login", get(login))
//!         .route("/logout", get(logout))
//!         .layer(SessionLayer::new(key)) // no store: the data lives in the encrypted cookie
//! }
//!
//! #[tokio::main]
//! async fn main() {
//!     use axum::body::Body;
//!     use http::{header, Request};
//!     use http_body_util::BodyExt;
//!     use tower::ServiceExt;
//!
//!     let app = app(Key::generate());
//!     let first = app.clone().oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
//!     let cookie = first.headers()[header::SET_COOKIE].to_str().unwrap();
//!     let cookie = cookie.split(';').next().unwrap().to_owned(); // `__Host-session=<signed value>`
//!
//!     let again = Request::get("/").header(header::COOKIE, &cookie).body(Body::empty()).unwrap();
//!     let second = app.oneshot(again).await.unwrap();
//!     let body = second.into_body().collect().await.unwrap().to_bytes();
//!     assert_eq!(body, "2 views");
//! }
//! ```
//!
//! # How it works
//!
//! - [`SessionLayer`] puts an empty, lazy per-request state into the request; a route that never
//!   extracts a session pays for nothing else.
//! - The first [`Session<T>`](struct@Session) of a request verifies the cookie and loads the
//!   session once, for every `Session<_>` of that request. Idle and absolute expiry are enforced
//!   here.
//! - When a handle drops, each field is re-encoded and compared by value; only changed fields are
//!   saved ([`SessionStore::patch`](store::SessionStore::patch)), so concurrent requests changing
//!   different fields both survive. Unchanged sessions cost no write and no `Set-Cookie`.
//! - A failed save turns the response into an error response; it never passes as success.
//!
//! # What is where
//!
//! The crate root holds what an application writes: the derive and extractor
//! [`Session`](struct@Session), the [`SessionLayer`] builder and its [`Key`], the stores it
//! constructs ([`MemoryStore`], and the Redis and SQL stores behind their features), [`Error`]
//! and [`SessionRejection`].
//!
//! | Module | Holds | For |
//! |---|---|---|
//! | [`store`] | the store contract ([`SessionStore`](store::SessionStore), [`Record`](store::Record), [`Patch`](store::Patch), [`StoreKey`](store::StoreKey), outcomes) and every shipped store | store authors |
//! | [`csrf`] | [`CsrfToken`](csrf::CsrfToken) and [`CsrfLayer`](csrf::CsrfLayer): tokens bound to the session, and the Fetch Metadata / `Origin` check | forms and APIs that change state |
//! | [`clock`] | [`Clock`](clock::Clock), and [`ManualClock`](clock::ManualClock) for tests that move time | tests |
//! | [`service`] | [`SessionService`](service::SessionService), the service the layer wraps around a router or any tower service | naming the types |
//! | `test_kit` | the store conformance kit behind `store_conformance!` (feature `test-kit`) | store authors |
//!
//! # Features
//!
//! | What | Where |
//! |---|---|
//! | Field attributes `rename`, `default = "path"`, `skip`; struct `namespace`, `crate = "path"` | [`macro@Session`] |
//! | `Option<Session<T>>`: read a session without starting one | [`Session`](struct@Session) |
//! | Keys from configuration: base64, hex | [`Key::from_base64`], [`Key::from_hex`] |
//! | Cookie store encrypted with AES-256-GCM, or only signed (HMAC-SHA256) | [`SessionLayer::with_encryption`] |
//! | Key rotation | [`SessionLayer::with_old_key`] |
//! | CSRF tokens bound to the session, Fetch Metadata / `Origin` check | [`csrf`] |
//! | Memory store: expiring, bounded, field-level patches | [`MemoryStore`] |
//! | Any tower service over `http` types, not only axum: `Session::load(&request)` | [`Session::load`] |
//! | Store contract for your own store | [`store::SessionStore`] |
//! | Idle / absolute timeouts, rolling, browser-session cookies | [`SessionLayer`] |
//! | `tracing` spans around each load and commit, named by the store's kind | [`store::SessionStore::kind`] |
//!
//! # Cargo features
//!
//! | Feature | Adds |
//! |---|---|
//! | `redis` | `RedisStore`: Redis standalone, Sentinel and Cluster |
//! | `postgres` | `PostgresStore` (sqlx) |
//! | `mysql` | `MySqlStore`: MySQL and MariaDB (sqlx) |
//! | `sqlite` | `SqliteStore` (sqlx) |
//! | `test-kit` | `store_conformance!` and the `test_kit` module, for store authors |
//! | `metrics` | counters and histograms through the `metrics` facade (the README's "Observability" lists them) |
//!
//! None is on by default.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod any_service;
mod b64;
mod backend;
pub mod clock;
mod codec;
mod commit;
mod config;
mod cookies;
pub mod csrf;
mod data;
pub mod devices;
mod error;
mod expiry;
mod extract;
mod failure;
pub mod flash;
mod id;
mod index_owner;
mod index_value;
mod key;
mod layer;
pub mod lifetime;
mod plain_http;
mod request;
mod reserved;
pub mod service;
mod state;
pub mod store;
mod telemetry;
#[cfg(feature = "test-kit")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-kit")))]
pub mod test_kit;
mod transport;

pub use cookie::SameSite;
pub use data::SessionData;
pub use error::Error;
pub use extract::{Session, SessionRejection};
pub use id::SessionId;
pub use key::Key;
pub use layer::SessionLayer;
pub use store::MemoryStore;
#[cfg(feature = "mysql")]
#[cfg_attr(docsrs, doc(cfg(feature = "mysql")))]
pub use store::MySqlStore;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use store::PostgresStore;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use store::RedisStore;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use store::SqliteStore;
pub use typed_sessions_derive::Session;

#[doc(hidden)]
pub use data::__private;
