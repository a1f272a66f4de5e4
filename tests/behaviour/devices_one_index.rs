//! One indexed session type per layer: a record has one index field, so a second type with a
//! `#[session(index)]` field would overwrite the first one's digest and hide sessions from its
//! device list. The first indexed type a layer meets owns the index; extracting another one
//! answers the generic 500 and logs both names, and `devices()` for it is refused. Types
//! without an index field mix freely with the indexed one. On the cookie store and every store.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use http::{Request, Response};
use tower::{Layer as _, ServiceExt as _};
use typed_sessions::{Error, MemoryStore, Session, SessionLayer};

use typed_sessions_tests::*;

use super::devices::admin;

#[derive(Session, Default)]
pub struct Auth {
    #[session(index)]
    user: Option<String>,
}

/// A second indexed type, as an application with tenants might write beside `Auth`.
#[derive(Session, Default)]
pub struct Tenant {
    #[session(index)]
    org: Option<String>,
}

#[derive(Session, Default)]
#[session(namespace = "cart")]
pub struct Cart {
    items: Vec<u32>,
}

#[derive(Session, Default)]
pub struct Visit {
    views: u64,
}

async fn login(mut auth: Session<Auth>, Path(user): Path<String>) {
    auth.regenerate();
    auth.user = Some(user);
}

async fn join(mut tenant: Session<Tenant>, Path(org): Path<String>) {
    tenant.org = Some(org);
}

/// Adds `item` to the cart and counts a view, beside the indexed `Auth`.
async fn add(
    auth: Session<Auth>,
    mut cart: Session<Cart>,
    mut visit: Session<Visit>,
    Path(item): Path<u32>,
) -> String {
    cart.items.push(item);
    visit.views += 1;
    format!(
        "{} {} {}",
        auth.user.clone().unwrap_or_default(),
        cart.items.len(),
        visit.views
    )
}

/// How many sessions the current user has, listed from the request.
async fn mine(auth: Session<Auth>) -> String {
    let user = auth.user.clone().unwrap_or_default();
    auth.devices()
        .unwrap()
        .list(&user)
        .await
        .unwrap()
        .len()
        .to_string()
}

fn routes() -> Router {
    Router::new()
        .route("/login/{user}", get(login))
        .route("/join/{org}", get(join))
        .route("/add/{item}", get(add))
        .route("/mine", get(mine))
}

/// An app on `backend`, and the very layer its router runs behind.
fn app_and_layer(backend: Backend) -> (TestApp, SessionLayer) {
    let kept = Arc::new(Mutex::new(None));
    let app = TestApp::with(backend, routes(), |layer| {
        *kept.lock().unwrap() = Some(layer.clone());
        layer
    });
    let layer = kept.lock().unwrap().take().unwrap();
    (app, layer)
}

/// Asserts that `error` is a configuration error naming both session types.
fn assert_names_both(error: &str) {
    assert!(
        error.contains("::Auth`") && error.contains("::Tenant`"),
        "both types named: {error}"
    );
}

on_backends!(
    a_second_indexed_type_is_refused_with_a_500_and_the_first_ones_index_stands,
    [Cookie, Memory],
    |backend| async move {
        let (app, _) = app_and_layer(backend);
        let ann = app.get("/login/ann", None).await;
        assert_eq!(ann.status, 200);
        let cookie = ann.replay();

        let (logs, _capture) = Logs::capture();
        let refused = app.get("/join/acme", Some(&cookie)).await;
        assert_eq!(refused.status, 500);
        assert_eq!(refused.body, "internal server error", "a generic body");
        assert!(refused.set_cookies().is_empty(), "{refused:?}");
        assert_names_both(&logs.take());

        // A fresh client meets the same refusal: the layer remembers its indexed type.
        assert_eq!(app.get("/join/acme", None).await.status, 500);
        if backend != Backend::Cookie {
            assert_eq!(app.get("/mine", Some(&cookie)).await.body, "1");
            let listed = admin(&app).devices::<Auth>().unwrap().list(&"ann").await;
            assert_eq!(listed.unwrap().len(), 1, "ann's session is still indexed");
        }
    }
);

