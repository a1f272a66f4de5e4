//! ATTR — cookie attributes.
//!
//! ATTR-04 (c) (`auto` secure behind a trusted proxy) is not implemented and has no test.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use cookie::{Cookie, SameSite};
use typed_sessions::{Error, Key, Session, SessionLayer, store::SessionStore};

use typed_sessions_tests::wire::store_key_of;
use typed_sessions_tests::*;

fn parse(set_cookie: &str) -> Cookie<'static> {
    Cookie::parse(set_cookie.to_owned()).unwrap()
}

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

on_backends!(
    attr_01_default_attributes,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, reference_routes());
        let r = app.get("/set", None).await;
        assert_eq!(r.status, 200);
        let sets = r.set_cookies();
        assert_eq!(sets.len(), 1, "{sets:?}");
        let set = &sets[0];
        let cookie = parse(set);
        assert_eq!(cookie.name(), "session");
        assert!(is_token(cookie.name()));
        assert!(!cookie.value().is_empty());
        assert_eq!(cookie.http_only(), Some(true), "{set}");
        assert_eq!(cookie.path(), Some("/"), "{set}");
        assert_eq!(cookie.same_site(), Some(SameSite::Lax), "{set}");
        assert_eq!(cookie.domain(), None, "{set}");
        assert_eq!(cookie.secure(), Some(true), "{set}");
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"));
        assert!(!set.to_ascii_lowercase().contains("domain="), "{set}");
    }
);

on_backends!(
    attr_02_custom_cookie_name,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::with(backend, reference_routes(), |l| {
            l.with_cookie_name("mysite")
        });
        let r1 = app.get("/set", None).await;
        assert_eq!(r1.status, 200);
        let sets = r1.set_cookies();
        assert_eq!(sets.len(), 1, "{sets:?}");
        assert!(sets[0].starts_with("mysite="), "{sets:?}");
        assert!(r1.set_cookies_named("session").is_empty());
        app.store_calls();

        // The same value under the default name is not this layer's cookie.
        let value = r1.replay_named("mysite");
        let value = value.split_once('=').unwrap().1;
        let r2 = app.get("/is_new", Some(&format!("session={value}"))).await;
        assert_eq!(r2.status, 200);
        assert_eq!(r2.body, "true");
        assert!(app.store_calls().is_empty());
        let r2 = app.get("/read", Some(&format!("session={value}"))).await;
        assert_eq!(r2.body, "");

        // Under its own name it is.
        let r3 = app.get("/read", Some(&r1.replay_named("mysite"))).await;
        assert_eq!(r3.body, "hello");
    }
);

on_backends!(
    attr_03_same_site_values,
    [Cookie, Memory],
    |backend| async move {
        let cases = [
            (SameSite::None, "SameSite=None"),
            (SameSite::Lax, "SameSite=Lax"),
            (SameSite::Strict, "SameSite=Strict"),
        ];
        for (same_site, expected) in cases {
            let app = TestApp::with(backend, reference_routes(), |l| {
                l.with_same_site(same_site).with_secure(true)
            });
            let r = app.get("/set", None).await;
            assert_eq!(r.status, 200);
            let set = r.session_cookie().expect("a session cookie");
            assert!(set.contains(expected), "{set}");
            assert_eq!(parse(&set).same_site(), Some(same_site), "{set}");
            if same_site == SameSite::None {
                assert_eq!(parse(&set).secure(), Some(true), "{set}");
            }
        }
    }
);

#[tokio::test]
async fn attr_03_same_site_none_without_secure_is_reported_and_never_served() {
    let layer = SessionLayer::new(Key::generate())
        .with_same_site(SameSite::None)
        .with_secure(false);
    let error = layer.validate().expect_err("SameSite=None without Secure");
    assert!(matches!(error, Error::Config(_)), "{error:?}");
    assert!(error.to_string().contains("SameSite=None"), "{error}");

    // Installed anyway: no panic; routes that never touch the session work, and a route that
    // extracts it fails instead of sending a cookie browsers would drop.
    crate::layer::assert_refuses_sessions(layer).await;

    // With `Secure` the same layer is fine.
    let layer = SessionLayer::new(Key::generate())
        .with_same_site(SameSite::None)
        .with_secure(true);
    assert!(layer.validate().is_ok());
}

