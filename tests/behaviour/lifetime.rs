//! A session's own lifetime (`Session::set_lifetime`, "remember me"): persistent for a chosen
//! duration or a browser-session cookie, honoured by the server's expiry and the cookie's
//! `Max-Age`, kept across requests, idle refreshes, `regenerate()` and key rotation, and never
//! beyond the layer's maximum, whatever the client or the store claims; on every store.
//! EXP-06 (a lifetime set alone is saved) is one of them.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use typed_sessions::lifetime::Lifetime;
use typed_sessions::store::{Fields, Patch, SessionStore};
use typed_sessions::{Key, Session};

use typed_sessions_tests::wire::{self, store_key_of};
use typed_sessions_tests::*;

const SECOND: Duration = Duration::from_secs(1);
/// What `/remember` asks for: longer than the layer's idle (1 s) and absolute (10 s) timeouts.
const REMEMBER: Duration = Duration::from_secs(30);

/// Sets the message and remembers the session for [`REMEMBER`].
async fn remember(mut session: Session<Msg>) {
    session.message = "hello".into();
    session.set_lifetime(Lifetime::remember_for(REMEMBER));
}

/// Only chooses a lifetime: no field changes.
async fn remember_only(mut session: Session<Msg>) {
    session.set_lifetime(Lifetime::remember_for(REMEMBER));
}

/// Remembers the session for a year: more than any maximum here.
async fn remember_a_year(mut session: Session<Msg>) {
    session.message = "hello".into();
    session.set_lifetime(Lifetime::remember_for(365 * 24 * 3600 * SECOND));
}

/// Sets the message in a browser-session cookie.
async fn browser(mut session: Session<Msg>) {
    session.message = "hello".into();
    session.set_lifetime(Lifetime::browser_session());
}

/// Remembered for [`REMEMBER`], but ended after 5 s unused.
async fn remember_idle(mut session: Session<Msg>) {
    session.message = "hello".into();
    session.set_lifetime(Lifetime::remember_for(REMEMBER).with_idle_timeout(5 * SECOND));
}

async fn forget(mut session: Session<Msg>) {
    session.reset_lifetime();
}

async fn regenerate(mut session: Session<Msg>) {
    session.regenerate();
}

/// The session's own lifetime, as `Debug`.
async fn lifetime(session: Session<Msg>) -> String {
    format!("{:?}", session.lifetime())
}

fn routes() -> Router {
    reference_routes()
        .route("/remember", get(remember))
        .route("/remember_only", get(remember_only))
        .route("/remember_a_year", get(remember_a_year))
        .route("/browser", get(browser))
        .route("/remember_idle", get(remember_idle))
        .route("/forget", get(forget))
        .route("/regenerate", get(regenerate))
        .route("/lifetime", get(lifetime))
}

/// Layer timeouts shorter than [`REMEMBER`], and a maximum of a minute.
fn app(backend: Backend) -> TestApp {
    TestApp::with(backend, routes(), |l| {
        l.with_idle_timeout(SECOND)
            .with_absolute_timeout(10 * SECOND)
            .with_max_lifetime(60 * SECOND)
    })
}

/// The `Max-Age` of a `Set-Cookie` value, if it has one.
fn max_age(set_cookie: &str) -> Option<i64> {
    cookie::Cookie::parse(set_cookie.to_owned())
        .unwrap()
        .max_age()
        .map(|age| age.whole_seconds())
}

/// The cookie a client holds after `response`: the newest one sent, else `held`.
fn newest(held: String, response: &TestResponse) -> String {
    if response.issued().is_some() {
        response.replay()
    } else {
        held
    }
}

on_backends!(
    remember_me_outlives_the_layer_timeouts_until_its_own_end,
    [Cookie, Memory],
    |backend| async move {
        let app = app(backend);
        let r1 = app.get("/remember", None).await;
        let set = r1.session_cookie().expect("a session cookie");
        assert_eq!(max_age(&set), Some(30), "{set}");
        let cookie = r1.replay();

        // Past the layer's idle (1 s) and absolute (10 s) timeouts.
        app.advance(20 * SECOND);
        assert_eq!(app.get("/read", Some(&cookie)).await.body, "hello");
        app.advance(10 * SECOND);
        let gone = app.get("/read", Some(&cookie)).await;
        assert_eq!(gone.body, "", "30 s after creation the session is over");
    }
);

on_backends!(
    exp_06_a_lifetime_set_alone_is_saved_and_kept,
    [Cookie, Memory],
    |backend| async move {
        let app = app(backend);
        let r1 = app.get("/remember_only", None).await;
        let set = r1
            .session_cookie()
            .expect("a lifetime alone starts a session");
        assert_eq!(max_age(&set), Some(30), "{set}");
        let mut cookie = r1.replay();
        // A field change later keeps the chosen lifetime: `Max-Age` counts down from creation.
        app.advance(15 * SECOND);
        let r2 = app.get("/set", Some(&cookie)).await;
        let set = r2
            .session_cookie()
            .expect("a persistent cookie follows the write");
        assert_eq!(max_age(&set), Some(15), "{set}");
        cookie = newest(cookie, &r2);
        let r3 = app.get("/lifetime", Some(&cookie)).await;
        assert_eq!(
            r3.body,
            format!("{:?}", Some(Lifetime::remember_for(REMEMBER)))
        );
    }
);

