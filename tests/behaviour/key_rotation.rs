//! Key rotation, on the cookie store and on every store: a cookie of an older key in the ring is
//! accepted and re-signed with the newest (SIG-05), new cookies are signed with the first key
//! only (SIG-06), a removed key's cookies are no session (SIG-07); and across restarts, cookies
//! signed by a retired key keep working while it is an old key, come back re-signed with the new
//! one, and start a fresh session once it is gone.

use typed_sessions_tests::wire::{self, value_of};
use typed_sessions_tests::*;

use crate::signing::{assert_rejected, key, sig_routes};

// --- the key ring (SIG-05 to SIG-07) ---

on_backends!(
    sig_05_cookie_of_an_older_key_is_accepted_and_resigned,
    [Cookie, Memory],
    |backend| async move {
        let (k_old, k_new) = (key(1), key(2));
        let issuer = TestApp::with_key(backend, sig_routes(), k_old.clone(), |l| l);
        let old = issuer.get("/set_bob", None).await.replay();
        let verifier = issuer.sibling(sig_routes(), k_new.clone(), |l| l.with_old_key(k_old));
        let new_only = issuer.sibling(sig_routes(), k_new, |l| l);
        issuer.store_calls();

        let r2 = verifier.get("/read", Some(&old)).await;
        assert_eq!(r2.status, 200);
        assert_eq!(r2.body, "bob");
        // Re-issued, signed with the newest key, for the same session.
        let resigned = r2.replay();
        assert_ne!(resigned, old);
        let kid = |replay: &str| value_of(replay).split('.').nth(1).unwrap().to_owned();
        assert_ne!(kid(&resigned), kid(&old));
        // (The cookie store's cookies are sealed by the key that issued them.)
        assert_eq!(
            wire::session_id(value_of(&resigned), &[2u8; 64]),
            wire::session_id(value_of(&old), &[1u8; 64]),
        );
        if backend.is_store() {
            // Re-signing the id cookie writes nothing to the store.
            assert_eq!(verifier.store_calls(), ["load"]);
        }
        // The re-signed cookie no longer needs the old key, and is not re-issued again.
        let r3 = new_only.get("/read", Some(&resigned)).await;
        assert_eq!(r3.body, "bob");
        assert!(r3.set_cookies().is_empty(), "{:?}", r3.headers);
        let r4 = verifier.get("/read", Some(&resigned)).await;
        assert_eq!(r4.body, "bob");
        assert!(r4.set_cookies().is_empty(), "{:?}", r4.headers);
    }
);

on_backends!(
    sig_06_new_cookies_are_signed_with_the_first_key_only,
    [Cookie, Memory],
    |backend| async move {
        let (k1, k2) = (key(1), key(2));
        let issuer = TestApp::with_key(backend, sig_routes(), k1.clone(), |l| {
            l.with_old_key(k2.clone())
        });
        let cookie = issuer.get("/set_bob", None).await.replay();
        let second = issuer.sibling(sig_routes(), k2, |l| l);
        assert_rejected(&second, &cookie).await;
        // Control: a ring holding only K1 reads it.
        let first = issuer.sibling(sig_routes(), k1, |l| l);
        assert_eq!(first.get("/read", Some(&cookie)).await.body, "bob");
    }
);

on_backends!(
    sig_07_removed_key_rejects_old_cookies,
    [Cookie, Memory],
    |backend| async move {
        let issuer = TestApp::with_key(backend, sig_routes(), key(1), |l| l);
        let cookie = issuer.get("/set_bob", None).await.replay();
        let verifier = issuer.sibling(sig_routes(), key(2), |l| l);
        assert_rejected(&verifier, &cookie).await;
    }
);

// --- across restarts ---

const KEY_A: u8 = 0xA1;
const KEY_B: u8 = 0xB2;

