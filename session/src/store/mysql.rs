//! A MySQL / MariaDB store through sqlx: one row per session, fields in a JSON column.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sqlx::mysql::{MySqlDatabaseError, MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::{AssertSqlSafe, Row, error::ErrorKind};
use time::OffsetDateTime;

use crate::Error;
use crate::clock::Clock;
use crate::clock::unix_ms;
use crate::store::StoreKey;
use crate::store::sql::{
    CleanupTask, applied, check_table_name, from_unix_millis, json_kind, map_sqlx_error,
    member_path,
};
use crate::store::{Created, Patch, Record, Updated};
use crate::store::{SessionStore, nesting_exceeds};

/// How long [`MySqlStore::connect`]'s pool waits for a connection before reporting the store
/// unavailable: an outage must fail requests fast, not queue them.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

/// How many expired rows one `DELETE` of [`MySqlStore::delete_expired`] removes at most, so a
/// large backlog is cleared in short transactions instead of one long lock.
const DELETE_BATCH: u64 = 10_000;

/// The deepest nesting a field may have here: MariaDB's JSON functions stop at 32 levels (the
/// record object and a scalar take two), and a value past that would not fail in a non-strict
/// `sql_mode` but be stored as `null`.
const MAX_FIELD_NESTING: usize = 30;

/// Sessions in a MySQL (5.7+) or MariaDB (10.2.7+) table, one row per session.
///
/// - **Schema** ([`migrate`](Self::migrate)): `` `key` `` `CHAR(64)` primary key (the hashed
///   session id), `data` `JSON` (a `LONGTEXT` checked by `JSON_VALID` on MariaDB), `created` and
///   `expires` as `BIGINT` Unix milliseconds (no time-zone conversions), an index on `expires`.
/// - **Atomicity**: a patch is one `UPDATE` of `JSON_SET(JSON_REMOVE(data, ...), ...)` guarded by
///   the row being live, so concurrent requests that change different fields all survive, and a
///   session removed meanwhile is never re-created.
/// - **Expiry**: rows past `expires` are ignored, and deleted by
///   [`delete_expired`](Self::delete_expired), which [`spawn_cleanup`](Self::spawn_cleanup) runs
///   on an interval. "Now" comes from the store's [`Clock`], not the server's.
/// - **Limits**: a field may nest at most 30 arrays and objects deep (MariaDB's JSON functions stop
///   at 32 levels); a deeper field is refused with an error. The server's `max_allowed_packet`
///   bounds a session's size (16 MiB by default on MariaDB, 64 MiB on MySQL 8).
///
/// Clones share the same connection pool.
///
/// # Example
///
/// ```no_run
/// use std::time::Duration;
/// use typed_sessions::{Key, MySqlStore, SessionLayer};
///
/// # async fn run() -> Result<(), typed_sessions::Error> {
/// let store = MySqlStore::connect("mysql://app:secret@localhost/app").await?;
/// store.migrate().await?;
/// let cleanup = store.spawn_cleanup(Duration::from_secs(600));
/// let layer = SessionLayer::new(Key::generate()).with_store(store);
/// # let _ = (layer, cleanup);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MySqlStore {
    pool: MySqlPool,
    sql: Arc<Statements>,
    clock: Clock,
}

/// The fixed statements, with the table name spliced in once.
struct Statements {
    table: String,
    load: Arc<str>,
    delete_expired_key: Arc<str>,
    insert: Arc<str>,
    touch: Arc<str>,
    remove: Arc<str>,
    delete_expired: Arc<str>,
}

impl Statements {
    fn new(table: &str) -> Self {
        let t = format!("`{table}`");
        Self {
            table: table.to_owned(),
            load: format!(
                "SELECT `data`, `created`, `expires` FROM {t} WHERE `key` = ? AND `expires` > ?"
            )
            .into(),
            delete_expired_key: format!("DELETE FROM {t} WHERE `key` = ? AND `expires` <= ?")
                .into(),
            insert: format!(
                "INSERT INTO {t} (`key`, `data`, `created`, `expires`) VALUES (?, ?, ?, ?)"
            )
            .into(),
            touch: format!("UPDATE {t} SET `expires` = ? WHERE `key` = ? AND `expires` > ?").into(),
            remove: format!("DELETE FROM {t} WHERE `key` = ?").into(),
            delete_expired: format!(
                "DELETE FROM {t} WHERE `expires` <= ? ORDER BY `expires` LIMIT {DELETE_BATCH}"
            )
            .into(),
        }
    }
}

impl MySqlStore {
    /// The table used unless [`with_table_name`](Self::with_table_name) says otherwise.
    pub const DEFAULT_TABLE: &'static str = "sessions";

