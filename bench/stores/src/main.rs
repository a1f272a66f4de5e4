//! What one request costs the store server, typed-sessions against tower-sessions, in one run.
//!
//! Redis: a `redis-server` this program starts on a free port; its own counters give the
//! server time per request (`INFO commandstats`, the `usec` of the commands the client sent,
//! which for `EVALSHA` includes the commands its script runs), and a counting proxy in front of
//! it gives the commands, round trips and bytes. PostgreSQL (when `TS_POSTGRES_URL` is set):
//! the same proxy counts statements, transactions, round trips and bytes.
//!
//! ```text
//! cd bench/stores && TS_POSTGRES_URL=postgres://… cargo run --release [-- REQUESTS]
//! ```

mod peer;
mod redis_server;

use std::collections::BTreeMap;
use std::time::Duration;

use typed_sessions::SessionLayer;
use typed_sessions_bench::client::WARM_UP;
use typed_sessions_bench::wire::{CountingProxy, Counts, Protocol};
use typed_sessions_bench::{Client, Route, Row, Scenario, typed_app, typed_key};

use redis_server::RedisServer;

/// Requests per cell unless the command line says otherwise.
const REQUESTS: u32 = 2_000;

/// The three requests that reach the store.
const CELLS: [(&str, Scenario, Route); 3] = [
    ("read (returning visitor)", Scenario::Existing, Route::Read),
    ("write (returning visitor)", Scenario::Existing, Route::Incr),
    ("new session", Scenario::Fresh, Route::Incr),
];

/// One cell's totals over its requests.
struct Measured {
    requests: u32,
    wire: Counts,
    /// Redis only: server time of the commands the client sent, in µs.
    server_usec: Option<u64>,
    /// Redis only: the commands scripts ran, by name, and their own time in µs.
    inner: BTreeMap<String, u64>,
    inner_usec: u64,
}

