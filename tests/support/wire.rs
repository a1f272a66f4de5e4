//! The session cookie's wire format, written out independently of the library from its
//! documentation (`session/src/codec.rs`), so that tests and fuzz targets can forge values,
//! check which key signed a value and read what it carries without trusting the library.
//!
//! ```text
//! 1.<kid>.<session id>.<mac>             id cookie (external store)
//! 2.<kid>.<base64url(JSON)>.<mac>        cookie store, signed
//! 3.<kid>.<base64url(nonce|ct|tag)>      cookie store, AES-256-GCM
//! ```
//!
//! Keys are derived from the master key with HMAC-SHA256; the MAC and the AEAD's associated
//! data cover `<cookie name>=` and everything before the MAC. Every value written here is for
//! the cookie called [`NAME`].

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use typed_sessions::{Key, store::StoreKey};

use crate::Backend;

type HmacSha256 = Hmac<Sha256>;

/// The session cookie's name (the library's default).
pub const NAME: &str = "session";

/// A master key: 64 bytes of `byte`.
pub fn master(byte: u8) -> [u8; 64] {
    [byte; 64]
}

/// The library's key for `master`.
///
/// # Panics
///
/// When `master` is too short to be a key.
pub fn key(master: &[u8]) -> Key {
    Key::from_bytes(master).expect("a master key of at least 32 bytes")
}

fn derive(master: &[u8], label: &str) -> [u8; 32] {
    let mut mac = <HmacSha256 as hmac::KeyInit>::new_from_slice(master).expect("any key length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

/// The public key id `master` writes into its cookies.
pub fn kid(master: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(&derive(master, "typed-sessions/v1/key-id")[..6])
}

fn mac(master: &[u8], signed: &str) -> HmacSha256 {
    let key = derive(master, "typed-sessions/v1/signing");
    let mut mac = <HmacSha256 as hmac::KeyInit>::new_from_slice(&key).expect("any key length");
    mac.update(NAME.as_bytes());
    mac.update(b"=");
    mac.update(signed.as_bytes());
    mac
}

/// `<version>.<kid>.<payload>.<mac>`, signed by `master`.
pub fn signed(master: &[u8], version: &str, payload: &str) -> String {
    let signed = format!("{version}.{}.{payload}", kid(master));
    let tag = URL_SAFE_NO_PAD.encode(mac(master, &signed).finalize().into_bytes());
    format!("{signed}.{tag}")
}

/// A signed cookie-store value carrying `plaintext` as its payload.
pub fn signed_data(master: &[u8], plaintext: &[u8]) -> String {
    signed(master, "2", &URL_SAFE_NO_PAD.encode(plaintext))
}

/// An id cookie carrying `id`, whatever it is.
pub fn id_cookie(master: &[u8], id: &str) -> String {
    signed(master, "1", id)
}

fn aad(header: &str) -> Vec<u8> {
    format!("{NAME}={header}").into_bytes()
}

/// An encrypted cookie-store value carrying `plaintext`, sealed with `nonce`.
pub fn sealed(master: &[u8], plaintext: &[u8], nonce: [u8; 12]) -> String {
    let header = format!("3.{}", kid(master));
    let key = derive(master, "typed-sessions/v1/encryption");
    let aad = aad(&header);
    let sealed = Aes256Gcm::new((&key).into())
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .expect("in-memory encryption");
    let body = [nonce.as_slice(), &sealed].concat();
    format!("{header}.{}", URL_SAFE_NO_PAD.encode(body))
}

/// The plaintext of a sealed value (`3.<kid>.<body>`), if `master` sealed it.
pub fn open_sealed(master: &[u8], value: &str) -> Option<Vec<u8>> {
    let rest = value.strip_prefix("3.")?;
    let (kid_text, body) = rest.split_once('.')?;
    let body = URL_SAFE_NO_PAD.decode(body).ok()?;
    if kid_text != kid(master) || body.len() < 12 + 16 {
        return None;
    }
    let (nonce, sealed) = body.split_at(12);
    let key = derive(master, "typed-sessions/v1/encryption");
    Aes256Gcm::new((&key).into())
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: &aad(&format!("3.{kid_text}")),
            },
        )
        .ok()
}

