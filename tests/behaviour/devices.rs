//! Every device of a user (`#[session(index)]`): the live sessions of one user are listed with
//! their fields, the current one marked, and revoked one at a time by an opaque handle, all but
//! the current one, or all, from a handler and from outside any request (an admin job). A
//! revoked client is logged out on its next request; a logged-out or expired session leaves the
//! listing. On every store; the cookie store, which keeps nothing on the server, refuses.

use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use typed_sessions::{Key, Session, SessionLayer};

use typed_sessions_tests::*;

#[derive(Session, Default)]
pub struct Auth {
    #[session(index)]
    user: Option<String>,
    device: String,
}

/// Logs the client in as `user` on `device`, with a new id.
async fn login(mut auth: Session<Auth>, Path((user, device)): Path<(String, String)>) {
    auth.regenerate();
    auth.user = Some(user);
    auth.device = device;
}

async fn logout(mut auth: Session<Auth>) {
    auth.user = None;
}

async fn whoami(auth: Session<Auth>) -> String {
    auth.user.clone().unwrap_or_else(|| "anonymous".into())
}

/// The user's devices, one line each: `device handle current`, oldest first.
async fn devices(auth: Session<Auth>) -> String {
    let Some(user) = auth.user.clone() else {
        return String::new();
    };
    let listed = auth.devices().unwrap().list(&user).await.unwrap();
    listed
        .iter()
        .map(|d| format!("{} {} {}", d.data().device, d.handle(), d.is_current()))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn revoke(auth: Session<Auth>, Path(handle): Path<String>) -> String {
    let user = auth.user.clone().unwrap_or_default();
    let handle = handle.parse().unwrap();
    auth.devices()
        .unwrap()
        .revoke(&user, &handle)
        .await
        .unwrap()
        .to_string()
}

async fn revoke_others(auth: Session<Auth>) -> String {
    let user = auth.user.clone().unwrap_or_default();
    auth.devices()
        .unwrap()
        .revoke_others(&user)
        .await
        .unwrap()
        .to_string()
}

async fn revoke_all(auth: Session<Auth>) -> String {
    let user = auth.user.clone().unwrap_or_default();
    auth.devices()
        .unwrap()
        .revoke_all(&user)
        .await
        .unwrap()
        .to_string()
}

fn routes() -> Router {
    Router::new()
        .route("/login/{user}/{device}", get(login))
        .route("/logout", get(logout))
        .route("/whoami", get(whoami))
        .route("/devices", get(devices))
        .route("/revoke/{handle}", get(revoke))
        .route("/revoke-others", get(revoke_others))
        .route("/revoke-all", get(revoke_all))
}

/// Logs a new client in; its cookie.
async fn client(app: &TestApp, user: &str, device: &str) -> String {
    let response = app.get(&format!("/login/{user}/{device}"), None).await;
    assert_eq!(response.status, 200);
    response.replay()
}

/// The devices `cookie`'s user sees: `(device, handle, current)`, oldest first.
async fn listing(app: &TestApp, cookie: &str) -> Vec<(String, String, bool)> {
    let response = app.get("/devices", Some(cookie)).await;
    assert_eq!(response.status, 200);
    response
        .body
        .lines()
        .map(|line| {
            let mut parts = line.split(' ');
            let device = parts.next().unwrap().to_owned();
            let handle = parts.next().unwrap().to_owned();
            (device, handle, parts.next() == Some("true"))
        })
        .collect()
}

async fn who(app: &TestApp, cookie: &str) -> String {
    app.get("/whoami", Some(cookie)).await.body
}

/// A layer on the same store and key as `app`, for a job outside any request.
pub(crate) fn admin(app: &TestApp) -> SessionLayer {
    layer(app.key.clone())
        .with_clock(app.clock.clone())
        .with_store(app.spy().clone())
}

on_backends!(
    every_device_of_a_user_is_listed_with_the_current_one_marked,
    [Memory],
    |backend| async move {
        let app = TestApp::new(backend, routes());
        let phone = client(&app, "ann", "phone").await;
        app.advance(Duration::from_millis(10));
        let laptop = client(&app, "ann", "laptop").await;
        let _bob = client(&app, "bob", "tablet").await;

        let seen = listing(&app, &laptop).await;
        let devices: Vec<(&str, bool)> = seen.iter().map(|(d, _, c)| (d.as_str(), *c)).collect();
        assert_eq!(
            devices,
            [("phone", false), ("laptop", true)],
            "oldest first, bob's not"
        );
        let from_phone = listing(&app, &phone).await;
        assert_eq!(
            from_phone.iter().filter(|(_, _, current)| *current).count(),
            1
        );
        assert_eq!(from_phone[0].0, "phone");
        assert!(from_phone[0].2, "the phone is current from the phone");
        // The handle is not the session id: the cookie does not contain it.
        assert!(
            seen.iter()
                .all(|(_, handle, _)| !laptop.contains(handle.as_str()))
        );
    }
);

on_backends!(
    one_device_is_revoked_by_its_handle_and_another_users_handle_revokes_nothing,
    [Memory],
    |backend| async move {
        let app = TestApp::new(backend, routes());
        let phone = client(&app, "ann", "phone").await;
        let laptop = client(&app, "ann", "laptop").await;
        let bob = client(&app, "bob", "tablet").await;
        let bobs_handle = listing(&app, &bob).await[0].1.clone();
        let phone_handle = listing(&app, &laptop)
            .await
            .into_iter()
            .find(|(device, _, _)| device == "phone")
            .unwrap()
            .1;

        let refused = app
            .get(&format!("/revoke/{bobs_handle}"), Some(&laptop))
            .await;
        assert_eq!(refused.body, "false", "not one of ann's sessions");
        assert_eq!(who(&app, &bob).await, "bob");

        let revoked = app
            .get(&format!("/revoke/{phone_handle}"), Some(&laptop))
            .await;
        assert_eq!(revoked.body, "true");
        assert_eq!(
            who(&app, &phone).await,
            "anonymous",
            "the phone is logged out"
        );
        assert_eq!(who(&app, &laptop).await, "ann");
        let left: Vec<String> = listing(&app, &laptop)
            .await
            .into_iter()
            .map(|d| d.0)
            .collect();
        assert_eq!(left, ["laptop"]);
    }
);

on_backends!(
    logging_out_other_devices_keeps_the_current_one,
    [Memory],
    |backend| async move {
        let app = TestApp::new(backend, routes());
        let phone = client(&app, "ann", "phone").await;
        let tablet = client(&app, "ann", "tablet").await;
        let laptop = client(&app, "ann", "laptop").await;
        let bob = client(&app, "bob", "phone").await;

        assert_eq!(app.get("/revoke-others", Some(&laptop)).await.body, "2");
        assert_eq!(who(&app, &phone).await, "anonymous");
        assert_eq!(who(&app, &tablet).await, "anonymous");
        assert_eq!(who(&app, &laptop).await, "ann", "the current session stays");
        assert_eq!(who(&app, &bob).await, "bob", "another user's stay");
    }
);

on_backends!(
    logging_out_everywhere_from_a_handler_ends_the_current_session_too,
    [Memory],
    |backend| async move {
        let app = TestApp::new(backend, routes());
        let phone = client(&app, "ann", "phone").await;
        let laptop = client(&app, "ann", "laptop").await;

        let response = app.get("/revoke-all", Some(&laptop)).await;
        assert_eq!(response.body, "2");
        assert_eq!(who(&app, &laptop).await, "anonymous");
        assert_eq!(who(&app, &phone).await, "anonymous");
    }
);

on_backends!(
    an_admin_job_outside_any_request_lists_and_revokes_a_users_sessions,
    [Memory],
    |backend| async move {
        let app = TestApp::new(backend, routes());
        let phone = client(&app, "ann", "phone").await;
        let laptop = client(&app, "ann", "laptop").await;
        let bob = client(&app, "bob", "phone").await;

        let devices = admin(&app).devices::<Auth>().unwrap();
        let listed = devices.list(&"ann").await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(
            listed.iter().all(|device| !device.is_current()),
            "no request, no current"
        );
        assert_eq!(
            devices.revoke_others(&"ann").await.unwrap(),
            2,
            "all of them"
        );
        assert_eq!(who(&app, &phone).await, "anonymous");
        assert_eq!(who(&app, &laptop).await, "anonymous");
        assert_eq!(who(&app, &bob).await, "bob");
        assert!(devices.list(&"ann").await.unwrap().is_empty());
    }
);

on_backends!(
    logged_out_and_expired_sessions_leave_the_listing,
    [Memory],
    |backend| async move {
        let app = TestApp::with(backend, routes(), |l| {
            l.with_idle_timeout(Duration::from_secs(60))
        });
        let devices = admin(&app).devices::<Auth>().unwrap();
        let phone = client(&app, "ann", "phone").await;
        let _laptop = client(&app, "ann", "laptop").await;
        assert_eq!(devices.list(&"ann").await.unwrap().len(), 2);

        assert_eq!(app.get("/logout", Some(&phone)).await.status, 200);
        let left = devices.list(&"ann").await.unwrap();
        assert_eq!(left.len(), 1, "logged out: no longer ann's");
        assert_eq!(left[0].data().device, "laptop");

        app.advance(Duration::from_secs(61));
        assert!(devices.list(&"ann").await.unwrap().is_empty(), "expired");
    }
);

on_backends!(
    sessions_stay_listed_across_a_key_rotation,
    [Memory],
    |backend| async move {
        let app = TestApp::new(backend, routes());
        let phone = client(&app, "ann", "phone").await;
        app.advance(Duration::from_millis(10));
        // The new key signs; the old one still verifies the phone's cookie.
        let new_key = Key::from_bytes(&[7u8; 64]).unwrap();
        let rotated = TestApp::sibling(&app, routes(), new_key.clone(), |l| {
            l.with_old_key(app.key.clone())
        });
        let laptop = client(&rotated, "ann", "laptop").await;
        let devices: Vec<String> = listing(&rotated, &laptop)
            .await
            .into_iter()
            .map(|d| d.0)
            .collect();
        assert_eq!(
            devices,
            ["phone", "laptop"],
            "the old key's digest is asked for too"
        );
        assert_eq!(who(&rotated, &phone).await, "ann");
        // That request renewed the phone's digest: once the old key is retired, a layer with
        // the new key alone still finds it.
        let retired = layer(new_key)
            .with_clock(app.clock.clone())
            .with_store(app.spy().clone());
        let listed = retired
            .devices::<Auth>()
            .unwrap()
            .list(&"ann")
            .await
            .unwrap();
        let names: Vec<&str> = listed.iter().map(|d| d.data().device.as_str()).collect();
        assert_eq!(names, ["phone", "laptop"]);
    }
);

#[tokio::test]
async fn the_cookie_store_refuses_to_list_sessions_it_does_not_keep() {
    let error = layer(test_key()).devices::<Auth>().unwrap_err();
    assert!(error.to_string().contains("cookie store"), "{error}");
}
