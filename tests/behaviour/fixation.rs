//! Session fixation and regeneration, on the cookie store and on every store: `regenerate()`
//! keeps the data, gives a new id and leaves the old id dead (ID-02, ID-03), replacing the value
//! is not regeneration (ID-04), a login never adopts the id the client came with (ID-05), and an
//! id the client chose — forged, signed by another key, or authentic but unknown to the store —
//! is never adopted.

use axum::Router;
use axum::routing::get;
use serde_json::json;
use time::OffsetDateTime;
use typed_sessions::{Session, store::SessionStore};
use typed_sessions_tests::wire::{self, id_of, is_well_formed_id, store_key_of};
use typed_sessions_tests::*;

// --- regeneration (ID-02 to ID-05) ---

/// `/login`: sets `message = "hi"`, regenerates when the request carried a session, and
/// answers with `message`.
async fn login(mut session: Session<Msg>) -> String {
    session.message = "hi".into();
    if !session.is_new() {
        session.regenerate();
    }
    assert_eq!(session.message, "hi");
    session.message.clone()
}

/// Answers the session id, or nothing for a new session.
async fn session_id(session: Session<Msg>) -> String {
    session
        .id()
        .map(|id| id.as_str().to_owned())
        .unwrap_or_default()
}

on_backends!(
    id_02_regenerate_keeps_data_changes_id_kills_old,
    [Cookie, Memory],
    |backend| async move {
        let routes = reference_routes()
            .route("/login", get(login))
            .route("/id", get(session_id));
        let app = TestApp::new(backend, routes);
        let r1 = app.get("/login", None).await;
        assert_eq!(r1.status, 200);
        let s1 = r1.replay();
        let id1 = app.get("/id", Some(&s1)).await.body;
        assert!(is_well_formed_id(&id1), "{id1}");
        app.store_calls();

        let r2 = app.get("/login", Some(&s1)).await;
        assert_eq!(r2.status, 200);
        assert_eq!(r2.body, "hi");
        let s2 = r2.replay();
        assert_ne!(s2, s1);

        if backend.is_store() {
            assert_ne!(id_of(&r2.session_value()), id_of(&r1.session_value()));
            let (old, new) = (store_key_of(&s1), store_key_of(&s2));
            // One atomic move: the stored session goes to the new key with this request's
            // changes (none: the message was already "hi"), and the old key holds nothing.
            let calls = app.spy().take_calls();
            let [Call::Load(loaded), Call::Rekey(from, to, patch)] = calls.as_slice() else {
                panic!("a load, then one rekey: {calls:?}")
            };
            assert_eq!((loaded, from, to), (&old, &old, &new));
            assert!(
                patch.changed().is_empty() && patch.removed().is_empty(),
                "{patch:?}"
            );
            assert!(app.spy().inner.load(&old).await.unwrap().is_none());
            let moved = app.spy().inner.load(&new).await.unwrap().expect("moved");
            assert_eq!(json!(moved.fields()), json!({"message": "hi"}));

            // The old cookie is dead.
            let r3 = app.get("/is_new", Some(&s1)).await;
            assert_eq!(r3.body, "true");
            let r4 = app.get("/read", Some(&s1)).await;
            assert_eq!(r4.body, "");
        }

        let id2 = app.get("/id", Some(&s2)).await.body;
        assert!(is_well_formed_id(&id2), "{id2}");
        assert_ne!(id2, id1);
        let r5 = app.get("/read", Some(&s2)).await;
        assert_eq!(r5.body, "hi");
        let r6 = app.get("/is_new", Some(&s2)).await;
        assert_eq!(r6.body, "false");
    }
);

/// Sets `message` and regenerates, whatever the session.
async fn set_and_regenerate(mut session: Session<Msg>) {
    session.message = "hello".into();
    session.regenerate();
}

#[tokio::test]
async fn id_03_regenerate_on_a_new_session() {
    let app = TestApp::new(
        Backend::Memory,
        reference_routes().route("/regen", get(set_and_regenerate)),
    );
    let r1 = app.get("/regen", None).await;
    assert_eq!(r1.status, 200);
    assert_eq!(r1.set_cookies().len(), 1, "{r1:?}");
    let calls = app.spy().take_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let Call::Create(created, _) = &calls[0] else {
        panic!("{calls:?}")
    };
    assert_eq!(created, &store_key_of(&r1.replay()));
    let r2 = app.get("/read", Some(&r1.replay())).await;
    assert_eq!(r2.body, "hello");
}

/// Replaces the whole value.
async fn replace(mut session: Session<Msg>) {
    *session = Msg {
        message: "replaced".into(),
        count: 7,
    };
}

