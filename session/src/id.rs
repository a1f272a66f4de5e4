//! Session ids and the store keys derived from them.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::b64;
use crate::key::fill_random;

/// The number of random bytes in a session id (256 bits).
const ID_BYTES: usize = 32;
/// The length of an id in base64url without padding.
pub(crate) const ID_LEN: usize = 43;

/// A session id: 256 bits from the operating system's CSPRNG, base64url.
///
/// The id only ever travels in the signed cookie; stores see its [`StoreKey`]. `Debug` never
/// prints it.
///
/// # Example
///
/// ```
/// # async fn handler(visit: typed_sessions::Session<Visit>) {
/// if let Some(id) = visit.id() {
///     assert_eq!(id.as_str().len(), 43);
///     println!("{id:?}"); // prints `SessionId(REDACTED)`
/// }
/// # }
/// # #[derive(typed_sessions::Session, Default)] struct Visit { views: u64 }
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    pub(crate) fn generate() -> Self {
        let mut bytes = [0u8; ID_BYTES];
        fill_random(&mut bytes);
        Self(b64::encode(&bytes))
    }

    /// Accepts only what [`SessionId::generate`] can produce.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let well_formed = text.len() == ID_LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| Self(text.to_owned()))
    }

    /// The id as it appears (signed) in the cookie.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key under which stores keep this session: the SHA-256 digest of the id.
    ///
    /// # Example
    ///
    /// ```
    /// # fn f(id: &typed_sessions::SessionId) {
    /// let key = id.store_key();
    /// assert_eq!(key.as_str().len(), 64);
    /// # }
    /// ```
    pub fn store_key(&self) -> StoreKey {
        StoreKey::from_digest(&Sha256::digest(self.0.as_bytes()))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(REDACTED)")
    }
}

/// The key a store keeps a session under: the hex SHA-256 digest of the session id.
///
/// A leaked store therefore cannot be replayed as cookies.
///
/// # Example
///
/// ```
/// use typed_sessions::StoreKey;
///
/// let key = StoreKey::from_digest_hex("00".repeat(32)).unwrap();
/// assert_eq!(key.as_str(), "00".repeat(32));
/// assert!(StoreKey::from_digest_hex("not hex").is_none());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreKey([u8; STORE_KEY_LEN]);

/// The length of a [`StoreKey`]: a SHA-256 digest in hex.
const STORE_KEY_LEN: usize = 64;

impl StoreKey {
    /// The digest as 64 lowercase hex characters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a store key is ASCII hex")
    }

    /// Rebuilds a key from its hex form (as a store may have kept it), checking the form.
    pub fn from_digest_hex(hex: impl Into<String>) -> Option<Self> {
        let hex: String = hex.into();
        let bytes: [u8; STORE_KEY_LEN] = hex.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            .then_some(Self(bytes))
    }

    fn from_digest(digest: &[u8]) -> Self {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; STORE_KEY_LEN];
        for (pair, byte) in hex.chunks_exact_mut(2).zip(digest) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0xf)];
        }
        Self(hex)
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StoreKey").field(&self.as_str()).finish()
    }
}

impl fmt::Display for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_and_differ() {
        let a = SessionId::generate();
        let b = SessionId::generate();
        assert_ne!(a, b);
        assert_eq!(SessionId::parse(a.as_str()), Some(a.clone()));
        assert_eq!(a.as_str().len(), ID_LEN);
    }

    #[test]
    fn malformed_ids_are_refused() {
        assert!(SessionId::parse("short").is_none());
        assert!(SessionId::parse(&"a".repeat(42)).is_none());
        assert!(SessionId::parse(&format!("{}!", "a".repeat(42))).is_none());
    }

    #[test]
    fn store_key_is_sha256_hex_of_the_id() {
        let id = SessionId("abc".into());
        assert_eq!(
            id.store_key().as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn store_keys_round_trip_through_their_hex_form() {
        let key = SessionId::generate().store_key();
        assert_eq!(StoreKey::from_digest_hex(key.as_str()), Some(key.clone()));
        assert_eq!(key.to_string(), key.as_str());
        assert_eq!(format!("{key:?}"), format!("StoreKey({:?})", key.as_str()));
        assert!(StoreKey::from_digest_hex("A".repeat(64)).is_none());
        assert!(StoreKey::from_digest_hex("a".repeat(63)).is_none());
        assert!(StoreKey::from_digest_hex("é".repeat(32)).is_none());
    }

    #[test]
    fn debug_redacts() {
        assert_eq!(
            format!("{:?}", SessionId::generate()),
            "SessionId(REDACTED)"
        );
    }
}
