//! The SQL stores: one core, [`SqlStore`], and a [`SqlDialect`] per database.

mod cleanup;
mod connect;
mod contract;
mod dialect;
mod errors;
#[cfg(any(feature = "mysql", feature = "sqlite"))]
mod json_text;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
mod statements;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::Pool;

use crate::Error;
use crate::clock::Clock;
use dialect::DbQuery;
use errors::map_error;
use statements::Statements;

pub use cleanup::CleanupTask;
pub use dialect::SqlDialect;
#[cfg(feature = "mysql")]
pub use mysql::MySqlStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

/// Sessions in an SQL table, one row per session, through an sqlx pool of the database `DB`.
///
/// Use it by its database's name: [`PostgresStore`] (`SqlStore<sqlx::Postgres>`),
/// [`MySqlStore`] (`SqlStore<sqlx::MySql>`, for MySQL and MariaDB) or [`SqliteStore`]
/// (`SqlStore<sqlx::Sqlite>`). Their pages tell each table's schema, how a patch is written and
/// the limits of that database.
///
/// Every SQL store:
///
/// - **Schema**: a row holds the session's key (the SHA-256 of its id, never the id), its
///   fields as one JSON object, and its creation and expiry times.
///   [`migrate`](Self::migrate) creates the table, an index on the expiry and one on the
///   session's index digest (listing a user's sessions).
/// - **Atomicity**: a patch is one `UPDATE` guarded by the row being live, so it changes only
///   its fields (concurrent patches of different fields all survive) and never re-creates a row
///   that a concurrent request deleted; `create` never overwrites a live row.
/// - **Expiry**: rows past their expiry are never returned, and `create` may replace them.
///   [`migrate`](Self::migrate) also starts a background task that deletes them every ten
///   minutes ([`with_cleanup_interval`](Self::with_cleanup_interval)), for as long as a clone
///   of the store lives: the table does not grow with every session ever created, even under a
///   flood of new sessions (a cookieless client that writes creates one per request: without
///   the cleanup, every one of them stays until deleted).
///   [`delete_expired`](Self::delete_expired) deletes them on demand.
/// - **Time**: "now" comes from the store's [`Clock`] and is bound to every statement, so the
///   database's clock is never consulted.
/// - **Errors**: a database out of reach is [`Error::unavailable`] (the request answers 503), a
///   row that is not a session record is [`Error::corrupt`].
///
/// Clones share the same pool.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "sqlite")]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), typed_sessions::Error> {
/// use std::time::Duration;
/// use typed_sessions::{Key, SessionLayer, SqliteStore};
///
/// let store = SqliteStore::connect("sqlite::memory:").await?;
/// store.migrate().await?; // also starts deleting expired sessions every ten minutes
/// let layer = SessionLayer::new(Key::generate()).with_store(store);
/// # let _ = layer;
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "sqlite"))]
/// # fn main() {}
/// ```
pub struct SqlStore<DB: SqlDialect> {
    pool: Pool<DB>,
    sql: Arc<Statements>,
    clock: Clock,
    /// How often the background cleanup that `migrate` starts runs; `None`: not at all.
    cleanup_every: Option<Duration>,
    /// That cleanup, shared by the clones of this store, stopped when the last goes. A builder
    /// call that changes what it deletes (the table, the clock) gives the store a slot of its
    /// own.
    cleanup: Arc<Mutex<Option<CleanupTask>>>,
}

/// How often the cleanup that [`SqlStore::migrate`] starts runs, unless configured.
const DEFAULT_CLEANUP_EVERY: Duration = Duration::from_secs(600);

impl<DB: SqlDialect> SqlStore<DB> {
    /// The table name used unless [`with_table_name`](Self::with_table_name) says otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")]
    /// assert_eq!(typed_sessions::SqliteStore::DEFAULT_TABLE_NAME, "sessions");
    /// ```
    pub const DEFAULT_TABLE_NAME: &'static str = "sessions";

    /// A store on `pool`, using the table [`DEFAULT_TABLE_NAME`](Self::DEFAULT_TABLE_NAME).
    ///
    /// The pool's own settings apply. Give a server's pool a short
    /// [`acquire_timeout`](sqlx::pool::PoolOptions::acquire_timeout) so that an outage fails
    /// requests quickly, as [`connect`](Self::connect) does (one second). `connect` also turns
    /// off [`test_before_acquire`](sqlx::pool::PoolOptions::test_before_acquire), which pings
    /// the connection before every store call (a round trip more each time), and instead pings
    /// in [`before_acquire`](sqlx::pool::PoolOptions::before_acquire) only a connection that sat
    /// idle for 200 ms or more, which a server restart may have closed: do the same. For
    /// SQLite, open a
    /// file database in WAL mode with a busy timeout, and give an in-memory database a pool of
    /// one connection that is never closed (see [`SqliteStore`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use sqlx::sqlite::SqlitePoolOptions;
    /// use typed_sessions::SqliteStore;
    ///
    /// let pool = SqlitePoolOptions::new()
    ///     .test_before_acquire(false)
    ///     .max_connections(1)
    ///     .idle_timeout(None)
    ///     .max_lifetime(None)
    ///     .connect("sqlite::memory:")
    ///     .await?;
    /// let store = SqliteStore::new(pool);
    /// store.migrate().await?;
    /// # Ok(())
    /// # }
    /// # #[cfg(not(feature = "sqlite"))]
    /// # fn main() {}
    /// ```
    pub fn new(pool: Pool<DB>) -> Self {
        let sql = Statements::new::<DB>(Self::DEFAULT_TABLE_NAME)
            .expect("the default table name is valid");
        Self {
            pool,
            sql: Arc::new(sql),
            clock: Clock::system(),
            cleanup_every: Some(DEFAULT_CLEANUP_EVERY),
            cleanup: Arc::default(),
        }
    }

