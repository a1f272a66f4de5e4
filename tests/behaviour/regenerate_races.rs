//! `regenerate()` racing other requests of the same session: the move to the new id is one
//! atomic store step, so a logout during it stays a logout (409 for the regenerating request),
//! and a change another request made meanwhile moves with the session instead of being lost.
//! The spy holds the move back so that the other request lands inside it.

use std::time::Duration;

use axum::routing::get;
use http::StatusCode;
use serde_json::json;
use typed_sessions::{Session, store::SessionStore};

use typed_sessions_tests::wire::store_key_of;
use typed_sessions_tests::*;

/// How long the spy holds a rekey back; the racing request starts a quarter of it in.
const HELD: Duration = Duration::from_millis(200);

/// `/login`: a new id for the session (the login step), and a message saying so.
async fn login(mut session: Session<Msg>) -> &'static str {
    session.message = "logged in".into();
    session.regenerate();
    "welcome"
}

/// An app whose stored session has `message = "hello"`, its cookie, and the spy set to hold
/// every rekey back.
async fn session_with_slow_regenerate(backend: Backend) -> (TestApp, String) {
    let app = TestApp::new(backend, reference_routes().route("/login", get(login)));
    let cookie = app.get("/set", None).await.replay();
    app.store_calls();
    app.spy().set_faults(Faults {
        delay: Some(("rekey", HELD)),
        ..Default::default()
    });
    (app, cookie)
}

on_backends!(
    regenerate_racing_a_logout_stays_logged_out,
    [Memory],
    |backend| async move {
        let (app, cookie) = session_with_slow_regenerate(backend).await;
        let logout = async {
            tokio::time::sleep(HELD / 4).await;
            app.get("/destroy", Some(&cookie)).await
        };
        let (login, logout) = tokio::join!(app.get("/login", Some(&cookie)), logout);

        assert_eq!(logout.status, 200);
        assert!(logout.expires_cookie("session"), "{logout:?}");
        // The login lost the race: it reports the conflict and leaves the client logged out.
        assert_eq!(login.status, StatusCode::CONFLICT, "{login:?}");
        assert!(login.expires_cookie("session"), "{login:?}");
        // The spy logs a call when it starts: the rekey started first and ran last.
        assert_eq!(app.store_calls(), ["load", "rekey", "load", "remove"]);
        assert!(
            app.spy().inner.is_empty().await,
            "the logged-out session came back under a new id"
        );
        assert_eq!(app.get("/is_new", Some(&cookie)).await.body, "true");
    }
);

on_backends!(
    regenerate_racing_a_change_keeps_the_change,
    [Memory],
    |backend| async move {
        let (app, cookie) = session_with_slow_regenerate(backend).await;
        let count = async {
            tokio::time::sleep(HELD / 4).await;
            app.get("/count", Some(&cookie)).await
        };
        let (login, count) = tokio::join!(app.get("/login", Some(&cookie)), count);

        // The change landed on the old id before the move, and moved with the session.
        assert_eq!((count.status, count.body.as_str()), (StatusCode::OK, "1"));
        assert_eq!(login.status, 200, "{login:?}");
        let moved = login.replay();
        let record = app
            .spy()
            .inner
            .load(&store_key_of(&moved))
            .await
            .unwrap()
            .expect("the session lives under its new id");
        assert_eq!(
            json!(record.fields()),
            json!({"message": "logged in", "count": 1}),
            "the change acknowledged with 200 during the login was lost"
        );
        let old = app.spy().inner.load(&store_key_of(&cookie)).await.unwrap();
        assert!(old.is_none(), "the old id still holds the session");
    }
);
