//! MySQL and MariaDB: the fields in a `JSON` column, the times as Unix milliseconds.

use serde_json::Value;
use sqlx::error::DatabaseError;
use sqlx::mysql::{MySqlDatabaseError, MySqlRow};
use sqlx::{MySql, Pool, Row};
use time::OffsetDateTime;

use super::SqlStore;
use super::connect::connect_server;
use super::dialect::{DbQuery, SqlDialect, pool_calls, sealed};
use super::errors::corrupt_column;
use super::json_text::{self, JsonFunctions, decode_text_row};
use super::statements::statement;
use crate::Error;
use crate::clock::unix_ms;
use crate::store::{Fields, Patch, Record, nesting_exceeds};

/// Sessions in a MySQL (5.7+) or MariaDB (10.2.7+) table: [`SqlStore`] on [`sqlx::MySql`].
///
/// - **Schema** ([`migrate`](SqlStore::migrate)): `` `key` `` `CHAR(64)` primary key (the
///   hashed session id), `data` `JSON` (a `LONGTEXT` checked by `JSON_VALID` on MariaDB),
///   `created` and `expires` as `BIGINT` Unix milliseconds (no time-zone conversions), an index
///   on `expires`. Listing a user's sessions
///   ([`list_indexed`](crate::store::SessionStore::list_indexed)) reads an index on
///   `index_digest`, a `VIRTUAL` generated column holding the `$index` member of `data` (`NULL`
///   where there is none, or `data` is not valid JSON), and `expires`: not the table. `migrate`
///   adds the column and its index to a table made by an earlier version (one `ALTER TABLE`,
///   run only when the column is missing).
/// - **Atomicity**: a patch is one `UPDATE` of `JSON_SET(JSON_REMOVE(data, ...), ...)` guarded by
///   the row being live, so concurrent requests that change different fields all survive, and a
///   session removed meanwhile is never re-created. `create` deletes an expired row under its
///   key, then inserts: the primary key refuses a live row, also when two creates race.
/// - **Expiry**: rows past `expires` are ignored, and deleted by
///   [`delete_expired`](SqlStore::delete_expired) in batches of 10 000 rows (short transactions
///   rather than one long lock), which [`spawn_cleanup`](SqlStore::spawn_cleanup) runs on an
///   interval. "Now" comes from the store's [`Clock`](crate::clock::Clock), not the server's.
/// - **Limits**: a field may nest at most 30 arrays and objects deep (MariaDB's JSON functions
///   stop at 32 levels); a deeper field is refused with an error. The server's
///   `max_allowed_packet` bounds a session's size (16 MiB by default on MariaDB, 64 MiB on
///   MySQL 8).
/// - **Outages**: [`connect`](SqlStore::connect)'s pool waits at most one second for a
///   connection; "too many connections", a server shutting down and a killed or timed-out
///   connection are [`Error::unavailable`].
///
/// Clones share the same connection pool.
///
/// # Examples
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
pub type MySqlStore = SqlStore<MySql>;

/// The deepest nesting a field may have here: MariaDB's JSON functions stop at 32 levels (the
/// record object and a scalar take two), and a value past that would not fail in a non-strict
/// `sql_mode` but be stored as `null`.
const MAX_FIELD_NESTING: usize = 30;

/// A patch's JSON functions. `JSON_EXTRACT(?, '$')` parses the value so that it is set as JSON
/// of its own type (a bare `?` would be set as a JSON string); `CAST(? AS JSON)` does not exist
/// on MariaDB. No limit on the arguments of one call.
const JSON: JsonFunctions = JsonFunctions {
    remove: "JSON_REMOVE",
    set: "JSON_SET",
    value: "JSON_EXTRACT(?, '$')",
    remove_per_call: usize::MAX,
    set_per_call: usize::MAX,
};

