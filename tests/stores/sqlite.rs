//! SQLite: the conformance kit on a file database and on `sqlite::memory:`, the shared SQL
//! cases, then WAL, long patches and an unopenable database.

use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use serde_json::json;
use sqlx::sqlite::SqlitePool;
use time::OffsetDateTime;
use typed_sessions::test_kit::{assert_same_record, fresh_key};
use typed_sessions::{
    Error, SqliteStore,
    store::{Fields, Patch, Record, SessionStore, Updated},
};

use crate::sql::{Harness, RawSql, store_in, unreachable};

/// Where the file databases go: emptied once per run, so runs do not pile files up.
static DIR: LazyLock<PathBuf> = LazyLock::new(|| {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sqlite-stores");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating the test database directory");
    dir
});

/// A new database file each time.
pub struct Sqlite;

impl Harness for Sqlite {
    type Db = sqlx::Sqlite;

    const INVALID_URL: &'static str = "sqlite://sessions.db?mode=bogus";
    const UNREACHABLE_URL: &'static str =
        "sqlite:///nonexistent-typed-sessions-dir/hunter2/sessions.db?mode=rwc";

    fn database() -> String {
        let name = format!("db_{}.db", &fresh_key().as_str()[..16]);
        format!("sqlite://{}", DIR.join(name).display())
    }

    fn corrupt_rows(table: &str) -> Vec<String> {
        let later = OffsetDateTime::now_utc().unix_timestamp() * 1000 + 3_600_000;
        let rows = [
            ("'not json'", "0"),
            ("'[1, 2]'", "0"),
            ("'\"text\"'", "0"),
            ("'null'", "0"),
            ("'{}'", "'yesterday'"),
            ("X'00'", "0"),
        ];
        rows.iter()
            .map(|(data, created)| {
                format!("INSERT INTO {table} VALUES ('{{key}}', {data}, {created}, {later})")
            })
            .collect()
    }

    fn indexes(table: &str) -> String {
        format!(
            "SELECT sql FROM sqlite_master \
             WHERE type = 'index' AND tbl_name = '{table}' AND sql IS NOT NULL"
        )
    }

    fn raw(store: &SqliteStore) -> &impl RawSql {
        store.pool()
    }
}

crate::sql::sql_store_tests!(Sqlite);

/// A store on a new in-memory database, on its own migrated table.
async fn memory_store() -> SqliteStore {
    store_in::<Sqlite>("sqlite::memory:").await
}

mod file {
    typed_sessions::store_conformance!(
        store = crate::sql::store::<super::Sqlite>(),
        failing = async { crate::sql::unreachable::<super::Sqlite>() },
    );
}

mod memory {
    typed_sessions::store_conformance!(store = super::memory_store());
}

#[tokio::test]
async fn file_databases_use_wal() {
    let url = Sqlite::database();
    let _store = store_in::<Sqlite>(&url).await;
    let pool = SqlitePool::connect(&url).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn a_patch_of_many_fields_fits_in_one_statement() {
    let store = memory_store().await;
    let key = fresh_key();
    let created = OffsetDateTime::now_utc();
    let original: Fields = (0..300).map(|i| (format!("old{i}"), json!(i))).collect();
    let mut expected = Record::new(original, created, created + Duration::from_secs(60));
    store.create(&key, &expected).await.unwrap();
    let patch = Patch::new(
        (0..300).map(|i| (format!("new{i}"), json!(i))).collect(),
        (0..250).map(|i| format!("old{i}")).collect(),
        expected.expires(),
    );
    assert_eq!(store.patch(&key, &patch).await.unwrap(), Updated::Applied);
    patch.apply_to(&mut expected);
    assert_same_record(&store.load(&key).await.unwrap().unwrap(), &expected);
}

#[tokio::test]
async fn an_unopenable_database_is_an_error() {
    let store = unreachable::<Sqlite>();
    let err = store
        .load(&fresh_key())
        .await
        .expect_err("the database cannot be opened");
    assert!(matches!(err, Error::Store(_)), "{err}");
    assert!(
        SqliteStore::connect("sqlite:///nonexistent-typed-sessions-dir/x.db")
            .await
            .is_err()
    );
}
