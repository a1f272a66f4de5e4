//! PostgreSQL: the fields in a `jsonb` column, the times as `timestamptz`.

use serde_json::Value;
use sqlx::error::DatabaseError;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{Pool, Postgres, Row};
use time::OffsetDateTime;

use super::SqlStore;
use super::connect::connect_server;
use super::dialect::{DbQuery, SqlDialect, pool_calls, sealed};
use super::errors::{corrupt_column, object};
use super::statements::{EXPIRY_INDEX, numbered, unquoted};
use crate::Error;
use crate::store::{Fields, Patch, Record};

/// Sessions in a PostgreSQL table: [`SqlStore`] on [`sqlx::Postgres`].
///
/// The table (default `sessions`, see [`with_table_name`](SqlStore::with_table_name)) is
/// created by [`migrate`](SqlStore::migrate):
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
///   a concurrent request deleted. `create` is one `INSERT ... ON CONFLICT DO UPDATE` that
///   replaces only an expired row.
/// - **Expiry**: rows past `expires` are never returned, and `create` may replace them.
///   [`delete_expired`](SqlStore::delete_expired) deletes them, and
///   [`spawn_cleanup`](SqlStore::spawn_cleanup) runs it on an interval.
/// - **Time**: "now" comes from the store's [`Clock`](crate::clock::Clock) and is passed to
///   every query, so the database server's clock is never consulted.
/// - **Outages**: [`connect`](SqlStore::connect)'s pool waits at most one second for a
///   connection; connection failures, shutdowns (SQLSTATE class 08, 57P01–57P03) and "too many
///   connections" (53300) are [`Error::unavailable`], and the same store works again once the
///   server is back.
///
/// Clones share the same pool.
///
/// # Examples
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
pub type PostgresStore = SqlStore<Postgres>;

impl sealed::Sealed for Postgres {}

impl SqlDialect for Postgres {
    const STORE: &'static str = "PostgresStore";
    const KIND: &'static str = "postgres";
    const SCHEMA: &'static [&'static str] = &[
        "CREATE TABLE IF NOT EXISTS {table} (key text PRIMARY KEY, data jsonb NOT NULL, \
         created timestamptz NOT NULL, expires timestamptz NOT NULL)",
        EXPIRY_INDEX,
        "CREATE INDEX IF NOT EXISTS {table}_index ON {table} ((data->>'$index'))",
    ];
    const INDEX_MEMBER: &'static str = "(data->>'$index')";

    type Time = OffsetDateTime;
    type Text<'a> = &'a str;
    type Data<'a> = Json<&'a Fields>;

    fn render(template: &str) -> String {
        numbered(&unquoted(template))
    }

    fn time(at: OffsetDateTime) -> OffsetDateTime {
        at
    }

    fn data(fields: &Fields) -> Result<Json<&Fields>, Error> {
        Ok(Json(fields))
    }

    fn patch_data(_removed: usize, _changed: usize) -> String {
        // Removed keys as a `text[]`, changed fields as one object merged over the rest.
        "(`data` - ?::text[]) || ?::jsonb".to_owned()
    }

    fn bind_patch(query: DbQuery<Self>, patch: &Patch) -> DbQuery<Self> {
        query.bind(patch.removed()).bind(Json(patch.changed()))
    }

    fn decode(row: &PgRow) -> Result<Record, Error> {
        let data: Value = row.try_get("data").map_err(corrupt_column)?;
        Ok(Record::new(
            object(data)?,
            row.try_get("created").map_err(corrupt_column)?,
            row.try_get("expires").map_err(corrupt_column)?,
        ))
    }

    fn is_unreachable(error: &dyn DatabaseError) -> bool {
        error.code().is_some_and(|code| unreachable_state(&code))
    }

    async fn connect(url: &str) -> Result<Pool<Self>, Error> {
        connect_server(url).await
    }

    pool_calls!();
}

/// SQLSTATEs that mean the server is out of reach rather than that the statement failed:
/// connection exceptions (class 08), shutdown in progress (57P01–57P03), too many connections.
fn unreachable_state(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

#[cfg(test)]
mod tests {
    use super::super::statements::{self, Statements};
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
        assert!(Statements::new::<Postgres>("app_sessions").is_ok());
        assert!(matches!(
            Statements::new::<Postgres>("x; drop table y"),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn patch_statement_is_one_update() {
        assert_eq!(
            statements::patch::<Postgres>("s", 2, 3).as_str(),
            "UPDATE s SET data = (data - $1::text[]) || $2::jsonb, expires = $3 \
             WHERE key = $4 AND expires > $5"
        );
    }
}