    /// A store on an existing pool, using the table `sessions`.
    ///
    /// Give the pool a short [`acquire_timeout`](MySqlPoolOptions::acquire_timeout) so that an
    /// outage fails requests quickly ([`connect`](Self::connect) uses one second).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sqlx::mysql::MySqlPoolOptions::new()
    ///     .max_connections(20)
    ///     .acquire_timeout(std::time::Duration::from_secs(1))
    ///     .connect("mysql://app:secret@localhost/app")
    ///     .await?;
    /// let store = typed_sessions::MySqlStore::new(pool);
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(pool: MySqlPool) -> Self {
        Self {
            pool,
            sql: Arc::new(Statements::new(Self::DEFAULT_TABLE)),
            clock: Clock::system(),
        }
    }

    /// Connects a pool to `url` (`mysql://user:password@host:port/database`), with a one-second
    /// acquire timeout, and checks that the server answers.
    ///
    /// # Errors
    ///
    /// [`Error::unavailable`] when the server cannot be reached within a second,
    /// [`Error::store`] for an invalid URL or a refused login.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::MySqlStore::connect("mysql://app:secret@localhost/app").await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let pool = MySqlPoolOptions::new()
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await
            .map_err(db_error)?;
        Ok(Self::new(pool))
    }

    /// Keeps sessions in the table `name` instead of `sessions`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] unless `name` is ASCII letters, digits and `_`, not starting with a
    /// digit, at most 63 bytes (it is spliced into SQL).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::MySqlStore::connect("mysql://app:secret@localhost/app")
    ///     .await?
    ///     .with_table_name("app_sessions")?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_table_name(mut self, name: impl AsRef<str>) -> Result<Self, Error> {
        let name = name.as_ref();
        check_table_name(name)?;
        self.sql = Arc::new(Statements::new(name));
        Ok(self)
    }

    /// Reads the time from `clock` instead of the system clock (tests use a
    /// [`ManualClock`](crate::clock::ManualClock)).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let clock = typed_sessions::clock::ManualClock::starting_now();
    /// let store = typed_sessions::MySqlStore::connect("mysql://app:secret@localhost/app")
    ///     .await?
    ///     .with_clock(clock.clone());
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_clock(mut self, clock: impl Into<Clock>) -> Self {
        self.clock = clock.into();
        self
    }

    /// The connection pool.
    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }

    /// The name of the sessions table.
    pub fn table_name(&self) -> &str {
        &self.sql.table
    }

    /// Creates the sessions table and its index if they do not exist yet; safe to run on every
    /// start.
    ///
    /// # Errors
    ///
    /// [`Error::unavailable`] when the server cannot be reached, [`Error::store`] when the
    /// statement fails (e.g. no `CREATE` privilege).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::MySqlStore::connect("mysql://app:secret@localhost/app").await?;
    /// store.migrate().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn migrate(&self) -> Result<(), Error> {
        // `ascii_bin` keys compare exactly; `utf8mb4_bin` keeps every field key distinct on
        // MariaDB, where `JSON` is a `LONGTEXT`.
        let create = format!(
            "CREATE TABLE IF NOT EXISTS `{}` (
                `key` CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
                `data` JSON NOT NULL,
                `created` BIGINT NOT NULL,
                `expires` BIGINT NOT NULL,
                INDEX `expires` (`expires`)
            ) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
            self.sql.table
        );
        sqlx::query(AssertSqlSafe(create))
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// Deletes every expired session, and answers how many there were.
    ///
    /// # Errors
    ///
    /// [`Error::unavailable`] when the server cannot be reached, [`Error::store`] otherwise.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::MySqlStore::connect("mysql://app:secret@localhost/app").await?;
    /// let deleted = store.delete_expired().await?;
    /// println!("deleted {deleted} expired sessions");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn delete_expired(&self) -> Result<u64, Error> {
        let now = unix_ms(self.clock.now());
        let mut total = 0;
        loop {
            let deleted = sqlx::query(audited(&self.sql.delete_expired))
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(db_error)?
                .rows_affected();
            total += deleted;
            if deleted < DELETE_BATCH {
                return Ok(total);
            }
        }
    }

    /// Runs [`delete_expired`](Self::delete_expired) every `interval` on the current Tokio
    /// runtime until the returned task is dropped; failures are logged and retried next time.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::MySqlStore::connect("mysql://app:secret@localhost/app").await?;
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