#[tokio::test]
async fn id_04_replacing_the_value_is_not_regeneration() {
    let app = TestApp::new(
        Backend::Memory,
        reference_routes().route("/replace", get(replace)),
    );
    let r1 = app.get("/set", None).await;
    let x = store_key_of(&r1.replay());
    app.store_calls();

    let r2 = app.get("/replace", Some(&r1.replay())).await;
    assert_eq!(r2.status, 200);
    let calls = app.spy().take_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(matches!(&calls[0], Call::Load(k) if *k == x), "{calls:?}");
    let Call::Patch(patched, patch) = &calls[1] else {
        panic!("{calls:?}")
    };
    assert_eq!(patched, &x, "the same id");
    assert_eq!(
        json!(patch.changed()),
        json!({"message": "replaced", "count": 7})
    );
    // If the cookie is re-sent (persistent cookie), it carries the same id.
    if r2.session_cookie().is_some() {
        assert_eq!(id_of(&r2.session_value()), id_of(&r1.session_value()));
    }
    let record = app.spy().inner.load(&x).await.unwrap().expect("a record");
    assert_eq!(
        json!(record.fields()),
        json!({"message": "replaced", "count": 7})
    );
    assert_eq!(app.spy().inner.len().await, 1);
}

#[derive(typed_sessions::Session, Default)]
struct Auth {
    user: Option<String>,
}

fn login_routes() -> Router {
    async fn victim_login(mut auth: Session<Auth>) {
        auth.regenerate();
        auth.user = Some("victim".into());
    }
    async fn whoami(auth: Session<Auth>) -> String {
        auth.user.clone().unwrap_or_default()
    }
    reference_routes()
        .route("/victim_login", get(victim_login))
        .route("/whoami", get(whoami))
}

#[tokio::test]
async fn id_05_no_id_adoption_on_login() {
    let app = TestApp::new(Backend::Memory, login_routes());
    // The attacker's own anonymous session.
    let attacker = app.get("/count", None).await;
    let c_att = attacker.replay();
    let a = store_key_of(&c_att);
    app.store_calls();

    // The victim logs in carrying the attacker's cookie.
    let victim = app.get("/victim_login", Some(&c_att)).await;
    assert_eq!(victim.status, 200);
    let c_vic = victim.replay();
    let v = store_key_of(&c_vic);
    assert_ne!(
        id_of(&victim.session_value()),
        id_of(&attacker.session_value())
    );
    assert_ne!(v, a);

    let at_v = app.spy().inner.load(&v).await.unwrap().expect("a record");
    assert_eq!(at_v.fields()["user"], "victim");
    let at_a = app.spy().inner.load(&a).await.unwrap();
    assert!(
        at_a.is_none_or(|r| !r.fields().contains_key("user")),
        "the attacker's id must not carry the victim's login"
    );

    let seen_by_attacker = app.get("/whoami", Some(&c_att)).await;
    assert_eq!(seen_by_attacker.body, "");
    let seen_by_victim = app.get("/whoami", Some(&c_vic)).await;
    assert_eq!(seen_by_victim.body, "victim");
}

// --- a client-chosen id is never adopted ---

/// The attacker's candidate cookies for a session id of its choice. Unsigned, signed with a key
/// the app does not have, or in the shape of the other cookie kind.
fn forged_cookies(backend: Backend, id: &str, app_key: &[u8]) -> Vec<String> {
    let stranger = wire::master(0xEE);
    let now = OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let payload = json!({"i": id, "c": now, "s": now, "d": {"user": "mallory"}}).to_string();
    let payload = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        payload.as_bytes(),
    );
    let kid = wire::kid(app_key);
    let mut forged = vec![
        id.to_owned(),
        format!("1.{kid}.{id}"),
        format!("1.{kid}.{id}.{}", "A".repeat(43)),
        wire::signed(&stranger, "1", id),
        format!("2.{kid}.{payload}.{}", "A".repeat(43)),
        wire::signed(&stranger, "2", &payload),
    ];
    // The other kind of cookie, really signed with the app's key and carrying the chosen id:
    // an id cookie is not a cookie-store cookie, and a cookie-store cookie is not an id cookie.
    if backend == Backend::Cookie {
        forged.push(wire::signed(app_key, "1", id));
    } else {
        forged.push(wire::signed(app_key, "2", &payload));
    }
    forged
}

/// A client-chosen id is never adopted: a forged cookie naming it leads, once the session is
/// written, to a session with a new id, and nothing is ever stored under the chosen one.
async fn fixation_chosen_id(backend: Backend) {
    let place = Place::new(backend);
    let key = wire::master(0xF1);
    let app = start(&place, account_routes(), &key, &[], false);
    for (n, forged) in forged_cookies(backend, &wire::chosen_id('M'), &key)
        .iter()
        .enumerate()
    {
        let chosen = wire::chosen_id('M');
        let read = get_with(&app, "/read", Some(forged)).await;
        assert_reads(&read, true, "", 0, &format!("forged cookie {n}: {forged}"));
        let reply = get_with(&app, "/sign_in/victim", Some(forged)).await;
        assert_eq!(reply.status, 200, "forged cookie {n}: {}", reply.body);
        let issued = reply.issued().expect("a new session cookie");
        let issued_id = wire::session_id(&issued, &key);
        assert_ne!(issued_id, chosen, "forged cookie {n} had its id adopted");
        assert_eq!(issued_id.len(), 43);
        if backend != Backend::Cookie {
            assert!(
                place.record(&chosen).await.is_none(),
                "forged cookie {n}: a record under the attacker's id"
            );
            let record = place.record(&issued_id).await.expect("the new session");
            assert_eq!(record.fields()["user"], "victim");
        }
        // The forged cookie still reads nothing of the victim's session.
        let after = get_with(&app, "/read", Some(forged)).await;
        assert_reads(
            &after,
            true,
            "",
            0,
            &format!("forged cookie {n} after login"),
        );
    }
}

