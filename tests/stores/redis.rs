//! `RedisStore` against a real standalone server and a real 3-master Cluster: the conformance
//! kit, the key layout, corrupt records, timeouts and an outage with a restart.

use std::collections::HashSet;
use std::future::Future;
use std::ops::Deref;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::{OwnedRwLockReadGuard, RwLock};
use typed_sessions::test_kit::{assert_same_record, fresh_key, run};
use typed_sessions::{
    Error, RedisStore,
    clock::ManualClock,
    store::{
        Created, Fields, IndexDigest, Patch, Record, Rekeyed, SessionStore, StoreKey, Updated,
    },
};

use crate::env_url;

/// Taken shared by every test on the standalone server and exclusively by the outage test, so
/// that stopping the server never fails an unrelated test running beside it.
static SERVER_UP: LazyLock<Arc<RwLock<()>>> = LazyLock::new(|| Arc::new(RwLock::new(())));

/// A store on the standalone server, which stays up while this value lives.
struct Standalone {
    store: RedisStore,
    _up: OwnedRwLockReadGuard<()>,
}

impl Deref for Standalone {
    type Target = RedisStore;
    fn deref(&self) -> &RedisStore {
        &self.store
    }
}

impl SessionStore for Standalone {
    fn load(&self, key: &StoreKey) -> impl Future<Output = Result<Option<Record>, Error>> + Send {
        self.store.load(key)
    }
    fn create(
        &self,
        key: &StoreKey,
        record: &Record,
    ) -> impl Future<Output = Result<Created, Error>> + Send {
        self.store.create(key, record)
    }
    fn patch(
        &self,
        key: &StoreKey,
        patch: &Patch,
    ) -> impl Future<Output = Result<Updated, Error>> + Send {
        self.store.patch(key, patch)
    }
    fn remove(&self, key: &StoreKey) -> impl Future<Output = Result<(), Error>> + Send {
        self.store.remove(key)
    }
    fn touch(
        &self,
        key: &StoreKey,
        expires: OffsetDateTime,
    ) -> impl Future<Output = Result<Updated, Error>> + Send {
        self.store.touch(key, expires)
    }
    fn rekey(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        patch: &Patch,
    ) -> impl Future<Output = Result<Rekeyed, Error>> + Send {
        self.store.rekey(old, new, patch)
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

async fn standalone() -> Standalone {
    let up = SERVER_UP.clone().read_owned().await;
    let store = RedisStore::connect(&env_url("TS_REDIS_URL"))
        .await
        .expect("connect to TS_REDIS_URL");
    Standalone { store, _up: up }
}

fn cluster_urls() -> Vec<String> {
    env_url("TS_REDIS_CLUSTER_URLS")
        .split(',')
        .map(str::to_owned)
        .collect()
}

async fn cluster() -> RedisStore {
    RedisStore::connect_cluster(cluster_urls())
        .await
        .expect("connect to TS_REDIS_CLUSTER_URLS")
}

/// A plain connection to the standalone server, to look at and plant raw data.
async fn raw() -> redis::aio::MultiplexedConnection {
    redis::Client::open(env_url("TS_REDIS_URL"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

fn record(pairs: &[(&str, serde_json::Value)], ttl: Duration) -> Record {
    record_at(OffsetDateTime::now_utc(), pairs, ttl)
}

fn record_at(now: OffsetDateTime, pairs: &[(&str, serde_json::Value)], ttl: Duration) -> Record {
    let fields: Fields = pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), value.clone()))
        .collect();
    Record::new(fields, now, now + ttl)
}

mod index;

mod standalone {
    typed_sessions::store_conformance!(
        store = super::standalone(),
        failing =
            async { typed_sessions::RedisStore::connect_lazy("redis://127.0.0.1:1/").unwrap() },
    );
}

mod cluster {
    typed_sessions::store_conformance!(
        store = super::cluster(),
        failing = async {
            typed_sessions::RedisStore::connect_cluster_lazy(["redis://127.0.0.1:1/"]).unwrap()
        },
    );
}

#[test]
fn layout_is_one_hash_with_prefixed_fields() {
    run(async {
        let store = standalone().await;
        let store = store.clone().with_prefix("ts-layout:");
        let key = fresh_key();
        // A session field named like the metadata must not collide with it.
        let record = record(
            &[("views", json!(3)), ("m:expires", json!("mine"))],
            Duration::from_secs(60),
        );
        assert_eq!(store.create(&key, &record).await.unwrap(), Created::Stored);

        let name = store.redis_key(&key);
        let mut raw = raw().await;
        let mut fields: Vec<String> = redis::cmd("HKEYS")
            .arg(&name)
            .query_async(&mut raw)
            .await
            .unwrap();
        fields.sort();
        assert_eq!(fields, ["f:m:expires", "f:views", "m:created", "m:expires"]);
        let expires: i64 = redis::cmd("HGET")
            .arg(&name)
            .arg("m:expires")
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(
            i128::from(expires),
            record.expires().unix_timestamp_nanos() / 1_000_000
        );
        let pttl: i64 = redis::cmd("PTTL")
            .arg(&name)
            .query_async(&mut raw)
            .await
            .unwrap();
        assert!(
            (55_000..=60_000).contains(&pttl),
            "native expiry follows the record: {pttl}"
        );

        assert_same_record(&store.load(&key).await.unwrap().unwrap(), &record);
        store.remove(&key).await.unwrap();
        let exists: i64 = redis::cmd("EXISTS")
            .arg(&name)
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(exists, 0);
    });
}

#[test]
fn prefixes_isolate_stores() {
    run(async {
        let base = standalone().await;
        let a = base.clone().with_prefix("ts-a:");
        let b = base.clone().with_prefix("ts-b:");
        let key = fresh_key();
        let first = record(&[("who", json!("a"))], Duration::from_secs(60));
        let second = record(&[("who", json!("b"))], Duration::from_secs(60));
        assert_eq!(a.create(&key, &first).await.unwrap(), Created::Stored);
        assert!(
            b.load(&key).await.unwrap().is_none(),
            "another prefix must not see it"
        );
        assert_eq!(b.create(&key, &second).await.unwrap(), Created::Stored);
        b.remove(&key).await.unwrap();
        assert_same_record(&a.load(&key).await.unwrap().unwrap(), &first);
        assert!(
            base.load(&key).await.unwrap().is_none(),
            "the default prefix is separate too"
        );
    });
}

#[test]
fn corrupt_records_are_errors() {
    run(async {
        let store = standalone().await;
        let store = store.clone().with_prefix("ts-corrupt:");
        let mut raw = raw().await;
        let now = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        let later = (now + 60_000).to_string();
        let plant = async |raw: &mut redis::aio::MultiplexedConnection, cmd: &mut redis::Cmd| {
            cmd.exec_async(raw).await.unwrap();
        };

        let no_metadata = fresh_key();
        let name = store.redis_key(&no_metadata);
        plant(&mut raw, redis::cmd("HSET").arg(&name).arg("f:a").arg("1")).await;
        assert_corrupt(store.load(&no_metadata).await);
        assert_corrupt(store.patch(&no_metadata, &some_patch()).await);
        assert_corrupt(store.touch(&no_metadata, some_patch().expires()).await);
        assert_corrupt(
            store
                .create(&no_metadata, &record(&[], Duration::from_secs(60)))
                .await,
        );

        let bad_json = fresh_key();
        let name = store.redis_key(&bad_json);
        let cmd = redis::cmd("HSET")
            .arg(&name)
            .arg("m:created")
            .arg(now.to_string())
            .arg("m:expires")
            .arg(&later)
            .arg("f:a")
            .arg("{not json")
            .to_owned();
        plant(&mut raw, &mut cmd.clone()).await;
        assert_corrupt(store.load(&bad_json).await);

        let bad_time = fresh_key();
        let name = store.redis_key(&bad_time);
        plant(
            &mut raw,
            redis::cmd("HSET")
                .arg(&name)
                .arg("m:created")
                .arg("yesterday")
                .arg("m:expires")
                .arg(&later),
        )
        .await;
        assert_corrupt(store.load(&bad_time).await);

        let not_a_hash = fresh_key();
        let name = store.redis_key(&not_a_hash);
        plant(&mut raw, redis::cmd("SET").arg(&name).arg("plain string")).await;
        assert_corrupt(store.load(&not_a_hash).await);
        assert_corrupt(store.patch(&not_a_hash, &some_patch()).await);
        assert_corrupt(store.touch(&not_a_hash, some_patch().expires()).await);
        assert_corrupt(
            store
                .create(&not_a_hash, &record(&[], Duration::from_secs(60)))
                .await,
        );
        store
            .remove(&not_a_hash)
            .await
            .expect("a corrupt record can be removed");
        assert!(store.load(&not_a_hash).await.unwrap().is_none());
    });
}

#[track_caller]
fn assert_corrupt<T: std::fmt::Debug>(result: Result<T, Error>) {
    match result {
        Err(Error::Corrupt(_)) => {}
        other => panic!("expected Error::Corrupt, got {other:?}"),
    }
}

fn some_patch() -> Patch {
    let mut changed = Fields::new();
    changed.insert("a".into(), json!(2));
    Patch::new(
        changed,
        vec![],
        OffsetDateTime::now_utc() + Duration::from_secs(60),
    )
}

#[test]
fn liveness_follows_the_store_clock() {
    run(async {
        let clock = ManualClock::starting_now();
        let store = standalone().await;
        let store = store.clone().with_clock(clock.clone());
        let key = fresh_key();
        let original = record_at(clock.now(), &[("a", json!(1))], Duration::from_secs(3600));
        store.create(&key, &original).await.unwrap();
        let again = record_at(clock.now(), &[("a", json!(2))], Duration::from_secs(3600));
        assert_eq!(
            store.create(&key, &again).await.unwrap(),
            Created::AlreadyExists
        );

        clock.advance(Duration::from_secs(2 * 3600));
        assert!(
            store.load(&key).await.unwrap().is_none(),
            "expired by the store's clock"
        );
        assert_eq!(
            store.patch(&key, &some_patch()).await.unwrap(),
            Updated::Missing
        );
        assert_eq!(
            store
                .touch(&key, clock.now() + Duration::from_secs(60))
                .await
                .unwrap(),
            Updated::Missing
        );
        let fresh = record_at(clock.now(), &[("a", json!(3))], Duration::from_secs(60));
        assert_eq!(store.create(&key, &fresh).await.unwrap(), Created::Stored);
        assert_same_record(&store.load(&key).await.unwrap().unwrap(), &fresh);

        // Redis keeps the key for the record's remaining lifetime by that clock.
        let name = store.redis_key(&key);
        let pttl: i64 = redis::cmd("PTTL")
            .arg(&name)
            .query_async(&mut raw().await)
            .await
            .unwrap();
        assert!(
            (55_000..=60_000).contains(&pttl),
            "unexpected native ttl {pttl}"
        );
        store.remove(&key).await.unwrap();
    });
}

#[test]
fn unreachable_server_fails_fast() {
    run(async {
        let started = Instant::now();
        let err = RedisStore::connect("redis://127.0.0.1:1/")
            .await
            .unwrap_err();
        assert!(err.is_unavailable(), "{err:?}");
        let err = RedisStore::connect_cluster(["redis://127.0.0.1:1/"])
            .await
            .unwrap_err();
        assert!(err.is_unavailable(), "{err:?}");
        let err = RedisStore::connect_sentinel(["redis://127.0.0.1:1/"], "mymaster")
            .await
            .unwrap_err();
        assert!(err.is_unavailable(), "{err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "took {:?}",
            started.elapsed()
        );

        let err = RedisStore::connect("not a url").await.unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        let err = RedisStore::connect_sentinel(Vec::<String>::new(), "mymaster")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
    });
}

#[test]
fn silent_server_is_bounded_by_the_command_timeout() {
    run(async {
        // Accepts connections (the kernel completes the handshake) and never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("redis://{}/", silent.local_addr().unwrap());

        let started = Instant::now();
        let err = RedisStore::connect(&url).await.unwrap_err();
        assert!(err.is_unavailable(), "{err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "connect took {:?}",
            started.elapsed()
        );

        let limit = Duration::from_millis(200);
        let store = RedisStore::connect_lazy(&url)
            .unwrap()
            .with_command_timeout(limit);
        for _ in 0..3 {
            let started = Instant::now();
            let err = store.load(&fresh_key()).await.unwrap_err();
            assert!(matches!(err, Error::Timeout(d) if d == limit), "{err:?}");
            assert!(
                started.elapsed() < limit * 3,
                "took {:?}",
                started.elapsed()
            );
        }
        drop(silent);
    });
}

#[test]
fn debug_hides_the_address() {
    run(async {
        let store = RedisStore::connect_lazy("redis://user:hunter2@127.0.0.1:1/").unwrap();
        let shown = format!("{store:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("127.0.0.1"),
            "{shown}"
        );
        assert!(shown.contains("session:"), "{shown}");
    });
}

/// Restarts the standalone server when dropped, unless it is already running again, so that a
/// failing outage test never leaves it down for the tests after it.
struct Outage {
    down: bool,
}

impl Outage {
    fn begin() -> Self {
        shell("TS_REDIS_STOP");
        Self { down: true }
    }

    fn end(&mut self) {
        if std::mem::take(&mut self.down) {
            shell("TS_REDIS_START");
        }
    }
}

impl Drop for Outage {
    fn drop(&mut self) {
        self.end();
    }
}

fn shell(var: &str) {
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(env_url(var))
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("running ${var}: {e}"));
    assert!(status.success(), "${var} failed: {status}");
}

#[test]
fn same_store_works_again_after_a_restart() {
    run(async {
        let _alone = SERVER_UP.clone().write_owned().await;
        let store = RedisStore::connect(&env_url("TS_REDIS_URL")).await.unwrap();
        let key = fresh_key();
        let saved = record(
            &[("kept", json!("through the outage"))],
            Duration::from_secs(600),
        );
        store.create(&key, &saved).await.unwrap();

        let mut outage = Outage::begin();
        for _ in 0..3 {
            let started = Instant::now();
            let err = store.load(&key).await.expect_err("Redis is down");
            assert!(err.is_unavailable(), "{err:?}");
            let err = store
                .patch(&key, &some_patch())
                .await
                .expect_err("Redis is down");
            assert!(err.is_unavailable(), "{err:?}");
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "took {:?}",
                started.elapsed()
            );
        }
        outage.end();

        let deadline = Instant::now() + Duration::from_secs(10);
        let loaded = loop {
            match store.load(&key).await {
                Ok(loaded) => break loaded,
                Err(err) if Instant::now() < deadline => {
                    assert!(err.is_unavailable(), "{err:?}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => panic!("the store did not recover: {err:?}"),
            }
        };
        assert_same_record(&loaded.expect("saved before the outage"), &saved);
        assert_eq!(
            store.patch(&key, &some_patch()).await.unwrap(),
            Updated::Applied
        );
        store.remove(&key).await.unwrap();
    });
}

#[test]
fn cluster_sessions_spread_over_every_master() {
    run(async {
        let store = cluster().await.with_prefix("ts-spread:");
        let keys: Vec<StoreKey> = (0..64).map(|_| fresh_key()).collect();
        let record = record(&[("a", json!(1))], Duration::from_secs(60));
        for key in &keys {
            assert_eq!(store.create(key, &record).await.unwrap(), Created::Stored);
            assert_eq!(
                store.patch(key, &some_patch()).await.unwrap(),
                Updated::Applied
            );
        }

        let mut slots = HashSet::new();
        for url in cluster_urls() {
            let mut node = redis::Client::open(url.as_str())
                .unwrap()
                .get_multiplexed_async_connection()
                .await
                .unwrap();
            let here: Vec<String> = redis::cmd("KEYS")
                .arg("ts-spread:*")
                .query_async(&mut node)
                .await
                .unwrap();
            assert!(!here.is_empty(), "no session landed on {url}");
            for name in here {
                let slot: i64 = redis::cmd("CLUSTER")
                    .arg("KEYSLOT")
                    .arg(&name)
                    .query_async(&mut node)
                    .await
                    .unwrap();
                slots.insert(slot);
            }
        }
        assert!(
            slots.len() > 32,
            "sessions should spread over slots: {}",
            slots.len()
        );

        for key in &keys {
            let loaded = store.load(key).await.unwrap().expect("created");
            assert_eq!(loaded.fields()["a"], json!(2));
            store.remove(key).await.unwrap();
            assert!(store.load(key).await.unwrap().is_none());
        }
    });
}
