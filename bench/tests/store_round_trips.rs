//! What one request costs the store server, counted on the wire by a proxy in front of the
//! servers `scripts/test` starts (`TS_REDIS_URL`, `TS_POSTGRES_URL`, `TS_MYSQL_URL`): round
//! trips, and the Redis commands or SQL statements sent. No timing: these run in CI, and a
//! change that adds a command or a round trip to a request fails here.
//!
//! Each request is sent after warm-up requests on the same route, so one-time costs (loading
//! a Lua script, preparing a statement, opening a pooled connection) are not counted.
//!
//! On PostgreSQL and MySQL every store call is one statement in one round trip, with no ping
//! before it (the pools the stores open skip sqlx's `test_before_acquire`). sqlx 0.9 pings a
//! connection as it goes back to the pool, after the answer, and no pool option turns that off:
//! those pings are counted apart, in a background task whose timing varies, so they are only
//! bounded here (a ping before each statement as well would break the bound). So are the
//! preparations of a statement on a pooled connection that has not run it yet, which happen
//! when a call lands on another connection than in the warm-up.

#![cfg(any(feature = "redis", feature = "postgres", feature = "mysql"))]

use typed_sessions::SessionLayer;
use typed_sessions::store::SessionStore;
use typed_sessions_bench::client::WARM_UP;
use typed_sessions_bench::wire::{CountingProxy, Counts, Protocol};
use typed_sessions_bench::{Client, Route, Row, Scenario, runtime, typed_app, typed_key};