impl Measured {
    fn per(&self, total: u64) -> f64 {
        total as f64 / f64::from(self.requests)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let requests = std::env::args()
        .nth(1)
        .map_or(REQUESTS, |n| n.parse().expect("REQUESTS is a number"));
    println!("{requests} requests per cell, after {WARM_UP} warm-up requests.\n");

    let redis = RedisServer::start().await;
    let proxy = CountingProxy::start(redis.addr(), Protocol::Redis)
        .await
        .expect("a proxy");
    let url = format!("redis://{}/", proxy.addr());
    let typed = typed_sessions::RedisStore::connect(&url)
        .await
        .expect("typed-sessions connects");
    let typed = SessionLayer::new(typed_key()).with_store(typed);
    let tower = peer::redis_store(&url).await;
    let mut rows = Vec::new();
    for (name, scenario, route) in CELLS {
        let app = typed_app(typed.clone());
        let ts = measure(
            app,
            scenario,
            route,
            requests,
            &proxy,
            Some(&redis),
            &|| true,
        )
        .await;
        let app = peer::app(tower.clone());
        let peer = measure(
            app,
            scenario,
            route,
            requests,
            &proxy,
            Some(&redis),
            &|| true,
        )
        .await;
        rows.push((name, ts, peer));
    }
    print_redis(&rows);
    let floor = redis.script_floor(requests).await;
    println!(
        "\nAn `EVALSHA` of `return 1` with one key and three arguments costs {floor:.1} µs of \
         Redis time here: what any script costs before its first command."
    );

    match std::env::var("TS_POSTGRES_URL") {
        Ok(url) => postgres(&url, requests.min(500)).await,
        Err(_) => println!("\nPostgreSQL: skipped (set TS_POSTGRES_URL)."),
    }
}

async fn postgres(url: &str, requests: u32) {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (user, host) = authority.rsplit_once('@').unwrap_or(("", authority));
    let proxy = CountingProxy::start(host.parse().expect("IP:port"), Protocol::Postgres)
        .await
        .expect("a proxy");
    let user = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    let url = format!("{scheme}://{user}{}/{path}", proxy.addr());

    let typed = typed_sessions::PostgresStore::connect(&url)
        .await
        .expect("typed-sessions connects")
        .with_table_name("ts_store_bench")
        .expect("a valid name")
        .without_cleanup();
    typed.migrate().await.expect("migrate");
    let typed_pool = typed.pool().clone();
    let typed_idle = move || typed_pool.num_idle() == typed_pool.size() as usize;
    let typed = SessionLayer::new(typed_key()).with_store(typed);
    let (tower, tower_idle) = peer::postgres_store(&url).await;
    let mut rows = Vec::new();
    for (name, scenario, route) in CELLS {
        let app = typed_app(typed.clone());
        let ts = measure(app, scenario, route, requests, &proxy, None, &typed_idle).await;
        let app = peer::app(tower.clone());
        let peer = measure(app, scenario, route, requests, &proxy, None, &tower_idle).await;
        rows.push((name, ts, peer));
    }
    print_sql(&rows, requests);
}

/// Sends `requests` requests to `route` after a warm-up, and returns what they cost.
async fn measure(
    app: axum::Router,
    scenario: Scenario,
    route: Route,
    requests: u32,
    proxy: &CountingProxy,
    redis: Option<&RedisServer>,
    settled: &dyn Fn() -> bool,
) -> Measured {
    let mut client = Client::with_app(app, Row::TsMemory, scenario).await;
    client.warm_up(route).await;
    settle(settled).await;
    if let Some(redis) = redis {
        redis.reset_stats().await;
    }
    proxy.take();
    for _ in 0..requests {
        client.request(route).await;
    }
    settle(settled).await;
    let wire = proxy.take();
    let (server_usec, inner, inner_usec) = match redis {
        Some(redis) => {
            let stats = redis.command_stats().await;
            let sent: Vec<String> = wire
                .by_name
                .keys()
                .map(|n| n.to_ascii_lowercase())
                .collect();
            let usec = sent
                .iter()
                .filter_map(|name| stats.get(name))
                .map(|s| s.1)
                .sum();
            let inner: BTreeMap<String, (u64, u64)> = stats
                .into_iter()
                .filter(|(name, _)| {
                    !sent.contains(name) && !["config|resetstat", "info"].contains(&name.as_str())
                })
                .map(|(name, stat)| (name.to_ascii_uppercase(), stat))
                .collect();
            let inner_usec = inner.values().map(|(_, usec)| usec).sum();
            let inner = inner
                .into_iter()
                .map(|(name, (calls, _))| (name, calls))
                .collect();
            (Some(usec), inner, inner_usec)
        }
        None => (None, BTreeMap::new(), 0),
    };
    Measured {
        requests,
        wire,
        server_usec,
        inner,
        inner_usec,
    }
}

async fn settle(settled: &dyn Fn() -> bool) {
    for _ in 0..1000 {
        if settled() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// `NAME×n` per request, names in order.
fn per_request(names: &BTreeMap<String, u64>, requests: u32) -> String {
    let words: Vec<String> = names
        .iter()
        .map(|(name, count)| {
            let each = *count as f64 / f64::from(requests);
            if (each - 1.0).abs() < 0.005 {
                name.clone()
            } else {
                format!("{name}×{each:.2}")
            }
        })
        .collect();
    if words.is_empty() {
        "—".into()
    } else {
        words.join(", ")
    }
}

fn ratio(ours: f64, theirs: f64) -> String {
    if theirs == 0.0 {
        "—".into()
    } else {
        format!("{:.2}×", ours / theirs)
    }
}

fn print_redis(rows: &[(&str, Measured, Measured)]) {
    println!("### Redis\n");
    println!("| per request | typed-sessions | tower-sessions | ratio |");
    println!("|---|---|---|---|");
    for (name, ts, peer) in rows {
        let requests = ts.requests;
        println!(
            "| {name}: commands (round trips) | {} ({:.2}) | {} ({:.2}) | |",
            per_request(&ts.wire.by_name, requests),
            ts.per(ts.wire.round_trips),
            per_request(&peer.wire.by_name, requests),
            peer.per(peer.wire.round_trips),
        );
        if !ts.inner.is_empty() {
            println!(
                "| {name}: commands the script runs (their own time) | {} ({:.1} µs) | — | |",
                per_request(&ts.inner, requests),
                ts.per(ts.inner_usec)
            );
        }
        let (ours, theirs) = (
            ts.per(ts.server_usec.unwrap_or(0)),
            peer.per(peer.server_usec.unwrap_or(0)),
        );
        println!(
            "| {name}: Redis time | {ours:.1} µs | {theirs:.1} µs | {} |",
            ratio(ours, theirs)
        );
        let (ours, theirs) = (
            ts.per(ts.wire.bytes_to_server + ts.wire.bytes_from_server),
            peer.per(peer.wire.bytes_to_server + peer.wire.bytes_from_server),
        );
        println!(
            "| {name}: bytes to / from Redis | {:.0} / {:.0} | {:.0} / {:.0} | {} |",
            ts.per(ts.wire.bytes_to_server),
            ts.per(ts.wire.bytes_from_server),
            peer.per(peer.wire.bytes_to_server),
            peer.per(peer.wire.bytes_from_server),
            ratio(ours, theirs)
        );
    }
}

fn print_sql(rows: &[(&str, Measured, Measured)], requests: u32) {
    println!("\n### PostgreSQL ({requests} requests per cell)\n");
    println!("| per request | typed-sessions | tower-sessions |");
    println!("|---|---|---|");
    for (name, ts, peer) in rows {
        let cell = |m: &Measured| {
            format!(
                "{} ({:.2} round trips, {:.2} of them pings; {:.2} transactions)",
                per_request(&m.wire.by_name, m.requests),
                m.per(m.wire.round_trips),
                m.per(m.wire.pings),
                m.per(m.wire.transactions),
            )
        };
        println!("| {name}: statements | {} | {} |", cell(ts), cell(peer));
        println!(
            "| {name}: bytes to / from the server | {:.0} / {:.0} | {:.0} / {:.0} |",
            ts.per(ts.wire.bytes_to_server),
            ts.per(ts.wire.bytes_from_server),
            peer.per(peer.wire.bytes_to_server),
            peer.per(peer.wire.bytes_from_server),
        );
    }
}
