//! The session cookie's wire format, written out independently of the library from its
//! documentation (`session/src/codec.rs`): the targets sign payloads the fuzzer chose with it,
//! and check with it, without trusting the library, that a value the layer accepted was signed
//! by a configured key.
//!
//! ```text
//! 1.<kid>.<session id>.<mac>             id cookie (external store)
//! 2.<kid>.<base64url(JSON)>.<mac>        cookie store, signed
//! 3.<kid>.<base64url(nonce|ct|tag)>      cookie store, AES-256-GCM
//! ```
//!
//! Keys are derived from the master key with HMAC-SHA256; the MAC and the AEAD's associated
//! data cover `<cookie name>=` and everything before the MAC.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn derive(master: &[u8], label: &str) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).expect("any key length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

/// The public key id a key writes into its cookies.
pub fn kid(master: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(&derive(master, "typed-sessions/v1/key-id")[..6])
}

fn mac(name: &str, master: &[u8], signed: &str) -> HmacSha256 {
    let key = derive(master, "typed-sessions/v1/signing");
    let mut mac = <HmacSha256 as Mac>::new_from_slice(&key).expect("any key length");
    mac.update(name.as_bytes());
    mac.update(b"=");
    mac.update(signed.as_bytes());
    mac
}

/// `<version>.<kid>.<payload>.<mac>`.
pub fn signed(name: &str, master: &[u8], version: &str, payload: &str) -> String {
    let signed = format!("{version}.{}.{payload}", kid(master));
    let tag = URL_SAFE_NO_PAD.encode(mac(name, master, &signed).finalize().into_bytes());
    format!("{signed}.{tag}")
}

/// A signed cookie-store value carrying `plaintext`.
pub fn signed_data(name: &str, master: &[u8], plaintext: &[u8]) -> String {
    signed(name, master, "2", &URL_SAFE_NO_PAD.encode(plaintext))
}

/// An id cookie carrying `id`, whatever it is.
pub fn id_cookie(name: &str, master: &[u8], id: &str) -> String {
    signed(name, master, "1", id)
}

fn aad(name: &str, header: &str) -> Vec<u8> {
    format!("{name}={header}").into_bytes()
}

/// An encrypted cookie-store value carrying `plaintext`.
pub fn sealed(name: &str, master: &[u8], plaintext: &[u8], nonce: [u8; 12]) -> String {
    let header = format!("3.{}", kid(master));
    let key = derive(master, "typed-sessions/v1/encryption");
    let aad = aad(name, &header);
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

/// Whether `value` was signed (or sealed) for the cookie `name` by one of `masters`.
pub fn is_authentic(name: &str, masters: &[&[u8]], value: &str) -> bool {
    if let Some(rest) = value.strip_prefix("3.") {
        return is_sealed_by(name, masters, rest);
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
        .any(|master| mac(name, master, signed).verify_slice(&tag).is_ok())
}

fn is_sealed_by(name: &str, masters: &[&[u8]], rest: &str) -> bool {
    let Some((kid_text, body)) = rest.split_once('.') else {
        return false;
    };
    let Ok(body) = URL_SAFE_NO_PAD.decode(body) else {
        return false;
    };
    if body.len() < 12 + 16 {
        return false;
    }
    let (nonce, sealed) = body.split_at(12);
    let aad = aad(name, &format!("3.{kid_text}"));
    masters
        .iter()
        .filter(|master| kid(master) == kid_text)
        .any(|master| {
            let key = derive(master, "typed-sessions/v1/encryption");
            Aes256Gcm::new((&key).into())
                .decrypt(
                    Nonce::from_slice(nonce),
                    Payload {
                        msg: sealed,
                        aad: &aad,
                    },
                )
                .is_ok()
        })
}
