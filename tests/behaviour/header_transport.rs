//! The header transport (`with_header`), for clients that keep no cookies: the token the cookie
//! carries is read from a request header and sent back in a response header of the same name
//! when it is new or changes (empty when the session ends), on the cookie store and every store.

use axum::Router;
use http::{HeaderName, StatusCode, header};
use typed_sessions::SessionLayer;

use typed_sessions_tests::*;

const HEADER: HeaderName = HeaderName::from_static("x-session");

/// The reference routes behind a layer that also carries the session in `x-session`.
fn app(place: &Place) -> Router {
    let mut layer = layer(wire::key(&wire::master(0x61))).with_header(HEADER);
    if let Some(store) = place.connect() {
        layer = layer.with_store(store);
    }
    reference_routes().layer(layer)
}

/// `GET path` with the token in `x-session` (and no cookie).
async fn get_with_token(app: &Router, path: &str, token: &str) -> TestResponse {
    let mut request = request("GET", path, None);
    request.headers_mut().insert(HEADER, token.parse().unwrap());
    send(app, request).await
}

/// The token a response sent, if it sent the header.
fn token(response: &TestResponse) -> Option<String> {
    response
        .headers
        .get(HEADER)
        .map(|value| value.to_str().unwrap().to_owned())
}

on_backends!(
    header_transport_carries_the_session,
    [Cookie, Memory],
    |backend| async move {
        let place = Place::new(backend);
        let app = app(&place);

        // A new session sends its token in the header, and the cookie as usual.
        let created = send(&app, request("GET", "/set", None)).await;
        assert_eq!(created.status, StatusCode::OK);
        let token1 = token(&created).expect("a new session sends its token");
        assert_eq!(
            created.session_value(),
            token1,
            "the header carries the cookie's value"
        );
        let cache = created.headers[header::CACHE_CONTROL].to_str().unwrap();
        assert_eq!(cache, "no-cache=\"set-cookie, x-session\"");
        let vary: Vec<_> = created.headers.get_all(header::VARY).iter().collect();
        assert!(vary.iter().any(|v| *v == "x-session"), "{vary:?}");

        // The header alone presents the session; a read sends nothing back.
        let read = get_with_token(&app, "/read", &token1).await;
        assert_eq!(read.body, "hello");
        assert_eq!(token(&read), None, "an unchanged session sends no token");

        // A change: the cookie store issues a new token; a store keeps the id's.
        let counted = get_with_token(&app, "/count", &token1).await;
        assert_eq!(counted.body, "1");
        let token2 = token(&counted).unwrap_or_else(|| token1.clone());
        assert_eq!(get_with_token(&app, "/count", &token2).await.body, "2");

        // Logging out sends an empty token; the old one is then a new session (with a store).
        let current = token(&get_with_token(&app, "/count", &token2).await).unwrap_or(token2);
        let gone = get_with_token(&app, "/destroy", &current).await;
        assert_eq!(token(&gone).as_deref(), Some(""));
        if backend.is_store() {
            let after = get_with_token(&app, "/is_new", &current).await;
            assert_eq!(after.body, "true", "a destroyed session's token is dead");
        }
    }
);

on_backends!(
    header_wins_over_cookie_and_forgeries_start_fresh,
    [Cookie, Memory],
    |backend| async move {
        let place = Place::new(backend);
        let app = app(&place);
        let mine = token(&send(&app, request("GET", "/set", None)).await).unwrap();
        let other = send(&app, request("GET", "/count", None)).await;
        let other_cookie = other.replay();

        // Both: the header's session is the one read.
        let mut both = request("GET", "/read", Some(&other_cookie));
        both.headers_mut().insert(HEADER, mine.parse().unwrap());
        assert_eq!(send(&app, both).await.body, "hello");

        // A forged or garbage header is a new session, never an error; the cookie still counts.
        // (The client here never keeps the response's cookie: on the cookie store each request
        // counts from the same cookie, on a store the count goes on.)
        let forgeries = ["x", "1.AAAA.AAAA.AAAA", &format!("{mine}x")];
        for (i, forged) in forgeries.into_iter().enumerate() {
            let mut request = request("GET", "/count", Some(&other_cookie));
            request
                .headers_mut()
                .insert(HEADER, forged.parse().unwrap());
            let response = send(&app, request).await;
            assert_eq!(response.status, StatusCode::OK, "{forged}");
            let expected = if backend.is_store() { 2 + i } else { 2 };
            assert_eq!(
                response.body,
                expected.to_string(),
                "the cookie's session, for {forged:?}"
            );
        }
    }
);

#[test]
fn the_header_cannot_be_a_cookie_or_credentials_header() {
    for name in [header::COOKIE, header::SET_COOKIE, header::AUTHORIZATION] {
        let layer = SessionLayer::new(typed_sessions::Key::generate()).with_header(name.clone());
        let error = layer.validate().expect_err("refused");
        assert!(error.to_string().contains(name.as_str()), "{error}");
    }
}
