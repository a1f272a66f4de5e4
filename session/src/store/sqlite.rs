//! An SQLite store: one row per session, its fields as JSON text.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
};
use sqlx::{AssertSqlSafe, Row, SqlSafeStr, SqlStr};
use time::OffsetDateTime;

use crate::Error;
use crate::clock::Clock;
use crate::clock::unix_ms;
use crate::store::SessionStore;
use crate::store::StoreKey;
use crate::store::sql::{
    CleanupTask, applied, check_table_name, from_unix_millis, map_sqlx_error, member_path,
};
use crate::store::{Created, Patch, Record, Updated};

/// How long a connection waits for another one's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long [`SqliteStore::connect`]'s pool waits for a free connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Paths per `json_remove` call and path/value pairs per `json_set` call: a patch of more
/// fields nests calls, so that no call exceeds SQLite's limit of 127 function arguments
/// (builds before 3.48).
const REMOVE_PER_CALL: usize = 120;
const SET_PER_CALL: usize = 60;

/// Sessions in an SQLite table, through an sqlx pool.
///
/// The table (default `sessions`, see [`with_table_name`](Self::with_table_name)) is created by
/// [`migrate`](Self::migrate):
///
/// ```sql
/// CREATE TABLE IF NOT EXISTS sessions (
///     key     TEXT PRIMARY KEY NOT NULL,  -- SHA-256 of the session id, hex
///     data    TEXT NOT NULL,              -- JSON object: storage key -> that field's JSON
///     created INTEGER NOT NULL,           -- Unix time, milliseconds
///     expires INTEGER NOT NULL            -- Unix time, milliseconds
/// );
/// CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires);
/// ```
///
/// - **Atomicity**: every operation is one statement. A patch is
///   `data = json_set(json_remove(data, removed...), changed...)` guarded by `expires > now`, so
///   it changes only its fields (concurrent patches of different fields all survive) and never
///   re-creates a row that a concurrent request deleted. Fields set to JSON `null` are stored
///   as `null`, not deleted.
/// - **Expiry**: rows past `expires` are never returned, and `create` may replace them.
///   [`delete_expired`](Self::delete_expired) deletes them, and
///   [`spawn_cleanup`](Self::spawn_cleanup) runs it on an interval.
/// - **Time**: "now" comes from the store's [`Clock`] and is passed to every query.
///
/// [`connect`](Self::connect) opens file databases in WAL mode with a busy timeout, so that
/// several connections (and processes) can share one file; `sqlite::memory:` gets a pool of one
/// connection, the only way a pool sees one in-memory database for its whole life.
///
/// Clones share the same pool.
///
/// # Example
///
/// ```no_run
/// use std::time::Duration;
/// use typed_sessions::{Key, SessionLayer, SqliteStore};
///
/// # async fn run() -> Result<(), typed_sessions::Error> {
/// let store = SqliteStore::connect("sqlite://sessions.db").await?;
/// store.migrate().await?;
/// let cleanup = store.spawn_cleanup(Duration::from_secs(600));
/// let layer = SessionLayer::new(Key::generate()).with_store(store);
/// # let _ = (layer, cleanup);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    sql: Arc<Statements>,
    clock: Clock,
}

/// The statements of one table, built once (the table name is spliced in, after
/// [`check_table_name`]); a patch's statement depends on its shape and is built per call.
struct Statements {
    table: String,
    create_table: SqlStr,
    create_index: SqlStr,
    load: SqlStr,
    create: SqlStr,
    touch: SqlStr,
    remove: SqlStr,
    delete_expired: SqlStr,
}

impl Statements {
    fn new(table: &str) -> Result<Self, Error> {
        check_table_name(table)?;
        Ok(Self {
            table: table.to_owned(),
            create_table: sql(format!(
                "CREATE TABLE IF NOT EXISTS {table} (\
                 key TEXT PRIMARY KEY NOT NULL, \
                 data TEXT NOT NULL, \
                 created INTEGER NOT NULL, \
                 expires INTEGER NOT NULL)"
            )),
            create_index: sql(format!(
                "CREATE INDEX IF NOT EXISTS {table}_expires ON {table} (expires)"
            )),
            load: sql(format!(
                "SELECT data, created, expires FROM {table} WHERE key = ?1 AND expires > ?2"
            )),
            create: sql(format!(
                "INSERT INTO {table} (key, data, created, expires) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (key) DO UPDATE \
                 SET data = excluded.data, created = excluded.created, expires = excluded.expires \
                 WHERE {table}.expires <= ?5"
            )),
            touch: sql(format!(
                "UPDATE {table} SET expires = ?1 WHERE key = ?2 AND expires > ?3"
            )),
            remove: sql(format!("DELETE FROM {table} WHERE key = ?1")),
            delete_expired: sql(format!("DELETE FROM {table} WHERE expires <= ?1")),
        })
    }

