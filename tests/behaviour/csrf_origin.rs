//! The Fetch Metadata / `Origin` check beside the CSRF token (`CsrfLayer`), on every store: a
//! cross-site request (`Sec-Fetch-Site: cross-site`) and, without Fetch Metadata, an `Origin`
//! of another host are refused even with a valid token; same-origin requests and trusted
//! origins are accepted.

use std::sync::atomic::Ordering;

use super::csrf_support::*;
use typed_sessions_tests::*;

/// `POST /comment` to `example.com` with a valid token and `headers`.
fn post(cookie: &str, token: &str, headers: &[(&str, &str)]) -> http::Request<axum::body::Body> {
    let mut all = vec![("x-csrf-token", token), ("host", "example.com")];
    all.extend_from_slice(headers);
    unsafe_request("POST", "/comment", Some(cookie), &all, "")
}

on_backends!(
    cross_site_requests_and_foreign_origins_are_refused,
    [Cookie, Memory],
    |backend| async move {
        let (app, runs) = app(backend);
        let (token, cookie) = form_token(&app, None).await;
        app.store_calls();
        for headers in [
            &[("sec-fetch-site", "cross-site")][..],
            &[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://example.com"),
            ],
            &[("origin", "https://evil.example")],
            &[("origin", "http://example.com.evil.example")],
            &[("origin", "null")],
        ] {
            let response = app.send(post(&cookie, &token, headers)).await;
            assert_refused(&app, &response);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 0);
    }
);

on_backends!(
    same_origin_requests_are_accepted,
    [Cookie, Memory],
    |backend| async move {
        let (app, runs) = app(backend);
        let (token, cookie) = form_token(&app, None).await;
        for headers in [
            &[
                ("sec-fetch-site", "same-origin"),
                ("origin", "https://example.com"),
            ][..],
            &[("sec-fetch-site", "same-site")],
            &[("sec-fetch-site", "none")],
            &[("origin", "https://example.com")],
            &[],
        ] {
            let response = app.send(post(&cookie, &token, headers)).await;
            assert_eq!(response.status, 200, "{headers:?}: {response:?}");
        }
        assert_eq!(runs.load(Ordering::SeqCst), 5);
    }
);

on_backends!(
    a_trusted_origin_may_post_from_another_site_with_a_token,
    [Cookie, Memory],
    |backend| async move {
        let runs = Default::default();
        let routes = routes(runs, |csrf| {
            csrf.with_trusted_origin("https://checkout.example.net")
        });
        let app = TestApp::new(backend, routes);
        let (token, cookie) = form_token(&app, None).await;
        let trusted = [
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://checkout.example.net"),
        ];
        let response = app.send(post(&cookie, &token, &trusted)).await;
        assert_eq!(response.status, 200, "{response:?}");
        app.store_calls();
        let response = app.send(post(&cookie, "nonsense", &trusted)).await;
        assert_refused(&app, &response);
    }
);
