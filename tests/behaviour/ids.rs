//! Session ids: fresh ids are unique and of high entropy (ID-01), and an id whose signature does
//! not verify is never looked up (ID-06). Regeneration and fixation (ID-02 to ID-05) are in
//! `fixation.rs`.

use typed_sessions_tests::wire::{id_of, is_well_formed_id};
use typed_sessions_tests::*;

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
        assert!(is_well_formed_id(id), "{id}");
    }
    assert_eq!(app.store_calls(), ["create", "create"]);
    assert_eq!(app.spy().inner.len().await, 2);

    // Many more, all distinct and well formed.
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        let r = app.get("/set", None).await;
        let id = id_of(&r.session_value());
        assert!(is_well_formed_id(&id), "{id}");
        assert!(seen.insert(id), "an id came up twice");
    }
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