    /// `UPDATE` for a patch removing `removed` fields and setting `changed` ones; its
    /// parameters are the removed paths, then each changed path and value, then the expiry,
    /// the key and now.
    fn patch(&self, removed: usize, changed: usize) -> SqlStr {
        let mut data = String::from("data");
        for chunk in chunks(removed, REMOVE_PER_CALL) {
            data = format!("json_remove({data}{})", ", ?".repeat(chunk));
        }
        for chunk in chunks(changed, SET_PER_CALL) {
            data = format!("json_set({data}{})", ", ?, json(?)".repeat(chunk));
        }
        let table = &self.table;
        AssertSqlSafe(format!(
            "UPDATE {table} SET data = {data}, expires = ? WHERE key = ? AND expires > ?"
        ))
        .into_sql_str()
    }
}

/// Sizes of the chunks `total` items are split into, at most `per` each.
fn chunks(total: usize, per: usize) -> impl Iterator<Item = usize> {
    (0..total.div_ceil(per)).map(move |i| per.min(total - i * per))
}

/// A statement whose only dynamic part is a checked table name; cheap to clone.
fn sql(text: String) -> SqlStr {
    AssertSqlSafe(Arc::<str>::from(text)).into_sql_str()
}

impl SqliteStore {
    /// The table name used unless [`with_table_name`](Self::with_table_name) says otherwise.
    ///
    /// ```
    /// assert_eq!(typed_sessions::SqliteStore::DEFAULT_TABLE_NAME, "sessions");
    /// ```
    pub const DEFAULT_TABLE_NAME: &'static str = "sessions";

