//! What the SQL stores share: table names, the background cleanup task.

use std::future::Future;
use std::time::Duration;

#[cfg(any(feature = "postgres", feature = "mysql"))]
use serde_json::Value;
#[cfg(any(feature = "sqlite", feature = "mysql"))]
use time::OffsetDateTime;
use tokio::task::JoinHandle;

use crate::Error;
use crate::store::Updated;

/// Checks that `name` can be spliced into SQL as a table name: ASCII letters, digits and `_`,
/// not starting with a digit, at most 63 bytes.
pub(crate) fn check_table_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && !name.as_bytes()[0].is_ascii_digit()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "invalid session table name {name:?}: use ASCII letters, digits and `_`"
        )))
    }
}

/// An `UPDATE`'s affected rows as a patch outcome: no row means no live session.
pub(crate) fn applied(rows: u64) -> Updated {
    if rows == 0 {
        Updated::Missing
    } else {
        Updated::Applied
    }
}

#[cfg(any(feature = "sqlite", feature = "mysql"))]
/// The JSON path of the top-level member `key`, whatever characters it holds: `$.` followed by
/// the key as a JSON string literal, which PostgreSQL, SQLite, MySQL and MariaDB all decode, so
/// `.`, `"`, `\`, `[`, `*` and spaces are plain characters.
pub(crate) fn member_path(key: &str) -> String {
    format!("$.{}", serde_json::Value::from(key))
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
/// What kind of JSON `value` is, for error messages.
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(any(feature = "sqlite", feature = "mysql"))]
/// The time `millis` Unix milliseconds stand for, or a corrupt-record error naming `column`.
pub(crate) fn from_unix_millis(millis: i64, column: &str) -> Result<OffsetDateTime, Error> {
    crate::clock::from_unix_ms(millis)
        .ok_or_else(|| Error::corrupt(format!("session {column} time {millis} is out of range")))
}

/// Sorts an sqlx failure into the crate's errors: the server out of reach (I/O, the pool, or a
/// server error `unreachable` recognises) is unavailable, a row that cannot be a record is
/// corrupt, anything else is a store error.
pub(crate) fn map_sqlx_error(
    e: sqlx::Error,
    unreachable: impl Fn(&dyn sqlx::error::DatabaseError) -> bool,
) -> Error {
    match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Error::unavailable(e),
        sqlx::Error::Database(db) if unreachable(&**db) => Error::unavailable(e),
        sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_) => Error::corrupt(format!("session row: {e}")),
        _ => Error::store(e),
    }
}

/// A background task deleting expired sessions on an interval; stops when dropped.
///
/// # Example
///
/// ```no_run
/// # #[cfg(feature = "sqlite")]
/// # async fn run() -> Result<(), typed_sessions::Error> {
/// let store = typed_sessions::SqliteStore::connect("sqlite::memory:").await?;
/// store.migrate().await?;
/// let cleanup = store.spawn_cleanup(std::time::Duration::from_secs(300));
/// // ... serve; dropping `cleanup` stops it.
/// # drop(cleanup);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "the cleanup task stops when this handle is dropped"]
pub struct CleanupTask {
    handle: JoinHandle<()>,
}

impl CleanupTask {
    /// Runs `sweep` every `interval` on the current Tokio runtime, logging failures.
    pub(crate) fn spawn<F, Fut>(interval: Duration, sweep: F) -> Self
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<u64, Error>> + Send,
    {
        let handle = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match sweep().await {
                    Ok(0) => {}
                    Ok(deleted) => tracing::debug!(deleted, "deleted expired sessions"),
                    Err(error) => tracing::warn!(%error, "deleting expired sessions failed"),
                }
            }
        });
        Self { handle }
    }

    /// Stops the task.
    pub fn stop(self) {}
}

impl Drop for CleanupTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(any(feature = "sqlite", feature = "mysql"))]
    fn member_paths_quote_any_key() {
        assert_eq!(member_path("views"), r#"$."views""#);
        assert_eq!(member_path(r#"a."b"[0] \c"#), r#"$."a.\"b\"[0] \\c""#);
    }

    #[test]
    #[cfg(any(feature = "sqlite", feature = "mysql"))]
    fn millis_round_trip() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_999_999).unwrap();
        let back = from_unix_millis(crate::clock::unix_ms(at), "created").unwrap();
        assert_eq!(back.unix_timestamp_nanos(), 1_700_000_000_123_000_000);
        assert!(from_unix_millis(i64::MAX, "created").is_err());
    }

    #[test]
    fn table_names() {
        assert!(check_table_name("sessions").is_ok());
        assert!(check_table_name("app_sessions_2").is_ok());
        for bad in ["", "1x", "a-b", "a;drop table x", "\"x\"", &"a".repeat(64)] {
            assert!(check_table_name(bad).is_err(), "{bad}");
        }
    }
}
