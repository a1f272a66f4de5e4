//! Signing: signed cookies round-trip with a key ring (SIG-01), a key is required (SIG-02), a
//! tampered or unsigned value is no session (SIG-03, SIG-04), a value is bound to its cookie's
//! name (SIG-08), and the cookie store's payload is confidential when encrypted (SIG-09). Key
//! rotation (SIG-05 to SIG-07) is in `key_rotation.rs`.

use axum::Router;
use axum::routing::get;
use typed_sessions::{Key, Session};

use typed_sessions_tests::wire::{session_id_in, store_key_of, value_of};
use typed_sessions_tests::*;

pub(crate) fn key(n: u8) -> Key {
    Key::from_bytes(&[n; 64]).unwrap()
}

pub(crate) fn sig_routes() -> Router {
    reference_routes()
        .route(
            "/set_hi",
            get(|mut s: Session<Msg>| async move {
                s.message = "hi".into();
                s.message.clone()
            }),
        )
        .route(
            "/set_bob",
            get(|mut s: Session<Msg>| async move {
                s.message = "bob".into();
            }),
        )
}

/// `value` with the character at `index` replaced by a different base64url character.
fn flip(value: &str, index: usize) -> String {
    let mut bytes = value.as_bytes().to_vec();
    bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

/// Sends `cookie` to `/is_new` and `/read` of `app`: both must see a new, empty session,
/// without a `Set-Cookie` and (memory) without any store call.
pub(crate) async fn assert_rejected(app: &TestApp, cookie: &str) {
    app.store_calls();
    let r = app.get("/is_new", Some(cookie)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "true", "accepted: {cookie}");
    assert!(r.set_cookies().is_empty(), "{:?}", r.headers);
    let r = app.get("/read", Some(cookie)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "");
    assert!(r.set_cookies().is_empty(), "{:?}", r.headers);
    assert_eq!(
        app.store_calls(),
        Vec::<&str>::new(),
        "no load for {cookie}"
    );
}

on_backends!(
    sig_01_signed_round_trip_with_a_key_ring,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::with_key(backend, sig_routes(), key(1), |l| l.with_old_key(key(2)));
        let r1 = app.get("/set_hi", None).await;
        assert_eq!(r1.status, 200);
        assert_eq!(r1.body, "hi");
        let cookie = r1.replay();
        let r2 = app.get("/read", Some(&cookie)).await;
        assert_eq!(r2.status, 200);
        assert_eq!(r2.body, "hi");
        assert!(r2.set_cookies().is_empty(), "{:?}", r2.headers);
    }
);

#[test]
fn sig_02_a_key_is_required_and_short_keys_are_refused() {
    // There is no keyless layer (`SessionLayer::new` takes a `Key`), and a key shorter than
    // 32 bytes cannot be made. (SIG-02 B, an unsigned mode, does not exist.)
    for len in [0, 1, 16, 31] {
        let err = Key::from_bytes(&vec![7u8; len]).unwrap_err();
        assert!(
            matches!(err, typed_sessions::Error::KeyTooShort { len: l } if l == len),
            "{err:?}"
        );
    }
    assert!(Key::from_bytes(&[7u8; 32]).is_ok());
}

on_backends!(
    sig_03_tampered_value_is_no_session,
    [Cookie, Memory],
    |backend| async move {
        // The signed format (encrypted values are checked by SIG-09).
        let app = TestApp::with_key(backend, sig_routes(), key(1), |l| {
            l.with_old_key(key(2)).with_encryption(false)
        });
        let cookie = app.get("/set", None).await.replay();
        assert_eq!(app.get("/read", Some(&cookie)).await.body, "hello");
        let value = value_of(&cookie);
        let dots: Vec<usize> = value.match_indices('.').map(|(i, _)| i).collect();
        assert_eq!(dots.len(), 3, "{value}");
        // One character changed in the key id, in the payload (id or data), in the MAC.
        let positions = [
            dots[0] + 1,
            (dots[1] + 1 + dots[2]) / 2,
            dots[2] + 1,
            value.len() - 2,
        ];
        for at in positions {
            let forged = format!("session={}", flip(value, at));
            assert_ne!(forged, cookie);
            assert_rejected(&app, &forged).await;
        }
        // And a handler that writes gets a fresh id, not the presented one.
        let forged = format!("session={}", flip(value, positions[1]));
        let r = app.get("/set", Some(&forged)).await;
        let fresh = r.replay();
        assert_ne!(
            session_id_in(backend, value_of(&fresh)),
            session_id_in(backend, value),
        );
    }
);

