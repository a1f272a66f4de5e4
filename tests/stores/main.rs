#![allow(unreachable_pub, missing_docs)]

//! Every shipped store against the conformance kit and its own specific checks, against real
//! servers started by `scripts/test`.

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
mod redis_deployments;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

mod memory {
    typed_sessions::store_conformance!(store = async { typed_sessions::MemoryStore::new() });
}

/// The address of a test server (the store files use `crate::env_url`).
#[allow(unused_imports)]
pub use typed_sessions_tests::env_url;