    /// Opens a pool on `url` and returns a store on it.
    ///
    /// A server ([`PostgresStore`], [`MySqlStore`]) gets a pool that waits at most one second
    /// for a connection, and must answer now. An SQLite database ([`SqliteStore`]) is created if
    /// missing; see its page for WAL mode and `sqlite::memory:`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `url` is not a valid URL for this database,
    /// [`Error::unavailable`] when the server cannot be reached, [`Error::store`] when it
    /// refuses the connection (for example a failed login) or the database cannot be opened.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::SqliteStore::connect("sqlite::memory:").await?;
    /// store.migrate().await?;
    /// # Ok(())
    /// # }
    /// # #[cfg(not(feature = "sqlite"))]
    /// # fn main() {}
    /// ```
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Ok(Self::new(DB::connect(url).await?))
    }

    /// Keeps the sessions in the table `name` instead of
    /// [`DEFAULT_TABLE_NAME`](Self::DEFAULT_TABLE_NAME).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] unless `name` is made of ASCII letters, digits and `_`, does not start
    /// with a digit, and is at most 63 bytes long (it is spliced into the SQL).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::SqliteStore::connect("sqlite::memory:")
    ///     .await?
    ///     .with_table_name("app_sessions")?;
    /// store.migrate().await?;
    /// assert_eq!(store.table_name(), "app_sessions");
    /// # Ok(())
    /// # }
    /// # #[cfg(not(feature = "sqlite"))]
    /// # fn main() {}
    /// ```
    pub fn with_table_name(mut self, name: impl Into<String>) -> Result<Self, Error> {
        self.sql = Arc::new(Statements::new::<DB>(&name.into())?);
        self.cleanup = Arc::default();
        Ok(self)
    }

    /// Reads "now" from `clock` instead of the system clock (tests use a
    /// [`ManualClock`](crate::clock::ManualClock)).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// use typed_sessions::SqliteStore;
    /// use typed_sessions::clock::ManualClock;
    ///
    /// let clock = ManualClock::starting_now();
    /// let store = SqliteStore::connect("sqlite::memory:").await?.with_clock(clock.clone());
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// # #[cfg(not(feature = "sqlite"))]
    /// # fn main() {}
    /// ```
    #[must_use]
    pub fn with_clock(mut self, clock: impl Into<Clock>) -> Self {
        self.clock = clock.into();
        self.cleanup = Arc::default();
        self
    }

    /// Runs the background cleanup that [`migrate`](Self::migrate) starts every `every`
    /// (default ten minutes) instead.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::SqliteStore::connect("sqlite::memory:")
    ///     .await?
    ///     .with_cleanup_interval(std::time::Duration::from_secs(60));
    /// store.migrate().await?;
    /// # Ok(())
    /// # }
    /// # #[cfg(not(feature = "sqlite"))]
    /// # fn main() {}
    /// ```
    #[must_use]
    pub fn with_cleanup_interval(mut self, every: Duration) -> Self {
        self.cleanup_every = Some(every);
        self.cleanup = Arc::default();
        self
    }

    /// Starts no background cleanup: something else deletes expired sessions (a cron job
    /// calling [`delete_expired`](Self::delete_expired), or another instance of the
    /// application). Without it, the table keeps every session ever created.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::SqliteStore::connect("sqlite::memory:")
    ///     .await?
    ///     .without_cleanup();
    /// store.migrate().await?;
    /// # Ok(())
    /// # }
    /// # #[cfg(not(feature = "sqlite"))]
    /// # fn main() {}
    /// ```
    #[must_use]
    pub fn without_cleanup(mut self) -> Self {
        self.cleanup_every = None;
        self.cleanup = Arc::default();
        self
    }

    /// The connection pool.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::SqliteStore::connect("sqlite::memory:").await?;
    /// assert_eq!(store.pool().size(), 1);
    /// # Ok(())
    /// # }
    /// # #[cfg(not(feature = "sqlite"))]
    /// # fn main() {}
    /// ```
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    /// The name of the sessions table.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::SqliteStore::connect("sqlite::memory:").await?;
    /// assert_eq!(store.table_name(), "sessions");
    /// # Ok(())
    /// # }
    /// # #[cfg(not(feature = "sqlite"))]
    /// # fn main() {}
    /// ```
    pub fn table_name(&self) -> &str {
        &self.sql.table
    }

    /// Creates the table and its indexes, unless they exist, and adds what a table made by an
    /// earlier version lacks; safe to run on every start. Then starts, unless one runs already for this store or
    /// [`without_cleanup`](Self::without_cleanup) says otherwise, the background task that
    /// deletes expired sessions every ten minutes (the first time ten minutes from now), until
    /// the last clone of the store is dropped. Outside a Tokio runtime no task starts.
    ///
    /// # Errors
    ///
    /// [`Error::unavailable`] when the database cannot be reached, [`Error::store`] when it
    /// refuses (for example for lack of privileges, or a read-only SQLite file).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::SqliteStore::connect("sqlite::memory:").await?;
    /// store.migrate().await?;
    /// store.migrate().await?; // idempotent
    /// # Ok(())
    /// # }
    /// # #[cfg(not(feature = "sqlite"))]
    /// # fn main() {}
    /// ```
    pub async fn migrate(&self) -> Result<(), Error> {
        for statement in &self.sql.migrate {
            self.run(sqlx::query(statement.clone())).await?;
        }
        DB::upgrade(&self.pool, &self.sql.table)
            .await
            .map_err(map_error::<DB>)?;
        self.start_cleanup();
        Ok(())
    }

    /// Starts the background cleanup, once per slot.
    fn start_cleanup(&self) {
        let Some(every) = self.cleanup_every else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let mut slot = self.cleanup.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            // The task's store shares the pool, not the slot: the task must not keep the
            // stores' slot, and so itself, alive.
            let sweeper = Self {
                cleanup: Arc::default(),
                ..self.clone()
            };
            *slot = Some(CleanupTask::spawn(every, false, move || {
                let sweeper = sweeper.clone();
                async move { sweeper.delete_expired().await }
            }));
        }
    }

    /// Deletes every expired session and returns how many it deleted.
    ///
    /// # Errors
    ///
    /// [`Error::unavailable`] when the database cannot be reached (or an SQLite file stays
    /// locked by another connection), [`Error::store`] otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::SqliteStore::connect("sqlite::memory:").await?;
    /// store.migrate().await?;
    /// let deleted = store.delete_expired().await?;
    /// assert_eq!(deleted, 0);
    /// # Ok(())
    /// # }
    /// # #[cfg(not(feature = "sqlite"))]
    /// # fn main() {}
    /// ```
    pub async fn delete_expired(&self) -> Result<u64, Error> {
        let now = self.clock.now();
        let mut total = 0;
        loop {
            let query = sqlx::query(self.sql.delete_expired.clone()).bind(DB::time(now));
            let deleted = self.run(query).await?;
            total += deleted;
            if DB::DELETE_BATCH.is_none_or(|batch| deleted < batch) {
                return Ok(total);
            }
        }
    }

    /// Runs [`delete_expired`](Self::delete_expired) every `interval` in a background task
    /// (the first time right away), logging failures, until the returned handle is dropped:
    /// for a cleanup under the application's own control (with
    /// [`without_cleanup`](Self::without_cleanup), or a store built with [`new`](Self::new) and
    /// never migrated).
    ///
    /// # Panics
    ///
    /// When called outside a Tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::SqliteStore::connect("sqlite::memory:").await?;
    /// store.migrate().await?;
    /// let cleanup = store.spawn_cleanup(std::time::Duration::from_secs(600));
    /// // ... serve; dropping `cleanup` stops it.
    /// # drop(cleanup);
    /// # Ok(())
    /// # }
    /// # #[cfg(not(feature = "sqlite"))]
    /// # fn main() {}
    /// ```
    pub fn spawn_cleanup(&self, interval: Duration) -> CleanupTask {
        let store = self.clone();
        CleanupTask::spawn(interval, true, move || {
            let store = store.clone();
            async move { store.delete_expired().await }
        })
    }
}

impl<DB: SqlDialect> SqlStore<DB> {
    /// Runs `query` and answers how many rows it affected.
    async fn run(&self, query: DbQuery<DB>) -> Result<u64, Error> {
        DB::execute(&self.pool, query)
            .await
            .map_err(map_error::<DB>)
    }

    /// "Now" as it is bound.
    fn now(&self) -> DB::Time {
        DB::time(self.clock.now())
    }
}

impl<DB: SqlDialect> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            sql: Arc::clone(&self.sql),
            clock: self.clock.clone(),
            cleanup_every: self.cleanup_every,
            cleanup: Arc::clone(&self.cleanup),
        }
    }
}

impl<DB: SqlDialect> fmt::Debug for SqlStore<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pool's connect options (which may hold a password) are deliberately left out.
        f.debug_struct(DB::STORE)
            .field("table", &self.sql.table)
            .field("clock", &self.clock)
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}