/// One request's expected counts: round trips other than pings and preparations, then the
/// commands or statements by name as [`Counts::names`] writes them.
type Expected = (u64, &'static str);

/// The server in `var`'s URL, and the same URL pointing at `proxy` instead.
fn server_of(var: &str) -> (std::net::SocketAddr, String) {
    let url = std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: run scripts/test"));
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (user, host) = authority
        .rsplit_once('@')
        .map_or(("", authority), |(user, host)| (user, host));
    let addr = host.parse().expect("the test servers listen on IP:port");
    let user = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    (addr, format!("{scheme}://{user}{{proxy}}/{path}"))
}

/// The counts of one request per route and scenario, through `proxy`, on `store`. After each
/// request, `settled` is polled until it holds: sqlx pings a connection when it returns to the
/// pool, after the request has its answer, and that round trip belongs to the request.
async fn per_request<S: SessionStore + Clone>(
    store: &S,
    proxy: &CountingProxy,
    settled: impl Fn() -> bool,
) -> [Counts; 4] {
    let mut counts = Vec::new();
    for scenario in [Scenario::Existing, Scenario::Fresh] {
        let layer = SessionLayer::new(typed_key()).with_store(store.clone());
        let mut client = Client::with_app(typed_app(layer), Row::TsMemory, scenario).await;
        for route in [Route::Read, Route::Incr] {
            for _ in 0..WARM_UP {
                client.request(route).await;
                wait_until(&settled).await;
            }
            proxy.take();
            client.request(route).await;
            wait_until(&settled).await;
            counts.push(proxy.take());
        }
    }
    counts.try_into().expect("four cells")
}

async fn wait_until(settled: impl Fn() -> bool) {
    for _ in 0..1000 {
        if settled() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    panic!("the store did not settle within a second");
}

/// Checks `counts` (existing read, existing change, new visitor read, new visitor change)
/// against `expected`.
#[track_caller]
fn check(store: &str, counts: &[Counts; 4], expected: [Expected; 4]) {
    let cells = [
        "returning visitor, read",
        "returning visitor, change",
        "new visitor, read",
        "new visitor, change",
    ];
    let measured: Vec<(u64, String)> = counts
        .iter()
        .map(|counts| {
            (
                counts.round_trips - counts.pings - counts.prepares,
                counts.names(),
            )
        })
        .collect();
    let expected: Vec<(u64, String)> = expected
        .iter()
        .map(|(round_trips, names)| (*round_trips, (*names).to_owned()))
        .collect();
    assert_eq!(
        measured, expected,
        "{store}: round trips and commands per request, for {cells:?}"
    );
    for (cell, counts) in cells.iter().zip(counts) {
        assert!(
            counts.pings <= 2 * counts.statements,
            "{store}, {cell}: more pings than sqlx's after each statement ({counts:?})"
        );
    }
}

/// A proxy to the server in `var`'s URL, and that URL pointing at the proxy instead.
async fn proxied(var: &str, protocol: Protocol) -> (CountingProxy, String) {
    let (server, url) = server_of(var);
    let proxy = CountingProxy::start(server, protocol).await.unwrap();
    let url = url.replace("{proxy}", &proxy.addr().to_string());
    (proxy, url)
}

/// The counts of `store`, connected through `proxy`, on a table of its own.
#[cfg(any(feature = "postgres", feature = "mysql"))]
async fn sql_counts<DB: typed_sessions::store::SqlDialect>(
    store: typed_sessions::store::SqlStore<DB>,
    proxy: &CountingProxy,
) -> [Counts; 4] {
    let store = store
        .with_table_name("ts_round_trips")
        .unwrap()
        .without_cleanup();
    store.migrate().await.unwrap();
    per_request(&store, proxy, || {
        // Every connection is back in the pool.
        store.pool().num_idle() == store.pool().size() as usize
    })
    .await
}

#[cfg(feature = "redis")]
#[test]
fn redis_read_is_one_command_and_a_change_two() {
    runtime().block_on(async {
        let (proxy, url) = proxied("TS_REDIS_URL", Protocol::Redis).await;
        let store = typed_sessions::RedisStore::connect(&url).await.unwrap();
        let counts = per_request(&store, &proxy, || true).await;
        // The scripts are loaded once per connection (during warm-up), then called by digest.
        let expected = [
            (1, "HGETALL"),
            (2, "EVALSHA, HGETALL"),
            (0, ""),
            (1, "EVALSHA"),
        ];
        check("Redis", &counts, expected);
    });
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_store_calls_are_one_statement_and_no_ping_before_it() {
    let counts = runtime().block_on(async {
        let (proxy, url) = proxied("TS_POSTGRES_URL", Protocol::Postgres).await;
        let store = typed_sessions::PostgresStore::connect(&url).await.unwrap();
        sql_counts(store, &proxy).await
    });
    let expected = [(1, "SELECT"), (2, "SELECT, UPDATE"), (0, ""), (1, "INSERT")];
    check("PostgreSQL", &counts, expected);
}

#[cfg(feature = "mysql")]
#[test]
fn mysql_store_calls_are_one_statement_and_no_ping_before_it() {
    let counts = runtime().block_on(async {
        let (proxy, url) = proxied("TS_MYSQL_URL", Protocol::MySql).await;
        let store = typed_sessions::MySqlStore::connect(&url).await.unwrap();
        sql_counts(store, &proxy).await
    });
    // A new session is two statements on MySQL: `create` clears an expired row first.
    let expected = [(1, "EXECUTE"), (2, "EXECUTE×2"), (0, ""), (2, "EXECUTE×2")];
    check("MySQL", &counts, expected);
}

/// On a standalone server a write of an indexed session keeps its entry in the user's set in
/// the session's own script: a login, a request, a new id and a logout are one `EVALSHA`
/// each. Only a touch, which cannot change the index, moves the entry in a second one.
#[cfg(feature = "redis")]
#[test]
fn redis_indexed_writes_are_one_script_standalone() {
    use std::time::Duration;

    use time::OffsetDateTime;
    use typed_sessions::store::{Fields, INDEX_FIELD, IndexDigest, Patch, Record, StoreKey};

    let key = |byte: u8| StoreKey::from_digest_hex(format!("{byte:02x}").repeat(32)).unwrap();
    runtime().block_on(async {
        let (proxy, url) = proxied("TS_REDIS_URL", Protocol::Redis).await;
        let store = typed_sessions::RedisStore::connect(&url)
            .await
            .unwrap()
            .with_prefix("ts-round-trips-index:");
        let digest = IndexDigest::from_digest_hex("ab".repeat(32)).unwrap();
        let mut indexed = Fields::new();
        indexed.insert(INDEX_FIELD.into(), digest.as_str().into());
        let later = || OffsetDateTime::now_utc() + Duration::from_secs(60);
        let views = |loaded: Option<&IndexDigest>| {
            let mut views = Fields::new();
            views.insert("views".into(), 1.into());
            Patch::new(views, Vec::new(), later()).with_loaded_index(loaded.cloned())
        };
        let (warm, first, second) = (key(0xa0), key(0xa1), key(0xa2));
        for byte in 0xa0..=0xa3 {
            store.remove(&key(byte)).await.unwrap();
        }
        // Warm-up: every script loaded on the connection.
        let now = OffsetDateTime::now_utc();
        store
            .create(&warm, &Record::new(indexed.clone(), now, later()))
            .await
            .unwrap();
        store.patch(&warm, &views(Some(&digest))).await.unwrap();
        store
            .rekey(&warm, &key(0xa3), &views(Some(&digest)))
            .await
            .unwrap();
        store.touch(&key(0xa3), later()).await.unwrap();
        proxy.take();

        let mut measured = Vec::new();
        let now = OffsetDateTime::now_utc();
        store
            .create(&first, &Record::new(indexed.clone(), now, later()))
            .await
            .unwrap();
        measured.push(("login", proxy.take()));
        store.patch(&first, &views(Some(&digest))).await.unwrap();
        measured.push(("request", proxy.take()));
        store
            .rekey(&first, &second, &views(Some(&digest)))
            .await
            .unwrap();
        measured.push(("new id", proxy.take()));
        let logout = Patch::new(Fields::new(), vec![INDEX_FIELD.into()], later())
            .with_loaded_index(Some(digest.clone()));
        store.patch(&second, &logout).await.unwrap();
        measured.push(("logout", proxy.take()));
        store.touch(&key(0xa3), later()).await.unwrap();
        measured.push(("touch", proxy.take()));

        let measured: Vec<(&str, u64, String)> = measured
            .into_iter()
            .map(|(what, counts)| (what, counts.round_trips, counts.names()))
            .collect();
        assert_eq!(
            measured,
            [
                ("login", 1, "EVALSHA".to_owned()),
                ("request", 1, "EVALSHA".to_owned()),
                ("new id", 1, "EVALSHA".to_owned()),
                ("logout", 1, "EVALSHA".to_owned()),
                ("touch", 2, "EVALSHA×2".to_owned()),
            ]
        );
        store.remove(&key(0xa3)).await.unwrap();
        store.remove(&second).await.unwrap();
    });
}
