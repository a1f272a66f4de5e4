//! `with_http_on_localhost(true)`, for local development over plain `http://` (the tests run in
//! a debug build, where it takes effect): requests to a loopback host, not forwarded by a proxy,
//! get the cookie without `Secure` (and the name without the `__Host-` prefix,
//! which needs `Secure`); every other host keeps `Secure`, on the cookie store and on a store,
//! for new cookies, re-issued ones and expiring ones alike.

use cookie::{Cookie, SameSite};
use http::header::HOST;
use typed_sessions::{Key, MemoryStore, SessionLayer};

use typed_sessions_tests::*;

/// The reference routes: `/set` writes the session, `/read` reads it, `/destroy` ends it.
fn app(layer: SessionLayer) -> axum::Router {
    reference_routes().layer(layer)
}

/// `GET path` on `router` with `Host: host` and `cookie`; the one `Set-Cookie`, parsed.
async fn set_cookie(
    router: &axum::Router,
    path: &str,
    host: &str,
    cookie: Option<&str>,
) -> (Cookie<'static>, TestResponse) {
    let mut request = request("GET", path, cookie);
    request.headers_mut().insert(HOST, host.parse().unwrap());
    let response = send(router, request).await;
    let sets = response.set_cookies();
    assert_eq!(sets.len(), 1, "{host}{path}: {sets:?}");
    (Cookie::parse(sets[0].clone()).unwrap(), response)
}

fn layers() -> [(&'static str, SessionLayer); 2] {
    let key = Key::generate();
    [
        (
            "cookie store",
            SessionLayer::new(key.clone()).with_http_on_localhost(true),
        ),
        (
            "memory store",
            SessionLayer::new(key)
                .with_store(MemoryStore::new())
                .with_http_on_localhost(true),
        ),
    ]
}

#[tokio::test]
async fn loopback_hosts_get_the_cookie_without_secure() {
    for (what, layer) in layers() {
        let router = app(layer);
        for host in [
            "localhost:3000",
            "127.0.0.1:3000",
            "[::1]:8080",
            "app.localhost",
        ] {
            let (cookie, response) = set_cookie(&router, "/set", host, None).await;
            assert_eq!(cookie.name(), "session", "{what}, {host}");
            assert_eq!(cookie.secure(), None, "{what}, {host}: {cookie}");
            assert_eq!(cookie.http_only(), Some(true), "{what}, {host}");
            // The cookie works, and so does its removal.
            let replay = response.replay();
            let mut read = request("GET", "/read", Some(&replay));
            read.headers_mut().insert(HOST, host.parse().unwrap());
            assert_eq!(send(&router, read).await.body, "hello", "{what}, {host}");
            let (gone, _) = set_cookie(&router, "/destroy", host, Some(&replay)).await;
            assert_eq!(gone.secure(), None, "{what}, {host}: {gone}");
            assert_eq!(gone.value(), "", "{what}, {host}");
        }
    }
}

#[tokio::test]
async fn every_other_host_keeps_secure() {
    for (what, layer) in layers() {
        let router = app(layer);
        for host in ["example.com", "localhost.example.com", "10.0.0.1:3000"] {
            let (cookie, response) = set_cookie(&router, "/set", host, None).await;
            assert_eq!(cookie.secure(), Some(true), "{what}, {host}: {cookie}");
            let (gone, _) = set_cookie(&router, "/destroy", host, Some(&response.replay())).await;
            assert_eq!(gone.secure(), Some(true), "{what}, {host}: {gone}");
        }
        // Forwarded by a reverse proxy on the same machine, which names itself in `Host`.
        let mut forwarded = request("GET", "/set", None);
        forwarded
            .headers_mut()
            .insert(HOST, "127.0.0.1:3000".parse().unwrap());
        forwarded
            .headers_mut()
            .insert("x-forwarded-for", "203.0.113.7".parse().unwrap());
        let response = send(&router, forwarded).await;
        let cookie = Cookie::parse(response.set_cookies()[0].clone()).unwrap();
        assert_eq!(cookie.secure(), Some(true), "{what}, proxied: {cookie}");
        // No `Host` header at all: `Secure` stays.
        let response = send(&router, request("GET", "/set", None)).await;
        let cookie = Cookie::parse(response.set_cookies()[0].clone()).unwrap();
        assert_eq!(cookie.secure(), Some(true), "{what}, no Host: {cookie}");
    }
}

#[tokio::test]
async fn off_by_default_and_never_with_same_site_none() {
    let router = app(SessionLayer::new(Key::generate()));
    let (cookie, _) = set_cookie(&router, "/set", "localhost:3000", None).await;
    assert_eq!(cookie.name(), "__Host-session");
    assert_eq!(cookie.secure(), Some(true));

    let cross_site = SessionLayer::new(Key::generate())
        .with_same_site(SameSite::None)
        .with_http_on_localhost(true);
    let router = app(cross_site);
    let (cookie, _) = set_cookie(&router, "/set", "localhost:3000", None).await;
    assert_eq!(
        cookie.secure(),
        Some(true),
        "SameSite=None needs Secure: {cookie}"
    );
}
