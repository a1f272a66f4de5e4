//! Hostile `Cookie` headers: 8 KB cookies, thousands of cookies, invalid UTF-8, duplicate and
//! planted session cookies.

use axum::Router;
use axum::body::Body;
use http::{HeaderValue, Request, header};
use serde_json::json;
use typed_sessions::MemoryStore;

use crate::{KEY, ONE_AT_A_TIME, app, bare, counting};
use typed_sessions_tests::{SpyStore, TestResponse, send, wire};

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
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
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
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
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
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
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
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
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
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
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
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
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
