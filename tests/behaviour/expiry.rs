//! EXP — expiry (idle timeout as "maxAge", browser-session cookies, store TTLs, absolute
//! lifetime).
//!
//! EXP-06 (a per-session lifetime) is in `lifetime.rs`.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use typed_sessions::{MemoryStore, Session, clock::ManualClock, store::SessionStore};

use typed_sessions_tests::wire::store_key_of;
use typed_sessions_tests::*;

/// Returns the session id (empty for a session that has none yet).
async fn id(session: Session<Msg>) -> String {
    session
        .id()
        .map(|id| id.as_str().to_owned())
        .unwrap_or_default()
}

fn routes() -> Router {
    reference_routes().route("/id", get(id))
}

/// The cookie a client holds after `response`: the newest `Set-Cookie` if one was sent, else
/// the one it already had.
fn newest(held: String, response: &TestResponse) -> String {
    if response.session_cookie().is_some() {
        response.replay()
    } else {
        held
    }
}

fn has_attr(set_cookie: &str, attr: &str) -> bool {
    set_cookie.split(';').skip(1).any(|a| {
        a.trim()
            .to_ascii_lowercase()
            .starts_with(&attr.to_ascii_lowercase())
    })
}

on_backends!(
    exp_01_max_age_sets_expires_and_max_age,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::with(backend, routes(), |l| {
            l.with_idle_timeout(Duration::from_millis(2000))
        });
        let expected = app.clock.now() + time::Duration::seconds(2);
        let r1 = app.get("/set", None).await;
        assert_eq!(r1.status, 200);
        let set = r1.session_cookie().expect("a session cookie");
        let cookie = cookie::Cookie::parse(set.clone()).unwrap();
        assert_eq!(cookie.max_age(), Some(time::Duration::seconds(2)), "{set}");
        let expires = cookie
            .expires_datetime()
            .unwrap_or_else(|| panic!("no Expires: {set}"));
        let off = (expires - expected).abs();
        assert!(
            off < time::Duration::seconds(1),
            "Expires {expires} is not now + 2 s ({expected}): {set}"
        );
    }
);

on_backends!(
    exp_02_within_max_age_session_is_returned,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::with(backend, routes(), |l| {
            l.with_idle_timeout(Duration::from_millis(100))
        });
        let r1 = app.get("/set", None).await;
        assert_eq!(r1.status, 200);
        let cookie = r1.replay();
        let r2 = app.get("/read", Some(&cookie)).await;
        assert_eq!(r2.status, 200);
        assert_eq!(r2.body, "hello");
        app.advance(Duration::from_millis(99));
        let r3 = app.get("/read", Some(&cookie)).await;
        assert_eq!(r3.status, 200);
        assert_eq!(r3.body, "hello");
    }
);

on_backends!(
    exp_03_after_max_age_server_rejects_session,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::with(backend, routes(), |l| {
            l.with_idle_timeout(Duration::from_millis(100))
        });
        let r1 = app.get("/set", None).await;
        let cookie = r1.replay();
        let old_id = app.get("/id", Some(&cookie)).await.body;
        assert!(!old_id.is_empty());
        app.store_calls();

        app.advance(Duration::from_millis(200));
        // A client that ignores `Expires` still sends the R1 cookie.
        let r2 = app.get("/read", Some(&cookie)).await;
        assert_eq!(r2.status, 200);
        assert_eq!(r2.body, "");
        assert!(r2.set_cookies().is_empty(), "{:?}", r2.set_cookies());
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["load"]);
        }
        let r3 = app.get("/is_new", Some(&cookie)).await;
        assert_eq!(r3.body, "true");
        app.store_calls();

        // Written again: a new session with a new id.
        let r4 = app.get("/set", Some(&cookie)).await;
        assert_eq!(r4.status, 200);
        let fresh = r4.replay();
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["load", "create"]);
            assert_ne!(store_key_of(&fresh), store_key_of(&cookie));
        }
        let new_id = app.get("/id", Some(&fresh)).await.body;
        assert!(!new_id.is_empty());
        assert_ne!(new_id, old_id);
    }
);

