//! Floods: of cookieless requests, and of requests that each create a session.

use std::time::Instant;

use http::header;
use serde_json::json;
use tower::ServiceExt;
use typed_sessions::MemoryStore;

use crate::{FLOOD, MIB, ONE_AT_A_TIME, app, bare, counting, resident_bytes};
use typed_sessions_tests::{get_with, send};

/// 100 000 cookieless requests to a route that reads the session: not one store call, nothing
/// stored, no cookie sent.
#[tokio::test]
async fn cookieless_flood_creates_nothing() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    let memory = MemoryStore::new();
    let store = counting(&memory);
    let app = app(Some(&store));
    let started = Instant::now();
    for n in 0..FLOOD {
        let response = app.clone().oneshot(bare("/read")).await.unwrap();
        assert_eq!(response.status(), 200, "request {n}");
        assert!(
            response.headers().get(header::SET_COOKIE).is_none(),
            "request {n} got a cookie"
        );
    }
    let elapsed = started.elapsed();
    eprintln!("{FLOOD} cookieless reads in {elapsed:?}");
    assert_eq!(memory.len(), 0, "sessions stored by cookieless reads");
    assert_eq!(store.count("create"), 0, "create calls");
    assert_eq!(store.total(), 0, "store calls of any kind");
}

/// 100 000 requests that each create a session, against a store of capacity 1 000: the store
/// never holds more than 1 000 sessions, evicts the oldest, and the process's memory stays
/// flat.
#[tokio::test]
async fn session_flood_stays_within_capacity_and_memory() {
    const CAPACITY: usize = 1_000;
    const WARM_UP: usize = 5_000;
    const BATCH: usize = 100;
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    let memory = MemoryStore::new().with_capacity(CAPACITY);
    let store = counting(&memory);
    let app = app(Some(&store));

    let mut first = None;
    for n in 0..WARM_UP {
        let reply = send(&app, bare("/count")).await;
        assert_eq!(reply.status, 200, "warm-up {n}: {}", reply.body);
        first.get_or_insert_with(|| reply.issued().expect("a session cookie"));
    }
    assert_eq!(memory.len(), CAPACITY, "the warm-up fills the store");
    let before = resident_bytes();

    let started = Instant::now();
    let mut last = None;
    for batch in 0..FLOOD / BATCH {
        for n in 0..BATCH {
            let response = app.clone().oneshot(bare("/count")).await.unwrap();
            assert_eq!(response.status(), 200, "batch {batch}, request {n}");
            let cookie = response.headers().get(header::SET_COOKIE);
            assert!(cookie.is_some(), "batch {batch}, request {n}: no session");
            if batch == FLOOD / BATCH - 1 && n == BATCH - 1 {
                let cookie = cookie.unwrap().to_str().unwrap();
                last = Some(cookie.split(';').next().unwrap().to_owned());
            }
        }
        let len = memory.len();
        assert!(len <= CAPACITY, "batch {batch}: {len} sessions stored");
    }
    let elapsed = started.elapsed();
    let after = resident_bytes();
    let growth = after.saturating_sub(before);
    eprintln!(
        "{FLOOD} session-creating requests in {elapsed:?}; resident {} MiB -> {} MiB",
        before / MIB,
        after / MIB
    );

    assert_eq!(
        store.count("create"),
        WARM_UP + FLOOD,
        "one create per request"
    );
    assert_eq!(memory.len(), CAPACITY, "full, but never past capacity");
    // 32 MiB: far above the noise (0 to 4 MiB seen), far below what a leak of one record
    // per request costs (about 70 MiB).
    assert!(
        growth < 32 * MIB,
        "resident memory grew by {} MiB ({before} -> {after} bytes)",
        growth / MIB
    );
    // The oldest session was evicted, the newest kept.
    let first = first.unwrap();
    let last = last.unwrap().strip_prefix("session=").unwrap().to_owned();
    let oldest = get_with(&app, "/read", Some(&first)).await;
    assert_eq!(oldest.json(), json!({"new": true, "views": 0}));
    let newest = get_with(&app, "/read", Some(&last)).await;
    assert_eq!(newest.json(), json!({"new": false, "views": 1}));
}
