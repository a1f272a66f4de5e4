//! Abuse: floods of cookieless and of session-creating requests, and hostile `Cookie` headers
//! (8 KB cookies, thousands of cookies, invalid UTF-8, duplicate session cookies), driven
//! in-process through a real `Router`.

use std::time::Instant;

use axum::body::Body;
use axum::routing::get;
use axum::{Json, Router};
use http::{HeaderValue, Request, header};
use serde_json::{Value, json};
use tower::ServiceExt;
use typed_sessions::{MemoryStore, Session};

use typed_sessions_tests::{AnyStore, SpyStore, TestResponse, get_with, send, wire};

/// The floods' size.
const FLOOD: usize = 100_000;

/// The floods run one at a time, so that the memory measurement sees only its own flood.
static FLOODS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A spy that counts, without recording, the calls to `memory`.
fn counting(memory: &MemoryStore) -> SpyStore {
    SpyStore::counting(AnyStore::Memory(memory.clone()))
}

#[derive(typed_sessions::Session, Default)]
struct Visit {
    views: u64,
}

fn routes() -> Router {
    async fn read(s: Session<Visit>) -> Json<Value> {
        Json(json!({"new": s.is_new(), "views": s.views}))
    }
    async fn count(mut s: Session<Visit>) {
        s.views += 1;
    }
    async fn logout(mut s: Session<Visit>) {
        s.destroy();
    }
    Router::new()
        .route("/read", get(read))
        .route("/count", get(count))
        .route("/logout", get(logout))
}

const KEY: u8 = 0xAB;

fn app(store: Option<&SpyStore>) -> Router {
    let mut layer = typed_sessions_tests::layer(wire::key(&wire::master(KEY)));
    if let Some(store) = store {
        layer = layer.with_store(store.clone());
    }
    routes().layer(layer)
}

fn bare(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

/// The process's resident memory, from `/proc/self/statm`.
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux's /proc/self/statm");
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * page_size()
}

/// `AT_PAGESZ` from the process's auxiliary vector (pairs of native words).
fn page_size() -> usize {
    const AT_PAGESZ: usize = 6;
    const WORD: usize = std::mem::size_of::<usize>();
    let auxv = std::fs::read("/proc/self/auxv").unwrap_or_default();
    auxv.chunks_exact(2 * WORD)
        .find_map(|pair| {
            let word = |bytes: &[u8]| usize::from_ne_bytes(bytes.try_into().unwrap());
            (word(&pair[..WORD]) == AT_PAGESZ).then(|| word(&pair[WORD..]))
        })
        .unwrap_or(4096)
}

const MIB: usize = 1024 * 1024;

// --- floods ---

