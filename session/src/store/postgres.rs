//! A PostgreSQL store: one row per session, its fields in a `jsonb` column.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, Row, SqlSafeStr, SqlStr};
use time::OffsetDateTime;

use crate::Error;
use crate::clock::Clock;
use crate::store::SessionStore;
use crate::store::StoreKey;
use crate::store::sql::{CleanupTask, applied, check_table_name, json_kind, map_sqlx_error};
use crate::store::{Created, Patch, Record, Updated};

/// How long [`PostgresStore::connect`]'s pool waits for a connection before the call fails as
/// unavailable: short, so that an outage answers 503 quickly instead of queueing requests.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

/// Sessions in a PostgreSQL table, through an sqlx pool.
///
/// The table (default `sessions`, see [`with_table_name`](Self::with_table_name)) is created by
/// [`migrate`](Self::migrate):
///
/// ```sql
/// CREATE TABLE IF NOT EXISTS sessions (
///     key     text PRIMARY KEY,      -- SHA-256 of the session id, hex
///     data    jsonb NOT NULL,        -- storage key -> that field's JSON
///     created timestamptz NOT NULL,
///     expires timestamptz NOT NULL
/// );
/// CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires);
/// ```
///
/// - **Atomicity**: every operation is one statement. A patch is
///   `data = (data - removed) || changed` guarded by `expires > now`, so it changes only its
///   fields (concurrent patches of different fields all survive) and never re-creates a row that
///   a concurrent request deleted.
/// - **Expiry**: rows past `expires` are never returned, and `create` may replace them.
///   [`delete_expired`](Self::delete_expired) deletes them, and
///   [`spawn_cleanup`](Self::spawn_cleanup) runs it on an interval.
/// - **Time**: "now" comes from the store's [`Clock`] and is passed to every query, so the
///   database server's clock is never consulted.
///
/// Clones share the same pool.
///
/// # Example
///
/// ```no_run
/// use std::time::Duration;
/// use typed_sessions::{Key, PostgresStore, SessionLayer};
///
/// # async fn run() -> Result<(), typed_sessions::Error> {
/// let store = PostgresStore::connect("postgres://app@localhost/app").await?;
/// store.migrate().await?;
/// let cleanup = store.spawn_cleanup(Duration::from_secs(600));
/// let layer = SessionLayer::new(Key::generate()).with_store(store);
/// # let _ = (layer, cleanup);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    sql: Arc<Statements>,
    clock: Clock,
}

/// The statements of one table, built once (the table name is spliced in, after
/// [`check_table_name`]).
struct Statements {
    table: String,
    create_table: SqlStr,
    create_index: SqlStr,
    load: SqlStr,
    create: SqlStr,
    patch: SqlStr,
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
                 key text PRIMARY KEY, \
                 data jsonb NOT NULL, \
                 created timestamptz NOT NULL, \
                 expires timestamptz NOT NULL)"
            )),
            create_index: sql(format!(
                "CREATE INDEX IF NOT EXISTS {table}_expires ON {table} (expires)"
            )),
            load: sql(format!(
                "SELECT data, created, expires FROM {table} WHERE key = $1 AND expires > $2"
            )),
            create: sql(format!(
                "INSERT INTO {table} (key, data, created, expires) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (key) DO UPDATE \
                 SET data = EXCLUDED.data, created = EXCLUDED.created, expires = EXCLUDED.expires \
                 WHERE {table}.expires <= $5"
            )),
            patch: sql(format!(
                "UPDATE {table} SET data = (data - $1::text[]) || $2::jsonb, expires = $3 \
                 WHERE key = $4 AND expires > $5"
            )),
            touch: sql(format!(
                "UPDATE {table} SET expires = $1 WHERE key = $2 AND expires > $3"
            )),
            remove: sql(format!("DELETE FROM {table} WHERE key = $1")),
            delete_expired: sql(format!("DELETE FROM {table} WHERE expires <= $1")),
        })
    }
}

/// A statement whose only dynamic part is a checked table name; cheap to clone.
fn sql(text: String) -> SqlStr {
    AssertSqlSafe(Arc::<str>::from(text)).into_sql_str()
}

impl PostgresStore {
    /// The table name used unless [`with_table_name`](Self::with_table_name) says otherwise.
    ///
    /// ```
    /// assert_eq!(typed_sessions::PostgresStore::DEFAULT_TABLE_NAME, "sessions");
    /// ```
    pub const DEFAULT_TABLE_NAME: &'static str = "sessions";