on_backends!(
    fixation_forged_id_is_never_adopted,
    [Cookie, Memory],
    fixation_chosen_id
);

/// A cookie the app's key really signed, for an id its store does not know (obtained from
/// another instance with the same key, whose session was then removed, or from an instance
/// with a store of its own): not adopted either.
async fn fixation_signed_unknown_id(backend: Backend) {
    if backend == Backend::Cookie {
        return; // the cookie is the store: an authentic cookie is a known session
    }
    let key = wire::master(0xF2);
    let place = Place::new(backend);
    let elsewhere = Place::new(backend);
    let app = start(&place, account_routes(), &key, &[], false);
    let sibling = start(&place, account_routes(), &key, &[], false);
    let other = start(&elsewhere, account_routes(), &key, &[], false);

    // An id the sibling instance issued, then removed (log out).
    let mut attacker = Browser::default();
    assert_eq!(attacker.get(&sibling, "/sign_in/mallory").await.status, 200);
    let removed = attacker.cookie();
    assert_eq!(attacker.get(&sibling, "/logout").await.status, 200);
    // An id that lives only in another instance's store.
    let foreign = get_with(&other, "/sign_in/mallory", None)
        .await
        .issued()
        .unwrap();

    for (what, cookie) in [("removed", removed), ("foreign", foreign)] {
        assert!(wire::verifies(&key, &cookie), "{what}: authentic");
        let chosen = wire::session_id(&cookie, &key);
        assert!(place.record(&chosen).await.is_none(), "{what}: not stored");
        let read = get_with(&app, "/read", Some(&cookie)).await;
        assert_reads(&read, true, "", 0, what);
        let reply = get_with(&app, "/sign_in/victim", Some(&cookie)).await;
        assert_eq!(reply.status, 200, "{what}: {}", reply.body);
        let issued_id = wire::session_id(&reply.issued().expect("a new cookie"), &key);
        assert_ne!(issued_id, chosen, "{what}: the known id was adopted");
        assert!(
            place.record(&chosen).await.is_none(),
            "{what}: a record under the attacker's id"
        );
        assert_eq!(
            place.record(&issued_id).await.unwrap().fields()["user"],
            "victim"
        );
        let after = get_with(&app, "/read", Some(&cookie)).await;
        assert_reads(&after, true, "", 0, &format!("{what} after login"));
    }
}

on_backends!(
    fixation_signed_unknown_id_is_never_adopted,
    [Cookie, Memory],
    fixation_signed_unknown_id
);

/// The classic fixation: the attacker plants its own valid session cookie on the victim, who
/// logs in (`regenerate()`). The planted id is dead afterwards: it reads an empty session and
/// the store holds nothing under it. On the cookie store, a copied cookie cannot be revoked
/// (README, "Revocation"): it keeps reading the pre-login data it carries, never the login.
async fn fixation_regenerate(backend: Backend) {
    let place = Place::new(backend);
    let key = wire::master(0xF3);
    let app = start(&place, account_routes(), &key, &[], false);

    let mut attacker = Browser::default();
    assert_eq!(attacker.get(&app, "/count").await.status, 200);
    let planted = attacker.cookie();
    let planted_id = wire::session_id(&planted, &key);
    if backend != Backend::Cookie {
        assert!(place.record(&planted_id).await.is_some());
    }

    let mut victim = Browser {
        cookie: Some(planted.clone()),
    };
    let login = victim.get(&app, "/login/victim").await;
    assert_eq!(login.status, 200, "{}", login.body);
    let victim_id = wire::session_id(&victim.cookie(), &key);
    assert_ne!(victim_id, planted_id, "regenerate() gives a new id");
    assert_reads(
        &victim.get(&app, "/read").await,
        false,
        "victim",
        1,
        "the victim keeps the session's data under the new id",
    );

    let seen = get_with(&app, "/read", Some(&planted)).await;
    if backend == Backend::Cookie {
        assert_reads(&seen, false, "", 1, "copied cookie-store cookie");
    } else {
        assert_reads(&seen, true, "", 0, "the planted id after regenerate()");
        assert!(
            place.record(&planted_id).await.is_none(),
            "the store still has the old id's record"
        );
        assert_eq!(
            place.record(&victim_id).await.unwrap().fields()["user"],
            "victim"
        );
        // A write through the dead cookie does not bring the old id back.
        let write = get_with(&app, "/count", Some(&planted)).await;
        assert_eq!(write.status, 200, "{}", write.body);
        let revived = wire::session_id(&write.issued().unwrap(), &key);
        assert_ne!(revived, planted_id);
        assert!(place.record(&planted_id).await.is_none());
    }
}

on_backends!(
    fixation_regenerate_kills_the_old_id,
    [Cookie, Memory],
    fixation_regenerate
);
