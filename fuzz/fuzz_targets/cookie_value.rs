//! The session cookie's value, through the whole read path of a real `Router`: found in the
//! `Cookie` header, verified (HMAC-SHA256) or decrypted (AES-256-GCM), its JSON payload parsed,
//! its fields decoded into `Probe`, and the session committed on the way out.
//!
//! Input: one selector byte, then the bytes of the mode it picks. Selector bits: `0x0f` mode,
//! `0x30` backend (signed cookie, encrypted cookie, memory store, any-id store), `0x40` the
//! route that writes instead of the one that reads, `0x80` sign with the old key.
//!
//! - mode 1, genuine with edits: a cookie the layer issued, with the rest read as
//!   `(position: u16 LE, byte)` replacements; any change makes it a new session.
//! - modes 2 and 3, signed or sealed payload: the rest is a cookie-store payload, signed (2) or
//!   encrypted (3) with the fixture's key by the independent writer, so the fuzzer reaches the
//!   JSON and field decoding; the session is found exactly when the payload is a live session.
//! - mode 4, id cookie: the rest, as text, is the id of a signed id cookie.
//! - mode 5, foreign key: the rest signed or sealed by a key the layer does not know.
//! - any other mode, raw: the rest is the cookie's value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use time::OffsetDateTime;
use typed_sessions::store::Fields;
use typed_sessions_tests::input::*;
use typed_sessions_tests::wire;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let backend = Target::from_bits(selector >> 4);
    // Writes to the memory store would pile up sessions and, at capacity, evict the genuine one.
    let writes = selector & 0x40 != 0 && backend != Target::Memory;
    let path = if writes { "/write" } else { "/read" };
    let old = selector & 0x80 != 0;
    match selector & 0x0f {
        1 => edited_genuine(backend, path, old, rest),
        2 | 3 => signed_payload(selector, path, old, rest),
        4 => id_cookie(selector, old, rest),
        5 => foreign(backend, path, rest),
        _ => raw(backend, path, rest),
    }
});

fn header(value: &[u8]) -> Vec<u8> {
    [NAME.as_bytes(), b"=", value].concat()
}

fn raw(backend: Target, path: &str, value: &[u8]) {
    let fx = Fixture::get();
    let header = header(value);
    let headers = valid_headers([header.as_slice()]);
    let outcome = fx.send(backend, path, &headers);
    assert_any_input_holds(&headers, &[fx.genuine(backend), fx.stale(backend)], &outcome);
}

fn edited_genuine(backend: Target, path: &str, old: bool, edits: &[u8]) {
    let fx = Fixture::get();
    let genuine = if old {
        fx.stale(backend)
    } else {
        fx.genuine(backend)
    };
    let mut value = genuine.as_bytes().to_vec();
    for edit in edits.chunks_exact(3) {
        let at = usize::from(u16::from_le_bytes([edit[0], edit[1]])) % value.len();
        value[at] = edit[2];
    }
    let header = header(&value);
    let headers = valid_headers([header.as_slice()]);
    if headers.is_empty() {
        return;
    }
    let outcome = fx.send(backend, path, &headers);
    assert_no_server_error(&headers, &outcome, false);
    assert_eq!(
        outcome.found(),
        value == genuine.as_bytes(),
        "an edited genuine cookie: {}",
        show(&headers)
    );
    assert_genuine_found(&headers, &[genuine], &outcome);
    assert_new_is_default(&headers, &outcome);
}

/// The cookie store's payload, as documented.
#[derive(Deserialize)]
struct Payload {
    i: String,
    c: i64,
    s: i64,
    d: Fields,
}

