//! SQLite: the conformance kit on a file database and on `sqlite::memory:`, then the table,
//! expiry sweeping, corrupt rows and awkward field keys.

use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use time::OffsetDateTime;
use typed_sessions::test_kit::{assert_same_record, fresh_key};
use typed_sessions::{
    Error, SqliteStore,
    clock::ManualClock,
    store::{Created, Fields, Patch, Record, SessionStore, Updated},
};

/// Where the file databases go: emptied once per run, so runs do not pile files up.
static DIR: LazyLock<PathBuf> = LazyLock::new(|| {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sqlite-stores");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating the test database directory");
    dir
});

/// A name no other test uses.
fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", &fresh_key().as_str()[..16])
}

/// The URL of a new database file.
fn file_url() -> String {
    format!(
        "sqlite://{}",
        DIR.join(unique("db")).with_extension("db").display()
    )
}

/// A store on a new file database, on its own migrated table.
async fn file_store() -> SqliteStore {
    migrated(
        SqliteStore::connect(&file_url())
            .await
            .expect("opening a file database"),
    )
    .await
}

/// A store on a new in-memory database, on its own migrated table.
async fn memory_store() -> SqliteStore {
    migrated(
        SqliteStore::connect("sqlite::memory:")
            .await
            .expect("opening sqlite::memory:"),
    )
    .await
}

async fn migrated(store: SqliteStore) -> SqliteStore {
    let store = store
        .with_table_name(unique("sessions"))
        .expect("a valid table name");
    store.migrate().await.expect("migrate");
    store
}

/// A store whose database is in a directory that does not exist; built without opening it.
fn unopenable_store() -> SqliteStore {
    let options = SqliteConnectOptions::new()
        .filename("/nonexistent-typed-sessions-dir/sub/sessions.db")
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new()
        .acquire_timeout(Duration::from_secs(1))
        .connect_lazy_with(options);
    SqliteStore::new(pool)
}

mod file {
    typed_sessions::store_conformance!(
        store = super::file_store(),
        failing = async { super::unopenable_store() },
    );
}

mod memory {
    typed_sessions::store_conformance!(store = super::memory_store());
}

/// A store on a table of a new file database, with a pool of our own on the same file.
async fn store_and_pool(table: &str) -> (SqliteStore, SqlitePool) {
    let url = file_url();
    let store = SqliteStore::connect(&url)
        .await
        .unwrap()
        .with_table_name(table)
        .unwrap();
    store.migrate().await.unwrap();
    let pool = SqlitePoolOptions::new().connect(&url).await.unwrap();
    (store, pool)
}

fn record(fields: serde_json::Value, created: OffsetDateTime, ttl: Duration) -> Record {
    let serde_json::Value::Object(fields) = fields else {
        panic!("fields must be an object")
    };
    Record::new(fields, created, created + ttl)
}

async fn count_rows(pool: &SqlitePool, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .expect("counting rows")
}

#[tokio::test]
async fn migrate_is_idempotent_and_creates_the_expiry_index() {
    let table = unique("sessions");
    let (store, pool) = store_and_pool(&table).await;
    store.migrate().await.expect("second migrate");
    let key = fresh_key();
    let kept = record(
        json!({"a": 1}),
        OffsetDateTime::now_utc(),
        Duration::from_secs(60),
    );
    store.create(&key, &kept).await.unwrap();
    store.migrate().await.expect("migrate on a table with rows");
    assert_same_record(&store.load(&key).await.unwrap().unwrap(), &kept);

    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL",
    )
    .bind(&table)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        indexes.iter().any(|sql| sql.contains("(expires)")),
        "no index on expires: {indexes:?}"
    );
}

