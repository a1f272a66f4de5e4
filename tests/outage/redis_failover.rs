//! Redis failovers under a stream of requests, on the servers `scripts/test` keeps for them (a
//! Sentinel group and a Cluster that no other test uses): Sentinel's `SENTINEL FAILOVER` and a
//! killed Sentinel master, the Cluster's `CLUSTER FAILOVER` on a replica, and a killed Cluster
//! master, without and with `with_replica_acks`.
//!
//! Each test keeps one app (one store, never rebuilt) answering a stream of requests on
//! sessions created before the switch, and checks three promises: requests fail fast with 503
//! during the switch only, for a bounded window (printed); the app works again by itself; and
//! every session written before the switch is there after it. A killed master's replica is
//! made to lag first, so that without replica acknowledgements acknowledged counts are lost
//! (the number is printed); with them on, none is.

use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use axum::Router;
use tokio::sync::Mutex;
use typed_sessions::{Key, RedisStore, SessionLayer};
use typed_sessions_tests::{env_url, get};

use crate::{count, shell};

/// The failover Cluster serves one test at a time.
static FAILOVER_CLUSTER: Mutex<()> = Mutex::const_new(());
/// So does the Sentinel group kept for the failover tests.
static FAILOVER_SENTINEL_GROUP: Mutex<()> = Mutex::const_new(());

const SESSIONS: usize = 48;
const WORKERS: usize = 4;
/// The longest a request may take to fail: fast, not after a hang. A request loads (bounded by
/// the 500 ms command timeout) and writes (bounded by it plus the wait for replicas); the rest
/// is slack for a loaded CI machine.
const FAIL_FAST: Duration = Duration::from_secs(3);
/// The generous bound on the window of 503s; the measured window is printed.
const WINDOW_BOUND: Duration = Duration::from_secs(15);

/// Whether an acknowledged count may be lost: without replica acknowledgements, a write the
/// killed master acknowledged may not have reached its replica.
#[derive(Clone, Copy, PartialEq)]
enum Acked {
    MayBeLost,
    Kept,
}

/// One session of the stream: its cookie, the last count a client saw, and the requests that
/// failed since (each may or may not have been written).
struct Tracked {
    cookie: String,
    acked: u64,
    failed_since: u64,
    /// Acknowledged counts found lost (allowed without replica acknowledgements only).
    lost: u64,
}

/// One request of the stream: when it started, how long it took, its status.
struct Event {
    at: Instant,
    took: Duration,
    status: u16,
}

impl Tracked {
    /// Checks a count the app answered with against what the client saw before.
    fn check(&mut self, n: u64, acked: Acked) {
        assert!(
            n >= 2,
            "a session written before the switch was lost (count {n})"
        );
        if acked == Acked::Kept {
            assert!(
                n > self.acked && n <= self.acked + 1 + self.failed_since,
                "count {n} after an acknowledged {} and {} failed requests: a write was lost",
                self.acked,
                self.failed_since
            );
        }
        if n <= self.acked {
            self.lost += self.acked + 1 - n;
        }
        self.acked = n;
        self.failed_since = 0;
    }
}

fn app(store: RedisStore) -> Router {
    Router::new()
        .route("/count", axum::routing::get(count))
        .layer(SessionLayer::new(Key::generate()).with_store(store))
}

