//! What the layer and extractor guarantee beyond the behaviour cases: the missing-layer
//! rejection, one shared load per request, namespaced types sharing a session, configuration
//! errors, redaction.

use axum::Router;
use axum::routing::get;
use http::StatusCode;
use typed_sessions::{Key, MemoryStore, Session, SessionLayer};

use typed_sessions_tests::*;

#[derive(Session, Default)]
#[session(namespace = "cart")]
struct Cart {
    items: Vec<u32>,
}

#[derive(Session, Default)]
#[session(namespace = "user")]
struct User {
    name: Option<String>,
}

#[tokio::test]
async fn missing_layer_is_a_500_that_says_what_to_install() {
    let app = Router::new().route("/", get(handlers::read));
    let response = TestResponse::read(
        tower::ServiceExt::oneshot(app, request("GET", "/", None))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(response.status, 500);
    assert!(
        response.body.contains("`SessionLayer`"),
        "{}",
        response.body
    );
}

on_backends!(
    several_session_types_share_one_session_and_one_load,
    [Cookie, Memory],
    |backend| async move {
        async fn both(
            mut cart: Session<Cart>,
            mut user: Session<User>,
            msg: Session<Msg>,
        ) -> String {
            cart.items.push(7);
            user.name = Some("ann".into());
            assert_eq!(cart.id(), user.id());
            msg.message.clone()
        }
        async fn show(cart: Session<Cart>, user: Session<User>) -> String {
            format!("{:?} {:?}", cart.items, user.name)
        }
        let routes = Router::new()
            .route("/both", get(both))
            .route("/show", get(show));
        let app = TestApp::new(backend, routes);
        let r1 = app.get("/both", None).await;
        assert_eq!(r1.status, 200);
        assert_eq!(r1.set_cookies_named("session").len(), 1);
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["create"]);
        }
        let r2 = app.get("/show", Some(&r1.replay())).await;
        assert_eq!(r2.body, r#"[7] Some("ann")"#);
        if backend.is_store() {
            assert_eq!(
                app.store_calls(),
                ["load"],
                "one load shared by both extractors"
            );
        }
    }
);

on_backends!(
    fields_of_other_types_survive_a_write,
    [Cookie, Memory],
    |backend| async move {
        async fn set_user(mut user: Session<User>) {
            user.name = Some("bob".into());
        }
        async fn add_item(mut cart: Session<Cart>) {
            cart.items.push(1);
        }
        async fn show(cart: Session<Cart>, user: Session<User>) -> String {
            format!("{:?} {:?}", cart.items, user.name)
        }
        let routes = Router::new()
            .route("/user", get(set_user))
            .route("/item", get(add_item))
            .route("/show", get(show));
        let app = TestApp::new(backend, routes);
        let r1 = app.get("/user", None).await;
        let r2 = app.get("/item", Some(&r1.replay())).await;
        let cookie = r2.session_cookie().map_or(r1.replay(), |_| r2.replay());
        let r3 = app.get("/show", Some(&cookie)).await;
        assert_eq!(r3.body, r#"[1] Some("bob")"#);
    }
);

#[test]
fn short_keys_are_refused() {
    let err = Key::from_bytes(&[1u8; 31]).unwrap_err();
    assert!(err.to_string().contains("at least 32 bytes"), "{err}");
    assert!(Key::from_bytes(&[1u8; 32]).is_ok());
}

/// A layer whose configuration `validate` rejects, installed anyway: it never panics, leaves
/// routes that do not touch the session alone, and answers 500 where a session is extracted.
pub(crate) async fn assert_refuses_sessions(layer: SessionLayer) {
    let router = Router::new()
        .route("/none", get(handlers::none))
        .route("/set", get(handlers::set_hello))
        .layer(layer);
    let untouched = send(&router, request("GET", "/none", None)).await;
    assert_eq!(untouched.status, StatusCode::OK);
    let extracting = send(&router, request("GET", "/set", None)).await;
    assert_eq!(extracting.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        extracting.set_cookies().is_empty(),
        "{:?}",
        extracting.set_cookies()
    );
}

#[tokio::test]
async fn invalid_cookie_names_are_refused() {
    let layer = SessionLayer::new(test_key()).with_cookie_name("koa:sess");
    let error = layer
        .validate()
        .expect_err("`:` is not allowed in a cookie name");
    assert!(
        error.to_string().contains("invalid session cookie name"),
        "{error}"
    );
    assert_refuses_sessions(layer).await;
}

#[tokio::test]
async fn invalid_paths_and_domains_are_refused_together() {
    let layer = SessionLayer::new(test_key())
        .with_path("app")
        .with_domain("a b");
    let error = layer
        .validate()
        .expect_err("a relative path and a spaced domain");
    let message = error.to_string();
    assert!(message.contains("invalid session cookie path"), "{message}");
    assert!(
        message.contains("invalid session cookie domain"),
        "{message}"
    );
    assert_refuses_sessions(layer).await;
}

#[test]
fn debug_output_redacts_keys() {
    let layer = SessionLayer::new(test_key()).with_store(MemoryStore::new());
    let shown = format!("{layer:?} {:?}", test_key());
    assert!(shown.contains("REDACTED"), "{shown}");
    assert!(!shown.contains("42, 42"), "{shown}");
}

on_backends!(
    store_and_cookie_ids_survive_and_is_new_flips,
    [Cookie, Memory],
    |backend| async move {
        async fn info(mut msg: Session<Msg>) -> String {
            let before = format!("{} {}", msg.is_new(), msg.id().is_some());
            msg.count += 1;
            before
        }
        let app = TestApp::new(backend, Router::new().route("/", get(info)));
        let r1 = app.get("/", None).await;
        assert_eq!(r1.body, "true false");
        let r2 = app.get("/", Some(&r1.replay())).await;
        assert_eq!(r2.body, "false true");
    }
);