#[tokio::test]
async fn file_databases_use_wal() {
    let (_store, pool) = store_and_pool(&unique("sessions")).await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn delete_expired_removes_only_expired_rows() {
    let table = unique("sessions");
    let (store, pool) = store_and_pool(&table).await;
    let clock = ManualClock::starting_now();
    let store = store.with_clock(clock.clone());
    let start = clock.now();
    let (short, long) = (fresh_key(), fresh_key());
    let fields = json!({"a": 1});
    store
        .create(
            &short,
            &record(fields.clone(), start, Duration::from_secs(10)),
        )
        .await
        .unwrap();
    store
        .create(&long, &record(fields, start, Duration::from_secs(100)))
        .await
        .unwrap();
    assert_eq!(
        store.delete_expired().await.unwrap(),
        0,
        "nothing has expired yet"
    );

    clock.advance(Duration::from_secs(30));
    assert_eq!(store.delete_expired().await.unwrap(), 1);
    assert_eq!(store.delete_expired().await.unwrap(), 0);
    assert_eq!(
        count_rows(&pool, &table).await,
        1,
        "the expired row must be gone"
    );
    assert!(
        store.load(&long).await.unwrap().is_some(),
        "the live row must stay"
    );
}

#[tokio::test]
async fn cleanup_task_deletes_expired_rows() {
    let table = unique("sessions");
    let (store, pool) = store_and_pool(&table).await;
    let clock = ManualClock::starting_now();
    let store = store.with_clock(clock.clone());
    let start = clock.now();
    for ttl in [1, 2, 3] {
        let expiring = record(json!({"a": ttl}), start, Duration::from_secs(ttl));
        store.create(&fresh_key(), &expiring).await.unwrap();
    }
    let live = fresh_key();
    store
        .create(&live, &record(json!({}), start, Duration::from_secs(600)))
        .await
        .unwrap();
    clock.advance(Duration::from_secs(10));

    let cleanup = store.spawn_cleanup(Duration::from_millis(50));
    let deadline = Instant::now() + Duration::from_secs(5);
    while count_rows(&pool, &table).await > 1 {
        assert!(
            Instant::now() < deadline,
            "the cleanup task did not delete the expired rows"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(cleanup);
    assert!(
        store.load(&live).await.unwrap().is_some(),
        "the live row must stay"
    );
}

#[tokio::test]
async fn a_row_that_is_not_a_record_is_corrupt() {
    let table = unique("sessions");
    let (store, pool) = store_and_pool(&table).await;
    let later = OffsetDateTime::now_utc().unix_timestamp() * 1000 + 3_600_000;
    let rows = [
        ("'not json'", "0", "?2"),
        ("'[1, 2]'", "0", "?2"),
        ("'\"text\"'", "0", "?2"),
        ("'null'", "0", "?2"),
        ("'{}'", "'yesterday'", "?2"),
        ("X'00'", "0", "?2"),
    ];
    for (data, created, expires) in rows {
        let key = fresh_key();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} (key, data, created, expires) \
             VALUES (?1, {data}, {created}, {expires})"
        )))
        .bind(key.as_str())
        .bind(later)
        .execute(&pool)
        .await
        .unwrap();
        match store.load(&key).await {
            Err(Error::Corrupt(_)) => {}
            other => panic!("data {data}, created {created}: expected corrupt, got {other:?}"),
        }
    }
}

/// Field keys that SQL and SQLite JSON paths could misread.
const AWKWARD: [&str; 12] = [
    "a.b",
    "\"quoted\"",
    "x[0]",
    "with space",
    "back\\slash",
    "$",
    "'single'",
    "ü 日本 😀",
    "",
    "a.\"b\"[1] \\",
    "tab\there\nnewline",
    "#-1",
];

