//! The key a store keeps a session under.

use std::fmt;

/// The key a store keeps a session under: the hex SHA-256 digest of the session id.
///
/// A store never sees the id itself, so a leaked store cannot be replayed as cookies.
///
/// # Examples
///
/// ```
/// use typed_sessions::store::StoreKey;
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
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::store::StoreKey;
    ///
    /// let key = StoreKey::from_digest_hex("ab".repeat(32)).unwrap();
    /// assert_eq!(key.as_str().len(), 64);
    /// ```
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a store key is ASCII hex")
    }

    /// Rebuilds a key from its hex form (as a store may have kept it), checking the form: 64
    /// lowercase hex digits.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::store::StoreKey;
    ///
    /// assert!(StoreKey::from_digest_hex("0f".repeat(32)).is_some());
    /// assert!(StoreKey::from_digest_hex("0F".repeat(32)).is_none());
    /// ```
    pub fn from_digest_hex(hex: impl Into<String>) -> Option<Self> {
        let hex: String = hex.into();
        let bytes: [u8; STORE_KEY_LEN] = hex.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            .then_some(Self(bytes))
    }

    /// The digest's 32 bytes (the Redis store's keys encode them more tightly than hex).
    #[cfg(feature = "redis")]
    pub(crate) fn digest(&self) -> [u8; STORE_KEY_LEN / 2] {
        let mut digest = [0u8; STORE_KEY_LEN / 2];
        for (byte, pair) in digest.iter_mut().zip(self.0.chunks_exact(2)) {
            *byte = (hex_value(pair[0]) << 4) | hex_value(pair[1]);
        }
        digest
    }

    /// The key of a 32-byte digest.
    pub(crate) fn from_digest(digest: &[u8]) -> Self {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; STORE_KEY_LEN];
        for (pair, byte) in hex.chunks_exact_mut(2).zip(digest) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0xf)];
        }
        Self(hex)
    }
}

/// The value of one lowercase hex digit (a [`StoreKey`] holds nothing else).
#[cfg(feature = "redis")]
fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        _ => digit - b'a' + 10,
    }
}

#[cfg(test)]
impl StoreKey {
    /// A key no other test uses.
    pub(crate) fn random() -> Self {
        let mut digest = [0u8; 32];
        crate::key::fill_random(&mut digest);
        Self::from_digest(&digest)
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
    fn keys_round_trip_through_their_hex_form() {
        let key = StoreKey::from_digest(&[0xa5; 32]);
        assert_eq!(key.as_str(), "a5".repeat(32));
        assert_eq!(StoreKey::from_digest_hex(key.as_str()), Some(key.clone()));
        assert_eq!(key.to_string(), key.as_str());
        assert_eq!(format!("{key:?}"), format!("StoreKey({:?})", key.as_str()));
        assert!(StoreKey::from_digest_hex("A".repeat(64)).is_none());
        assert!(StoreKey::from_digest_hex("a".repeat(63)).is_none());
        assert!(StoreKey::from_digest_hex("é".repeat(32)).is_none());
    }

    #[cfg(feature = "redis")]
    #[test]
    fn keys_give_back_their_digest() {
        assert_eq!(StoreKey::from_digest(&[0xa5; 32]).digest(), [0xa5; 32]);
        let digest: [u8; 32] = std::array::from_fn(|i| (i * 8) as u8);
        assert_eq!(StoreKey::from_digest(&digest).digest(), digest);
    }
}
