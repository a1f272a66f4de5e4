//! CONC — concurrency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use http::{StatusCode, header};
use serde_json::json;
use tokio::sync::{Barrier, Notify};
use typed_sessions::{Session, store::SessionStore};

use typed_sessions_tests::wire::{id_of, store_key_of};
use typed_sessions_tests::*;

/// Two one-shot signals between a test and a handler it holds up.
#[derive(Default)]
struct Gates {
    /// The handler has extracted the session.
    began: Notify,
    /// The handler may finish.
    proceed: Notify,
}

/// The reference routes plus `/held`: sets `count = 1`, then waits for `gates.proceed`.
fn held_routes(gates: Arc<Gates>) -> Router {
    reference_routes().route(
        "/held",
        get(move |mut session: Session<Msg>| {
            let gates = gates.clone();
            async move {
                gates.began.notify_one();
                session.count = 1;
                gates.proceed.notified().await;
                "done"
            }
        }),
    )
}

/// `/create` populates a new session.
async fn create(mut session: Session<Msg>) -> &'static str {
    session.message = "hello".into();
    "session created"
}

on_backends!(
    conc_01_parallel_first_requests_create_distinct_sessions,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, reference_routes().route("/create", get(create)));
        let (a, b) = tokio::join!(app.get("/create", None), app.get("/create", None));
        for r in [&a, &b] {
            assert_eq!(r.status, 200);
            assert_eq!(r.body, "session created");
        }
        assert_ne!(a.replay(), b.replay());
        if backend.is_store() {
            assert_ne!(id_of(&a.session_value()), id_of(&b.session_value()));
            assert_eq!(app.store_calls(), ["create", "create"]);
            assert_eq!(app.spy().inner.len().await, 2);
        }
        let count_a = app.get("/count", Some(&a.replay())).await;
        assert_eq!(count_a.body, "1");
        // The two sessions are independent.
        let read_b = app.get("/read", Some(&b.replay())).await;
        assert_eq!(read_b.body, "hello");
        let count_b = app.get("/count", Some(&b.replay())).await;
        assert_eq!(count_b.body, "1");
    }
);

on_backends!(
    conc_02_read_only_request_never_overwrites_concurrent_write,
    [Cookie, Memory],
    |backend| async move {
        let gates = Arc::new(Gates::default());
        let app = TestApp::new(backend, held_routes(gates.clone()));
        let r0 = app.get("/set", None).await;
        let cookie = r0.replay();
        app.store_calls();

        // R1 changes the session and is held; R2 reads the same session meanwhile.
        let slow = app.get("/held", Some(&cookie));
        let fast = async {
            gates.began.notified().await;
            let r2 = app.get("/read", Some(&cookie)).await;
            let calls = app.store_calls();
            gates.proceed.notify_one();
            (r2, calls)
        };
        let (r1, (r2, calls_during)) = tokio::join!(slow, fast);

        assert_eq!(r2.status, 200);
        assert_eq!(r2.body, "hello");
        assert!(r2.set_cookies().is_empty(), "{r2:?}");
        assert_eq!(r1.status, 200);
        if backend.is_store() {
            // R1's load, R2's load; nothing written by R2.
            assert_eq!(calls_during, ["load", "load"]);
            assert_eq!(app.store_calls(), ["patch"]);
            let record = app
                .spy()
                .inner
                .load(&store_key_of(&cookie))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                json!(record.fields()),
                json!({"message": "hello", "count": 1})
            );
        }
        // The cookie the client ends up with (R1's, R2 sent none) carries the write.
        if backend == Backend::Cookie {
            assert!(r1.session_cookie().is_some(), "{r1:?}");
        }
        let last = if r1.session_cookie().is_some() {
            r1.replay()
        } else {
            cookie.clone()
        };
        let check = app.get("/count", Some(&last)).await;
        assert_eq!(check.body, "2");
    }
);