async fn awkward_keys_round_trip(store: &SqliteStore) {
    let key = fresh_key();
    let fields: Fields = AWKWARD
        .iter()
        .enumerate()
        .map(|(i, name)| ((*name).to_owned(), json!(i)))
        .collect();
    let created = OffsetDateTime::now_utc();
    let mut expected = Record::new(fields, created, created + Duration::from_secs(60));
    store.create(&key, &expected).await.unwrap();
    assert_same_record(&store.load(&key).await.unwrap().unwrap(), &expected);

    // Change half of them (one to JSON null, which must be stored, not deleted), remove the rest.
    let mut changed = Fields::new();
    for (i, name) in AWKWARD.iter().enumerate().step_by(2) {
        let value = if i == 0 {
            json!(null)
        } else {
            json!({ "new": *name, "n": null })
        };
        changed.insert((*name).to_owned(), value);
    }
    changed.insert("added \"key\".x".to_owned(), json!([null, true, 1.5, "s"]));
    let patch = Patch::new(
        changed,
        AWKWARD
            .iter()
            .skip(1)
            .step_by(2)
            .map(|name| (*name).to_owned())
            .collect(),
        created + Duration::from_secs(120),
    );
    assert_eq!(store.patch(&key, &patch).await.unwrap(), Updated::Applied);
    patch.apply_to(&mut expected);
    let loaded = store.load(&key).await.unwrap().unwrap();
    assert_same_record(&loaded, &expected);
    assert_eq!(
        loaded.fields().get("a.b"),
        Some(&json!(null)),
        "a null field must be kept"
    );

    let remove_all = Patch::new(
        Fields::new(),
        expected.fields().keys().cloned().collect(),
        expected.expires(),
    );
    assert_eq!(
        store.patch(&key, &remove_all).await.unwrap(),
        Updated::Applied
    );
    assert!(store.load(&key).await.unwrap().unwrap().fields().is_empty());
}

#[tokio::test]
async fn awkward_field_keys_round_trip_through_patches() {
    awkward_keys_round_trip(&file_store().await).await;
    awkward_keys_round_trip(&memory_store().await).await;
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

/// Values whose JSON text the database might rewrite.
fn tricky_values() -> Fields {
    let values = [
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1e300),
        json!(0.1),
        json!(-2.5e-8),
        json!(1.0),
        json!("quotes \" and \\ and \u{1} and \t and 日本 😀"),
        json!({"nested": {"deep": [null, false, {"x": null}]}}),
        json!([]),
        json!({}),
        json!(""),
        json!(true),
    ];
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| (format!("v{i}"), v))
        .collect()
}

#[tokio::test]
async fn tricky_values_survive_create_and_patch() {
    let store = file_store().await;
    let created = OffsetDateTime::now_utc();
    let expires = created + Duration::from_secs(60);
    let first = Record::new(tricky_values(), created, expires);
    let key = fresh_key();
    store.create(&key, &first).await.unwrap();
    assert_same_record(&store.load(&key).await.unwrap().unwrap(), &first);

    let key = fresh_key();
    let mut expected = Record::new(Fields::new(), created, expires);
    store.create(&key, &expected).await.unwrap();
    let patch = Patch::new(tricky_values(), vec![], expires);
    assert_eq!(store.patch(&key, &patch).await.unwrap(), Updated::Applied);
    patch.apply_to(&mut expected);
    assert_same_record(&store.load(&key).await.unwrap().unwrap(), &expected);
}

#[tokio::test]
async fn tables_are_separate() {
    let url = file_url();
    let one = migrated(SqliteStore::connect(&url).await.unwrap()).await;
    let other = migrated(SqliteStore::connect(&url).await.unwrap()).await;
    let key = fresh_key();
    let now = OffsetDateTime::now_utc();
    one.create(&key, &record(json!({"a": 1}), now, Duration::from_secs(60)))
        .await
        .unwrap();
    assert!(other.load(&key).await.unwrap().is_none());
    let theirs = record(json!({"b": 2}), now, Duration::from_secs(60));
    assert_eq!(other.create(&key, &theirs).await.unwrap(), Created::Stored);
}

#[tokio::test]
async fn invalid_table_names_are_refused() {
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    for bad in ["", "1sessions", "sessions; DROP TABLE x", "a-b", "\"s\""] {
        match store.clone().with_table_name(bad) {
            Err(Error::Config(message)) => assert!(message.contains("table name"), "{message}"),
            other => panic!("{bad:?}: expected a configuration error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_unopenable_database_is_an_error() {
    let store = unopenable_store();
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
