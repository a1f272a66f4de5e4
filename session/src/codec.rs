//! The session cookie's value: versioned, key-identified, bound to the cookie name.
//!
//! ```text
//! 1.<key id>.<session id>.<mac>        id cookie of an external store, HMAC-SHA256
//! 2.<key id>.<payload>.<mac>           cookie store, payload = base64url(JSON), HMAC-SHA256
//! 3.<key id>.<nonce|ciphertext|tag>    cookie store, AES-256-GCM
//! ```
//!
//! The MAC (or the AEAD's associated data) covers `<cookie name>=` and everything before the
//! MAC, so a value cannot move to another cookie name, version or key id.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use hmac::Mac;

use crate::id::{ID_LEN, SessionId};
use crate::key::{Key, KeyRing, fill_random};

/// Values longer than this are refused before any decoding or MAC work.
pub(crate) const MAX_VALUE_LEN: usize = 4096;
const NONCE_LEN: usize = 12;
/// AES-GCM's authentication tag.
const TAG_LEN: usize = 16;
/// An HMAC-SHA256 tag, in bytes and in base64url.
pub(crate) const MAC_LEN: usize = 32;
const MAC_B64_LEN: usize = 43;

const ID_COOKIE: &str = "1";
const SIGNED_DATA: &str = "2";
const SEALED_DATA: &str = "3";

use crate::b64;

/// An authentic cookie, and whether it should be re-issued in the current form (signed by an
/// older key, or in the other cookie-store mode).
#[derive(Debug)]
pub(crate) struct Opened<T> {
    pub(crate) value: T,
    pub(crate) stale: bool,
}

/// An authentic id cookie: the session id and the MAC that vouched for it.
#[derive(Debug)]
pub(crate) struct IdCookie {
    pub(crate) id: SessionId,
    pub(crate) mac: [u8; MAC_LEN],
}

/// Seals and opens cookie values for one cookie name and key ring.
#[derive(Clone, Debug)]
pub(crate) struct Codec {
    name: String,
    keys: KeyRing,
    encrypt: bool,
}

