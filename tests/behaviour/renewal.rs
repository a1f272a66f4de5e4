//! REN — renew before expiry: the default idle refresh, throttled to half the idle timeout.

use std::time::Duration;

use crate::rolling::{FOO_BAR, expires_of, foo_routes};
use typed_sessions_tests::*;

fn app(backend: Backend) -> TestApp {
    TestApp::with(backend, foo_routes(), |l| {
        l.with_idle_timeout(Duration::from_millis(2000))
    })
}

on_backends!(
    ren_01_renew_when_less_than_half_remains,
    [Cookie, Memory],
    |backend| async move {
        let app = app(backend);
        let r1 = app.get("/set", None).await;
        let first = r1.session_cookie().expect("a session cookie");
        app.store_calls();
        app.advance(Duration::from_millis(1200));
        let r2 = app.get("/", Some(&r1.replay())).await;
        assert_eq!(r2.status, 200);
        assert_eq!(r2.body, FOO_BAR);
        let second = r2.session_cookie().expect("a renewed cookie");
        assert!(
            expires_of(&second) > expires_of(&first),
            "{first} / {second}"
        );
        if backend.is_store() {
            let expected = app.clock.now() + time::Duration::seconds(2);
            let calls = app.spy().take_calls();
            match calls.as_slice() {
                [Call::Load(_), Call::Touch(_, at)] => assert_eq!(*at, expected),
                [Call::Load(_), Call::Patch(_, patch)] => assert_eq!(patch.expires(), expected),
                _ => panic!("{calls:?}"),
            }
        }
        // Renewed: alive past the original deadline (t = 2000 ms).
        app.advance(Duration::from_millis(1000));
        let r3 = app.get("/", Some(&r2.replay())).await;
        assert_eq!(r3.body, FOO_BAR);
    }
);

on_backends!(
    ren_02_no_renew_early_or_without_session,
    [Cookie, Memory],
    |backend| async move {
        let app = app(backend);
        let r1 = app.get("/set", None).await;
        app.store_calls();
        // (a) early: 1500 ms of 2000 ms remain.
        app.advance(Duration::from_millis(500));
        let r2 = app.get("/", Some(&r1.replay())).await;
        assert_eq!(r2.status, 200);
        assert_eq!(r2.body, FOO_BAR);
        assert!(r2.set_cookies().is_empty(), "{:?}", r2.set_cookies());
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["load"]);
        }
        // (b) no session.
        let r3 = app.get("/", None).await;
        assert_eq!(r3.status, 200);
        assert_eq!(r3.body, "{}");
        assert!(r3.set_cookies().is_empty(), "{:?}", r3.set_cookies());
        assert!(app.store_calls().is_empty());
    }
);