#[tokio::test]
async fn conc_02_read_during_slow_commit_never_overwrites() {
    let app = TestApp::new(Backend::Memory, reference_routes());
    let r0 = app.get("/set", None).await;
    let cookie = r0.replay();
    app.store_calls();
    app.spy().set_faults(Faults {
        delay: Some(("patch", Duration::from_millis(200))),
        ..Default::default()
    });

    let slow = async {
        let r1 = app.get("/count", Some(&cookie)).await;
        (r1, Instant::now())
    };
    let fast = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let r2 = app.get("/read", Some(&cookie)).await;
        (r2, Instant::now())
    };
    let ((r1, r1_done), (r2, r2_done)) = tokio::join!(slow, fast);
    assert!(
        r2_done < r1_done,
        "R2 should end while R1's patch is in flight"
    );
    assert_eq!(r1.body, "1");
    assert_eq!(r2.body, "hello");
    assert!(r2.set_cookies().is_empty(), "{r2:?}");
    assert_eq!(app.store_calls(), ["load", "patch", "load"]);
    let record = app
        .spy()
        .inner
        .load(&store_key_of(&cookie))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        json!(record.fields()),
        json!({"message": "hello", "count": 1})
    );
}

/// `/barrier/a/{v}` sets `message = v`, `/barrier/b/{v}` sets `count = v`, each only after
/// both requests have loaded the session.
fn barrier_routes(barrier: Arc<Barrier>) -> Router {
    let a = barrier.clone();
    let b = barrier;
    reference_routes()
        .route(
            "/barrier/a/{v}",
            get(move |Path(v): Path<String>, mut session: Session<Msg>| {
                let barrier = a.clone();
                async move {
                    barrier.wait().await;
                    session.message = v;
                }
            }),
        )
        .route(
            "/barrier/b/{v}",
            get(move |Path(v): Path<u64>, mut session: Session<Msg>| {
                let barrier = b.clone();
                async move {
                    barrier.wait().await;
                    session.count = v;
                }
            }),
        )
}

#[tokio::test]
async fn conc_03_concurrent_writers_of_different_fields_both_survive() {
    let app = TestApp::new(Backend::Memory, barrier_routes(Arc::new(Barrier::new(2))));
    let r0 = app.get("/set", None).await;
    let cookie = r0.replay();
    app.store_calls();

    let (r1, r2) = tokio::join!(
        app.get("/barrier/a/one", Some(&cookie)),
        app.get("/barrier/b/2", Some(&cookie)),
    );
    assert_eq!((r1.status.as_u16(), r2.status.as_u16()), (200, 200));
    assert_eq!(app.store_calls(), ["load", "load", "patch", "patch"]);
    let record = app
        .spy()
        .inner
        .load(&store_key_of(&cookie))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        json!(record.fields()),
        json!({"message": "one", "count": 2})
    );
}

#[tokio::test]
async fn conc_03_concurrent_writers_of_one_field_last_write_wins() {
    let app = TestApp::new(Backend::Memory, barrier_routes(Arc::new(Barrier::new(2))));
    let r0 = app.get("/set", None).await;
    let cookie = r0.replay();
    app.store_calls();

    let (r1, r2) = tokio::join!(
        app.get("/barrier/a/first", Some(&cookie)),
        app.get("/barrier/a/second", Some(&cookie)),
    );
    assert_eq!((r1.status.as_u16(), r2.status.as_u16()), (200, 200));
    let calls = app.spy().take_calls();
    let patches: Vec<_> = calls
        .iter()
        .filter_map(|c| match c {
            Call::Patch(_, patch) => Some(patch.changed()["message"].clone()),
            _ => None,
        })
        .collect();
    assert_eq!(patches.len(), 2, "{calls:?}");
    let record = app
        .spy()
        .inner
        .load(&store_key_of(&cookie))
        .await
        .unwrap()
        .unwrap();
    // Whole values, the last committed one.
    assert_eq!(json!(record.fields()), json!({"message": patches[1]}));
    assert!(patches[1] == "first" || patches[1] == "second");
}

#[tokio::test]
async fn conc_04_slow_request_does_not_resurrect_destroyed_session() {
    let gates = Arc::new(Gates::default());
    let app = TestApp::new(Backend::Memory, held_routes(gates.clone()));
    let r0 = app.get("/set", None).await;
    let cookie = r0.replay();
    let key = store_key_of(&cookie);
    app.store_calls();

    // R1 loads and is held; R2 logs out and completes; then R1 writes.
    let slow = app.get("/held", Some(&cookie));
    let logout = async {
        gates.began.notified().await;
        let r2 = app.get("/destroy", Some(&cookie)).await;
        gates.proceed.notify_one();
        r2
    };
    let (r1, r2) = tokio::join!(slow, logout);

    assert_eq!(r2.status, 200);
    assert!(r2.expires_cookie("session"), "{r2:?}");
    assert_eq!(r1.status, StatusCode::CONFLICT, "{r1:?}");
    assert!(r1.expires_cookie("session"), "{r1:?}");
    assert_eq!(app.store_calls(), ["load", "load", "remove", "patch"]);
    assert!(app.spy().inner.load(&key).await.unwrap().is_none());
    assert!(app.spy().inner.is_empty().await);

    // The old id stays dead.
    let r3 = app.get("/is_new", Some(&cookie)).await;
    assert_eq!(r3.body, "true");
}