/// Streams requests through an app on `store` while `switch` fails the master over; checks
/// the three promises. The app, for more checks.
async fn fail_over_under_load(
    what: &str,
    store: RedisStore,
    acked: Acked,
    switch: impl Future<Output = ()>,
) -> Router {
    let app = app(store);
    let mut sessions = Vec::new();
    for _ in 0..SESSIONS {
        let first = get(&app, "/count", None).await;
        assert_eq!((first.status.as_u16(), first.body.as_str()), (200, "1"));
        let cookie = first.set_cookies()[0].split(';').next().unwrap().to_owned();
        sessions.push(Tracked {
            cookie,
            acked: 1,
            failed_since: 0,
            lost: 0,
        });
    }
    // Replication is asynchronous: give the replicas the sessions created above.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let events = Arc::new(StdMutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    let per_worker = SESSIONS / WORKERS;
    for _ in 0..WORKERS {
        let mut mine: Vec<Tracked> = sessions.drain(..per_worker).collect();
        let (app, events, stop) = (app.clone(), events.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for session in &mut mine {
                    let at = Instant::now();
                    let reply = get(&app, "/count", Some(&session.cookie)).await;
                    let status = reply.status.as_u16();
                    match status {
                        200 => session.check(reply.body.parse().unwrap(), acked),
                        503 => session.failed_since += 1,
                        _ => panic!("unexpected {status}: {}", reply.body),
                    }
                    let took = at.elapsed();
                    events.lock().unwrap().push(Event { at, took, status });
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            mine
        }));
    }

    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = Instant::now();
    switch.await;
    let switched = started.elapsed();
    // Until 3 s without a 503, within 25 s of the switch.
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let last_503 = events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.status == 503)
            .map(|e| e.at + e.took)
            .max();
        let quiet = last_503.is_none_or(|at| at.elapsed() > Duration::from_secs(3));
        if quiet && started.elapsed() > switched + Duration::from_secs(2) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(25),
            "{what}: still answering 503 25 s after the switch began"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut sessions = Vec::new();
    for worker in workers {
        sessions.extend(worker.await.expect("a stream worker failed"));
    }

    let events = std::mem::take(&mut *events.lock().unwrap());
    let failed: Vec<&Event> = events.iter().filter(|e| e.status == 503).collect();
    assert!(
        failed.iter().all(|e| e.at >= started),
        "{what}: 503 before the switch began"
    );
    let slowest = failed.iter().map(|e| e.took).max().unwrap_or_default();
    assert!(slowest < FAIL_FAST, "{what}: a 503 took {slowest:?}");
    let window = match (failed.first(), failed.iter().map(|e| e.at + e.took).max()) {
        (Some(first), Some(last)) => last - first.at,
        _ => Duration::ZERO,
    };
    println!(
        "{what}: {} requests, {} answered 503 (slowest {slowest:?}) over {window:?}; \
         the switch took {switched:?}",
        events.len(),
        failed.len()
    );
    assert!(window < WINDOW_BOUND, "{what}: 503s for {window:?}");
    let last_failure = failed.iter().map(|e| e.at).max().unwrap_or(started);
    let served_after = events
        .iter()
        .filter(|e| e.at > last_failure && e.status == 200)
        .count();
    assert!(
        served_after >= SESSIONS,
        "{what}: only {served_after} requests served after the switch"
    );

    // The same app, after the switch: every session is there, with its acknowledged count.
    for session in &mut sessions {
        let reply = get(&app, "/count", Some(&session.cookie)).await;
        assert_eq!(reply.status.as_u16(), 200, "{what}: {}", reply.body);
        session.check(reply.body.parse().unwrap(), acked);
    }
    let lost: u64 = sessions.iter().map(|s| s.lost).sum();
    println!("{what}: {lost} acknowledged counts lost");
    app
}

/// [`query_as`] for a text answer.
async fn query(url: &str, cmd: &mut redis::Cmd) -> Option<String> {
    query_as(url, cmd).await
}

/// The answer to `cmd` from the server at `url`, or `None` when it does not answer.
async fn query_as<T: redis::FromRedisValue>(url: &str, cmd: &mut redis::Cmd) -> Option<T> {
    let client = redis::Client::open(url).ok()?;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(500)))
        .set_response_timeout(Some(Duration::from_millis(500)));
    let mut connection = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .ok()?;
    cmd.query_async(&mut connection).await.ok()
}

async fn info(url: &str, section: &str) -> String {
    query(url, redis::cmd("INFO").arg(section))
        .await
        .unwrap_or_default()
}