on_backends!(
    attr_04_secure_attribute,
    [Cookie, Memory],
    |backend| async move {
        // (a) `Secure` by default, emitted as configured even on a plain-HTTP request.
        let app = TestApp::new(backend, reference_routes());
        let r = app
            .send(
                http::Request::builder()
                    .uri("http://example.com/set")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, 200);
        let set = r.session_cookie().expect("a session cookie");
        assert_eq!(parse(&set).secure(), Some(true), "{set}");
        assert!(set.contains("Secure"), "{set}");

        // (b) switched off.
        let app = TestApp::with(backend, reference_routes(), |l| l.with_secure(false));
        let r = app.get("/set", None).await;
        assert_eq!(r.status, 200);
        let set = r.session_cookie().expect("a session cookie");
        assert_eq!(parse(&set).secure(), None, "{set}");
        assert!(!set.to_ascii_lowercase().contains("secure"), "{set}");
    }
);

on_backends!(
    attr_05_path_scoping,
    [Cookie, Memory],
    |backend| async move {
        let routes = Router::new()
            .route("/", get(handlers::set_hello))
            .route("/foo/bar/baz", get(handlers::set_hello))
            .route("/foo/bar/read", get(handlers::read))
            .route("/read", get(handlers::read));
        let app = TestApp::with(backend, routes, |l| l.with_path("/foo/bar"));

        let r = app.get("/", None).await;
        assert_eq!(r.status, 200);
        assert!(r.set_cookies().is_empty(), "{:?}", r.set_cookies());
        assert!(app.store_calls().is_empty());

        let r = app.get("/foo/bar/baz", None).await;
        assert_eq!(r.status, 200);
        let set = r.session_cookie().expect("a session cookie");
        assert_eq!(parse(&set).path(), Some("/foo/bar"), "{set}");
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["create"]);
        }
        let cookie = r.replay();

        // Inside the path the session reads back; outside it the layer does not look.
        let inside = app.get("/foo/bar/read", Some(&cookie)).await;
        assert_eq!(inside.body, "hello");
        app.store_calls();
        let outside = app.get("/read", Some(&cookie)).await;
        assert_eq!(outside.status, 200);
        assert_eq!(outside.body, "");
        assert!(outside.set_cookies().is_empty());
        assert!(app.store_calls().is_empty());
    }
);

on_backends!(
    attr_06_deletion_cookie_mirrors_scope,
    [Cookie, Memory],
    |backend| async move {
        let routes = Router::new()
            .route("/app/set", get(handlers::set_hello))
            .route("/app/destroy", get(handlers::destroy));
        let app = TestApp::with(backend, routes, |l| {
            l.with_path("/app")
                .with_domain("example.com")
                .with_same_site(SameSite::Strict)
        });
        let r1 = app.get("/app/set", None).await;
        let original = parse(&r1.session_cookie().expect("a session cookie"));
        assert_eq!(original.path(), Some("/app"));
        assert_eq!(original.domain(), Some("example.com"));
        app.store_calls();

        let r2 = app.get("/app/destroy", Some(&r1.replay())).await;
        assert_eq!(r2.status, 200);
        assert!(r2.expires_cookie("session"), "{:?}", r2.set_cookies());
        let set = r2.session_cookie().unwrap();
        let deletion = parse(&set);
        assert_eq!(deletion.value(), "");
        assert_eq!(deletion.path(), Some("/app"), "{set}");
        assert_eq!(deletion.domain(), Some("example.com"), "{set}");
        assert_eq!(deletion.same_site(), Some(SameSite::Strict), "{set}");
        assert_eq!(deletion.secure(), original.secure(), "{set}");
        assert_eq!(deletion.http_only(), original.http_only(), "{set}");
        assert!(
            set.contains("Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
            "{set}"
        );
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["load", "remove"]);
        }
    }
);

