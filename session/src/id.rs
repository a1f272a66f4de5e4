//! Session ids and the store keys derived from them.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::b64;
use crate::key::fill_random;
use crate::store::StoreKey;

/// The number of random bytes in a session id (256 bits).
const ID_BYTES: usize = 32;
/// The length of an id in base64url without padding.
pub(crate) const ID_LEN: usize = 43;

/// A session id: 256 bits from the operating system's CSPRNG, base64url.
///
/// The id only ever travels in the signed cookie; stores see its [`StoreKey`]. `Debug` never
/// prints it.
///
/// # Examples
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

    /// The id as it appears (signed) in the cookie: 43 base64url characters. Treat it as a
    /// secret, like the cookie: whoever holds it holds the session.
    ///
    /// # Examples
    ///
    /// ```
    /// # async fn handler(visit: typed_sessions::Session<Visit>) {
    /// if let Some(id) = visit.id() {
    ///     assert!(id.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    /// }
    /// # }
    /// # #[derive(typed_sessions::Session, Default)] struct Visit { views: u64 }
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key under which stores keep this session: the SHA-256 digest of the id.
    ///
    /// # Examples
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
    fn debug_redacts() {
        assert_eq!(
            format!("{:?}", SessionId::generate()),
            "SessionId(REDACTED)"
        );
    }
}