on_backends!(
    devices_for_another_indexed_type_is_refused,
    [Memory],
    |backend| async move {
        let (app, layer) = app_and_layer(backend);
        assert_eq!(app.get("/login/ann", None).await.status, 200);

        let error = layer.devices::<Tenant>().unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{error:?}");
        assert_names_both(&error.to_string());
        assert!(
            layer.devices::<Auth>().is_ok(),
            "the owner keeps its handle"
        );
        // A clone of the layer indexes the same records: it knows the owner too.
        assert!(layer.clone().devices::<Tenant>().is_err());
    }
);

on_backends!(
    devices_outside_a_request_claims_the_index_before_any_request,
    [Memory],
    |backend| async move {
        let (app, layer) = app_and_layer(backend);
        assert!(
            layer.devices::<Tenant>().is_ok(),
            "the first indexed type owns it"
        );

        let (logs, _capture) = Logs::capture();
        let refused = app.get("/login/ann", None).await;
        assert_eq!(refused.status, 500);
        assert_names_both(&logs.take());
        assert_eq!(app.get("/join/acme", None).await.status, 200);
    }
);

on_backends!(
    an_indexed_type_beside_types_without_an_index_works,
    [Cookie, Memory],
    |backend| async move {
        let (app, _) = app_and_layer(backend);
        let ann = app.get("/login/ann", None).await;
        let cookie = ann.replay();
        let first = app.get("/add/1", Some(&cookie)).await;
        assert_eq!(first.body, "ann 1 1");
        let cookie = if first.set_cookies().is_empty() {
            cookie
        } else {
            first.replay()
        };
        let second = app.get("/add/2", Some(&cookie)).await;
        assert_eq!(second.body, "ann 2 2");
        if backend != Backend::Cookie {
            let devices = admin(&app).devices::<Auth>().unwrap();
            let listed = devices.list(&"ann").await.unwrap();
            assert_eq!(listed.len(), 1, "still indexed after the other types wrote");
            assert_eq!(devices.revoke_all(&"ann").await.unwrap(), 1);
            assert_eq!(
                app.get("/add/3", Some(&cookie)).await.body,
                " 1 1",
                "logged out"
            );
        }
    }
);

/// `Session::load`, outside axum, is refused for a second indexed type as the extractor is.
#[tokio::test]
async fn session_load_refuses_a_second_indexed_type() {
    async fn handle(request: Request<String>) -> Result<Response<String>, Infallible> {
        let body = match request.uri().path() {
            "/auth" => Session::<Auth>::load(&request).await.map(|_| "auth"),
            _ => Session::<Tenant>::load(&request).await.map(|_| "tenant"),
        };
        Ok(body.map_or_else(
            |rejection| rejection.into_http_response(),
            |body| Response::new(body.to_owned()),
        ))
    }
    let service = layer(test_key())
        .with_store(MemoryStore::new())
        .layer(tower::service_fn(handle));
    let call = |path: &'static str| {
        let request = Request::builder().uri(path).body(String::new()).unwrap();
        service.clone().oneshot(request)
    };
    assert_eq!(call("/auth").await.unwrap().body(), "auth");
    let refused = call("/tenant").await.unwrap();
    assert_eq!(refused.status(), 500);
    assert_eq!(refused.body(), "internal server error");
}

/// Two layers on one store and one key, each with its own indexed type, index the same value
/// (`7`, a user and an organisation) under different digests: the field's name is bound into
/// the digest, so listing or revoking one type's sessions never reaches the other's.
#[tokio::test]
async fn two_layers_on_one_store_and_key_never_share_a_digest() {
    let store = MemoryStore::new();
    let key = wire::key(&wire::master(7));
    let users = SessionLayer::new(key.clone()).with_store(store.clone());
    let tenants = SessionLayer::new(key).with_store(store);
    for (layer, path) in [(&users, "/login/7"), (&tenants, "/join/7")] {
        let request = Request::get(path).body(axum::body::Body::empty()).unwrap();
        let response = routes()
            .layer(layer.clone())
            .oneshot(request)
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let (user_devices, org_devices) = (
        users.devices::<Auth>().unwrap(),
        tenants.devices::<Tenant>().unwrap(),
    );
    assert_eq!(user_devices.list(&"7").await.unwrap().len(), 1);
    assert_eq!(org_devices.list(&"7").await.unwrap().len(), 1);
    assert_eq!(user_devices.revoke_all(&"7").await.unwrap(), 1);
    assert_eq!(
        org_devices.list(&"7").await.unwrap().len(),
        1,
        "the org's session stays"
    );
}
