//! Where sessions live: the cookie store, the memory store, and every shipped store against
//! the real server `scripts/test` starts (its address in a `TS_*` variable), each test on a key
//! prefix, a table or a SQLite file of its own.
//!
//! A [`Place`] is one test's spot on a backend. Each [`Place::connect`] opens a new client on
//! it, which is what a restarted app does: a new `Router`, a new `SessionLayer` and a new store
//! client on the same server and the same prefix or table. The memory store cannot survive a
//! real restart, so every client of a memory place shares one instance.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use typed_sessions::{MemoryStore, clock::Clock, store::Record, store::SessionStore};

use crate::any_store::AnyStore;
use crate::wire;

/// Where the session lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// In the signed (or encrypted) cookie.
    Cookie,
    /// In a memory store; the cookie holds the id.
    Memory,
    /// In the test Redis.
    #[cfg(feature = "redis")]
    Redis,
    /// In the test PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres,
    /// In the test MariaDB (the MySQL store).
    #[cfg(feature = "mysql")]
    Mysql,
    /// In a SQLite database file of its own.
    #[cfg(feature = "sqlite")]
    Sqlite,
}

impl Backend {
    /// Whether sessions live in a store (the cookie holds only the id).
    pub fn is_store(self) -> bool {
        self != Backend::Cookie
    }
}

/// The address of a test server, from the environment `scripts/test` sets up.
///
/// # Panics
///
/// When `var` is not set: tests never pass silently without their server.
pub fn env_url(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: run the tests through `scripts/test`, which starts Redis, \
             PostgreSQL and MariaDB on free ports and exports their addresses (and how to stop \
             and start them)"
        )
    })
}

/// A name no other test, nor any other test process, uses: `prefix`, the process id and a
/// counter.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}_{n}", std::process::id())
}

/// A SQLite database file, removed with its journal files when the last holder drops it.
#[derive(Debug)]
pub struct SqliteFile(PathBuf);

impl SqliteFile {
    fn new() -> Self {
        Self(std::env::temp_dir().join(format!("{}.sqlite", unique("typed-sessions-tests-"))))
    }

    /// The URL that opens (and creates) the file.
    pub fn url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.0.display())
    }
}

impl Drop for SqliteFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// One test's spot on a backend, across the restarts of its app.
pub struct Place {
    backend: Backend,
    #[cfg_attr(
        not(any(
            feature = "redis",
            feature = "postgres",
            feature = "mysql",
            feature = "sqlite"
        )),
        allow(dead_code)
    )]
    clock: Option<Clock>,
    memory: MemoryStore,
    /// The Redis key prefix (without its `:`) or the SQL table.
    #[cfg_attr(
        not(any(feature = "redis", feature = "postgres", feature = "mysql")),
        allow(dead_code)
    )]
    name: String,
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    file: Arc<SqliteFile>,
}

impl Place {
    /// A new place on `backend`, whose stores read the system clock.
    pub fn new(backend: Backend) -> Self {
        Self::build(backend, None)
    }

    /// A new place on `backend`, whose stores read `clock`.
    pub fn with_clock(backend: Backend, clock: Clock) -> Self {
        Self::build(backend, Some(clock))
    }

    fn build(backend: Backend, clock: Option<Clock>) -> Self {
        let memory = match &clock {
            Some(clock) => MemoryStore::new().with_clock(clock.clone()),
            None => MemoryStore::new(),
        };
        Self {
            backend,
            clock,
            memory,
            name: unique("ts_"),
            file: Arc::new(SqliteFile::new()),
        }
    }

    /// The backend this place is on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// What a (re)started app opens: a new client on this place, connected on first use;
    /// `None` for the cookie store.
    pub fn connect(&self) -> Option<AnyStore> {
        Some(match self.backend {
            Backend::Cookie => return None,
            Backend::Memory => AnyStore::Memory(self.memory.clone()),
            #[cfg(feature = "redis")]
            Backend::Redis => AnyStore::redis(self.name.clone(), self.clock.clone()),
            #[cfg(feature = "postgres")]
            Backend::Postgres => AnyStore::postgres(self.name.clone(), self.clock.clone()),
            #[cfg(feature = "mysql")]
            Backend::Mysql => AnyStore::mysql(self.name.clone(), self.clock.clone()),
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => AnyStore::sqlite(self.file.clone(), self.clock.clone()),
        })
    }

    /// The stored record of session `id`, read through a client of its own.
    ///
    /// # Panics
    ///
    /// On the cookie store, or when the store fails.
    pub async fn record(&self, id: &str) -> Option<Record> {
        let store = self.connect().expect("a place with a store");
        store.load(&wire::store_key(id)).await.expect("load")
    }
}