/// An app whose memory store never expires anything by itself (its clock stands still), so
/// the layer alone must enforce the idle timeout.
fn app_with_lenient_store(idle: Duration) -> TestApp {
    let clock = ManualClock::starting_now();
    let frozen = ManualClock::new(clock.now());
    let spy = SpyStore::new(AnyStore::Memory(MemoryStore::new().with_clock(frozen)));
    let layer = typed_sessions_tests::layer(test_key())
        .with_clock(clock.clone())
        .with_store(spy.clone())
        .with_idle_timeout(idle);
    TestApp {
        backend: Backend::Memory,
        router: routes().layer(layer),
        clock,
        key: test_key(),
        spy: Some(spy),
    }
}

#[tokio::test]
async fn exp_03_expired_record_still_returned_by_store_is_rejected() {
    let app = app_with_lenient_store(Duration::from_millis(100));
    let r1 = app.get("/set", None).await;
    let cookie = r1.replay();
    app.advance(Duration::from_millis(200));
    let key = store_key_of(&cookie);
    assert!(
        app.spy().inner.load(&key).await.unwrap().is_some(),
        "precondition: the store still returns the record"
    );
    app.store_calls();

    let r2 = app.get("/read", Some(&cookie)).await;
    assert_eq!(r2.status, 200);
    assert_eq!(r2.body, "");
    assert!(r2.set_cookies().is_empty());
    let r3 = app.get("/is_new", Some(&cookie)).await;
    assert_eq!(r3.body, "true");
    app.store_calls();

    // Written again: a new record under a new id, nothing written under the expired one.
    let r4 = app.get("/set", Some(&cookie)).await;
    assert_eq!(r4.status, 200);
    let calls = app.spy().take_calls();
    let writes: Vec<_> = calls.iter().filter(|c| c.kind() != "load").collect();
    assert!(
        matches!(writes.as_slice(), [Call::Create(k, _)] if *k != key)
            || matches!(writes.as_slice(), [Call::Remove(r), Call::Create(k, _)] if *r == key && *k != key),
        "{calls:?}"
    );
    assert_ne!(store_key_of(&r4.replay()), key);
}

/// The SHOULD of EXP-03: an expired record the store still returns is destroyed.
#[tokio::test]
async fn exp_03_expired_record_still_returned_by_store_is_destroyed() {
    let app = app_with_lenient_store(Duration::from_millis(100));
    let r1 = app.get("/set", None).await;
    let cookie = r1.replay();
    app.advance(Duration::from_millis(200));
    app.store_calls();

    let r2 = app.get("/read", Some(&cookie)).await;
    assert_eq!(r2.body, "");
    let calls = app.spy().take_calls();
    let key = store_key_of(&cookie);
    assert!(
        calls
            .iter()
            .any(|c| matches!(c, Call::Remove(k) if *k == key)),
        "expired record not destroyed: {calls:?}"
    );
    assert!(app.spy().inner.load(&key).await.unwrap().is_none());
}

on_backends!(
    exp_04_browser_session_cookie,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::with(backend, routes(), |l| l.with_browser_session(true));
        let mut held: Option<String> = None;
        for expected in ["1", "2", "3"] {
            let response = app.get("/count", held.as_deref()).await;
            assert_eq!(response.status, 200);
            assert_eq!(response.body, expected);
            let sets = response.set_cookies();
            for set in &sets {
                assert!(!has_attr(set, "expires"), "{set}");
                assert!(!has_attr(set, "max-age"), "{set}");
            }
            if held.is_none() || backend == Backend::Cookie {
                // A new session, or a cookie-store change, must send the cookie.
                assert!(response.session_cookie().is_some(), "{sets:?}");
            }
            held = Some(match held {
                Some(held) => newest(held, &response),
                None => response.replay(),
            });
        }
    }
);

