//! MISC — caching headers, several layers, option leaks.
//!
//! MISC-02 (several session layers on one route) is not supported (the innermost layer wins)
//! and has no test. MISC-03's per-session max-age override is not implemented; only its first
//! part is tested.

use axum::http::header::{self, HeaderMap};
use axum::response::IntoResponse;
use axum::routing::get;
use typed_sessions::Session;

use typed_sessions_tests::*;

fn varies_on_cookie(headers: &HeaderMap) -> bool {
    headers.get_all(header::VARY).iter().any(|v| {
        v.to_str()
            .unwrap()
            .split(',')
            .any(|v| v.trim().eq_ignore_ascii_case("cookie"))
    })
}

fn cache_control(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn is_no_cache_set_cookie(value: &str) -> bool {
    value.eq_ignore_ascii_case("no-cache=\"set-cookie\"")
}

/// Populates the session and sets its own `Cache-Control`.
async fn set_private(mut session: Session<Msg>) -> impl IntoResponse {
    session.message = "hello".into();
    ([(header::CACHE_CONTROL, "private")], "ok")
}

on_backends!(
    misc_01_caching_headers_when_session_used,
    [Cookie, Memory],
    |backend| async move {
        let routes = reference_routes().route("/set_private", get(set_private));
        let app = TestApp::new(backend, routes);

        // Never accessed: the response passes through untouched.
        let r = app.get("/none", None).await;
        assert!(!varies_on_cookie(&r.headers), "{:?}", r.headers);
        assert!(cache_control(&r.headers).is_empty());

        // A Set-Cookie for the session: Vary and Cache-Control.
        let r1 = app.get("/set", None).await;
        assert!(r1.session_cookie().is_some());
        assert!(varies_on_cookie(&r1.headers), "{:?}", r1.headers);
        let cc = cache_control(&r1.headers);
        assert!(
            cc.len() == 1 && is_no_cache_set_cookie(&cc[0]),
            "{:?}",
            r1.headers
        );

        // Read, no write: Vary, no Set-Cookie, so no Cache-Control.
        let r2 = app.get("/read", Some(&r1.replay())).await;
        assert_eq!(r2.body, "hello");
        assert!(r2.set_cookies().is_empty());
        assert!(varies_on_cookie(&r2.headers), "{:?}", r2.headers);
        assert!(cache_control(&r2.headers).is_empty(), "{:?}", r2.headers);

        // Read of a new, empty session: still depends on the (absent) cookie.
        let r3 = app.get("/read", None).await;
        assert!(varies_on_cookie(&r3.headers), "{:?}", r3.headers);
        assert!(cache_control(&r3.headers).is_empty(), "{:?}", r3.headers);

        // An expiring Set-Cookie is just as uncacheable.
        let r4 = app.get("/destroy", Some(&r1.replay())).await;
        assert!(r4.expires_cookie("session"), "{:?}", r4.headers);
        assert!(varies_on_cookie(&r4.headers), "{:?}", r4.headers);
        let cc = cache_control(&r4.headers);
        assert!(
            cc.len() == 1 && is_no_cache_set_cookie(&cc[0]),
            "{:?}",
            r4.headers
        );

        // The handler's own Cache-Control is kept.
        let r5 = app.get("/set_private", None).await;
        assert!(r5.session_cookie().is_some());
        assert_eq!(cache_control(&r5.headers), ["private"]);
        assert!(varies_on_cookie(&r5.headers), "{:?}", r5.headers);
    }
);

on_backends!(
    misc_03_expiring_cookie_does_not_leak_into_next_request,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, reference_routes());
        let r0 = app.get("/set", None).await;
        let before = cookie::Cookie::parse(r0.session_cookie().unwrap()).unwrap();

        // R1 destroys a session: the cookie is expired.
        let r1 = app.get("/destroy", Some(&r0.replay())).await;
        assert!(r1.expires_cookie("session"), "{:?}", r1.set_cookies());

        // R2, a fresh client, populates: its cookie is alive, with the default lifetime.
        let r2 = app.get("/set", None).await;
        assert_eq!(r2.status, 200);
        assert!(!r2.expires_cookie("session"));
        let set = r2.session_cookie().expect("a session cookie");
        let after = cookie::Cookie::parse(set.clone()).unwrap();
        assert!(!after.value().is_empty(), "{set}");
        assert!(!set.contains("1970"), "{set}");
        assert_eq!(after.max_age(), before.max_age(), "{set}");
        assert_eq!(after.max_age(), Some(time::Duration::days(1)), "{set}");
        assert!(
            after.expires_datetime().expect("Expires") > app.clock.now(),
            "{set}"
        );
        assert_eq!(after.path(), before.path());

        let r3 = app.get("/read", Some(&r2.replay())).await;
        assert_eq!(r3.body, "hello");
    }
);
