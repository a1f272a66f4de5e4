//! ID — ids, regeneration, fixation.

use axum::Router;
use axum::routing::get;
use serde_json::json;
use typed_sessions::{Session, store::SessionStore};

use crate::harness::*;
use crate::on_backends;

/// Whether `id` looks like 256 bits of base64url (43 characters, no padding).
fn is_256_bit_base64url(id: &str) -> bool {
    id.len() == 43
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[tokio::test]
async fn id_01_fresh_unique_high_entropy_ids() {
    let app = TestApp::new(Backend::Memory, reference_routes());
    let (a, b) = tokio::join!(app.get("/set", None), app.get("/set", None));
    assert_eq!(a.status, 200);
    assert_eq!(b.status, 200);
    let (id_a, id_b) = (id_of(&a.session_value()), id_of(&b.session_value()));
    assert_ne!(id_a, id_b);
    for id in [&id_a, &id_b] {
        // 43 base64url characters carry 258 bits, of which 256 are the id's.
        assert!(is_256_bit_base64url(id), "{id}");
    }
    assert_eq!(app.store_calls(), ["create", "create"]);
    assert_eq!(app.spy().inner.len().await, 2);

    // Many more, all distinct and well formed.
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        let r = app.get("/set", None).await;
        let id = id_of(&r.session_value());
        assert!(is_256_bit_base64url(&id), "{id}");
        assert!(seen.insert(id), "an id came up twice");
    }
}

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
        assert!(is_256_bit_base64url(&id1), "{id1}");
        app.store_calls();

        let r2 = app.get("/login", Some(&s1)).await;
        assert_eq!(r2.status, 200);
        assert_eq!(r2.body, "hi");
        let s2 = r2.replay();
        assert_ne!(s2, s1);

        if backend.is_store() {
            assert_ne!(id_of(&r2.session_value()), id_of(&r1.session_value()));
            let (old, new) = (store_key_of(&s1), store_key_of(&s2));
            let calls = app.spy().take_calls();
            assert_eq!(calls.len(), 3, "{calls:?}");
            assert!(matches!(&calls[0], Call::Load(k) if *k == old), "{calls:?}");
            let Call::Create(created, record) = &calls[1] else {
                panic!("{calls:?}")
            };
            assert_eq!(created, &new);
            assert_eq!(json!(record.fields()), json!({"message": "hi"}));
            assert!(
                matches!(&calls[2], Call::Remove(k) if *k == old),
                "{calls:?}"
            );
            assert!(app.spy().inner.load(&old).await.unwrap().is_none());

            // The old cookie is dead.
            let r3 = app.get("/is_new", Some(&s1)).await;
            assert_eq!(r3.body, "true");
            let r4 = app.get("/read", Some(&s1)).await;
            assert_eq!(r4.body, "");
        }

        let id2 = app.get("/id", Some(&s2)).await.body;
        assert!(is_256_bit_base64url(&id2), "{id2}");
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

#[tokio::test]
async fn id_06_invalidly_signed_id_is_never_looked_up() {
    let app = TestApp::new(Backend::Memory, reference_routes());
    let r1 = app.get("/set", None).await;
    let value = r1.session_value();
    app.store_calls();

    // The real id of a live session, with a MAC that does not verify.
    let (signed, mac) = value.rsplit_once('.').unwrap();
    let first = if mac.starts_with('A') { "B" } else { "A" };
    let forged = format!("session={signed}.{first}{}", &mac[1..]);
    let r2 = app.get("/is_new", Some(&forged)).await;
    assert_eq!(r2.status, 200);
    assert_eq!(r2.body, "true");
    assert!(r2.set_cookies().is_empty(), "{r2:?}");
    assert!(app.store_calls().is_empty(), "no load for a forged cookie");

    // An arbitrary id under the real key id, with a made-up MAC.
    let kid = value.split('.').nth(1).unwrap();
    let arbitrary = format!("session=1.{kid}.{}.{}", "x".repeat(43), "y".repeat(43));
    let r3 = app.get("/read", Some(&arbitrary)).await;
    assert_eq!(r3.status, 200);
    assert_eq!(r3.body, "");
    assert!(app.store_calls().is_empty(), "no load for a forged cookie");

    // The genuine cookie still loads.
    let r4 = app.get("/read", Some(&r1.replay())).await;
    assert_eq!(r4.body, "hello");
    assert_eq!(app.store_calls(), ["load"]);
}
