#![allow(unreachable_pub, missing_docs)]

//! Every shipped store against the conformance kit and its own specific checks, against real
//! servers started by `scripts/test`.

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

mod memory {
    typed_sessions::store_conformance!(store = async { typed_sessions::MemoryStore::new() });
}

/// The address of a test server, from the environment `scripts/test` sets up.
///
/// # Panics
///
/// When `var` is not set: store tests never pass silently without their server.
#[allow(dead_code)]
pub fn env_url(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: run the store tests through `scripts/test`, which starts Redis, \
             PostgreSQL and MariaDB on free ports and exports their addresses"
        )
    })
}