on_backends!(exp_05_ttl_handed_to_store, [Memory], |backend| async move {
    let app = TestApp::with(backend, routes(), |l| {
        l.with_idle_timeout(Duration::from_secs(60))
            .with_absolute_timeout(Duration::from_secs(90))
    });
    let t0 = app.clock.now();
    let r1 = app.get("/set", None).await;
    assert_eq!(r1.status, 200);
    let calls = app.spy().take_calls();
    let [Call::Create(_, record)] = calls.as_slice() else {
        panic!("{calls:?}")
    };
    let ttl = record.expires() - t0;
    assert!(
        ttl >= time::Duration::seconds(60) && ttl <= time::Duration::seconds(70),
        "ttl {ttl}"
    );

    // Later, the absolute deadline (t0 + 90 s) comes before now + idle (t0 + 110 s).
    app.advance(Duration::from_secs(50));
    let r2 = app.get("/count", Some(&r1.replay())).await;
    assert_eq!(r2.status, 200);
    let calls = app.spy().take_calls();
    let [Call::Load(_), Call::Patch(_, patch)] = calls.as_slice() else {
        panic!("{calls:?}")
    };
    assert_eq!(patch.expires(), t0 + time::Duration::seconds(90));
});

on_backends!(
    exp_07_idle_timeout_slides_then_expires,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::with(backend, routes(), |l| {
            l.with_idle_timeout(Duration::from_millis(200))
                .with_absolute_timeout(Duration::from_secs(1))
        });
        let r1 = app.get("/set", None).await; // t = 0
        let mut held = r1.replay();
        app.store_calls();

        app.advance(Duration::from_millis(100)); // t = 100
        let r = app.get("/read", Some(&held)).await;
        assert_eq!(r.body, "hello");
        held = newest(held, &r);
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["load", "touch"]);
        }

        app.advance(Duration::from_millis(150)); // t = 250: the idle window slid
        let r = app.get("/read", Some(&held)).await;
        assert_eq!(r.body, "hello");
        held = newest(held, &r);
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["load", "touch"]);
        }

        app.advance(Duration::from_millis(210)); // t = 460: idle since 250
        let r = app.get("/read", Some(&held)).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body, "");
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["load"]);
        }
    }
);

on_backends!(
    exp_07_absolute_lifetime_ends_an_active_session,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::with(backend, routes(), |l| {
            l.with_idle_timeout(Duration::from_millis(200))
                .with_absolute_timeout(Duration::from_secs(1))
        });
        let r1 = app.get("/set", None).await; // t = 0
        let mut held = r1.replay();
        for t in (100..=900).step_by(100) {
            app.advance(Duration::from_millis(100));
            let r = app.get("/read", Some(&held)).await;
            assert_eq!(r.body, "hello", "at t = {t} ms");
            held = newest(held, &r);
        }
        app.advance(Duration::from_millis(100)); // t = 1000: never idle, but too old
        let r = app.get("/read", Some(&held)).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body, "");
        let r = app.get("/is_new", Some(&held)).await;
        assert_eq!(r.body, "true");
    }
);

on_backends!(
    exp_08_browser_session_store_cookie_not_resent_on_modification,
    [Memory],
    |backend| async move {
        let app = TestApp::with(backend, routes(), |l| l.with_browser_session(true));
        let r1 = app.get("/set", None).await;
        let cookie = r1.replay();
        app.store_calls();
        let r2 = app.get("/count", Some(&cookie)).await;
        assert_eq!(r2.status, 200);
        assert_eq!(r2.body, "1");
        assert!(r2.set_cookies().is_empty(), "{:?}", r2.set_cookies());
        let calls = app.spy().take_calls();
        let [Call::Load(_), Call::Patch(key, _)] = calls.as_slice() else {
            panic!("{calls:?}")
        };
        assert_eq!(*key, store_key_of(&cookie));
    }
);
