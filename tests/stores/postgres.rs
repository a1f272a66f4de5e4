//! PostgreSQL: the conformance kit, then the table, expiry sweeping, corrupt rows, awkward
//! field keys and an outage of the server.
//!
//! The outage test stops the server that every other test here uses, so those tests hold
//! [`SERVER`] shared while they run and the outage test holds it exclusively.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::postgres::{PgPool, PgPoolOptions};
use time::OffsetDateTime;
use tokio::sync::{RwLock, RwLockReadGuard};
use typed_sessions::test_kit::{assert_same_record, fresh_key};
use typed_sessions::{
    Error, PostgresStore,
    clock::ManualClock,
    store::{Created, Fields, Patch, Record, SessionStore, StoreKey, Updated},
};

use crate::env_url;

/// Taken shared by every test that needs the server up, exclusively by the outage test.
static SERVER: RwLock<()> = RwLock::const_new(());

const CLOSED_PORT: &str = "postgres://postgres@127.0.0.1:1/postgres";

/// A table name no other test uses.
fn unique_table() -> String {
    format!("sessions_{}", &fresh_key().as_str()[..16])
}

/// A pool of our own on the test server, for looking at and tampering with rows.
async fn raw_pool() -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .connect(&env_url("TS_POSTGRES_URL"))
        .await
        .expect("connecting to TS_POSTGRES_URL")
}

/// A store on a fresh, migrated table.
async fn store_on(table: &str) -> PostgresStore {
    let store = PostgresStore::connect(&env_url("TS_POSTGRES_URL"))
        .await
        .expect("connecting to TS_POSTGRES_URL")
        .with_table_name(table)
        .expect("a valid table name");
    store.migrate().await.expect("migrate");
    store
}

/// A store whose pool points at a closed port; built without connecting.
fn closed_port_store() -> PostgresStore {
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(1))
        .connect_lazy(CLOSED_PORT)
        .expect("a valid URL");
    PostgresStore::new(pool)
}

/// A store on its own table that keeps the server up (no outage) while it lives.
struct Running {
    store: PostgresStore,
    _server: RwLockReadGuard<'static, ()>,
}

async fn running() -> Running {
    let server = SERVER.read().await;
    Running {
        store: store_on(&unique_table()).await,
        _server: server,
    }
}

impl SessionStore for Running {
    async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        self.store.load(key).await
    }
    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, Error> {
        self.store.create(key, record).await
    }
    async fn patch(&self, key: &StoreKey, patch: &Patch) -> Result<Updated, Error> {
        self.store.patch(key, patch).await
    }
    async fn remove(&self, key: &StoreKey) -> Result<(), Error> {
        self.store.remove(key).await
    }
    async fn touch(&self, key: &StoreKey, expires: OffsetDateTime) -> Result<Updated, Error> {
        self.store.touch(key, expires).await
    }
}

mod conformance {
    typed_sessions::store_conformance!(
        store = super::running(),
        failing = async { super::closed_port_store() },
    );
}

fn record(fields: serde_json::Value, created: OffsetDateTime, ttl: Duration) -> Record {
    let serde_json::Value::Object(fields) = fields else {
        panic!("fields must be an object")
    };
    Record::new(fields, created, created + ttl)
}

async fn count_rows(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .expect("counting rows")
}

#[tokio::test]
async fn migrate_is_idempotent_and_creates_the_expiry_index() {
    let _server = SERVER.read().await;
    let table = unique_table();
    let store = store_on(&table).await;
    store.migrate().await.expect("second migrate");
    store.migrate().await.expect("third migrate");
    let key = fresh_key();
    let now = OffsetDateTime::now_utc();
    let kept = record(json!({"a": 1}), now, Duration::from_secs(60));
    store.create(&key, &kept).await.unwrap();
    store.migrate().await.expect("migrate on a table with rows");
    assert_same_record(&store.load(&key).await.unwrap().unwrap(), &kept);

    let indexes: Vec<String> =
        sqlx::query_scalar("SELECT indexdef FROM pg_indexes WHERE tablename = $1")
            .bind(&table)
            .fetch_all(&raw_pool().await)
            .await
            .unwrap();
    assert!(
        indexes.iter().any(|def| def.contains("(expires)")),
        "no index on expires: {indexes:?}"
    );
}

#[tokio::test]
async fn delete_expired_removes_only_expired_rows() {
    let _server = SERVER.read().await;
    let table = unique_table();
    let clock = ManualClock::starting_now();
    let store = store_on(&table).await.with_clock(clock.clone());
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
    let pool = raw_pool().await;
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
    let _server = SERVER.read().await;
    let table = unique_table();
    let clock = ManualClock::starting_now();
    let store = store_on(&table).await.with_clock(clock.clone());
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
    let pool = raw_pool().await;
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
    let _server = SERVER.read().await;
    let table = unique_table();
    let store = store_on(&table).await;
    let pool = raw_pool().await;
    for data in ["[1, 2]", "\"text\"", "null", "3"] {
        let key = fresh_key();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} (key, data, created, expires) \
             VALUES ($1, $2::jsonb, now(), now() + interval '1 hour')"
        )))
        .bind(key.as_str())
        .bind(data)
        .execute(&pool)
        .await
        .unwrap();
        match store.load(&key).await {
            Err(Error::Corrupt(_)) => {}
            other => panic!("data {data}: expected a corrupt record, got {other:?}"),
        }
    }
}