/// Key A issues cookies to c1 and c2; restarted with [B, A], both cookies work and c1's comes
/// back signed by B; restarted with [B], c1's re-signed cookie works and c2's A-signed one is a
/// fresh session, its data left in the store but out of reach.
async fn key_rotation(backend: Backend, encrypt: bool) {
    let place = Place::new(backend);
    let (a, b) = (wire::master(KEY_A), wire::master(KEY_B));

    // Deploy 1: key A.
    let app = start(&place, account_routes(), &a, &[], encrypt);
    let (mut c1, mut c2) = (Browser::default(), Browser::default());
    assert_eq!(c1.get(&app, "/sign_in/ann").await.status, 200);
    assert_eq!(c2.get(&app, "/sign_in/bob").await.status, 200);
    let (c1_a, c2_a) = (c1.cookie(), c2.cookie());
    for cookie in [&c1_a, &c2_a] {
        assert_eq!(wire::kid_of(cookie), wire::kid(&a));
        assert!(wire::verifies(&a, cookie), "signed by A: {cookie}");
    }
    let (c1_id, c2_id) = (wire::session_id(&c1_a, &a), wire::session_id(&c2_a, &a));
    drop(app);

    // Deploy 2: B signs, A still verifies.
    let app = start(&place, account_routes(), &b, &[&a], encrypt);
    // c2's A-signed cookie still works. This probe's response never reaches c2, whose jar
    // keeps the A-signed cookie: c2 is the client that does not come back in this deploy.
    let probe = get_with(&app, "/read", Some(&c2_a)).await;
    assert_reads(&probe, false, "bob", 1, "A-signed c2 under [B, A]");
    // c1 only reads, and still gets its cookie back signed by B.
    let reply = c1.get(&app, "/read").await;
    assert_reads(&reply, false, "ann", 1, "A-signed c1 under [B, A]");
    let resigned = reply
        .issued()
        .expect("a cookie verified by an old key comes back re-signed, even on a read");
    assert_eq!(wire::kid_of(&resigned), wire::kid(&b), "{resigned}");
    assert!(wire::verifies(&b, &resigned), "signed by B: {resigned}");
    assert!(
        !wire::verifies(&a, &resigned),
        "not signed by A: {resigned}"
    );
    assert_eq!(
        wire::session_id(&resigned, &b),
        c1_id,
        "re-signing keeps the session"
    );
    drop(app);

    // Deploy 3: only B.
    let app = start(&place, account_routes(), &b, &[], encrypt);
    assert_reads(
        &c1.get(&app, "/read").await,
        false,
        "ann",
        1,
        "c1 under [B]",
    );
    assert_eq!(c1.get(&app, "/count").await.status, 200);
    assert_reads(
        &c1.get(&app, "/read").await,
        false,
        "ann",
        2,
        "c1 under [B]",
    );
    // c2 never came back under [B, A]: its A-signed cookie is now a fresh session.
    assert_eq!(c2.cookie(), c2_a, "c2 still holds the A-signed cookie");
    assert_reads(
        &c2.get(&app, "/read").await,
        true,
        "",
        0,
        "A-signed c2 under [B]",
    );
    if backend != Backend::Cookie {
        let record = place
            .record(&c2_id)
            .await
            .expect("c2's session stays in the store");
        assert_eq!(record.fields()["user"], "bob");
    }
    // A write from c2 starts a new session: a new id, and the old record is left alone.
    assert_eq!(c2.get(&app, "/count").await.status, 200);
    let fresh = c2.cookie();
    assert!(wire::verifies(&b, &fresh));
    let fresh_id = wire::session_id(&fresh, &b);
    assert_ne!(fresh_id, c2_id);
    assert_reads(
        &c2.get(&app, "/read").await,
        false,
        "",
        1,
        "c2's new session",
    );
    if backend != Backend::Cookie {
        let old = place.record(&c2_id).await.expect("the old record");
        assert_eq!(old.fields()["user"], "bob");
        assert_eq!(old.fields()["views"], 1);
        assert!(place.record(&fresh_id).await.is_some());
    }
}

on_backends!(key_rotation_across_restarts, [Cookie, Memory], |backend| {
    key_rotation(backend, false)
});

#[tokio::test]
async fn key_rotation_across_restarts_cookie_encrypted() {
    key_rotation(Backend::Cookie, true).await;
}
