//! Secret keys and the key ring: the newest key signs, every key verifies.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use rand::{TryRngCore, rngs::OsRng};
use sha2::Sha256;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::Error;

mod text;

type HmacSha256 = Hmac<Sha256>;

/// A secret key for signing (and optionally encrypting) session cookies.
///
/// The key material is never used directly: separate signing and encryption keys and a short
/// public key id are derived from it with HMAC-SHA256, so one secret serves every purpose
/// without the purposes ever sharing a key.
///
/// `Debug` never prints the key, and the key material is zeroed in memory when the last copy
/// of a `Key` is dropped.
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
    /// Zeroed on drop: its secrets are two SHA-256 states, which `sha2` zeroes.
    signing: HmacSha256,
    /// HMAC-SHA256 keyed with the index key, prepared like `signing`: digests of indexed
    /// values (see `devices`), so that a store never sees a user id.
    index: HmacSha256,
    encryption: Zeroizing<[u8; 32]>,
    id: String,
}

/// Every secret a `Key` holds is zeroed when it is dropped: the prepared HMAC state (the two
/// SHA-256 states it holds zero themselves) and the encryption key.
impl ZeroizeOnDrop for Key {}

impl Key {
    /// The shortest key accepted, in bytes.
    pub const MIN_LEN: usize = 32;

    /// Generates a fresh 64-byte key from the operating system's CSPRNG.
    ///
    /// Sessions signed with it do not survive a restart; load a stored key with
    /// [`Key::from_base64`], [`Key::from_hex`] or [`Key::from_bytes`] for that.
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
        let mut master = Zeroizing::new([0u8; 64]);
        fill_random(&mut *master);
        Self::derive(&*master)
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

    /// Reads the key from base64 text, as configuration holds it (an environment variable, a
    /// secrets file): the standard (`+/`) or URL-safe (`-_`) alphabet, padded with `=` or not;
    /// surrounding whitespace, such as a file's final newline, is ignored.
    /// [`Key::generate_base64`] makes one.
    ///
    /// # Errors
    ///
    /// [`Error::KeyEncoding`] when `text` is not base64, and [`Error::KeyTooShort`] when it
    /// holds fewer than 32 bytes. Neither message repeats the text.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::{Error, Key};
    ///
    /// let key = Key::from_base64("4o6m6KFh8kqSEMQ0NUpuXwDmMGkqNKBw0mTWVgQpgxTeBy+Tgq/2mN1HAMl8Dhx9")?;
    /// assert!(matches!(Key::from_base64("not base64!"), Err(Error::KeyEncoding { .. })));
    /// assert!(matches!(Key::from_base64("aHVudGVyMg=="), Err(Error::KeyTooShort { len: 7 })));
    /// # let _ = key;
    /// # Ok::<(), Error>(())
    /// ```
    pub fn from_base64(text: &str) -> Result<Self, Error> {
        Self::from_bytes(&text::base64(text)?)
    }

    /// Reads the key from hex text (either case; surrounding whitespace is ignored), as
    /// `openssl rand -hex 32` writes it.
    ///
    /// # Errors
    ///
    /// [`Error::KeyEncoding`] when `text` is not hex, and [`Error::KeyTooShort`] when it holds
    /// fewer than 32 bytes (64 digits). Neither message repeats the text.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::{Error, Key};
    ///
    /// let key = Key::from_hex("8f0c3a5e1d2b4c6a8e0f1a3b5c7d9e0f2a4b6c8d0e1f3a5b7c9d1e2f4a6b8c0d")?;
    /// let err = Key::from_hex("8f0c3a5e1d2b4c6a").unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "session key is 8 bytes long; at least 32 bytes of secret randomness are required"
    /// );
    /// assert!(Key::from_hex("xyz").unwrap_err().to_string().contains("not valid hex"));
    /// # let _ = key;
    /// # Ok::<(), Error>(())
    /// ```
    pub fn from_hex(text: &str) -> Result<Self, Error> {
        Self::from_bytes(&text::hex(text)?)
    }