    /// A store on `pool`, using the table `sessions`.
    ///
    /// The pool's own settings apply; give it a short
    /// [`acquire_timeout`](sqlx::pool::PoolOptions::acquire_timeout) so that a database outage
    /// fails requests quickly, as [`connect`](Self::connect) does.
    ///
    /// # Example
    ///
    /// ```no_run
    /// use typed_sessions::PostgresStore;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sqlx::postgres::PgPoolOptions::new()
    ///     .max_connections(20)
    ///     .acquire_timeout(std::time::Duration::from_secs(1))
    ///     .connect("postgres://app@localhost/app")
    ///     .await?;
    /// let store = PostgresStore::new(pool);
    /// store.migrate().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(pool: PgPool) -> Self {
        let sql =
            Statements::new(Self::DEFAULT_TABLE_NAME).expect("the default table name is valid");
        Self {
            pool,
            sql: Arc::new(sql),
            clock: Clock::system(),
        }
    }

    /// Connects a pool to `url` (acquire timeout 1 s) and returns a store on it.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `url` is not a valid PostgreSQL URL, [`Error::unavailable`] when
    /// the server cannot be reached, [`Error::store`] when it refuses the connection (for
    /// example a failed authentication).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::PostgresStore::connect("postgres://app@localhost/app").await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let pool = PgPoolOptions::new()
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await
            .map_err(|e| match e {
                sqlx::Error::Configuration(e) => {
                    Error::Config(format!("invalid PostgreSQL URL: {e}"))
                }
                e => map_error(e),
            })?;
        Ok(Self::new(pool))
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
    /// let store = typed_sessions::PostgresStore::connect("postgres://app@localhost/app")
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
    /// use typed_sessions::PostgresStore;
    /// use typed_sessions::clock::ManualClock;
    ///
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let clock = ManualClock::starting_now();
    /// let store = PostgresStore::connect("postgres://app@localhost/app").await?.with_clock(clock);
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
    /// [`Error::unavailable`] when the server cannot be reached, [`Error::store`] when it
    /// refuses (for example for lack of privileges).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::PostgresStore::connect("postgres://app@localhost/app").await?;
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
    /// [`Error::unavailable`] when the server cannot be reached, [`Error::store`] otherwise.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::PostgresStore::connect("postgres://app@localhost/app").await?;
    /// let deleted = store.delete_expired().await?;
    /// println!("deleted {deleted} expired sessions");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn delete_expired(&self) -> Result<u64, Error> {
        let done = sqlx::query(self.sql.delete_expired.clone())
            .bind(self.clock.now())
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
    /// let store = typed_sessions::PostgresStore::connect("postgres://app@localhost/app").await?;
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

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pool's connect options (which may hold a password) are deliberately left out.
        f.debug_struct("PostgresStore")
            .field("table", &self.sql.table)
            .field("clock", &self.clock)
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl SessionStore for PostgresStore {
    async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        let row = sqlx::query(self.sql.load.clone())
            .bind(key.as_str())
            .bind(self.clock.now())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_error)?;
        row.as_ref().map(decode_record).transpose()
    }

    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, Error> {
        let done = sqlx::query(self.sql.create.clone())
            .bind(key.as_str())
            .bind(Json(record.fields()))
            .bind(record.created())
            .bind(record.expires())
            .bind(self.clock.now())
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
        let done = sqlx::query(self.sql.patch.clone())
            .bind(patch.removed())
            .bind(Json(patch.changed()))
            .bind(patch.expires())
            .bind(key.as_str())
            .bind(self.clock.now())
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
            .bind(expires)
            .bind(key.as_str())
            .bind(self.clock.now())
            .execute(&self.pool)
            .await
            .map_err(map_error)?;
        Ok(applied(done.rows_affected()))
    }
}

/// A row of `SELECT data, created, expires` as a record.
fn decode_record(row: &PgRow) -> Result<Record, Error> {
    let column = |e: sqlx::Error| Error::corrupt(format!("session row: {e}"));
    let data: Value = row.try_get("data").map_err(column)?;
    let Value::Object(fields) = data else {
        return Err(Error::corrupt(format!(
            "session data is not a JSON object: {}",
            json_kind(&data)
        )));
    };
    Ok(Record::new(
        fields,
        row.try_get("created").map_err(column)?,
        row.try_get("expires").map_err(column)?,
    ))
}

/// Sorts an sqlx failure into unavailable (the server is out of reach), corrupt (a row that
/// cannot be a record) and other store errors.
fn map_error(e: sqlx::Error) -> Error {
    map_sqlx_error(e, |db| {
        db.code().is_some_and(|code| unreachable_state(&code))
    })
}

/// SQLSTATEs that mean the server is out of reach rather than that the statement failed:
/// connection exceptions (class 08), shutdown in progress (57P01–57P03), too many connections.
fn unreachable_state(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates() {
        for code in ["08006", "08001", "57P01", "57P03", "53300"] {
            assert!(unreachable_state(code), "{code}");
        }
        for code in ["23505", "42P01", "22P02"] {
            assert!(!unreachable_state(code), "{code}");
        }
    }

    #[test]
    fn table_name_is_checked() {
        assert!(Statements::new("app_sessions").is_ok());
        assert!(matches!(
            Statements::new("x; drop table y"),
            Err(Error::Config(_))
        ));
    }
}