/// The column that listing a user's sessions looks up: the `$index` member of `data`, computed
/// when a row is written (`VIRTUAL`: stored only in its index). A row whose `data` is not
/// valid JSON (MariaDB before 10.4.3 did not check it, nor does a table altered by hand; its
/// JSON functions also refuse more than 32 levels) or whose member is not 64 characters long
/// gets `NULL`: it is simply not indexed, where an error or a value too long for the column
/// would fail its insert or update in strict mode.
macro_rules! index_column {
    () => {
        "`index_digest` VARCHAR(64) AS (CASE WHEN JSON_VALID(`data`) \
         AND CHAR_LENGTH(JSON_UNQUOTE(JSON_EXTRACT(`data`, '$.\"$index\"'))) = 64 \
         THEN JSON_UNQUOTE(JSON_EXTRACT(`data`, '$.\"$index\"')) END) VIRTUAL"
    };
}

/// The index behind listing: a user's live sessions are a range of it.
macro_rules! index_key {
    () => {
        "INDEX `index_digest` (`index_digest`, `expires`)"
    };
}

/// Fails with [`NO_SUCH_COLUMN`] on a table made before `index_column!` existed.
const PROBE_INDEX_COLUMN: &str = "SELECT `index_digest` FROM `{table}` LIMIT 0";

/// Brings such a table up to date: one `ALTER`, so the column never exists without its index.
const ADD_INDEX_COLUMN: &str = concat!(
    "ALTER TABLE `{table}` ADD COLUMN ",
    index_column!(),
    ", ADD ",
    index_key!()
);

/// `ER_BAD_FIELD_ERROR`: an unknown column.
const NO_SUCH_COLUMN: u16 = 1054;

/// `ER_DUP_FIELDNAME`: the column exists already.
const DUPLICATE_COLUMN: u16 = 1060;

/// Adds the indexed column to a table that [`MySql::SCHEMA`] made before it had one. MySQL has
/// no `ADD COLUMN IF NOT EXISTS`: a probe tells whether the column is missing, so that a table
/// already up to date costs no DDL (nor the `ALTER` privilege) at every start. Another instance
/// adding it meanwhile is no error.
async fn add_index_column(pool: &Pool<MySql>, table: &str) -> Result<(), sqlx::Error> {
    let probe = sqlx::query(statement::<MySql>(PROBE_INDEX_COLUMN, table))
        .execute(pool)
        .await;
    if !failed_with(&probe, NO_SUCH_COLUMN) {
        return probe.map(drop);
    }
    let added = sqlx::query(statement::<MySql>(ADD_INDEX_COLUMN, table))
        .execute(pool)
        .await;
    if failed_with(&added, DUPLICATE_COLUMN) {
        return Ok(());
    }
    added.map(drop)
}

/// Whether `result` is the server error `number`.
fn failed_with<T>(result: &Result<T, sqlx::Error>, number: u16) -> bool {
    matches!(result, Err(sqlx::Error::Database(e))
        if e.try_downcast_ref::<MySqlDatabaseError>().is_some_and(|e| e.number() == number))
}

impl sealed::Sealed for MySql {}