impl Codec {
    pub(crate) fn new(name: String, keys: KeyRing) -> Self {
        Self {
            name,
            keys,
            encrypt: false,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn set_name(&mut self, name: String) {
        self.name = name;
    }

    pub(crate) fn keys(&self) -> &KeyRing {
        &self.keys
    }

    pub(crate) fn keys_mut(&mut self) -> &mut KeyRing {
        &mut self.keys
    }

    pub(crate) fn set_encrypt(&mut self, encrypt: bool) {
        self.encrypt = encrypt;
    }

    /// The length of an id cookie's value.
    pub(crate) fn id_len(&self) -> usize {
        self.signed_len(ID_COOKIE, ID_LEN)
    }

    /// Appends the cookie value carrying `id` (external stores). `presented_mac` is the MAC of
    /// an id cookie for `id` that the newest key verified: the value is then the same bytes,
    /// written without computing the MAC again.
    pub(crate) fn write_id(
        &self,
        out: &mut String,
        id: &SessionId,
        presented_mac: Option<&[u8; MAC_LEN]>,
    ) {
        self.write_signed(
            out,
            ID_COOKIE,
            |out| out.push_str(id.as_str()),
            presented_mac,
        );
    }

    /// The cookie value carrying `id`.
    #[cfg(test)]
    pub(crate) fn seal_id(&self, id: &SessionId) -> String {
        let mut value = String::with_capacity(self.id_len());
        self.write_id(&mut value, id, None);
        value
    }

    /// Whether `value` could be a cookie of this layer: a known version and the id of a
    /// configured key. Costs no MAC, so that junk cookies sharing the session cookie's name are
    /// skipped for free instead of using up the few candidates that are verified.
    pub(crate) fn plausible(&self, value: &str) -> bool {
        if value.len() > MAX_VALUE_LEN {
            return false;
        }
        split_header(value).is_some_and(|(version, kid, _)| {
            matches!(version, ID_COOKIE | SIGNED_DATA | SEALED_DATA)
                && self.keys.with_id(kid).next().is_some()
        })
    }

    /// The session id in an authentic id cookie.
    pub(crate) fn open_id(&self, value: &str) -> Option<Opened<IdCookie>> {
        let (version, kid, payload, mac) = self.verify(value)?;
        if version != ID_COOKIE {
            return None;
        }
        let id = SessionId::parse(payload)?;
        Some(Opened {
            value: IdCookie { id, mac },
            stale: kid != 0,
        })
    }

    /// The length of the cookie value carrying `len` bytes of plaintext (cookie store).
    pub(crate) fn data_len(&self, len: usize) -> usize {
        if self.encrypt {
            SEALED_DATA.len()
                + 1
                + self.keys.newest().id().len()
                + 1
                + b64::encoded_len(NONCE_LEN + len + TAG_LEN)
        } else {
            self.signed_len(SIGNED_DATA, b64::encoded_len(len))
        }
    }

    /// Appends the cookie value carrying `plaintext` (cookie store), signed or encrypted as
    /// configured.
    pub(crate) fn write_data(&self, out: &mut String, plaintext: &[u8]) {
        if self.encrypt {
            self.write_encrypted(out, plaintext);
        } else {
            self.write_signed(
                out,
                SIGNED_DATA,
                |out| b64::encode_into(plaintext, out),
                None,
            );
        }
    }

    /// The cookie value carrying `plaintext`.
    #[cfg(test)]
    pub(crate) fn seal_data(&self, plaintext: &[u8]) -> String {
        let mut value = String::with_capacity(self.data_len(plaintext.len()));
        self.write_data(&mut value, plaintext);
        value
    }

    /// The plaintext of an authentic cookie-store cookie, in either mode.
    pub(crate) fn open_data(&self, value: &str) -> Option<Opened<Vec<u8>>> {
        if value.len() > MAX_VALUE_LEN {
            return None;
        }
        if let Some(rest) = value.strip_prefix("3.") {
            let (kid, plaintext) = self.decrypt_data(rest)?;
            return Some(Opened {
                value: plaintext,
                stale: kid != 0 || !self.encrypt,
            });
        }
        let (version, kid, payload, _) = self.verify(value)?;
        if version != SIGNED_DATA {
            return None;
        }
        Some(Opened {
            value: b64::decode(payload)?,
            stale: kid != 0 || self.encrypt,
        })
    }

    /// The length of `<version>.<kid>.<payload>.<mac>` for a payload of `payload_len`.
    fn signed_len(&self, version: &str, payload_len: usize) -> usize {
        version.len() + 1 + self.keys.newest().id().len() + 1 + payload_len + 1 + MAC_B64_LEN
    }

    /// Appends `<version>.<kid>.<payload>.<mac>` with the newest key; `mac` is that value's MAC
    /// when already known.
    fn write_signed(
        &self,
        out: &mut String,
        version: &str,
        payload: impl FnOnce(&mut String),
        mac: Option<&[u8; MAC_LEN]>,
    ) {
        let key = self.keys.newest();
        let start = out.len();
        out.push_str(version);
        out.push('.');
        out.push_str(key.id());
        out.push('.');
        payload(out);
        let tag = match mac {
            Some(mac) => *mac,
            None => self.mac(key, &out[start..]).finalize().into_bytes().into(),
        };
        push_mac(out, &tag);
    }

    /// Checks a signed value; returns its version, the index of the key that verified it, its
    /// payload and its MAC.
    fn verify<'v>(&self, value: &'v str) -> Option<(&'v str, usize, &'v str, [u8; MAC_LEN])> {
        if value.len() > MAX_VALUE_LEN {
            return None;
        }
        // `<signed>.<tag>`, the tag of a known length: no search for the last dot.
        let split = value.len().checked_sub(MAC_B64_LEN + 1)?;
        let (signed, tag) = (value.get(..split)?, value.get(split..)?.strip_prefix('.')?);
        if tag.contains('.') {
            return None;
        }
        let tag = decode_mac(tag)?;
        let (version, kid, payload) = split_header(signed)?;
        let index = self
            .keys
            .with_id(kid)
            .find(|(_, key)| self.mac(key, signed).verify_slice(&tag).is_ok())?
            .0;
        Some((version, index, payload, tag))
    }

    fn mac(&self, key: &Key, signed: &str) -> hmac::Hmac<sha2::Sha256> {
        let mut mac = key.mac();
        mac.update(self.name.as_bytes());
        mac.update(b"=");
        mac.update(signed.as_bytes());
        mac
    }

    /// Appends `3.<kid>.<base64url(nonce | ciphertext | tag)>`, sealed in one buffer: the
    /// default cookie store's write, so it allocates only that buffer and the associated data.
    fn write_encrypted(&self, out: &mut String, plaintext: &[u8]) {
        let key = self.keys.newest();
        let mut body = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        body.resize(NONCE_LEN, 0);
        fill_random(&mut body);
        body.extend_from_slice(plaintext);
        let (nonce, message) = body.split_at_mut(NONCE_LEN);
        let tag = self
            .with_aad(key.id(), |aad| {
                cipher(key).encrypt_in_place_detached(Nonce::from_slice(nonce), aad, message)
            })
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        body.extend_from_slice(&tag);
        out.push_str(SEALED_DATA);
        out.push('.');
        out.push_str(key.id());
        out.push('.');
        b64::encode_into(&body, out);
    }

    /// `rest` is `<kid>.<nonce|ciphertext|tag>`. Opened in the decoded buffer (a failed attempt
    /// leaves it as it was, so the next key with that id can try).
    fn decrypt_data(&self, rest: &str) -> Option<(usize, Vec<u8>)> {
        let (kid, body) = rest.split_once('.')?;
        let mut body = b64::decode(body)?;
        let message_len = body.len().checked_sub(NONCE_LEN + TAG_LEN)?;
        let (nonce, rest) = body.split_at_mut(NONCE_LEN);
        let (message, tag) = rest.split_at_mut(message_len);
        let index = self.with_aad(kid, |aad| {
            self.keys.with_id(kid).find_map(|(index, key)| {
                cipher(key)
                    .decrypt_in_place_detached(
                        Nonce::from_slice(nonce),
                        aad,
                        message,
                        Tag::from_slice(tag),
                    )
                    .ok()
                    .map(|()| index)
            })
        })?;
        body.truncate(NONCE_LEN + message_len);
        body.drain(..NONCE_LEN);
        Some((index, body))
    }

    /// Calls `use_aad` with the associated data of a sealed value, `<cookie name>=3.<kid>`:
    /// written on the stack when it fits (every cookie name of up to 64 bytes with our key ids).
    fn with_aad<T>(&self, kid: &str, use_aad: impl FnOnce(&[u8]) -> T) -> T {
        let parts = [self.name.as_bytes(), b"=3.", kid.as_bytes()];
        let len = parts.iter().map(|part| part.len()).sum();
        let mut stack = [0u8; 80];
        let mut heap = Vec::new();
        let aad = if len <= stack.len() {
            &mut stack[..len]
        } else {
            heap.resize(len, 0);
            &mut heap[..]
        };
        let mut at = 0;
        for part in parts {
            aad[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        use_aad(aad)
    }
}

/// `<version>.<kid>.<rest>`: a one-character version and the key id, found without searching
/// the (long) rest of the value.
fn split_header(value: &str) -> Option<(&str, &str, &str)> {
    let version = value.get(..1)?;
    let after = value.get(1..)?.strip_prefix('.')?;
    let dot = after.bytes().take(KEY_ID_MAX + 1).position(|b| b == b'.')?;
    Some((version, &after[..dot], &after[dot + 1..]))
}

/// The longest key id [`split_header`] looks for (key ids are 8 characters).
const KEY_ID_MAX: usize = 16;

/// Appends `.<base64url(mac)>` to a value.
fn push_mac(value: &mut String, mac: &[u8; MAC_LEN]) {
    value.push('.');
    b64::encode_into(mac, value);
}

/// Decodes a base64url MAC on the stack (it is checked on every request that reads a session).
fn decode_mac(text: &str) -> Option<[u8; MAC_LEN]> {
    let mut mac = [0u8; MAC_LEN];
    let len = b64::decode_into(text, &mut mac)?;
    (len == MAC_LEN).then_some(mac)
}

fn cipher(key: &Key) -> Aes256Gcm {
    Aes256Gcm::new(key.encryption_key().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(name: &str, keys: &[&Key]) -> Codec {
        let mut ring = KeyRing::new(keys[0].clone());
        for key in &keys[1..] {
            ring.push_old((*key).clone());
        }
        Codec::new(name.to_owned(), ring)
    }

    #[test]
    fn header_split() {
        assert_eq!(split_header("1.kid.rest.x"), Some(("1", "kid", "rest.x")));
        assert_eq!(split_header("1.kid."), Some(("1", "kid", "")));
        assert_eq!(split_header("12.kid.rest"), None, "one-character versions");
        assert_eq!(split_header("1kid.rest"), None);
        assert_eq!(split_header("1.kid"), None, "no payload");
        assert_eq!(split_header(&format!("1.{}.x", "k".repeat(17))), None);
        assert_eq!(split_header("é.kid.rest"), None);
    }

    #[test]
    fn a_tag_of_the_wrong_length_or_with_a_dot_is_refused_before_any_mac() {
        let key = Key::generate();
        let c = codec("session", &[&key]);
        let sealed = c.seal_id(&SessionId::generate());
        assert!(c.open_id(&sealed).is_some());
        assert!(c.open_id(&sealed[..sealed.len() - 1]).is_none());
        assert!(c.open_id(&format!("{sealed}A")).is_none());
        let dotted = format!(
            "{}.{}",
            &sealed[..sealed.len() - 10],
            &sealed[sealed.len() - 9..]
        );
        assert!(c.open_id(&dotted).is_none());
    }

    #[test]
    fn id_round_trip() {
        let key = Key::generate();
        let c = codec("session", &[&key]);
        let id = SessionId::generate();
        let opened = c.open_id(&c.seal_id(&id)).unwrap();
        assert_eq!(opened.value.id, id);
        assert!(!opened.stale);
    }

    #[test]
    fn resealing_with_a_verified_mac_gives_the_signed_value() {
        let key = Key::generate();
        let c = codec("session", &[&key, &Key::generate()]);
        let id = SessionId::generate();
        let sealed = c.seal_id(&id);
        let opened = c.open_id(&sealed).unwrap();
        let mut resealed = String::new();
        c.write_id(&mut resealed, &id, Some(&opened.value.mac));
        assert_eq!(resealed, sealed);
    }

    #[test]
    fn values_have_their_announced_length() {
        for encrypt in [false, true] {
            let mut c = codec("session", &[&Key::generate()]);
            c.set_encrypt(encrypt);
            assert_eq!(c.seal_id(&SessionId::generate()).len(), c.id_len());
            for len in [0, 1, 2, 3, 47, 48, 49, 300] {
                assert_eq!(c.seal_data(&vec![7; len]).len(), c.data_len(len), "{len}");
            }
        }
    }

    #[test]
    fn a_value_written_after_other_text_signs_only_itself() {
        let c = codec("session", &[&Key::generate()]);
        let id = SessionId::generate();
        let mut out = String::from("session=");
        c.write_id(&mut out, &id, None);
        assert_eq!(out["session=".len()..], c.seal_id(&id));
    }

    #[test]
    fn macs_decode_only_at_their_exact_length() {
        let mac = [0xa5; MAC_LEN];
        assert_eq!(decode_mac(&b64::encode(&mac)), Some(mac));
        assert_eq!(decode_mac(&b64::encode(&[1; MAC_LEN - 1])), None);
        assert_eq!(decode_mac(&b64::encode(&[1; MAC_LEN + 1])), None);
        assert_eq!(decode_mac("!"), None);
    }

    #[test]
    fn value_is_bound_to_the_cookie_name() {
        let key = Key::generate();
        let id = SessionId::generate();
        let value = codec("a", &[&key]).seal_id(&id);
        assert!(codec("b", &[&key]).open_id(&value).is_none());
    }

    #[test]
    fn old_keys_verify_and_mark_stale() {
        let (old, new) = (Key::generate(), Key::generate());
        let value = codec("s", &[&old]).seal_data(b"{}");
        let opened = codec("s", &[&new, &old]).open_data(&value).unwrap();
        assert_eq!(opened.value, b"{}");
        assert!(opened.stale);
        assert!(codec("s", &[&new]).open_data(&value).is_none());
    }

    #[test]
    fn encrypted_round_trip_hides_the_plaintext() {
        let key = Key::generate();
        let mut c = codec("s", &[&key]);
        c.set_encrypt(true);
        let a = c.seal_data(b"hello");
        let b = c.seal_data(b"hello");
        assert_ne!(a, b, "random nonce");
        assert!(!a.contains(&b64::encode(b"hello")));
        assert_eq!(c.open_data(&a).unwrap().value, b"hello");
        let mut other_name = c.clone();
        other_name.set_name("t".into());
        assert!(other_name.open_data(&a).is_none());
    }

    #[test]
    fn plausibility_needs_a_known_version_and_key_id() {
        let key = Key::generate();
        let c = codec("s", &[&key]);
        assert!(c.plausible(&c.seal_id(&SessionId::generate())));
        assert!(c.plausible(&c.seal_data(b"{}")));
        let other = codec("s", &[&Key::generate()]);
        assert!(!c.plausible(&other.seal_data(b"{}")));
        for junk in ["", "x", "9.abc.def", "%%%", &"1.".repeat(3000)] {
            assert!(!c.plausible(junk), "{junk:?}");
        }
    }

    #[test]
    fn versions_do_not_cross() {
        let key = Key::generate();
        let c = codec("s", &[&key]);
        let id_cookie = c.seal_id(&SessionId::generate());
        assert!(c.open_data(&id_cookie).is_none());
        let data_cookie = c.seal_data(b"x");
        assert!(c.open_id(&data_cookie).is_none());
    }

    #[test]
    fn oversize_and_garbage_values_are_refused() {
        let c = codec("s", &[&Key::generate()]);
        for garbage in [
            "",
            ".",
            "...",
            "2.x.y.z",
            "%%%",
            "3.abc.",
            &"a".repeat(10_000),
        ] {
            assert!(c.open_data(garbage).is_none(), "{garbage:?}");
            assert!(c.open_id(garbage).is_none(), "{garbage:?}");
        }
    }
}