on_backends!(
    a_browser_session_cookie_has_no_max_age_and_the_server_still_expires_it,
    [Cookie, Memory],
    |backend| async move {
        let app = app(backend);
        let r1 = app.get("/browser", None).await;
        let set = r1.session_cookie().expect("a session cookie");
        assert_eq!(max_age(&set), None, "{set}");
        assert!(!set.contains("Expires"), "{set}");
        let cookie = r1.replay();
        let r2 = app.get("/count", Some(&cookie)).await;
        if let Some(set) = r2.session_cookie() {
            assert_eq!(max_age(&set), None, "still a browser-session cookie: {set}");
        }
        let cookie = newest(cookie, &r2);
        // The layer's idle timeout (1 s) still ends it on the server.
        app.advance(2 * SECOND);
        assert_eq!(app.get("/read", Some(&cookie)).await.body, "");
    }
);

on_backends!(
    a_reset_lifetime_makes_the_cookie_the_layers_again,
    [Cookie, Memory],
    |backend| async move {
        let app = app(backend);
        let cookie = app.get("/browser", None).await.replay();
        let r2 = app.get("/forget", Some(&cookie)).await;
        let set = r2
            .session_cookie()
            .expect("the cookie changes back to a persistent one");
        assert_eq!(max_age(&set), Some(1), "the layer's idle timeout: {set}");
        let cookie = newest(cookie, &r2);
        assert_eq!(app.get("/lifetime", Some(&cookie)).await.body, "None");
    }
);

on_backends!(
    the_lifetime_survives_idle_refreshes_regenerate_and_key_rotation,
    [Cookie, Memory],
    |backend| async move {
        let app = app(backend);
        let mut cookie = app.get("/remember_idle", None).await.replay();
        let rotated = app.sibling(routes(), Key::from_bytes(&[7u8; 64]).unwrap(), |l| {
            l.with_old_key(test_key())
                .with_idle_timeout(SECOND)
                .with_absolute_timeout(10 * SECOND)
                .with_max_lifetime(60 * SECOND)
        });
        // Every 4 s (inside its own 5 s idle timeout, far outside the layer's 1 s) for 28 s:
        // idle refreshes, a regeneration at 12 s, the key rotated at 20 s.
        for step in 1..=7 {
            app.advance(4 * SECOND);
            let server = if step >= 5 { &rotated } else { &app };
            let path = if step == 3 { "/regenerate" } else { "/read" };
            let r = server.get(path, Some(&cookie)).await;
            assert_eq!(r.status, 200, "step {step}");
            cookie = newest(cookie, &r);
            let read = server.get("/read", Some(&cookie)).await;
            assert_eq!(read.body, "hello", "step {step}, {} s", step * 4);
            cookie = newest(cookie, &read);
        }
        let kept = rotated.get("/lifetime", Some(&cookie)).await.body;
        let chosen = Lifetime::remember_for(REMEMBER).with_idle_timeout(5 * SECOND);
        assert_eq!(kept, format!("{:?}", Some(chosen)));
        // The absolute timeout counts from creation (t = 0), not from the regeneration.
        app.advance(3 * SECOND);
        assert_eq!(rotated.get("/read", Some(&cookie)).await.body, "");
    }
);

on_backends!(
    its_own_idle_timeout_ends_an_unused_remembered_session,
    [Cookie, Memory],
    |backend| async move {
        let app = app(backend);
        let cookie = app.get("/remember_idle", None).await.replay();
        app.advance(6 * SECOND);
        assert_eq!(app.get("/read", Some(&cookie)).await.body, "");
    }
);

on_backends!(
    the_layers_maximum_caps_a_chosen_lifetime,
    [Cookie, Memory],
    |backend| async move {
        let app = app(backend);
        let r1 = app.get("/remember_a_year", None).await;
        let set = r1.session_cookie().expect("a session cookie");
        assert_eq!(max_age(&set), Some(60), "the maximum, not a year: {set}");
        let cookie = r1.replay();
        app.advance(59 * SECOND);
        assert_eq!(app.get("/read", Some(&cookie)).await.body, "hello");
        app.advance(SECOND);
        assert_eq!(app.get("/read", Some(&cookie)).await.body, "");
    }
);

on_backends!(
    a_lowered_maximum_applies_to_sessions_already_stored,
    [Cookie, Memory],
    |backend| async move {
        let app = app(backend);
        let cookie = app.get("/remember", None).await.replay();
        // Redeployed with a maximum of 5 s: the stored 30 s no longer count.
        let lowered = app.sibling(routes(), test_key(), |l| {
            l.with_idle_timeout(SECOND)
                .with_absolute_timeout(10 * SECOND)
                .with_max_lifetime(5 * SECOND)
        });
        app.advance(6 * SECOND);
        assert_eq!(
            app.get("/read", Some(&cookie)).await.body,
            "hello",
            "the old maximum keeps it: the cut below is the new maximum's doing"
        );
        assert_eq!(lowered.get("/read", Some(&cookie)).await.body, "");
    }
);