impl SqlDialect for MySql {
    const STORE: &'static str = "MySqlStore";
    const KIND: &'static str = "mysql";
    // `ascii_bin` keys compare exactly; `utf8mb4_bin` keeps every field key distinct on
    // MariaDB, where `JSON` is a `LONGTEXT`. The indexes are declared in the table: MySQL has
    // no `CREATE INDEX IF NOT EXISTS`.
    const SCHEMA: &'static [&'static str] = &[concat!(
        "CREATE TABLE IF NOT EXISTS `{table}` (
        `key` CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
        `data` JSON NOT NULL, `created` BIGINT NOT NULL, `expires` BIGINT NOT NULL, ",
        index_column!(),
        ", INDEX `expires` (`expires`), ",
        index_key!(),
        ") ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    )];
    // Two statements, not `INSERT ... ON DUPLICATE KEY UPDATE`: sqlx always sets
    // CLIENT_FOUND_ROWS, under which an insert and a live row left unchanged both report one
    // affected row. Clearing the expired row first and letting the primary key refuse a live
    // one is exact, also when two creates race: the loser gets a duplicate key.
    const CREATE_BY_UPSERT: bool = false;
    // MariaDB has no index on an expression, but both servers index a generated column.
    const INDEX_MEMBER: &'static str = "`index_digest`";
    // A large backlog of expired rows is cleared in short transactions instead of one long
    // lock.
    const DELETE_BATCH: Option<u64> = Some(10_000);

    type Time = i64;
    type Text<'a> = &'a str;
    type Data<'a> = String;

    fn render(template: &str) -> String {
        template.to_owned()
    }

    fn time(at: OffsetDateTime) -> i64 {
        unix_ms(at)
    }

    fn data(fields: &Fields) -> Result<String, Error> {
        serde_json::to_string(fields).map_err(Error::store)
    }

    /// Refuses a field nested deeper than the servers' JSON functions read.
    fn check_value(field: &str, value: &Value) -> Result<(), Error> {
        if nesting_exceeds(value, MAX_FIELD_NESTING) {
            return Err(Error::store(format!(
                "session field `{field}` nests more than {MAX_FIELD_NESTING} levels deep, more \
                 than MySQL/MariaDB JSON functions read"
            )));
        }
        Ok(())
    }

    fn patch_data(removed: usize, changed: usize) -> String {
        JSON.patch_data(removed, changed)
    }

    fn bind_patch(query: DbQuery<Self>, patch: &Patch) -> DbQuery<Self> {
        json_text::bind_patch(query, patch)
    }

    fn decode(row: &MySqlRow) -> Result<Record, Error> {
        // Unchecked: MySQL sends a `JSON` column, MariaDB a `LONGTEXT`; both are the text.
        let data: Vec<u8> = row.try_get_unchecked("data").map_err(corrupt_column)?;
        decode_text_row(&data, row)
    }

    fn is_unreachable(error: &dyn DatabaseError) -> bool {
        error
            .try_downcast_ref::<MySqlDatabaseError>()
            .is_some_and(server_unavailable)
    }

    async fn connect(url: &str) -> Result<Pool<Self>, Error> {
        connect_server(url).await
    }

    async fn upgrade(pool: &Pool<Self>, table: &str) -> Result<(), sqlx::Error> {
        add_index_column(pool, table).await
    }

    pool_calls!();
}

/// Whether a server error means "cannot serve now" rather than "this request is wrong".
fn server_unavailable(error: &MySqlDatabaseError) -> bool {
    // Too many connections, server shutting down, connection killed (MariaDB), disconnected
    // for inactivity (MySQL 8).
    matches!(error.number(), 1040 | 1053 | 1927 | 4031)
}

#[cfg(test)]
mod tests {
    use super::super::statements::{self, Statements};
    use super::*;

    #[test]
    fn patch_statement_removes_then_sets() {
        assert_eq!(
            statements::patch::<MySql>("s", 2, 1).as_str(),
            "UPDATE `s` SET `data` = JSON_SET(JSON_REMOVE(`data`, ?, ?), ?, JSON_EXTRACT(?, '$')), \
             `expires` = ? WHERE `key` = ? AND `expires` > ?"
        );
    }

    #[test]
    fn listing_compares_the_indexed_column() {
        let sql = Statements::new::<MySql>("s").unwrap();
        assert_eq!(
            sql.list_indexed.as_str(),
            "SELECT `key`, `data`, `created`, `expires` FROM `s` \
             WHERE `index_digest` = ? AND `expires` > ?"
        );
    }

    #[test]
    fn expired_rows_are_deleted_in_batches() {
        let sql = Statements::new::<MySql>("s").unwrap();
        assert_eq!(
            sql.delete_expired.as_str(),
            "DELETE FROM `s` WHERE `expires` <= ? ORDER BY `expires` LIMIT 10000"
        );
    }
}