/// Whether `value` was signed (or sealed) by one of `masters`.
pub fn is_authentic(masters: &[&[u8]], value: &str) -> bool {
    if value.starts_with("3.") {
        return masters
            .iter()
            .any(|master| open_sealed(master, value).is_some());
    }
    let Some((signed, tag)) = value.rsplit_once('.') else {
        return false;
    };
    let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
        return false;
    };
    let Some(kid_text) = signed.split('.').nth(1) else {
        return false;
    };
    masters
        .iter()
        .filter(|master| kid(master) == kid_text)
        .any(|master| mac(master, signed).verify_slice(&tag).is_ok())
}

/// Whether `value` (signed or sealed) is authentic under `master`.
pub fn verifies(master: &[u8], value: &str) -> bool {
    is_authentic(&[master], value)
}

/// The key id a cookie value names (its second dot-separated part).
///
/// # Panics
///
/// When `value` has no second part.
pub fn kid_of(value: &str) -> &str {
    value
        .split('.')
        .nth(1)
        .expect("a cookie value with a key id")
}

/// The value of a `name=value` pair (a `Cookie` header for one cookie).
///
/// # Panics
///
/// When `pair` holds no `=`.
pub fn value_of(pair: &str) -> &str {
    pair.split_once('=').expect("name=value").1
}

/// The JSON payload of a cookie-store value: signed (`2.<kid>.<base64url JSON>.<mac>`), or
/// sealed (`3.`, the default) by the tests' usual key, [`test_key`](crate::test_key)'s.
///
/// # Panics
///
/// When `value` is neither, or its payload is not JSON.
pub fn cookie_payload(value: &str) -> Value {
    if value.starts_with("3.") {
        return payload(value, &[42u8; 64]);
    }
    let parts: Vec<_> = value.split('.').collect();
    assert_eq!(parts.len(), 4, "not a signed cookie-store value: {value}");
    assert_eq!(parts[0], "2", "not a signed cookie-store value: {value}");
    let json = URL_SAFE_NO_PAD
        .decode(parts[2])
        .expect("payload is base64url");
    serde_json::from_slice(&json).expect("payload is JSON")
}

/// The fields (`d`) of a cookie-store value (see [`cookie_payload`]).
pub fn cookie_fields(value: &str) -> Value {
    cookie_payload(value)["d"].clone()
}

/// The JSON payload of a cookie-store value: signed, or sealed by `master`.
///
/// # Panics
///
/// When `value` is neither, or its payload is not JSON.
pub fn payload(value: &str, master: &[u8]) -> Value {
    if value.starts_with("3.") {
        let bytes = open_sealed(master, value).expect("a sealed value that opens");
        serde_json::from_slice(&bytes).expect("a JSON payload")
    } else {
        cookie_payload(value)
    }
}

/// The session id carried by an id cookie value `1.<kid>.<id>.<mac>`.
///
/// # Panics
///
/// When `value` is not an id cookie.
pub fn id_of(value: &str) -> String {
    let parts: Vec<_> = value.split('.').collect();
    assert_eq!(parts.len(), 4, "not an id cookie: {value}");
    assert_eq!(parts[0], "1", "not an id cookie: {value}");
    parts[2].to_owned()
}

/// The session id a cookie value carries: an id cookie's id, or the cookie-store payload's `i`
/// (signed, or sealed by `master`).
///
/// # Panics
///
/// When `value` carries no id.
pub fn session_id(value: &str, master: &[u8]) -> String {
    if value.starts_with("1.") {
        id_of(value)
    } else {
        payload(value, master)["i"]
            .as_str()
            .expect("a payload carrying an id")
            .to_owned()
    }
}

/// The session id a signed session cookie value carries on `backend`.
pub fn session_id_in(backend: Backend, value: &str) -> String {
    if backend.is_store() {
        id_of(value)
    } else {
        cookie_payload(value)["i"]
            .as_str()
            .expect("payload carries an id")
            .to_owned()
    }
}

/// The key a store keeps the session with id `id` under: the hex SHA-256 of the id.
pub fn store_key(id: &str) -> StoreKey {
    let hex: String = Sha256::digest(id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    StoreKey::from_digest_hex(hex).expect("64 hex digits")
}

/// The store key of the session whose id cookie is `pair` (`session=<value>`, or the value).
pub fn store_key_of(pair: &str) -> StoreKey {
    let value = pair.split_once('=').map_or(pair, |(_, v)| v);
    store_key(&id_of(value))
}

/// Whether `id` is well formed: 43 base64url characters, no padding (256 bits, and two more).
pub fn is_well_formed_id(id: &str) -> bool {
    id.len() == 43
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A well-formed session id (43 base64url characters) that no generator produced.
pub fn chosen_id(tag: char) -> String {
    std::iter::repeat_n(tag, 43).collect()
}