mod a_lifetime_tampered_with_in_the_cookie_is_rejected {
    use super::*;

    /// A signed (not encrypted) cookie-store value whose JSON payload `edit` changed, with its
    /// original MAC, or a new valid one when `master` is given.
    fn edited(
        value: &str,
        edit: impl FnOnce(&mut serde_json::Value),
        master: Option<&[u8]>,
    ) -> String {
        let mut payload = wire::cookie_payload(value);
        edit(&mut payload);
        let json = serde_json::to_vec(&payload).unwrap();
        match master {
            Some(master) => wire::signed_data(master, &json),
            None => {
                let mut parts: Vec<String> = value.split('.').map(str::to_owned).collect();
                parts[2] = URL_SAFE_NO_PAD.encode(&json);
                parts.join(".")
            }
        }
    }

    #[tokio::test]
    #[allow(non_snake_case)]
    async fn Cookie() {
        let app = TestApp::with(Backend::Cookie, routes(), |l| {
            l.with_encryption(false)
                .with_idle_timeout(SECOND)
                .with_absolute_timeout(10 * SECOND)
                .with_max_lifetime(60 * SECOND)
        });
        let r1 = app.get("/remember", None).await;
        let value = r1.session_value();
        assert!(
            wire::cookie_fields(&value).get("$lifetime").is_some(),
            "the lifetime travels in the signed payload"
        );
        let a_year = json!({"p": true, "i": null, "a": 365_i64 * 24 * 3600 * 1000});
        let claim = |payload: &mut serde_json::Value| payload["d"]["$lifetime"] = a_year.clone();

        // The client's own edit: the MAC no longer matches, the cookie is not adopted.
        let forged = format!("session={}", edited(&value, claim, None));
        assert_eq!(app.get("/is_new", Some(&forged)).await.body, "true");
        app.store_calls();

        // Even a validly signed claim (a value from a deploy with a higher maximum) is cut to
        // this layer's maximum.
        let signed = format!("session={}", edited(&value, claim, Some(&[42u8; 64])));
        assert_eq!(app.get("/read", Some(&signed)).await.body, "hello");
        app.advance(60 * SECOND);
        assert_eq!(app.get("/read", Some(&signed)).await.body, "");
    }
}

on_backends!(
    a_record_edited_to_claim_more_than_the_maximum_is_capped,
    [Memory],
    |backend| async move {
        let app = app(backend);
        let cookie = app.get("/remember", None).await.replay();
        let key = store_key_of(&cookie);
        // Behind the library's back (raw SQL, a Redis `HSET`): the stored lifetime claims a
        // year.
        let a_year = json!({"p": true, "i": null, "a": 365_i64 * 24 * 3600 * 1000});
        app.spy()
            .inner
            .overwrite_field(&key, "$lifetime", &a_year)
            .await;
        let claimed = app.get("/lifetime", Some(&cookie)).await.body;
        assert!(
            claimed.contains("31536000000"),
            "the edit landed: {claimed}"
        );

        // The next write stores and sends the maximum (60 s from creation), not a year.
        app.advance(SECOND);
        let r = app.get("/count", Some(&cookie)).await;
        let set = r
            .session_cookie()
            .expect("a persistent cookie follows the write");
        assert_eq!(max_age(&set), Some(59), "{set}");
        app.advance(58 * SECOND);
        assert_eq!(app.get("/read", Some(&cookie)).await.body, "hello");
        app.advance(SECOND);
        assert_eq!(app.get("/read", Some(&cookie)).await.body, "");
    }
);

on_backends!(
    a_record_claiming_a_far_expiry_is_cut_on_load,
    [Memory],
    |backend| async move {
        let app = app(backend);
        let cookie = app.get("/remember", None).await.replay();
        let key = store_key_of(&cookie);
        // Written through the store itself, behind the layer: the stored lifetime claims a
        // year, and so does the record's expiry, which the store then keeps that long.
        let a_year = 365 * 24 * 3600 * SECOND;
        let mut changed = Fields::new();
        changed.insert(
            "$lifetime".into(),
            json!({"p": true, "i": null, "a": 365_i64 * 24 * 3600 * 1000}),
        );
        let far = app.clock.now() + a_year;
        let patch = Patch::new(changed, Vec::new(), far);
        app.spy().inner.patch(&key, &patch).await.unwrap();
        let claimed = app.get("/lifetime", Some(&cookie)).await.body;
        assert!(
            claimed.contains("31536000000"),
            "the edit landed: {claimed}"
        );

        app.advance(59 * SECOND);
        let r = app.get("/read", Some(&cookie)).await;
        assert_eq!(r.body, "hello");
        if let Some(set) = r.session_cookie() {
            assert!(max_age(&set).unwrap() <= 1, "{set}");
        }
        app.advance(SECOND);
        assert_eq!(app.get("/read", Some(&cookie)).await.body, "");
    }
);