impl fmt::Debug for MySqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the pool: its connect options hold the password.
        f.debug_struct("MySqlStore")
            .field("table", &self.sql.table)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl SessionStore for MySqlStore {
    async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        let row = sqlx::query(audited(&self.sql.load))
            .bind(key.as_str())
            .bind(unix_ms(self.clock.now()))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(decode_record).transpose()
    }

    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, Error> {
        for (field, value) in record.fields() {
            check_nesting(field, value)?;
        }
        let data = serde_json::to_string(record.fields()).map_err(Error::store)?;
        // Two statements, not `INSERT ... ON DUPLICATE KEY UPDATE`: sqlx always sets
        // CLIENT_FOUND_ROWS, under which an insert and a live row left unchanged both report
        // one affected row. Clearing the expired row first and letting the primary key refuse
        // a live one is exact, also when two creates race: the loser gets a duplicate key.
        sqlx::query(audited(&self.sql.delete_expired_key))
            .bind(key.as_str())
            .bind(unix_ms(self.clock.now()))
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        let inserted = sqlx::query(audited(&self.sql.insert))
            .bind(key.as_str())
            .bind(data)
            .bind(unix_ms(record.created()))
            .bind(unix_ms(record.expires()))
            .execute(&self.pool)
            .await;
        match inserted {
            Ok(_) => Ok(Created::Stored),
            Err(sqlx::Error::Database(e)) if e.kind() == ErrorKind::UniqueViolation => {
                Ok(Created::AlreadyExists)
            }
            Err(e) => Err(db_error(e)),
        }
    }

    async fn patch(&self, key: &StoreKey, patch: &Patch) -> Result<Updated, Error> {
        for (field, value) in patch.changed() {
            check_nesting(field, value)?;
        }
        let sql = patch_statement(&self.sql.table, patch);
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for field in patch.removed() {
            query = query.bind(member_path(field));
        }
        for (field, value) in patch.changed() {
            query = query.bind(member_path(field)).bind(value.to_string());
        }
        let done = query
            .bind(unix_ms(patch.expires()))
            .bind(key.as_str())
            .bind(unix_ms(self.clock.now()))
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(applied(done.rows_affected()))
    }

    async fn remove(&self, key: &StoreKey) -> Result<(), Error> {
        sqlx::query(audited(&self.sql.remove))
            .bind(key.as_str())
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn touch(&self, key: &StoreKey, expires: OffsetDateTime) -> Result<Updated, Error> {
        let done = sqlx::query(audited(&self.sql.touch))
            .bind(unix_ms(expires))
            .bind(key.as_str())
            .bind(unix_ms(self.clock.now()))
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(applied(done.rows_affected()))
    }
}

/// A statement of this store: its only spliced part is the table name, which
/// [`check_table_name`] admits only as letters, digits and `_`; all data is bound.
fn audited(sql: &Arc<str>) -> AssertSqlSafe<Arc<str>> {
    AssertSqlSafe(Arc::clone(sql))
}

/// The one `UPDATE` applying `patch`: removals first, then the changed fields, each path and
/// value a bound parameter.
fn patch_statement(table: &str, patch: &Patch) -> String {
    let mut data = String::from("`data`");
    if !patch.removed().is_empty() {
        data = format!("JSON_REMOVE({data}{})", ", ?".repeat(patch.removed().len()));
    }
    if !patch.changed().is_empty() {
        // `JSON_EXTRACT(?, '$')` parses the value so that it is set as JSON of its own type (a
        // bare `?` would be set as a JSON string); `CAST(? AS JSON)` does not exist on MariaDB.
        let pairs = ", ?, JSON_EXTRACT(?, '$')".repeat(patch.changed().len());
        data = format!("JSON_SET({data}{pairs})");
    }
    format!("UPDATE `{table}` SET `data` = {data}, `expires` = ? WHERE `key` = ? AND `expires` > ?")
}

fn decode_record(row: &MySqlRow) -> Result<Record, Error> {
    // Unchecked: MySQL sends a `JSON` column, MariaDB a `LONGTEXT`; both are the text.
    let data: Vec<u8> = row
        .try_get_unchecked("data")
        .map_err(|e| Error::corrupt(format!("session data column: {e}")))?;
    let fields = match serde_json::from_slice::<Value>(&data) {
        Ok(Value::Object(fields)) => fields,
        Ok(other) => {
            return Err(Error::corrupt(format!(
                "session data is JSON {}, not an object",
                json_kind(&other)
            )));
        }
        Err(e) => return Err(Error::corrupt(format!("session data is not JSON: {e}"))),
    };
    Ok(Record::new(
        fields,
        time_column(row, "created")?,
        time_column(row, "expires")?,
    ))
}

fn time_column(row: &MySqlRow, column: &str) -> Result<OffsetDateTime, Error> {
    let millis: i64 = row
        .try_get(column)
        .map_err(|e| Error::corrupt(format!("session `{column}` column: {e}")))?;
    from_unix_millis(millis, column)
}

/// Refuses a field nested deeper than the servers' JSON functions read.
fn check_nesting(field: &str, value: &Value) -> Result<(), Error> {
    if nesting_exceeds(value, MAX_FIELD_NESTING) {
        return Err(Error::store(format!(
            "session field `{field}` nests more than {MAX_FIELD_NESTING} levels deep, more than \
             MySQL/MariaDB JSON functions read"
        )));
    }
    Ok(())
}

/// Sorts a sqlx failure into the crate's errors: the server out of reach is `unavailable`.
fn db_error(error: sqlx::Error) -> Error {
    map_sqlx_error(error, |db| {
        db.try_downcast_ref::<MySqlDatabaseError>()
            .is_some_and(server_unavailable)
    })
}

/// Whether a server error means "cannot serve now" rather than "this request is wrong".
fn server_unavailable(error: &MySqlDatabaseError) -> bool {
    // Too many connections, server shutting down, connection killed (MariaDB), disconnected
    // for inactivity (MySQL 8).
    matches!(error.number(), 1040 | 1053 | 1927 | 4031)
}