on_backends!(
    sig_04_value_without_its_signature_is_no_session,
    [Cookie, Memory],
    |backend| async move {
        // The signed format: an encrypted value has no signature to strip.
        let app = TestApp::with(backend, sig_routes(), |l| l.with_encryption(false));
        let cookie = app.get("/set", None).await.replay();
        let value = value_of(&cookie);
        let (unsigned, _mac) = value.rsplit_once('.').unwrap();
        let payload = unsigned.splitn(3, '.').nth(2).unwrap();
        for bare in [
            unsigned.to_owned(),
            format!("{unsigned}."),
            payload.to_owned(),
        ] {
            assert_rejected(&app, &format!("session={bare}")).await;
        }
        // A write mints a new id rather than adopting the presented one.
        let r = app.get("/set", Some(&format!("session={unsigned}"))).await;
        let fresh = r.replay();
        assert_ne!(
            session_id_in(backend, value_of(&fresh)),
            session_id_in(backend, value),
        );
        if backend.is_store() {
            let calls = app.spy().take_calls();
            assert_eq!(calls.len(), 1, "{calls:?}");
            assert!(
                matches!(&calls[0], Call::Create(k, _) if *k == store_key_of(&fresh)),
                "{calls:?}"
            );
        }
    }
);

on_backends!(
    sig_08_value_is_bound_to_the_cookie_name,
    [Cookie, Memory],
    |backend| async move {
        let a = TestApp::with(backend, sig_routes(), |l| l.with_cookie_name("A"));
        let b = a.sibling(sig_routes(), test_key(), |l| l.with_cookie_name("B"));
        let r1 = a.get("/set_bob", None).await;
        let value = value_of(&r1.replay_named("A")).to_owned();
        // Control: under its own name it works.
        assert_eq!(
            a.get("/read", Some(&format!("A={value}"))).await.body,
            "bob"
        );
        assert_rejected(&b, &format!("B={value}")).await;
    }
);

#[tokio::test]
async fn sig_09_cookie_store_payload_is_confidential_when_encrypted() {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};

    let app = TestApp::with(Backend::Cookie, sig_routes(), |l| {
        l.with_encryption(true).with_rolling(true)
    });
    let r1 = app.get("/set", None).await;
    let cookie = r1.replay();
    let value = value_of(&cookie);
    assert!(value.starts_with("3."), "{value}");
    assert!(!value.contains("hello"), "{value}");
    // Every base64 / base64url rendering of "hello", at each of the three alignments: only
    // the characters fully determined by the five bytes.
    for skip in 0..3usize {
        let mut bytes = vec![0u8; skip];
        bytes.extend_from_slice(b"hello");
        for encoded in [
            STANDARD.encode(&bytes),
            STANDARD_NO_PAD.encode(&bytes),
            URL_SAFE_NO_PAD.encode(&bytes),
        ] {
            let (first, last) = ((8 * skip).div_ceil(6), (8 * skip + 40) / 6);
            let inner = &encoded[first..last];
            assert!(inner.len() >= 5);
            assert!(!value.contains(inner), "{value} contains {inner}");
        }
    }
    assert_eq!(app.get("/read", Some(&cookie)).await.body, "hello");

    // Identical plaintext (same session, same clock, rolling re-issue) → different values.
    app.advance(std::time::Duration::from_secs(60));
    let v2 = app.get("/read", Some(&cookie)).await.replay();
    let v3 = app.get("/read", Some(&cookie)).await.replay();
    assert_ne!(v2, v3, "random nonce");

    // Control: signed mode re-issues the very same value for that plaintext.
    let signed = app.sibling(sig_routes(), test_key(), |l| {
        l.with_rolling(true).with_encryption(false)
    });
    let s2 = signed.get("/read", Some(&cookie)).await.replay();
    let s3 = signed.get("/read", Some(&cookie)).await.replay();
    assert!(value_of(&s2).starts_with("2."));
    assert_eq!(s2, s3);
}