/// Sets an unrelated cookie, changes the session, saves it, and changes it again.
async fn save_midway(mut session: Session<Msg>) -> impl IntoResponse {
    session.message = "first".into();
    session.save().await.expect("save");
    session.message = "final".into();
    ([(header::SET_COOKIE, "previous=cookieValue")], "ok")
}

on_backends!(
    attr_07_one_set_cookie_per_session_other_cookies_kept,
    [Cookie, Memory],
    |backend| async move {
        let routes = reference_routes().route("/save_midway", get(save_midway));
        let app = TestApp::new(backend, routes);
        let r = app.get("/save_midway", None).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body, "ok");
        assert_eq!(
            r.set_cookies_named("session").len(),
            1,
            "{:?}",
            r.set_cookies()
        );
        assert_eq!(r.set_cookies_named("previous"), ["previous=cookieValue"]);
        assert_eq!(r.set_cookies().len(), 2, "{:?}", r.set_cookies());
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["create", "patch"]);
            let record = app
                .spy()
                .inner
                .load(&store_key_of(&r.replay()))
                .await
                .unwrap()
                .expect("the record");
            assert_eq!(record.fields()["message"], "final");
        }
        let read = app.get("/read", Some(&r.replay())).await;
        assert_eq!(read.body, "final");
    }
);

/// The name a default layer's cookie is sent under, and what it is with `configure`.
async fn cookie_name(configure: impl FnOnce(SessionLayer) -> SessionLayer) -> String {
    let router = reference_routes().layer(configure(SessionLayer::new(test_key())));
    let response = send(&router, request("GET", "/set", None)).await;
    let set = response.set_cookies();
    assert_eq!(set.len(), 1, "{set:?}");
    set[0].split('=').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_default_cookie_is_host_prefixed_so_no_other_site_can_plant_one() {
    let router = reference_routes().layer(SessionLayer::new(test_key()));
    let r1 = send(&router, request("GET", "/set", None)).await;
    let set = r1.cookie_named("__Host-session").expect("a __Host- cookie");
    // What browsers require of a `__Host-` cookie: `Secure`, `Path=/`, no `Domain`.
    let parsed = Cookie::parse(set.clone()).unwrap();
    assert_eq!(parsed.secure(), Some(true), "{set}");
    assert_eq!(parsed.path(), Some("/"), "{set}");
    assert_eq!(parsed.domain(), None, "{set}");
    let pair = r1.replay_named("__Host-session");
    let r2 = send(&router, request("GET", "/read", Some(&pair))).await;
    assert_eq!(r2.body, "hello");
    // The same value under the unprefixed name is another cookie: its MAC binds the name.
    let renamed = pair.replacen("__Host-session=", "session=", 1);
    let r3 = send(&router, request("GET", "/read", Some(&renamed))).await;
    assert_eq!(r3.body, "", "a cookie named `session` is not this layer's");
}

#[tokio::test]
async fn the_host_prefix_only_where_browsers_accept_it_and_unless_turned_off() {
    assert_eq!(cookie_name(|l| l).await, "__Host-session");
    assert_eq!(cookie_name(|l| l.with_host_prefix(false)).await, "session");
    assert_eq!(cookie_name(|l| l.with_secure(false)).await, "session");
    assert_eq!(
        cookie_name(|l| l.with_domain("example.com")).await,
        "session"
    );
    assert_eq!(
        cookie_name(|l| l.with_path("/").with_cookie_name("id")).await,
        "__Host-id"
    );
    assert_eq!(
        cookie_name(|l| l.with_cookie_name("__Host-id")).await,
        "__Host-id"
    );
    assert_eq!(
        cookie_name(|l| l.with_cookie_name("__Secure-id")).await,
        "__Secure-id"
    );
    // Turning the prefix off and on again, in any order, ends where the last call says.
    let toggled = |l: SessionLayer| {
        l.with_host_prefix(false)
            .with_secure(false)
            .with_secure(true)
            .with_host_prefix(true)
    };
    assert_eq!(cookie_name(toggled).await, "__Host-session");
}