/// 100 000 cookieless requests to a route that reads the session: not one store call, nothing
/// stored, no cookie sent.
#[tokio::test]
async fn cookieless_flood_creates_nothing() {
    let _one_at_a_time = FLOODS.lock().await;
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
    let _one_at_a_time = FLOODS.lock().await;
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

// --- hostile Cookie headers ---

/// The backends the header cases run against: the cookie store, and a counted memory store.
fn backends() -> [(&'static str, Router, Option<SpyStore>); 2] {
    let store = counting(&MemoryStore::new());
    [
        ("cookie", app(None), None),
        ("memory", app(Some(&store)), Some(store)),
    ]
}

/// `GET /read` with raw `Cookie` header lines.
async fn read_with(app: &Router, cookies: &[&[u8]]) -> TestResponse {
    let mut request = Request::get("/read");
    for line in cookies {
        request = request.header(header::COOKIE, HeaderValue::from_bytes(line).unwrap());
    }
    send(app, request.body(Body::empty()).unwrap()).await
}

/// A live session with one view, as the `session=<value>` pair.
async fn live_session(app: &Router) -> String {
    let reply = send(app, bare("/count")).await;
    format!("session={}", reply.issued().expect("a session cookie"))
}

/// Asserts the request was served (no 5xx) and whether it found the live session.
fn assert_found(reply: &TestResponse, found: bool, what: &str) {
    assert_eq!(reply.status, 200, "{what}: {}", reply.body);
    let expected = if found {
        json!({"new": false, "views": 1})
    } else {
        json!({"new": true, "views": 0})
    };
    assert_eq!(reply.json(), expected, "{what}");
}

#[tokio::test]
async fn cookies_of_8_kb() {
    let big = "A".repeat(8 * 1024);
    for (backend, app, _) in backends() {
        let valid = live_session(&app).await;
        let cases: [(String, bool); 5] = [
            (format!("session={big}"), false),
            (format!("{valid}{big}"), false),
            (format!("big={big}; {valid}"), true),
            (format!("{valid}; big={big}"), true),
            (format!("session={big}; {valid}"), true),
        ];
        for (n, (line, found)) in cases.iter().enumerate() {
            let reply = read_with(&app, &[line.as_bytes()]).await;
            assert_found(&reply, *found, &format!("{backend} case {n}"));
        }
        // 8 KB in a header line of its own, and a whole 8 KB header of short cookies.
        let many_small = vec!["k=v"; 8 * 1024 / 5].join("; ");
        let reply = read_with(&app, &[big.as_bytes(), valid.as_bytes()]).await;
        assert_found(&reply, true, &format!("{backend}: 8 KB bare line"));
        let reply = read_with(&app, &[many_small.as_bytes(), valid.as_bytes()]).await;
        assert_found(&reply, true, &format!("{backend}: 8 KB of small cookies"));
    }
}

#[tokio::test]
async fn thousands_of_cookies_in_one_header() {
    for (backend, app, store) in backends() {
        let valid = live_session(&app).await;
        let others: Vec<String> = (0..5_000).map(|i| format!("c{i}=v{i}")).collect();
        let others = others.join("; ");
        let line = format!("{others}; {valid}");
        assert_found(&read_with(&app, &[line.as_bytes()]).await, true, backend);
        let line = format!("{valid}; {others}");
        assert_found(&read_with(&app, &[line.as_bytes()]).await, true, backend);

        // Thousands of header lines.
        let lines: Vec<String> = (0..2_000).map(|i| format!("c{i}=v{i}")).collect();
        let mut lines: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
        lines.push(valid.as_bytes());
        assert_found(&read_with(&app, &lines).await, true, backend);

        // A few junk cookies named like the session cookie ahead of the valid one.
        let line = format!("session=a; session=b; session=c; {valid}");
        let what = format!("{backend}: three junk session cookies first");
        assert_found(&read_with(&app, &[line.as_bytes()]).await, true, &what);

        // Thousands of cookies named like the session cookie: served, and the work they cost
        // does not grow with their number.
        let garbage: Vec<String> = (0..5_000).map(|i| format!("session=g{i}")).collect();
        let line = format!("{}; {valid}", garbage.join("; "));
        let reply = read_with(&app, &[line.as_bytes()]).await;
        assert_eq!(reply.status, 200, "{backend}: {}", reply.body);

        if let Some(store) = store {
            // Thousands of authentic id cookies, each for a session that no longer exists.
            let mut dead = Vec::new();
            for _ in 0..2_000 {
                dead.push(live_session(&app).await);
            }
            for cookie in &dead {
                let request = Request::get("/logout")
                    .header(header::COOKIE, cookie)
                    .body(Body::empty())
                    .unwrap();
                assert_eq!(send(&app, request).await.status, 200);
            }
            let loads = store.count("load");
            let line = format!("{}; {valid}", dead.join("; "));
            let reply = read_with(&app, &[line.as_bytes()]).await;
            assert_eq!(reply.status, 200, "{backend}: {}", reply.body);
            let spent = store.count("load") - loads;
            assert!(
                spent <= 16,
                "{spent} store loads for one request with 2 000 signed cookies"
            );
        }
    }
}

#[tokio::test]
async fn invalid_utf8() {
    for (backend, app, _) in backends() {
        let valid = live_session(&app).await;
        let v = valid.as_bytes();
        let cases: Vec<(Vec<u8>, bool)> = vec![
            (b"session=\xff\xfe\x80".to_vec(), false),
            ([v, b"\xff"].concat(), false),
            ([b"\xff\xfe=1; ", v].concat(), true),
            ([b"a=\xff; ", v, b"; b=\x80\x81"].concat(), true),
            ([b"session=\xc3\x28; ", v].concat(), true),
            ([v, b"; session=\xed\xa0\x80"].concat(), true),
            ([b"\xff; ", v, b"; \xfe"].concat(), true),
        ];
        for (n, (line, found)) in cases.iter().enumerate() {
            let reply = read_with(&app, &[line]).await;
            assert_found(&reply, *found, &format!("{backend} case {n}"));
        }
        // Invalid UTF-8 on one header line, the session on another.
        let reply = read_with(&app, &[b"session=\xff\xff", v]).await;
        assert_found(&reply, true, &format!("{backend}: two lines"));
        let reply = read_with(&app, &[v, b"session=\xff\xff"]).await;
        assert_found(&reply, true, &format!("{backend}: two lines, reversed"));
    }
}

#[tokio::test]
async fn duplicate_session_cookies() {
    let stranger = wire::master(0xEE);
    for (backend, app, _) in backends() {
        let valid = live_session(&app).await;
        let value = valid.strip_prefix("session=").unwrap();
        let other_key = if backend == "cookie" {
            wire::signed(&stranger, "2", "e30")
        } else {
            wire::signed(&stranger, "1", &wire::chosen_id('Z'))
        };
        let mut tampered = value.to_owned();
        tampered.pop();
        tampered.push(if value.ends_with('A') { 'B' } else { 'A' });
        let mut impostors = vec![
            "garbage".to_owned(),
            String::new(),
            other_key,
            tampered,
            "A".repeat(8 * 1024),
        ];
        if backend == "memory" {
            // Authentic, but its session is gone.
            let dead = live_session(&app).await;
            let request = Request::get("/logout")
                .header(header::COOKIE, &dead)
                .body(Body::empty())
                .unwrap();
            assert_eq!(send(&app, request).await.status, 200);
            impostors.push(dead.strip_prefix("session=").unwrap().to_owned());
        }
        for (n, impostor) in impostors.iter().enumerate() {
            let impostor = format!("session={impostor}");
            for (order, line) in [
                ("after", format!("{impostor}; {valid}")),
                ("before", format!("{valid}; {impostor}")),
            ] {
                let what = format!("{backend}: valid {order} impostor {n}");
                assert_found(&read_with(&app, &[line.as_bytes()]).await, true, &what);
            }
            for (order, lines) in [
                ("after", [impostor.as_bytes(), valid.as_bytes()]),
                ("before", [valid.as_bytes(), impostor.as_bytes()]),
            ] {
                let what = format!("{backend}: valid line {order} impostor {n}");
                assert_found(&read_with(&app, &lines).await, true, &what);
            }
        }
    }
}

/// Forged cookies planted ahead of the genuine one (as a sibling subdomain can, with a longer
/// `Path`), each carrying a version and key id the layer knows so that it must be verified:
/// four of them used to hide the genuine cookie, on every backend. None hides it now, whatever
/// their number, and each costs one MAC, never a store call.
#[tokio::test]
async fn planted_cookies_never_hide_the_genuine_one() {
    let kid = wire::kid(&wire::master(KEY));
    for (backend, app, store) in backends() {
        let valid = live_session(&app).await;
        for planted in [4, 50, 1_000] {
            let forged: Vec<String> = (0..planted)
                .map(|i| {
                    let version = ["1", "2", "3"][i % 3];
                    format!("session={version}.{kid}.AAAA{i}.{}", "A".repeat(43))
                })
                .collect();
            let line = format!("{}; {valid}", forged.join("; "));
            let loads = store.as_ref().map(|store| store.count("load"));
            let what = format!("{backend}: {planted} planted cookies first");
            assert_found(&read_with(&app, &[line.as_bytes()]).await, true, &what);
            if let (Some(store), Some(loads)) = (&store, loads) {
                assert_eq!(
                    store.count("load") - loads,
                    1,
                    "{what}: only the genuine one is loaded"
                );
            }
        }
    }
}

/// A write through a header holding an impostor and the valid cookie updates the valid session
/// rather than starting another one.
#[tokio::test]
async fn duplicate_session_cookies_write_to_the_valid_session() {
    for (backend, app, store) in backends() {
        let valid = live_session(&app).await;
        let id = wire::session_id(valid.strip_prefix("session=").unwrap(), &wire::master(KEY));
        let creates = store.as_ref().map(|s| s.count("create"));
        let request = Request::get("/count")
            .header(header::COOKIE, format!("session=garbage; {valid}"))
            .body(Body::empty())
            .unwrap();
        let reply = send(&app, request).await;
        assert_eq!(reply.status, 200, "{backend}: {}", reply.body);
        if let Some(cookie) = reply.issued() {
            assert_eq!(
                wire::session_id(&cookie, &wire::master(KEY)),
                id,
                "{backend}"
            );
        }
        let cookie = reply.issued().map_or(valid, |c| format!("session={c}"));
        let reply = read_with(&app, &[cookie.as_bytes()]).await;
        assert_eq!(reply.json(), json!({"new": false, "views": 2}), "{backend}");
        if let Some(store) = store {
            assert_eq!(Some(store.count("create")), creates, "no new session");
        }
    }
}
