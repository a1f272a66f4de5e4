//! The one support layer of the typed-sessions tests, shared by every test target and by the
//! fuzz targets in `fuzz/`:
//!
//! - [`wire`]: the cookie wire format, written out independently of the library;
//! - [`backend`]: where sessions live ([`Backend`]), one test's spot on a backend across
//!   restarts ([`Place`]), and the test servers' addresses ([`env_url`]);
//! - [`any_store`]: one store type for every backend ([`AnyStore`]);
//! - [`spy`]: the spy store, which records calls and injects faults and delays;
//! - [`app`], [`response`], [`client`]: the app under test, requests, whole-read responses with
//!   cookie helpers, and a client that keeps its cookie like a browser;
//! - [`reference`](mod@reference), [`account`]: the sessions and handlers the tests share;
//! - [`logs`]: log capture; [`spans`]: capture of the library's spans and their fields;
//! - `raw_sql`: raw SQL on a test database, behind a store's back (with a SQL store feature);
//! - [`source`]: the library's source read as text, for the checks of its shape and docs;
//! - [`input`]: the hostile-input fixture, oracle and strategies of the hardening tests and the
//!   fuzz targets;
//! - [`on_backends!`]: one `#[tokio::test]` per backend.

pub mod account;
pub mod any_store;
pub mod app;
pub mod backend;
pub mod client;
pub mod input;
pub mod logs;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
pub mod raw_sql;
pub mod reference;
pub mod response;
pub mod source;
pub mod spans;
pub mod spy;
pub mod wire;

pub use account::{Account, account_routes, assert_reads};
pub use any_store::AnyStore;
pub use app::{TestApp, get, get_with, layer, request, send, start, test_key};
pub use backend::{Backend, Place, env_url, unique};
pub use client::Browser;
pub use logs::Logs;
pub use reference::{Msg, handlers, reference_routes};
pub use response::TestResponse;
pub use spans::Spans;
pub use spy::{Call, Faults, SpyStore};

/// Runs a test body against backends, one test each, in a module named `$name`:
/// `on_backends!(name, [Cookie, Memory], |backend| async move { ... })`. `Memory` stands for
/// every external store: the memory store, and Redis, PostgreSQL, MariaDB and SQLite when the
/// tests' features `redis`, `postgres`, `mysql` and `sqlite` are on. Each test is a
/// `#[tokio::test]`, unless an attribute before the name says otherwise:
/// `on_backends!(#[tokio::test(flavor = "multi_thread")] name, [Memory], body)`.
#[macro_export]
macro_rules! on_backends {
    (#[$test:meta] $name:ident, [$($backend:ident),+], $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $( $crate::on_backends!(@one [$test] $backend, $body); )+
        }
    };
    ($name:ident, [$($backend:ident),+], $body:expr) => {
        $crate::on_backends!(#[tokio::test] $name, [$($backend),+], $body);
    };
    (@one [$test:meta] Memory, $body:expr) => {
        $crate::on_backends!(@test [$test] Memory, $body);
        #[cfg(feature = "redis")]
        $crate::on_backends!(@test [$test] Redis, $body);
        #[cfg(feature = "postgres")]
        $crate::on_backends!(@test [$test] Postgres, $body);
        #[cfg(feature = "mysql")]
        $crate::on_backends!(@test [$test] Mysql, $body);
        #[cfg(feature = "sqlite")]
        $crate::on_backends!(@test [$test] Sqlite, $body);
    };
    (@one [$test:meta] $backend:ident, $body:expr) => {
        $crate::on_backends!(@test [$test] $backend, $body);
    };
    (@test [$test:meta] $backend:ident, $body:expr) => {
        #[$test]
        #[allow(non_snake_case)]
        async fn $backend() {
            let body = $body;
            body($crate::Backend::$backend).await;
        }
    };
}
