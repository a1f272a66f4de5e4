//! What the CSRF tests share: routes behind `CsrfLayer`, and requests carrying a token.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, header};
use tokio::sync::Barrier;
use typed_sessions::Session;
use typed_sessions::csrf::{CsrfLayer, CsrfToken};

use typed_sessions_tests::*;

/// The body of every refusal.
pub const REFUSED: &str =
    "forbidden: this request could not be verified; reload the page and try again";

/// Routes behind a CSRF check configured by `configure`, inside the test app's session layer:
/// `/form` answers a token, `/login` regenerates, `/twin` answers a token once two requests
/// hold one, `/comment` (every method) echoes `ran:<body>`, `/peek` reads an
/// `Option<Session<Msg>>`. `runs` counts the handlers behind the check that ran.
pub fn routes(runs: Arc<AtomicUsize>, configure: impl FnOnce(CsrfLayer) -> CsrfLayer) -> Router {
    let twins = Arc::new(Barrier::new(2));
    let (echo_runs, peek_runs) = (runs.clone(), runs);
    let echo = move |body: String| {
        echo_runs.fetch_add(1, Ordering::SeqCst);
        async move { format!("ran:{body}") }
    };
    reference_routes()
        .route(
            "/form",
            get(|token: CsrfToken| async move { token.value() }),
        )
        .route(
            "/login",
            get(|mut session: Session<Msg>| async move { session.regenerate() }),
        )
        .route(
            "/twin",
            get(move |token: CsrfToken| async move {
                // Both requests create the secret before either is saved.
                let value = token.value();
                twins.wait().await;
                value
            }),
        )
        .route(
            "/comment",
            get(echo.clone())
                .post(echo.clone())
                .put(echo.clone())
                .patch(echo.clone())
                .delete(echo),
        )
        .route(
            "/peek",
            axum::routing::post(move |session: Option<Session<Msg>>| {
                peek_runs.fetch_add(1, Ordering::SeqCst);
                async move { format!("some:{}", session.is_some()) }
            }),
        )
        .layer(configure(CsrfLayer::new()))
}

/// An app on `backend` with the default check; `runs` counts the checked handlers that ran.
pub fn app(backend: Backend) -> (TestApp, Arc<AtomicUsize>) {
    let runs = Arc::new(AtomicUsize::new(0));
    (
        TestApp::new(backend, routes(runs.clone(), |csrf| csrf)),
        runs,
    )
}

/// A token from `/form`, and the cookie to send with it (a new one, or `cookie` if the
/// response set none).
pub async fn form_token(app: &TestApp, cookie: Option<&str>) -> (String, String) {
    let response = app.get("/form", cookie).await;
    assert_eq!(response.status, 200, "{response:?}");
    let cookie = kept(&response, cookie);
    (response.body, cookie)
}

/// The cookie a browser holds after `response`: the one it set, or `cookie`.
pub fn kept(response: &TestResponse, cookie: Option<&str>) -> String {
    match response.issued() {
        Some(_) => response.replay(),
        None => cookie.expect("a new session sets a cookie").to_owned(),
    }
}

/// A request to `path` with `method`, `cookie`, extra `headers` and `body`.
pub fn unsafe_request(
    method: &str,
    path: &str,
    cookie: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

/// `POST /comment` with the token in the header `x-csrf-token`.
pub fn with_header(cookie: &str, token: &str) -> Request<Body> {
    unsafe_request(
        "POST",
        "/comment",
        Some(cookie),
        &[("x-csrf-token", token)],
        "{}",
    )
}

/// `POST /comment` with `form` as an urlencoded body.
pub fn with_form(cookie: Option<&str>, form: &str) -> Request<Body> {
    unsafe_request(
        "POST",
        "/comment",
        cookie,
        &[("content-type", "application/x-www-form-urlencoded")],
        form,
    )
}

/// Asserts a refusal: 403, the generic body, no cookie set, and (on a store) no write.
#[track_caller]
pub fn assert_refused(app: &TestApp, response: &TestResponse) {
    assert_eq!(response.status, 403, "{response:?}");
    assert_eq!(response.body, REFUSED);
    assert!(response.set_cookies().is_empty(), "{:?}", response.headers);
    let calls = app.store_calls();
    assert!(
        calls.iter().all(|call| *call == "load"),
        "no write: {calls:?}"
    );
}