    /// A fresh key as text, for configuration: 64 bytes from the operating system's CSPRNG in
    /// base64 (URL-safe, unpadded: 86 characters, nothing a shell or a URL would mangle), which
    /// [`Key::from_base64`] reads. `cargo run -q --example keygen` prints one.
    ///
    /// The text is the secret: store it where secrets go, and never log it.
    ///
    /// # Panics
    ///
    /// If the operating system's random number generator fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::Key;
    ///
    /// let text = Key::generate_base64(); // e.g. `export SESSION_KEY=...`
    /// assert_eq!(text.len(), 86);
    /// let key = Key::from_base64(&text)?;
    /// # let _ = key;
    /// # Ok::<(), typed_sessions::Error>(())
    /// ```
    pub fn generate_base64() -> String {
        let mut master = Zeroizing::new([0u8; 64]);
        fill_random(&mut *master);
        crate::b64::encode(&*master)
    }

    fn derive(master: &[u8]) -> Self {
        let signing = derive_subkey(master, b"typed-sessions/v1/signing");
        let encryption = derive_subkey(master, b"typed-sessions/v1/encryption");
        let id_bytes = derive_subkey(master, b"typed-sessions/v1/key-id");
        let index = derive_subkey(master, b"typed-sessions/v1/index");
        Self {
            signing: HmacSha256::new_from_slice(&*signing).expect("HMAC accepts any key length"),
            index: HmacSha256::new_from_slice(&*index).expect("HMAC accepts any key length"),
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

    /// The keyed digest of an indexed value's bytes, as the store sees it (in hex). The
    /// storage key of the field it comes from is bound in (length-prefixed), so that the same
    /// value in two differently named fields (a user `7`, an organisation `7`) never shares a
    /// digest, even between layers that share a store and a key.
    pub(crate) fn index_digest(&self, field: &str, value: &[u8]) -> [u8; 32] {
        let mut mac = self.index.clone();
        mac.update(&(field.len() as u64).to_be_bytes());
        mac.update(field.as_bytes());
        mac.update(value);
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(REDACTED)")
    }
}

fn derive_subkey(master: &[u8], label: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut mac = HmacSha256::new_from_slice(master).expect("HMAC accepts any key length");
    mac.update(label);
    Zeroizing::new(mac.finalize().into_bytes().into())
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

    /// Every key, newest first.
    pub(crate) fn all(&self) -> &[Key] {
        &self.keys
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
    fn every_secret_of_a_key_is_zeroed_on_drop() {
        fn zeroed_on_drop<T: ZeroizeOnDrop>() {}
        // The prepared HMAC's secrets are its two SHA-256 states (the key's inner and outer pads
        // absorbed), which zero themselves (`sha2`'s `zeroize` feature); the encryption key is
        // `Zeroizing`. If a dependency update dropped either, this stops compiling.
        zeroed_on_drop::<<Sha256 as hmac::digest::block_api::CoreProxy>::Core>();
        zeroed_on_drop::<Zeroizing<[u8; 32]>>();
        zeroed_on_drop::<Key>();
        // What aes-gcm builds from the encryption key for each cookie: the AES key schedule
        // (the workspace turns its `zeroize` feature on).
        zeroed_on_drop::<aes::Aes256>();
    }

    #[test]
    fn text_keys_are_the_keys_of_their_bytes() {
        let master: Vec<u8> = (0u8..48).collect();
        let hex: String = master.iter().map(|b| format!("{b:02X}")).collect();
        let base64 = crate::b64::encode(&master);
        let expected = Key::from_bytes(&master).unwrap();
        assert_eq!(Key::from_hex(&hex).unwrap().id(), expected.id());
        assert_eq!(Key::from_base64(&base64).unwrap().id(), expected.id());
        assert!(matches!(
            Key::from_hex(&hex[..62]),
            Err(Error::KeyTooShort { len: 31 })
        ));
        assert!(matches!(
            Key::from_base64(&crate::b64::encode(&master[..31])),
            Err(Error::KeyTooShort { len: 31 })
        ));
        let generated = Key::generate_base64();
        assert_eq!(crate::b64::decode(&generated).map(|b| b.len()), Some(64));
        assert_ne!(generated, Key::generate_base64());
    }

    #[test]
    fn the_prepared_mac_equals_keying_afresh_every_time() {
        let master = [9u8; 40];
        let key = Key::from_bytes(&master).unwrap();
        let signing = derive_subkey(&master, b"typed-sessions/v1/signing");
        for message in [&b""[..], b"session=1.abc.def", &[7u8; 200]] {
            let mut fresh = HmacSha256::new_from_slice(&*signing).unwrap();
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