#[derive(typed_sessions::Session, Default, Clone, Debug)]
struct Pair {
    a: u32,
    b: u32,
}

fn pair_routes() -> Router {
    async fn both(session: Session<Pair>) -> &'static str {
        let mut one = session.clone();
        let mut two = session.clone();
        let first = tokio::spawn(async move {
            one.a += 1;
        });
        let second = tokio::spawn(async move {
            two.b += 2;
        });
        first.await.unwrap();
        second.await.unwrap();
        drop(session);
        "ok"
    }
    async fn read(session: Session<Pair>) -> String {
        format!("{} {}", session.a, session.b)
    }
    Router::new()
        .route("/both", get(both))
        .route("/read", get(read))
}

on_backends!(
    conc_05_shared_handle_within_one_request,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, pair_routes());
        let r1 = app.get("/both", None).await;
        assert_eq!(r1.status, 200);
        assert_eq!(r1.set_cookies().len(), 1, "{r1:?}");
        if backend.is_store() {
            let calls = app.spy().take_calls();
            assert_eq!(calls.len(), 1, "{calls:?}");
            let Call::Create(_, record) = &calls[0] else {
                panic!("{calls:?}")
            };
            assert_eq!(json!(record.fields()), json!({"a": 1, "b": 2}));
        }
        assert_eq!(app.get("/read", Some(&r1.replay())).await.body, "1 2");
        app.store_calls();

        let r2 = app.get("/both", Some(&r1.replay())).await;
        assert_eq!(r2.status, 200);
        if backend.is_store() {
            let calls = app.spy().take_calls();
            assert_eq!(calls.len(), 2, "{calls:?}");
            assert_eq!(calls[0].kind(), "load");
            let Call::Patch(_, patch) = &calls[1] else {
                panic!("{calls:?}")
            };
            assert_eq!(json!(patch.changed()), json!({"a": 2, "b": 4}));
        }
        let latest = if backend == Backend::Cookie {
            r2.replay()
        } else {
            r1.replay()
        };
        assert_eq!(app.get("/read", Some(&latest)).await.body, "2 4");
    }
);

#[derive(typed_sessions::Session, Default)]
struct User {
    user: String,
}

fn redirect_routes() -> Router {
    async fn login(
        mut session: Session<User>,
    ) -> (StatusCode, [(header::HeaderName, &'static str); 1]) {
        session.user = "x".into();
        (StatusCode::FOUND, [(header::LOCATION, "/b")])
    }
    async fn b(session: Session<User>) -> String {
        session.user.clone()
    }
    Router::new().route("/a", get(login)).route("/b", get(b))
}

#[tokio::test]
async fn conc_06_commit_finishes_before_response_is_observable() {
    let app = TestApp::new(Backend::Memory, redirect_routes());
    let delay = Duration::from_millis(200);
    app.spy().set_faults(Faults {
        delay: Some(("create", delay)),
        ..Default::default()
    });

    let started = Instant::now();
    let r1 = app.get("/a", None).await;
    let elapsed = started.elapsed();
    // The moment the response is observable, the record is there.
    let record = app
        .spy()
        .inner
        .load(&store_key_of(&r1.replay()))
        .await
        .unwrap();
    assert!(elapsed >= delay, "response observed after {elapsed:?}");
    assert_eq!(
        record.expect("saved before the response").fields()["user"],
        "x"
    );
    assert_eq!(r1.status, StatusCode::FOUND);
    assert_eq!(r1.headers[header::LOCATION], "/b");
    assert_eq!(app.store_calls(), ["create"]);

    let r2 = app
        .get(
            r1.headers[header::LOCATION].to_str().unwrap(),
            Some(&r1.replay()),
        )
        .await;
    assert_eq!(r2.status, 200);
    assert_eq!(r2.body, "x");
    assert_eq!(app.store_calls(), ["load"]);
}