    /// A store on `pool`, using the table `sessions`.
    ///
    /// The pool's own settings apply: for a file database shared by several connections, open
    /// it in WAL mode with a busy timeout, as [`connect`](Self::connect) does; for an in-memory
    /// database, use a pool of one connection that is never closed.
    ///
    /// # Example
    ///
    /// ```no_run
    /// use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
    /// use typed_sessions::SqliteStore;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let options = SqliteConnectOptions::new()
    ///     .filename("sessions.db")
    ///     .create_if_missing(true)
    ///     .journal_mode(SqliteJournalMode::Wal);
    /// let pool = SqlitePoolOptions::new().connect_with(options).await?;
    /// let store = SqliteStore::new(pool);
    /// store.migrate().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(pool: SqlitePool) -> Self {
        let sql =
            Statements::new(Self::DEFAULT_TABLE_NAME).expect("the default table name is valid");
        Self {
            pool,
            sql: Arc::new(sql),
            clock: Clock::system(),
        }
    }

    /// Opens the database at `url` (created if missing) and returns a store on it.
    ///
    /// `url` is an sqlx SQLite URL: `sqlite://path/to/file.db`, `sqlite:file.db`, or
    /// `sqlite::memory:` for a database that lives as long as the store's pool. A file database
    /// is switched to WAL mode and waits up to 5 s for another connection's write lock.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `url` is not a valid SQLite URL, [`Error::store`] when the
    /// database cannot be opened.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::SqliteStore::connect("sqlite::memory:").await?;
    /// store.migrate().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| Error::Config(format!("invalid SQLite URL: {e}")))?
            .create_if_missing(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
        let pool = if is_in_memory(url) {
            // Each connection to `:memory:` is its own database, which vanishes with its last
            // connection: one connection, kept open for the pool's whole life.
            pool.max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await
        } else {
            pool.connect_with(options.journal_mode(SqliteJournalMode::Wal))
                .await
        };
        Ok(Self::new(pool.map_err(map_error)?))
    }

    /// Keeps the sessions in `table` instead of `sessions`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] unless `table` is made of ASCII letters, digits and `_`, does not start
    /// with a digit, and is at most 63 bytes long (it is spliced into the SQL).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::SqliteStore::connect("sqlite::memory:")
    ///     .await?
    ///     .with_table_name("app_sessions")?;
    /// store.migrate().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_table_name(mut self, table: impl Into<String>) -> Result<Self, Error> {
        self.sql = Arc::new(Statements::new(&table.into())?);
        Ok(self)
    }

    /// Reads "now" from `clock` instead of the system clock (tests use a
    /// [`ManualClock`](crate::clock::ManualClock)).
    ///
    /// # Example
    ///
    /// ```no_run
    /// use typed_sessions::SqliteStore;
    /// use typed_sessions::clock::ManualClock;
    ///
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let clock = ManualClock::starting_now();
    /// let store = SqliteStore::connect("sqlite::memory:").await?.with_clock(clock);
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_clock(mut self, clock: impl Into<Clock>) -> Self {
        self.clock = clock.into();
        self
    }

    /// Creates the table and its index on `expires`, unless they exist.
    ///
    /// # Errors
    ///
    /// [`Error::store`] when SQLite refuses (for example a read-only database).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::SqliteStore::connect("sqlite::memory:").await?;
    /// store.migrate().await?;
    /// store.migrate().await?; // idempotent
    /// # Ok(())
    /// # }
    /// ```
    pub async fn migrate(&self) -> Result<(), Error> {
        for statement in [&self.sql.create_table, &self.sql.create_index] {
            sqlx::query(statement.clone())
                .execute(&self.pool)
                .await
                .map_err(map_error)?;
        }
        Ok(())
    }

    /// Deletes every expired session and returns how many it deleted.
    ///
    /// # Errors
    ///
    /// [`Error::unavailable`] when the database stays locked by another connection,
    /// [`Error::store`] otherwise.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::SqliteStore::connect("sqlite://sessions.db").await?;
    /// let deleted = store.delete_expired().await?;
    /// println!("deleted {deleted} expired sessions");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn delete_expired(&self) -> Result<u64, Error> {
        let done = sqlx::query(self.sql.delete_expired.clone())
            .bind(unix_ms(self.clock.now()))
            .execute(&self.pool)
            .await
            .map_err(map_error)?;
        Ok(done.rows_affected())
    }

    /// Runs [`delete_expired`](Self::delete_expired) every `interval` in a background task
    /// (the first time right away), logging failures, until the returned handle is dropped.
    ///
    /// # Panics
    ///
    /// When called outside a Tokio runtime.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::SqliteStore::connect("sqlite://sessions.db").await?;
    /// let cleanup = store.spawn_cleanup(std::time::Duration::from_secs(600));
    /// // ... serve; dropping `cleanup` stops it.
    /// # drop(cleanup);
    /// # Ok(())
    /// # }
    /// ```
    pub fn spawn_cleanup(&self, interval: Duration) -> CleanupTask {
        let store = self.clone();
        CleanupTask::spawn(interval, move || {
            let store = store.clone();
            async move { store.delete_expired().await }
        })
    }
}

/// Whether an sqlx SQLite URL names an in-memory database.
fn is_in_memory(url: &str) -> bool {
    url.ends_with(":memory:") || url.contains(":memory:?") || url.contains("mode=memory")
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("table", &self.sql.table)
            .field("clock", &self.clock)
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl SessionStore for SqliteStore {
    async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        let row = sqlx::query(self.sql.load.clone())
            .bind(key.as_str())
            .bind(unix_ms(self.clock.now()))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_error)?;
        row.as_ref().map(decode_record).transpose()
    }

    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, Error> {
        let data = serde_json::to_string(record.fields()).map_err(Error::store)?;
        let done = sqlx::query(self.sql.create.clone())
            .bind(key.as_str())
            .bind(data)
            .bind(unix_ms(record.created()))
            .bind(unix_ms(record.expires()))
            .bind(unix_ms(self.clock.now()))
            .execute(&self.pool)
            .await
            .map_err(map_error)?;
        Ok(if done.rows_affected() == 0 {
            Created::AlreadyExists
        } else {
            Created::Stored
        })
    }

    async fn patch(&self, key: &StoreKey, patch: &Patch) -> Result<Updated, Error> {
        let mut query = sqlx::query(self.sql.patch(patch.removed().len(), patch.changed().len()));
        for removed in patch.removed() {
            query = query.bind(member_path(removed));
        }
        for (changed, value) in patch.changed() {
            query = query.bind(member_path(changed)).bind(value.to_string());
        }
        let done = query
            .bind(unix_ms(patch.expires()))
            .bind(key.as_str())
            .bind(unix_ms(self.clock.now()))
            .execute(&self.pool)
            .await
            .map_err(map_error)?;
        Ok(applied(done.rows_affected()))
    }

    async fn remove(&self, key: &StoreKey) -> Result<(), Error> {
        sqlx::query(self.sql.remove.clone())
            .bind(key.as_str())
            .execute(&self.pool)
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn touch(&self, key: &StoreKey, expires: OffsetDateTime) -> Result<Updated, Error> {
        let done = sqlx::query(self.sql.touch.clone())
            .bind(unix_ms(expires))
            .bind(key.as_str())
            .bind(unix_ms(self.clock.now()))
            .execute(&self.pool)
            .await
            .map_err(map_error)?;
        Ok(applied(done.rows_affected()))
    }
}

