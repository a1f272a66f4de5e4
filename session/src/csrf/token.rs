//! The session's CSRF secret and the masked tokens derived from it.
//!
//! The secret is 32 bytes, stored base64url under a reserved storage key. A token is
//! `base64url(mask || mask XOR secret)` with a fresh random mask each time, so that no two
//! responses carry the same bytes (BREACH), and every token ever handed out for the session
//! unmasks to the same secret until it rotates.

use hmac::Mac;
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::b64;
use crate::id::SessionId;
use crate::key::{Key, fill_random};
use crate::reserved::CSRF_SECRET;
use crate::store::Fields;

/// The secret's length in bytes.
const SECRET_LEN: usize = 32;
/// A token's length in bytes before base64url: the mask and the masked secret.
const TOKEN_LEN: usize = 2 * SECRET_LEN;

/// What the secret of a session is derived from, besides its id: a label that no cookie MAC
/// input can start with (those start with a cookie name, which holds no NUL byte), so that a
/// client who unmasks a token learns nothing it could pass off as a cookie's MAC.
const LABEL: &[u8] = b"\0typed-sessions/v1/csrf-secret\0";

/// A session's CSRF secret.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret([u8; SECRET_LEN]);

impl Secret {
    /// The secret for the session `id`, under the layer's newest `key`.
    ///
    /// Derived rather than drawn at random, so that two requests that both find no secret in
    /// the same session (two tabs opened at once) create the same one: the last-writer-wins
    /// write of the field then loses nothing, and both tabs' tokens stay valid.
    pub(crate) fn derive(key: &Key, id: &SessionId) -> Self {
        let mut mac = key.mac();
        mac.update(LABEL);
        mac.update(id.as_str().as_bytes());
        Self(mac.finalize().into_bytes().into())
    }

    /// The secret stored in `fields`, if there is a well-formed one.
    pub(crate) fn stored(fields: &Fields) -> Option<Self> {
        let text = fields.get(CSRF_SECRET)?.as_str()?;
        let mut secret = [0; SECRET_LEN];
        (b64::decode_into(text, &mut secret)? == SECRET_LEN).then_some(Self(secret))
    }

    /// The secret as it is stored.
    pub(crate) fn to_value(&self) -> Value {
        Value::String(b64::encode(&self.0))
    }

    /// A new token for this secret, masked with fresh randomness.
    pub(crate) fn mask(&self) -> String {
        let mut token = [0; TOKEN_LEN];
        let (mask, masked) = token.split_at_mut(SECRET_LEN);
        fill_random(mask);
        for ((out, m), s) in masked.iter_mut().zip(mask.iter()).zip(&self.0) {
            *out = m ^ s;
        }
        b64::encode(&token)
    }

    /// Whether `token` was masked from this secret, compared in constant time.
    pub(crate) fn accepts(&self, token: &str) -> bool {
        let mut bytes = [0; TOKEN_LEN];
        if token.len() != b64::encoded_len(TOKEN_LEN)
            || b64::decode_into(token, &mut bytes) != Some(TOKEN_LEN)
        {
            return false;
        }
        let (mask, masked) = bytes.split_at(SECRET_LEN);
        let mut unmasked = [0; SECRET_LEN];
        for ((out, m), x) in unmasked.iter_mut().zip(mask).zip(masked) {
            *out = m ^ x;
        }
        unmasked.ct_eq(&self.0).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::derive(&Key::from_bytes(&[1; 32]).unwrap(), &SessionId::generate())
    }

    #[test]
    fn every_token_of_a_secret_differs_and_is_accepted() {
        let secret = secret();
        let (one, two) = (secret.mask(), secret.mask());
        assert_ne!(one, two, "a fresh mask each time");
        assert!(secret.accepts(&one) && secret.accepts(&two));
        assert!(!super::tests::secret().accepts(&one), "another session's");
    }

    #[test]
    fn a_changed_truncated_or_malformed_token_is_refused() {
        let secret = secret();
        let token = secret.mask();
        let mut changed = token.clone().into_bytes();
        changed[50] = if changed[50] == b'A' { b'B' } else { b'A' };
        for bad in [
            String::from_utf8(changed).unwrap(),
            token[..token.len() - 1].to_owned(),
            format!("{token}A"),
            String::new(),
            "!".repeat(token.len()),
        ] {
            assert!(!secret.accepts(&bad), "{bad:?}");
        }
    }

    #[test]
    fn the_secret_is_the_same_for_one_session_and_key_and_round_trips() {
        let key = Key::from_bytes(&[1; 32]).unwrap();
        let id = SessionId::generate();
        let secret = Secret::derive(&key, &id);
        assert!(secret == Secret::derive(&key, &id), "two tabs agree");
        assert!(secret != Secret::derive(&key, &SessionId::generate()));
        let other_key = Key::from_bytes(&[2; 32]).unwrap();
        assert!(secret != Secret::derive(&other_key, &id));
        let mut fields = Fields::new();
        fields.insert(CSRF_SECRET.to_owned(), secret.to_value());
        assert!(Secret::stored(&fields) == Some(secret));
        fields.insert(CSRF_SECRET.to_owned(), Value::from("short"));
        assert!(Secret::stored(&fields).is_none());
    }
}
