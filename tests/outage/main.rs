#![allow(unreachable_pub, missing_docs)]

//! Store outages end to end: with the server stopped, a request that extracts the session fails
//! fast with 503 and a clear message, routes that don't extract are unaffected, and once the
//! server is back the same app serves the sessions saved before the outage.
//!
//! These tests stop and restart the servers `scripts/test` started (through the TS_*_STOP and
//! TS_*_START commands it exports), so they live in their own test binary: cargo runs test
//! binaries one after another, so no other store test sees the outage. `redis_failover` fails
//! Redis masters over (Sentinel and Cluster) under a stream of requests, on servers of its own.

use std::process::Command;
use std::time::{Duration, Instant};

use axum::Router;
use typed_sessions::{Key, Session, SessionLayer, store::SessionStore};
use typed_sessions_tests::{env_url, get};

#[cfg(feature = "redis")]
mod redis_failover;

#[derive(Session, Default)]
struct Visit {
    views: u64,
}

async fn count(mut visit: Session<Visit>) -> String {
    visit.views += 1;
    visit.views.to_string()
}

fn shell(command: &str) {
    let status = Command::new("sh").arg("-c").arg(command).status().unwrap();
    assert!(status.success(), "`{command}` failed");
}

/// Stops a server for the lifetime of the guard; starts it again however the test ends.
struct Outage {
    start: String,
    started: bool,
}

impl Outage {
    fn begin(stop_var: &str, start_var: &str) -> Self {
        let start = env_url(start_var);
        shell(&env_url(stop_var));
        Self {
            start,
            started: false,
        }
    }

    fn end(&mut self) {
        if !self.started {
            self.started = true;
            shell(&self.start);
        }
    }
}

impl Drop for Outage {
    fn drop(&mut self) {
        self.end();
    }
}

/// What the outage tests look at in a response.
struct Reply {
    status: u16,
    body: String,
    /// The `name=value` pair of the first cookie the response set, if any.
    cookie: Option<String>,
}

async fn fetch(app: &Router, path: &str, cookie: Option<&str>) -> Reply {
    let response = get(app, path, cookie).await;
    Reply {
        status: response.status.as_u16(),
        cookie: response
            .set_cookies()
            .first()
            .map(|set| set.split(';').next().unwrap().to_owned()),
        body: response.body,
    }
}

/// The whole outage scenario against `store`, whose server `stop_var`/`start_var` control.
async fn survive_an_outage(store: impl SessionStore, stop_var: &str, start_var: &str) {
    let layer = SessionLayer::new(Key::generate())
        .with_store(store)
        .with_store_timeout(Duration::from_millis(800));
    let app = Router::new()
        .route("/count", axum::routing::get(count))
        .route("/none", axum::routing::get(|| async { "still here" }))
        .layer(layer);

    let first = fetch(&app, "/count", None).await;
    assert_eq!((first.status, first.body.as_str()), (200, "1"));
    let cookie = first.cookie.expect("a session cookie");

    let mut outage = Outage::begin(stop_var, start_var);
    let started = Instant::now();
    let failed = fetch(&app, "/count", Some(&cookie)).await;
    let took = started.elapsed();
    assert_eq!(failed.status, 503, "{}", failed.body);
    assert!(
        failed.body.contains("unavailable") || failed.body.contains("did not answer"),
        "{}",
        failed.body
    );
    assert!(took < Duration::from_secs(2), "the failure took {took:?}");
    assert!(failed.cookie.is_none(), "no cookie while the store is down");
    let untouched = fetch(&app, "/none", Some(&cookie)).await;
    assert_eq!(
        (untouched.status, untouched.body.as_str()),
        (200, "still here")
    );
    outage.end();

    // The same app, not rebuilt: it reconnects by itself, and the session is still there.
    let deadline = Instant::now() + Duration::from_secs(20);
    let back = loop {
        let reply = fetch(&app, "/count", Some(&cookie)).await;
        if reply.status == 200 || Instant::now() > deadline {
            break reply;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        (back.status, back.body.as_str()),
        (200, "2"),
        "the session saved before the outage"
    );
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_outage_answers_503_and_recovers_without_losing_sessions() {
    let store = typed_sessions::RedisStore::connect(&env_url("TS_REDIS_URL"))
        .await
        .unwrap()
        .with_prefix(format!("outage-{}:", std::process::id()));
    survive_an_outage(store, "TS_REDIS_STOP", "TS_REDIS_START").await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_outage_answers_503_and_recovers_without_losing_sessions() {
    let store = typed_sessions::PostgresStore::connect(&env_url("TS_POSTGRES_URL"))
        .await
        .unwrap()
        .with_table_name(format!("outage_{}", std::process::id()))
        .unwrap();
    store.migrate().await.unwrap();
    survive_an_outage(store, "TS_POSTGRES_STOP", "TS_POSTGRES_START").await;
}
