//! What every SQL store is checked for beyond the conformance kit, written once: each dialect's
//! file implements [`Harness`] and calls [`sql_store_tests!`].

pub mod cases;

use std::future::Future;
use std::time::Duration;

use sqlx::pool::PoolOptions;
use time::OffsetDateTime;
use typed_sessions::store::{Record, SqlDialect, SqlStore};
use typed_sessions::test_kit::fresh_key;
pub use typed_sessions_tests::raw_sql::RawSql;

/// What the shared cases need to know about one database.
pub trait Harness: 'static {
    /// The database.
    type Db: SqlDialect;

    /// A URL this database refuses to parse.
    const INVALID_URL: &'static str;

    /// The URL of a database that cannot be reached (a closed port, or a file in a directory
    /// that does not exist); it holds the secret `hunter2`.
    const UNREACHABLE_URL: &'static str;

    /// Waits until the server may be used, and keeps it up while the answer lives (PostgreSQL's
    /// outage test stops it).
    fn up() -> impl Future<Output = impl Sized> {
        async {}
    }

    /// The URL of a database that all stores of one case share: the test server, or a new
    /// SQLite file.
    fn database() -> String;

    /// `INSERT`s of rows that are not session records, for `table`; `{key}` stands for the key.
    fn corrupt_rows(table: &str) -> Vec<String>;

    /// A `SELECT` of the table's index definitions, each naming its columns in parentheses.
    fn indexes(table: &str) -> String;

    /// The store's pool, for raw SQL.
    fn raw(store: &SqlStore<Self::Db>) -> &impl RawSql;
}

/// A table name no other test uses.
pub fn unique_table() -> String {
    format!("sessions_{}", &fresh_key().as_str()[..16])
}

/// A store on [`Harness::UNREACHABLE_URL`], built without connecting.
pub fn unreachable<H: Harness>() -> SqlStore<H::Db> {
    let pool = PoolOptions::new()
        .acquire_timeout(Duration::from_secs(1))
        .connect_lazy(H::UNREACHABLE_URL)
        .expect("a valid URL");
    SqlStore::new(pool)
}

/// A store on a new, migrated table of the database at `url`.
pub async fn store_in<H: Harness>(url: &str) -> SqlStore<H::Db> {
    let store = SqlStore::<H::Db>::connect(url)
        .await
        .expect("connecting to the test database")
        .with_table_name(unique_table())
        .expect("a valid table name");
    store.migrate().await.expect("migrate");
    store
}

/// A store on a new, migrated table.
pub async fn store<H: Harness>() -> SqlStore<H::Db> {
    store_in::<H>(&H::database()).await
}

/// A record of the JSON object `fields`, created at `created`, living for `ttl`.
pub fn record(fields: serde_json::Value, created: OffsetDateTime, ttl: Duration) -> Record {
    let serde_json::Value::Object(fields) = fields else {
        panic!("fields must be an object")
    };
    Record::new(fields, created, created + ttl)
}

/// Generates one `#[test]` per shared case for the [`Harness`] `$harness`, plus the extra
/// cases named after it (e.g. those only servers have).
macro_rules! sql_store_tests {
    ($harness:ty $(, $extra:ident)* $(,)?) => {
        $crate::sql::sql_store_tests!(@cases $harness;
            migrate_is_idempotent_and_creates_the_expiry_index,
            liveness_follows_the_store_clock_and_delete_expired_removes_only_expired_rows,
            cleanup_task_deletes_expired_rows_until_dropped,
            migrate_starts_a_cleanup_that_lives_as_long_as_the_store,
            corrupt_rows_are_errors,
            tables_are_isolated,
            patch_that_changes_nothing_on_a_live_row_is_applied,
            invalid_table_names_are_refused,
            an_invalid_url_is_a_configuration_error,
            debug_shows_no_credentials,
            $($extra,)*
        );
    };
    (@cases $harness:ty; $($case:ident,)+) => {
        $(
            #[test]
            fn $case() {
                typed_sessions::test_kit::run($crate::sql::cases::$case::<$harness>());
            }
        )+
    };
}
pub(crate) use sql_store_tests;
