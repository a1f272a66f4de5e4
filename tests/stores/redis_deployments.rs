//! `RedisStore` as teams deploy Redis, against real servers: through Sentinel, with an ACL
//! user, on a connection the application already has, and with writes that wait for replicas
//! (`with_replica_acks`) on a Sentinel group and on a Cluster with a replica per master.

use std::time::Duration;

use typed_sessions::RedisStore;
use typed_sessions::store::SessionStore;
use typed_sessions::test_kit::{fresh_key, run};

use crate::env_url;

fn urls(var: &str) -> Vec<String> {
    env_url(var).split(',').map(str::to_owned).collect()
}

/// A store on the master of the Sentinel group the store tests share.
async fn sentinel() -> RedisStore {
    RedisStore::connect_sentinel(
        urls("TS_REDIS_SENTINEL_URLS"),
        &env_url("TS_REDIS_SENTINEL_MASTER"),
    )
    .await
    .expect("connect through TS_REDIS_SENTINEL_URLS")
}

async fn cluster() -> RedisStore {
    RedisStore::connect_cluster(urls("TS_REDIS_CLUSTER_URLS"))
        .await
        .expect("connect to TS_REDIS_CLUSTER_URLS")
}

/// Every write waits for the one replica each master has.
fn one_replica(store: RedisStore) -> RedisStore {
    store.with_replica_acks(1, Duration::from_secs(2))
}

/// A store on the standalone server that logs in as an ACL user allowed only its own keys.
async fn acl_user() -> RedisStore {
    let url = env_url("TS_REDIS_URL");
    let mut admin = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    redis::cmd("ACL")
        .arg("SETUSER")
        .arg("ts-sessions")
        .arg("reset")
        .arg("on")
        .arg(">ts-secret")
        .arg("~acl:*")
        .arg("+@all")
        .exec_async(&mut admin)
        .await
        .unwrap();
    let url = url.replacen("redis://", "redis://ts-sessions:ts-secret@", 1);
    RedisStore::from_client(redis::Client::open(url).unwrap())
        .unwrap()
        .with_prefix("acl:")
}

/// A store sharing a connection manager the application opened itself.
async fn shared_manager() -> RedisStore {
    let client = redis::Client::open(env_url("TS_REDIS_URL")).unwrap();
    let manager = redis::aio::ConnectionManager::new(client).await.unwrap();
    RedisStore::from_connection_manager(manager)
}

/// A store sharing a Cluster connection the application opened itself.
async fn shared_cluster_connection() -> RedisStore {
    let client = redis::cluster::ClusterClient::new(urls("TS_REDIS_CLUSTER_URLS")).unwrap();
    RedisStore::from_cluster_connection(client.get_async_connection().await.unwrap())
}

mod sentinel {
    typed_sessions::store_conformance!(
        store = super::sentinel(),
        failing = async {
            typed_sessions::RedisStore::connect_sentinel_lazy(["redis://127.0.0.1:1/"], "none")
                .unwrap()
        },
    );
}

mod sentinel_with_replica_acks {
    typed_sessions::store_conformance!(
        store = async { super::one_replica(super::sentinel().await) }
    );
}

mod cluster_with_replica_acks {
    typed_sessions::store_conformance!(
        store = async { super::one_replica(super::cluster().await) }
    );
}

mod acl_user {
    typed_sessions::store_conformance!(store = super::acl_user());
}

mod shared_connection_manager {
    typed_sessions::store_conformance!(store = super::shared_manager());
}

mod shared_cluster_connection {
    typed_sessions::store_conformance!(store = super::shared_cluster_connection());
}

#[test]
fn acl_user_is_refused_keys_outside_its_pattern() {
    run(async {
        let store = acl_user().await.with_prefix("elsewhere:");
        let err = store.load(&fresh_key()).await.unwrap_err();
        assert!(!err.is_unavailable(), "a refusal, not an outage: {err:?}");
        assert!(format!("{err:?}").contains("NoPerm"), "{err:?}");
    });
}

/// Asks for more replicas than there are: every write fails as unavailable after the wait,
/// although the master applied it.
async fn too_few_replicas(store: RedisStore) {
    let wait = Duration::from_millis(100);
    let store = store.with_replica_acks(2, wait);
    let key = fresh_key();
    let now = time::OffsetDateTime::now_utc();
    let record = typed_sessions::store::Record::new(
        [("n".to_owned(), serde_json::json!(1))]
            .into_iter()
            .collect(),
        now,
        now + Duration::from_secs(60),
    );
    let started = std::time::Instant::now();
    let err = store.create(&key, &record).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(started.elapsed() >= wait, "it waited for the replicas");
    assert!(
        format!("{err:?}").contains("1 of 2 Redis replicas"),
        "{err:?}"
    );
    assert!(
        store.load(&key).await.unwrap().is_some(),
        "the master applied the write that was reported as failed"
    );
    let err = store.remove(&key).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(store.load(&key).await.unwrap().is_none());
}

#[test]
fn too_few_replica_acks_fail_as_unavailable_through_sentinel() {
    run(async { too_few_replicas(sentinel().await).await });
}

#[test]
fn too_few_replica_acks_fail_as_unavailable_on_cluster() {
    run(async { too_few_replicas(cluster().await).await });
}

#[test]
fn debug_names_the_deployment_and_replica_acks() {
    run(async {
        let store = RedisStore::connect_sentinel_lazy(["redis://user:hunter2@127.0.0.1:1/"], "m")
            .unwrap()
            .with_replica_acks(1, Duration::from_millis(50));
        let shown = format!("{store:?}");
        assert!(
            shown.contains("\"sentinel\"") && shown.contains("replicas: 1"),
            "{shown}"
        );
        assert!(
            !shown.contains("hunter2") && !shown.contains("127.0.0.1"),
            "{shown}"
        );
    });
}