/// A row of `SELECT data, created, expires` as a record.
fn decode_record(row: &SqliteRow) -> Result<Record, Error> {
    let column = |e: sqlx::Error| Error::corrupt(format!("session row: {e}"));
    let data: String = row.try_get("data").map_err(column)?;
    let fields = match serde_json::from_str(&data) {
        Ok(Value::Object(fields)) => fields,
        Ok(_) => return Err(Error::corrupt("session data is not a JSON object")),
        Err(e) => return Err(Error::corrupt(format!("session data is not JSON: {e}"))),
    };
    Ok(Record::new(
        fields,
        from_unix_millis(row.try_get("created").map_err(column)?, "created")?,
        from_unix_millis(row.try_get("expires").map_err(column)?, "expiry")?,
    ))
}

/// Sorts an sqlx failure into unavailable (the database stays locked, the pool is exhausted
/// or closed), corrupt (a row that cannot be a record) and other store errors.
fn map_error(e: sqlx::Error) -> Error {
    map_sqlx_error(e, |db| db.code().is_some_and(|code| is_busy(&code)))
}

/// Whether an (extended) SQLite result code is `SQLITE_BUSY` or `SQLITE_LOCKED`: another
/// connection held the lock past the busy timeout.
fn is_busy(code: &str) -> bool {
    const SQLITE_BUSY: i32 = 5;
    const SQLITE_LOCKED: i32 = 6;
    code.parse::<i32>()
        .is_ok_and(|code| matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_statement_nests_long_argument_lists() {
        let sql = Statements::new("s").unwrap();
        assert_eq!(
            sql.patch(0, 0).as_str(),
            "UPDATE s SET data = data, expires = ? WHERE key = ? AND expires > ?"
        );
        let text = sql.patch(1, 1).as_str().to_owned();
        assert!(
            text.contains("json_set(json_remove(data, ?), ?, json(?))"),
            "{text}"
        );
        let text = sql
            .patch(REMOVE_PER_CALL + 1, SET_PER_CALL * 2)
            .as_str()
            .to_owned();
        assert_eq!(text.matches("json_remove(").count(), 2);
        assert_eq!(text.matches("json_set(").count(), 2);
        assert_eq!(
            text.matches('?').count(),
            REMOVE_PER_CALL + 1 + SET_PER_CALL * 4 + 3
        );
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(chunks(0, 3).collect::<Vec<_>>(), Vec::<usize>::new());
        assert_eq!(chunks(7, 3).collect::<Vec<_>>(), [3, 3, 1]);
        assert_eq!(chunks(6, 3).collect::<Vec<_>>(), [3, 3]);
    }

    #[test]
    fn millis_round_down() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_500_999_999).unwrap();
        assert_eq!(unix_ms(at), 1_500);
        let before = OffsetDateTime::from_unix_timestamp_nanos(-1).unwrap();
        assert_eq!(unix_ms(before), -1);
        assert_eq!(
            from_unix_millis(1_500, "created")
                .unwrap()
                .unix_timestamp_nanos(),
            1_500_000_000
        );
    }

    #[test]
    fn busy_codes() {
        assert!(is_busy("5") && is_busy("517") && is_busy("6") && is_busy("262"));
        assert!(!is_busy("1") && !is_busy("14") && !is_busy("x"));
    }

    #[test]
    fn memory_urls() {
        assert!(is_in_memory("sqlite::memory:"));
        assert!(is_in_memory("sqlite://:memory:"));
        assert!(is_in_memory("sqlite::memory:?cache=shared"));
        assert!(is_in_memory("sqlite://x?mode=memory"));
        assert!(!is_in_memory("sqlite://sessions.db"));
    }
}