/// Polls `ready` every 100 ms until it holds, for at most `limit`.
async fn wait_until<F: Future<Output = bool>>(what: &str, limit: Duration, ready: impl Fn() -> F) {
    let deadline = Instant::now() + limit;
    while !ready().await {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---- Sentinel ----

fn sentinel_url() -> String {
    env_url("TS_REDIS_SENTINEL_URLS")
        .split(',')
        .next()
        .unwrap()
        .to_owned()
}

async fn sentinel_master(name: &str) -> Option<String> {
    let mut cmd = redis::cmd("SENTINEL");
    cmd.arg("get-master-addr-by-name").arg(name);
    let client = redis::Client::open(sentinel_url()).ok()?;
    let mut connection = client.get_multiplexed_async_connection().await.ok()?;
    let (host, port): (String, String) = cmd.query_async(&mut connection).await.ok()?;
    Some(format!("redis://{host}:{port}/"))
}

/// The group's master has its replica in sync, so that a failover can promote it.
async fn sentinel_group_in_sync(name: &str) -> bool {
    match sentinel_master(name).await {
        Some(master) => {
            let replication = info(&master, "replication").await;
            replication.contains("role:master") && replication.contains("state=online")
        }
        None => false,
    }
}

/// A store on the dedicated Sentinel group's master, once its replica is in sync, with its own
/// key prefix; the prefix and the master's URL.
async fn sentinel_store(name: &str) -> (RedisStore, String, String) {
    wait_until(
        "the Sentinel group in sync",
        Duration::from_secs(30),
        || sentinel_group_in_sync(name),
    )
    .await;
    let prefix = typed_sessions_tests::unique("failover:");
    let store = RedisStore::connect_sentinel([sentinel_url()], name)
        .await
        .unwrap()
        .with_prefix(prefix.as_str());
    let old = sentinel_master(name).await.unwrap();
    (store, prefix, old)
}

/// Waits until Sentinel names a master other than `old`, and it answers as one.
async fn sentinel_switched(name: &str, old: &str) {
    wait_until(
        "Sentinel names a new master",
        Duration::from_secs(20),
        || async {
            match sentinel_master(name).await {
                Some(new) => new != old && info(&new, "replication").await.contains("role:master"),
                None => false,
            }
        },
    )
    .await;
}

#[tokio::test]
async fn sentinel_failover_answers_503_briefly_and_keeps_every_session() {
    let what = "SENTINEL FAILOVER";
    let _group = FAILOVER_SENTINEL_GROUP.lock().await;
    let name = env_url("TS_REDIS_FAILOVER_SENTINEL_MASTER");
    let (store, prefix, old) = sentinel_store(&name).await;
    let switch = async {
        let mut cmd = redis::cmd("SENTINEL");
        cmd.arg("FAILOVER").arg(&name);
        query(&sentinel_url(), &mut cmd)
            .await
            .expect("SENTINEL FAILOVER");
        sentinel_switched(&name, &old).await;
    };
    let app = fail_over_under_load(what, store, Acked::MayBeLost, switch).await;

    // Sentinel demotes the old master only seconds later, and until then it takes writes that
    // the demotion throws away: new sessions must land on the new master already.
    let old_is_master = info(&old, "replication").await.contains("role:master");
    for _ in 0..8 {
        assert_eq!(get(&app, "/count", None).await.status.as_u16(), 200);
    }
    let new = sentinel_master(&name).await.unwrap();
    let keys: Vec<String> = query_as(&new, redis::cmd("KEYS").arg(format!("{prefix}*")))
        .await
        .expect("the new master answers");
    println!("{what}: the old master still a master after the switch: {old_is_master}");
    assert_eq!(keys.len(), SESSIONS + 8, "every session on the new master");
}

#[tokio::test]
async fn killed_sentinel_master_answers_503_briefly_and_keeps_every_session() {
    let _group = FAILOVER_SENTINEL_GROUP.lock().await;
    let name = env_url("TS_REDIS_FAILOVER_SENTINEL_MASTER");
    let (store, _, old) = sentinel_store(&name).await;
    let switch = async {
        let pid = field(&info(&old, "server").await, "process_id").expect("the master's pid");
        shell(&format!("kill -9 {pid}"));
        sentinel_switched(&name, &old).await;
    };
    let _app =
        fail_over_under_load("killed Sentinel master", store, Acked::MayBeLost, switch).await;
    // Back as a server Sentinel turns into the new master's replica.
    shell(&env_url("TS_REDIS_FAILOVER_SENTINEL_RESTART"));
}

// ---- Cluster ----

fn cluster_urls() -> Vec<String> {
    env_url("TS_REDIS_FAILOVER_CLUSTER_URLS")
        .split(',')
        .map(str::to_owned)
        .collect()
}

/// A master of the failover Cluster and its replica, in sync: their URLs.
async fn master_with_replica() -> Option<(String, String)> {
    for url in cluster_urls() {
        let replication = info(&url, "replication").await;
        if replication.contains("role:slave") && replication.contains("master_link_status:up") {
            let host = field(&replication, "master_host")?;
            let port = field(&replication, "master_port")?;
            return Some((format!("redis://{host}:{port}/"), url));
        }
    }
    None
}

fn field(info: &str, name: &str) -> Option<String> {
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .map(|value| value.trim().to_owned())
}

/// Brings back any killed node (it rejoins as a replica) and waits until every node answers,
/// the Cluster is ok on each, every replica is in sync, and no node is flagged as failing.
async fn heal_cluster() {
    shell(&env_url("TS_REDIS_FAILOVER_CLUSTER_RESTART"));
    wait_until(
        "the failover Cluster healed",
        Duration::from_secs(30),
        || async {
            for url in cluster_urls() {
                let cluster = query(&url, redis::cmd("CLUSTER").arg("INFO")).await;
                if !cluster.is_some_and(|info| info.contains("cluster_state:ok")) {
                    return false;
                }
                let replication = info(&url, "replication").await;
                if replication.contains("role:slave")
                    && !replication.contains("master_link_status:up")
                {
                    return false;
                }
                // Every master has its replica online, or writes that wait for a replica's
                // acknowledgement answer 503 on its slots.
                if replication.contains("role:master")
                    && !(replication.contains("connected_slaves:1")
                        && replication.contains("state=online"))
                {
                    return false;
                }
                let nodes = query(&url, redis::cmd("CLUSTER").arg("NODES")).await;
                if nodes.is_none_or(|nodes| nodes.contains("fail")) {
                    return false;
                }
            }
            true
        },
    )
    .await;
}

async fn cluster_store() -> RedisStore {
    RedisStore::connect_cluster(cluster_urls()).await.unwrap()
}

/// Kills the master at `url` (SIGKILL), then waits until `replica` took its place; with
/// `restart`, brings the killed node back, as the new master's replica, and waits for its sync.
///
/// The replica falls behind first, as a busy or distant replica lags: its link to the master
/// is cut and it cannot log in again (a wrong `masterauth`) for 500 ms before the kill, so the
/// writes of that time reach the master only; without replica acknowledgements the clients
/// were told they succeeded.
async fn kill_master(url: &str, replica: &str, restart: bool) {
    let pid = field(&info(url, "server").await, "process_id").expect("the master's pid");
    let set_auth = |password: &'static str| async move {
        let mut cmd = redis::cmd("CONFIG");
        cmd.arg("SET").arg("masterauth").arg(password);
        query(replica, &mut cmd)
            .await
            .expect("CONFIG SET masterauth");
    };
    set_auth("not-the-password").await;
    let mut cut = redis::cmd("CLIENT");
    cut.arg("KILL").arg("TYPE").arg("replica");
    query_as::<i64>(url, &mut cut).await.expect("CLIENT KILL");
    tokio::time::sleep(Duration::from_millis(500)).await;
    shell(&format!("kill -9 {pid}"));
    set_auth("").await;
    wait_until("the replica promoted", Duration::from_secs(20), || async {
        info(replica, "replication").await.contains("role:master")
            && query(replica, redis::cmd("CLUSTER").arg("INFO"))
                .await
                .is_some_and(|info| info.contains("cluster_state:ok"))
    })
    .await;
    if restart {
        shell(&env_url("TS_REDIS_FAILOVER_CLUSTER_RESTART"));
        wait_until(
            "the killed master back as a replica",
            Duration::from_secs(20),
            || async {
                info(url, "replication")
                    .await
                    .contains("master_link_status:up")
            },
        )
        .await;
    }
}

#[tokio::test]
async fn cluster_failover_answers_503_briefly_and_keeps_every_session() {
    let _cluster = FAILOVER_CLUSTER.lock().await;
    heal_cluster().await;
    let (_, replica) = master_with_replica().await.expect("a replica in sync");
    let switch = async {
        query(&replica, redis::cmd("CLUSTER").arg("FAILOVER"))
            .await
            .expect("CLUSTER FAILOVER");
        wait_until("the replica promoted", Duration::from_secs(20), || async {
            info(&replica, "replication").await.contains("role:master")
        })
        .await;
    };
    let _app = fail_over_under_load(
        "CLUSTER FAILOVER",
        cluster_store().await,
        Acked::MayBeLost,
        switch,
    )
    .await;
    heal_cluster().await;
}

/// Kills a master of the failover Cluster under the stream; with replica acknowledgements,
/// also checks that no acknowledged count is lost.
async fn kill_a_cluster_master(what: &str, replica_acks: bool) {
    let _cluster = FAILOVER_CLUSTER.lock().await;
    heal_cluster().await;
    let (master, replica) = master_with_replica().await.expect("a replica in sync");
    let (store, acked) = match replica_acks {
        false => (cluster_store().await, Acked::MayBeLost),
        true => {
            let store = cluster_store().await;
            (
                store.with_replica_acks(1, Duration::from_millis(500)),
                Acked::Kept,
            )
        }
    };
    // WAIT needs a replica: with acknowledgements on, the killed master comes back as the new
    // master's replica, as an orchestrator would bring it back; until it has synced, writes on
    // its slots answer 503.
    let switch = kill_master(&master, &replica, replica_acks);
    let _app = fail_over_under_load(what, store, acked, switch).await;
    heal_cluster().await;
}

#[tokio::test]
async fn killed_cluster_master_answers_503_briefly_and_keeps_every_session() {
    kill_a_cluster_master("killed master", false).await;
}

#[tokio::test]
async fn killed_cluster_master_loses_no_acknowledged_write_with_replica_acks() {
    kill_a_cluster_master("killed master, replica acks", true).await;
}
