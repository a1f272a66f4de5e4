//! SQLite: the fields as JSON text, the times as Unix milliseconds.

use std::str::FromStr;
use std::time::Duration;

use sqlx::error::DatabaseError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow};
use sqlx::{Pool, Row, Sqlite};
use time::OffsetDateTime;

use super::SqlStore;
use super::connect::{TEST_BEFORE_ACQUIRE, connect_error};
use super::dialect::{DbQuery, SqlDialect, pool_calls, sealed};
use super::errors::corrupt_column;
use super::json_text::{self, JsonFunctions, decode_text_row};
use super::statements::{EXPIRY_INDEX, unquoted};
use crate::Error;
use crate::clock::unix_ms;
use crate::store::{Fields, Patch, Record};

/// Sessions in an SQLite table: [`SqlStore`] on [`sqlx::Sqlite`].
///
/// The table (default `sessions`, see [`with_table_name`](SqlStore::with_table_name)) is
/// created by [`migrate`](SqlStore::migrate):
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
///   as `null`, not deleted. A patch of many fields nests calls so that none takes more than
///   SQLite's 127 arguments. `create` is one `INSERT ... ON CONFLICT DO UPDATE` that replaces
///   only an expired row.
/// - **Expiry**: rows past `expires` are never returned, and `create` may replace them.
///   [`delete_expired`](SqlStore::delete_expired) deletes them, and
///   [`spawn_cleanup`](SqlStore::spawn_cleanup) runs it on an interval.
/// - **Time**: "now" comes from the store's [`Clock`](crate::clock::Clock) and is passed to
///   every query.
/// - **Locks**: a database locked by another connection past the busy timeout is
///   [`Error::unavailable`].
///
/// [`connect`](SqlStore::connect) opens file databases (created if missing) in WAL mode with a
/// busy timeout of 5 s, so that several connections (and processes) can share one file;
/// `sqlite::memory:` gets a pool of one connection, the only way a pool sees one in-memory
/// database for its whole life.
///
/// Clones share the same pool.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), typed_sessions::Error> {
/// use std::time::Duration;
/// use typed_sessions::{Key, SessionLayer, SqliteStore};
///
/// let store = SqliteStore::connect("sqlite::memory:").await?; // or "sqlite://sessions.db"
/// store.migrate().await?;
/// let cleanup = store.spawn_cleanup(Duration::from_secs(600));
/// let layer = SessionLayer::new(Key::generate()).with_store(store);
/// # let _ = (layer, cleanup);
/// # Ok(())
/// # }
/// ```
pub type SqliteStore = SqlStore<Sqlite>;

/// How long a connection waits for another one's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long [`SqliteStore::connect`]'s pool waits for a free connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A patch's JSON functions. Paths per `json_remove` call and path/value pairs per `json_set`
/// call are bounded: a patch of more fields nests calls, so that no call exceeds SQLite's limit
/// of 127 function arguments (builds before 3.48).
const JSON: JsonFunctions = JsonFunctions {
    remove: "json_remove",
    set: "json_set",
    value: "json(?)",
    remove_per_call: 120,
    set_per_call: 60,
};

impl sealed::Sealed for Sqlite {}

impl SqlDialect for Sqlite {
    const STORE: &'static str = "SqliteStore";
    const KIND: &'static str = "sqlite";
    const SCHEMA: &'static [&'static str] = &[
        "CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY NOT NULL, data TEXT NOT NULL, \
         created INTEGER NOT NULL, expires INTEGER NOT NULL)",
        EXPIRY_INDEX,
        "CREATE INDEX IF NOT EXISTS {table}_index ON {table} (CASE WHEN json_valid(data) \
         THEN json_extract(data, '$.\"$index\"') END)",
    ];
    // Guarded by `json_valid`: a row whose data is not JSON (written behind the store's back)
    // must neither fail the index nor every insert; it is simply not indexed.
    const INDEX_MEMBER: &'static str =
        "(CASE WHEN json_valid(data) THEN json_extract(data, '$.\"$index\"') END)";

    type Time = i64;
    type Text<'a> = &'a str;
    type Data<'a> = String;

    fn render(template: &str) -> String {
        unquoted(template)
    }

    fn time(at: OffsetDateTime) -> i64 {
        unix_ms(at)
    }

    fn data(fields: &Fields) -> Result<String, Error> {
        serde_json::to_string(fields).map_err(Error::store)
    }

    fn patch_data(removed: usize, changed: usize) -> String {
        JSON.patch_data(removed, changed)
    }

    fn bind_patch(query: DbQuery<Self>, patch: &Patch) -> DbQuery<Self> {
        json_text::bind_patch(query, patch)
    }

    fn decode(row: &SqliteRow) -> Result<Record, Error> {
        let data: String = row.try_get("data").map_err(corrupt_column)?;
        decode_text_row(data.as_bytes(), row)
    }

    /// Whether an (extended) SQLite result code is `SQLITE_BUSY` or `SQLITE_LOCKED`: another
    /// connection held the lock past the busy timeout.
    fn is_unreachable(error: &dyn DatabaseError) -> bool {
        error.code().is_some_and(|code| is_busy(&code))
    }

    async fn connect(url: &str) -> Result<Pool<Self>, Error> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(connect_error::<Self>)?
            .create_if_missing(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(TEST_BEFORE_ACQUIRE);
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
        pool.map_err(connect_error::<Self>)
    }

    pool_calls!();
}

/// Whether an sqlx SQLite URL names an in-memory database.
fn is_in_memory(url: &str) -> bool {
    url.ends_with(":memory:") || url.contains(":memory:?") || url.contains("mode=memory")
}

/// Whether an (extended) SQLite result code is `SQLITE_BUSY` or `SQLITE_LOCKED`.
fn is_busy(code: &str) -> bool {
    const SQLITE_BUSY: i32 = 5;
    const SQLITE_LOCKED: i32 = 6;
    code.parse::<i32>()
        .is_ok_and(|code| matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED))
}

#[cfg(test)]
mod tests {
    use super::super::statements;
    use super::*;

    #[test]
    fn patch_statement_nests_long_argument_lists() {
        let patch = |removed, changed| statements::patch::<Sqlite>("s", removed, changed);
        assert_eq!(
            patch(0, 0).as_str(),
            "UPDATE s SET data = data, expires = ? WHERE key = ? AND expires > ?"
        );
        let text = patch(1, 1).as_str().to_owned();
        assert!(
            text.contains("json_set(json_remove(data, ?), ?, json(?))"),
            "{text}"
        );
        let (remove, set) = (JSON.remove_per_call, JSON.set_per_call);
        let text = patch(remove + 1, set * 2).as_str().to_owned();
        assert_eq!(text.matches("json_remove(").count(), 2);
        assert_eq!(text.matches("json_set(").count(), 2);
        assert_eq!(text.matches('?').count(), remove + 1 + set * 4 + 3);
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