/// Field keys that SQL and JSON paths could misread.
const AWKWARD: [&str; 10] = [
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
];

#[tokio::test]
async fn awkward_field_keys_round_trip_through_patches() {
    let _server = SERVER.read().await;
    let store = store_on(&unique_table()).await;
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
            json!({ "new": *name })
        };
        changed.insert((*name).to_owned(), value);
    }
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
        AWKWARD.iter().map(|name| (*name).to_owned()).collect(),
        expected.expires(),
    );
    assert_eq!(
        store.patch(&key, &remove_all).await.unwrap(),
        Updated::Applied
    );
    assert!(store.load(&key).await.unwrap().unwrap().fields().is_empty());
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
    let _server = SERVER.read().await;
    let store = store_on(&unique_table()).await;
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
    let _server = SERVER.read().await;
    let (one, other) = (
        store_on(&unique_table()).await,
        store_on(&unique_table()).await,
    );
    let key = fresh_key();
    let now = OffsetDateTime::now_utc();
    one.create(&key, &record(json!({"a": 1}), now, Duration::from_secs(60)))
        .await
        .unwrap();
    assert!(other.load(&key).await.unwrap().is_none());
    let theirs = record(json!({"b": 2}), now, Duration::from_secs(60));
    assert_eq!(other.create(&key, &theirs).await.unwrap(), Created::Stored);
}

#[test]
fn invalid_table_names_are_refused() {
    typed_sessions::test_kit::run(async {
        for bad in ["", "1sessions", "sessions; DROP TABLE x", "a-b", "\"s\""] {
            match closed_port_store().with_table_name(bad) {
                Err(Error::Config(message)) => assert!(message.contains("table name"), "{message}"),
                other => panic!("{bad:?}: expected a configuration error, got {other:?}"),
            }
        }
    });
}

#[tokio::test]
async fn connect_to_a_closed_port_is_unavailable_and_fast() {
    let started = Instant::now();
    let err = PostgresStore::connect(CLOSED_PORT)
        .await
        .expect_err("nothing listens there");
    assert!(err.is_unavailable(), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn debug_shows_no_credentials() {
    let pool = PgPoolOptions::new()
        .connect_lazy("postgres://app:hunter2@127.0.0.1:1/app")
        .unwrap();
    let shown = format!("{:?}", PostgresStore::new(pool));
    assert!(
        !shown.contains("hunter2") && !shown.contains("127.0.0.1"),
        "{shown}"
    );
    assert!(shown.contains("sessions"), "{shown}");
}

/// The test server, stopped; started again when dropped, so that a failing test never leaves
/// it down for the others.
struct Stopped {
    started: bool,
}

impl Stopped {
    fn stop() -> Self {
        shell("TS_POSTGRES_STOP").unwrap();
        Self { started: false }
    }

    fn start(mut self) {
        self.started = true;
        shell("TS_POSTGRES_START").unwrap();
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        if !self.started {
            // No panic here: this runs while a failed assertion unwinds.
            if let Err(e) = shell("TS_POSTGRES_START") {
                eprintln!("restarting PostgreSQL after a failed test: {e}");
            }
        }
    }
}

/// Runs the command held in the environment variable `var` with `sh -c`.
fn shell(var: &str) -> Result<(), String> {
    let command = env_url(var);
    let output = Command::new("sh")
        .arg("-c")
        .arg(&command)
        .output()
        .map_err(|e| format!("running {var}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{var} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn outage_fails_fast_and_the_same_store_recovers() {
    let _exclusive = SERVER.write().await;
    let store = store_on(&unique_table()).await;
    let key = fresh_key();
    let now = OffsetDateTime::now_utc();
    let saved = record(json!({"user": "ann"}), now, Duration::from_secs(600));
    store.create(&key, &saved).await.unwrap();
    assert!(store.load(&key).await.unwrap().is_some());

    let server = Stopped::stop();
    let started = Instant::now();
    let err = store
        .load(&key)
        .await
        .expect_err("load must fail while the server is down");
    let took = started.elapsed();
    assert!(err.is_unavailable(), "expected unavailable, got {err}");
    assert!(took < Duration::from_secs(2), "load took {took:?} to fail");
    let other = record(json!({}), now, Duration::from_secs(600));
    let err = store
        .create(&fresh_key(), &other)
        .await
        .expect_err("create must fail too");
    assert!(err.is_unavailable(), "expected unavailable, got {err}");

    server.start();
    let loaded = store
        .load(&key)
        .await
        .expect("the same store works once the server is back")
        .expect("a session saved before the outage survives it");
    assert_same_record(&loaded, &saved);
    let patch = Patch::new(
        [("views".to_owned(), json!(1))].into_iter().collect(),
        vec![],
        saved.expires(),
    );
    assert_eq!(store.patch(&key, &patch).await.unwrap(), Updated::Applied);
}
