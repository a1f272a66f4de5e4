//! Secret keys and the key ring: the newest key signs, every key verifies.

use std::fmt;

use hmac::{Hmac, Mac};
use rand::{TryRngCore, rngs::OsRng};
use sha2::Sha256;

use crate::Error;

type HmacSha256 = Hmac<Sha256>;

/// A secret key for signing (and optionally encrypting) session cookies.
///
/// The key material is never used directly: separate signing and encryption keys and a short
/// public key id are derived from it with HMAC-SHA256, so one secret serves every purpose
/// without the purposes ever sharing a key.
///
/// `Debug` never prints the key.
///
/// # Examples
///
/// ```
/// use typed_sessions::Key;
///
/// let random = Key::generate();
/// let from_config = Key::from_bytes(&[7u8; 64]).expect("64 bytes is long enough");
/// assert_eq!(format!("{from_config:?}"), "Key(REDACTED)");
/// # let _ = random;
/// ```
#[derive(Clone)]
pub struct Key {
    /// HMAC-SHA256 keyed with the signing key, its inner and outer pads already absorbed: each
    /// MAC clones it rather than re-keying, which saves two SHA-256 blocks per MAC.
    signing: HmacSha256,
    encryption: [u8; 32],
    id: String,
}

impl Key {
    /// The shortest key accepted, in bytes.
    pub const MIN_LEN: usize = 32;

    /// Generates a fresh 64-byte key from the operating system's CSPRNG.
    ///
    /// Sessions signed with it do not survive a restart; load a stored key with
    /// [`Key::from_bytes`] for that.
    ///
    /// # Panics
    ///
    /// If the operating system's random number generator fails.
    ///
    /// # Examples
    ///
    /// ```
    /// let key = typed_sessions::Key::generate();
    /// # let _ = key;
    /// ```
    pub fn generate() -> Self {
        let mut master = [0u8; 64];
        fill_random(&mut master);
        Self::derive(&master)
    }

    /// Uses `master` (at least [`Key::MIN_LEN`] bytes of secret randomness) as the key.
    ///
    /// # Errors
    ///
    /// [`Error::KeyTooShort`] when `master` is shorter than 32 bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::Key;
    ///
    /// assert!(Key::from_bytes(b"0123456789abcdef0123456789abcdef").is_ok());
    /// assert!(Key::from_bytes(b"hunter2").is_err());
    /// ```
    pub fn from_bytes(master: &[u8]) -> Result<Self, Error> {
        if master.len() < Self::MIN_LEN {
            return Err(Error::KeyTooShort { len: master.len() });
        }
        Ok(Self::derive(master))
    }

    fn derive(master: &[u8]) -> Self {
        let signing = derive_subkey(master, b"typed-sessions/v1/signing");
        let encryption = derive_subkey(master, b"typed-sessions/v1/encryption");
        let id_bytes = derive_subkey(master, b"typed-sessions/v1/key-id");
        Self {
            signing: HmacSha256::new_from_slice(&signing).expect("HMAC accepts any key length"),
            encryption,
            id: crate::b64::encode(&id_bytes[..6]),
        }
    }

    /// The public id written into cookies, so a verifier knows which key to try.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// A fresh HMAC-SHA256 computation under the signing key.
    pub(crate) fn mac(&self) -> HmacSha256 {
        self.signing.clone()
    }

    pub(crate) fn encryption_key(&self) -> &[u8; 32] {
        &self.encryption
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(REDACTED)")
    }
}

fn derive_subkey(master: &[u8], label: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(master).expect("HMAC accepts any key length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

/// Fills `buf` from the operating system's CSPRNG.
pub(crate) fn fill_random(buf: &mut [u8]) {
    OsRng
        .try_fill_bytes(buf)
        .expect("the operating system's random number generator failed");
}

/// The keys a layer accepts: the first signs, all of them verify.
#[derive(Clone)]
pub(crate) struct KeyRing {
    keys: Vec<Key>,
}

impl KeyRing {
    pub(crate) fn new(newest: Key) -> Self {
        Self { keys: vec![newest] }
    }

    pub(crate) fn push_old(&mut self, key: Key) {
        self.keys.push(key);
    }

    pub(crate) fn newest(&self) -> &Key {
        &self.keys[0]
    }

    /// The keys whose id is `id`, newest first (ids are 48 bits, so a clash is possible but
    /// harmless: each candidate is tried).
    pub(crate) fn with_id<'a>(&'a self, id: &'a str) -> impl Iterator<Item = (usize, &'a Key)> {
        self.keys
            .iter()
            .enumerate()
            .filter(move |(_, key)| key.id() == id)
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyRing({} keys, REDACTED)", self.keys.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prepared_mac_equals_keying_afresh_every_time() {
        let master = [9u8; 40];
        let key = Key::from_bytes(&master).unwrap();
        let signing = derive_subkey(&master, b"typed-sessions/v1/signing");
        for message in [&b""[..], b"session=1.abc.def", &[7u8; 200]] {
            let mut fresh = HmacSha256::new_from_slice(&signing).unwrap();
            fresh.update(message);
            let mut prepared = key.mac();
            prepared.update(message);
            assert_eq!(
                prepared.finalize().into_bytes(),
                fresh.finalize().into_bytes()
            );
        }
    }
}
