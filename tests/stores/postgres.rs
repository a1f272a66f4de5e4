//! PostgreSQL: the conformance kit, the shared SQL cases, and an outage of the server.
//!
//! The outage test stops the server that every other test here uses, so those tests hold
//! [`SERVER`] shared while they run and the outage test holds it exclusively.

use std::future::Future;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::{RwLock, RwLockReadGuard};
use typed_sessions::test_kit::{assert_same_record, fresh_key};
use typed_sessions::{
    Error, PostgresStore,
    store::{Created, IndexDigest, Patch, Record, Rekeyed, SessionStore, StoreKey, Updated},
};

use crate::env_url;
use crate::sql::{Harness, RawSql, record, store};

/// Taken shared by every test that needs the server up, exclusively by the outage test.
static SERVER: RwLock<()> = RwLock::const_new(());

/// The test server.
pub struct Postgres;

impl Harness for Postgres {
    type Db = sqlx::Postgres;

    const INVALID_URL: &'static str = "postgres://app@localhost:notaport/app";
    const UNREACHABLE_URL: &'static str = "postgres://app:hunter2@127.0.0.1:1/app";

    fn up() -> impl Future<Output = impl Sized> {
        SERVER.read()
    }

    fn database() -> String {
        env_url("TS_POSTGRES_URL")
    }

    fn corrupt_rows(table: &str) -> Vec<String> {
        ["[1, 2]", "\"text\"", "null", "3"]
            .iter()
            .map(|data| {
                format!(
                    "INSERT INTO {table} (key, data, created, expires) \
                     VALUES ('{{key}}', '{data}'::jsonb, now(), now() + interval '1 hour')"
                )
            })
            .collect()
    }

    fn indexes(table: &str) -> String {
        format!("SELECT indexdef FROM pg_indexes WHERE tablename = '{table}'")
    }

    fn raw(store: &PostgresStore) -> &impl RawSql {
        store.pool()
    }
}

crate::sql::sql_store_tests!(Postgres, connect_to_a_closed_port_is_unavailable_and_fast);

/// A store on its own table that keeps the server up (no outage) while it lives.
struct Running {
    store: PostgresStore,
    _server: RwLockReadGuard<'static, ()>,
}

async fn running() -> Running {
    let server = SERVER.read().await;
    Running {
        store: store::<Postgres>().await,
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
    async fn rekey(&self, old: &StoreKey, new: &StoreKey, patch: &Patch) -> Result<Rekeyed, Error> {
        self.store.rekey(old, new, patch).await
    }
    fn can_rekey(&self, old: &StoreKey, new: &StoreKey) -> bool {
        self.store.can_rekey(old, new)
    }
    fn list_indexed(
        &self,
        index: &IndexDigest,
    ) -> impl Future<Output = Result<Vec<(StoreKey, Record)>, Error>> + Send {
        self.store.list_indexed(index)
    }
}

mod conformance {
    typed_sessions::store_conformance!(
        store = super::running(),
        failing = async { crate::sql::unreachable::<super::Postgres>() },
    );
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
    let store = store::<Postgres>().await;
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