fn from_unix_ms(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// The session a payload carries, if it is a well-formed session alive at `NOW`.
fn live_session(plaintext: &[u8]) -> Option<Probe> {
    let payload: Payload = serde_json::from_slice(plaintext).ok()?;
    let created = from_unix_ms(payload.c)?;
    let last_seen = from_unix_ms(payload.s)?;
    let deadline = created
        .saturating_add(ABSOLUTE)
        .min(last_seen.saturating_add(IDLE));
    (wire::is_well_formed_id(&payload.i) && deadline > NOW).then(|| Probe::expected(&payload.d))
}

fn signed_payload(selector: u8, path: &str, old: bool, plaintext: &[u8]) {
    let fx = Fixture::get();
    let backend = if selector & 0x10 == 0 {
        Target::Signed
    } else {
        Target::Sealed
    };
    let master: &[u8] = if old { &OLD } else { &CURRENT };
    let value = if selector & 0x0f == 2 {
        wire::signed_data(master, plaintext)
    } else {
        wire::sealed(master, plaintext, [7; 12])
    };
    let header = header(value.as_bytes());
    let headers = [header.as_slice()];
    let outcome = fx.send(backend, path, &headers);
    // Re-encoding a payload the fixture's own key signed can make it outgrow the cookie limit.
    assert_no_server_error(&headers, &outcome, true);
    if outcome.status.is_server_error() {
        return;
    }
    let expected = live_session(plaintext).filter(|_| value.len() <= MAX_VALUE_LEN);
    let seen = outcome.seen.as_ref().expect("the handler ran");
    assert_eq!(
        !seen.is_new,
        expected.is_some(),
        "payload {:?}",
        String::from_utf8_lossy(plaintext)
    );
    if let Some(expected) = expected {
        assert_eq!(
            seen.probe,
            expected,
            "payload {:?}",
            String::from_utf8_lossy(plaintext)
        );
    }
    assert_new_is_default(&headers, &outcome);
}

fn id_cookie(selector: u8, old: bool, id: &[u8]) {
    let fx = Fixture::get();
    let backend = if selector & 0x10 == 0 {
        Target::Memory
    } else {
        Target::AnyId
    };
    let master: &[u8] = if old { &OLD } else { &CURRENT };
    let id = String::from_utf8_lossy(id);
    let value = wire::id_cookie(master, &id);
    let header = header(value.as_bytes());
    let headers = valid_headers([header.as_slice()]);
    if headers.is_empty() {
        return;
    }
    let outcome = fx.send(backend, "/read", &headers);
    assert_no_server_error(&headers, &outcome, false);
    let genuine_id = fx.genuine(backend).split('.').nth(2);
    let expected = match backend {
        // Only a stored session is found; the fuzzer does not guess a 256-bit id.
        Target::Memory => genuine_id == Some(&*id),
        _ => wire::is_well_formed_id(&id) && value.len() <= MAX_VALUE_LEN,
    };
    assert_eq!(outcome.found(), expected, "id {id:?} on {backend:?}");
    assert_genuine_found(&headers, &[], &outcome);
    assert_new_is_default(&headers, &outcome);
}

fn foreign(backend: Target, path: &str, rest: &[u8]) {
    let fx = Fixture::get();
    let Some((&how, payload)) = rest.split_first() else {
        return;
    };
    let value = match how % 4 {
        0 => wire::signed_data(&FOREIGN, payload),
        1 => wire::sealed(&FOREIGN, payload, [9; 12]),
        2 => wire::id_cookie(&FOREIGN, &String::from_utf8_lossy(payload)),
        // The current key's id, with a MAC the foreign key made.
        _ => wire::signed_data(&FOREIGN, payload).replacen(
            &wire::kid(&FOREIGN),
            &wire::kid(&CURRENT),
            1,
        ),
    };
    let header = header(value.as_bytes());
    let headers = valid_headers([header.as_slice()]);
    if headers.is_empty() {
        return;
    }
    let outcome = fx.send(backend, path, &headers);
    assert_no_server_error(&headers, &outcome, false);
    assert!(
        !outcome.found(),
        "a value signed by a foreign key was accepted: {}",
        show(&headers)
    );
    assert_new_is_default(&headers, &outcome);
}
