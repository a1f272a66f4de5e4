//! base64url without padding (RFC 4648 §5), strict: the alphabet only, no `=`, and unused
//! trailing bits must be zero, so each byte string has exactly one encoding.
//!
//! Hand-written rather than the `base64` crate's general engine because every request that
//! touches a session encodes or decodes a few of these short values (ids, MACs, the cookie
//! store's payload), and for 32 bytes the general engine's setup costs several times the
//! encoding itself. A property test checks both directions against the `base64` crate.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Marks bytes outside the alphabet in [`DECODE`]; every value in the alphabet is below 64.
const INVALID: u8 = 0xff;

const DECODE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// The length of the encoding of `len` bytes.
pub(crate) const fn encoded_len(len: usize) -> usize {
    (len * 4).div_ceil(3)
}

/// The encoding of `bytes`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(encoded_len(bytes.len()));
    encode_into(bytes, &mut out);
    out
}

/// Appends the encoding of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    if let Ok(bytes) = <&[u8; 32]>::try_from(bytes) {
        // Ids and MACs: a fixed size the compiler unrolls.
        let encoded = encode_32(bytes);
        out.push_str(std::str::from_utf8(&encoded).expect("the alphabet is ASCII"));
        return;
    }
    out.reserve(encoded_len(bytes.len()));
    // Encoded in blocks on the stack and appended as `str`s: pushing `char`s one by one costs
    // more than the encoding.
    let mut block = [0u8; BLOCK_OUT];
    for input in bytes.chunks(BLOCK_IN) {
        let mut len = 0;
        let mut chunks = input.chunks_exact(3);
        for chunk in &mut chunks {
            let n = u32::from(chunk[0]) << 16 | u32::from(chunk[1]) << 8 | u32::from(chunk[2]);
            block[len..len + 4].copy_from_slice(&[
                sextet(n >> 18),
                sextet(n >> 12),
                sextet(n >> 6),
                sextet(n),
            ]);
            len += 4;
        }
        match *chunks.remainder() {
            [a] => {
                let n = u32::from(a) << 16;
                block[len..len + 2].copy_from_slice(&[sextet(n >> 18), sextet(n >> 12)]);
                len += 2;
            }
            [a, b] => {
                let n = u32::from(a) << 16 | u32::from(b) << 8;
                block[len..len + 3].copy_from_slice(&[
                    sextet(n >> 18),
                    sextet(n >> 12),
                    sextet(n >> 6),
                ]);
                len += 3;
            }
            _ => {}
        }
        out.push_str(std::str::from_utf8(&block[..len]).expect("the alphabet is ASCII"));
    }
}

/// The encoding of 32 bytes (ids and MACs).
fn encode_32(bytes: &[u8; 32]) -> [u8; encoded_len(32)] {
    let mut out = [0u8; encoded_len(32)];
    for (chunk, chars) in bytes.chunks_exact(3).zip(out.chunks_exact_mut(4)) {
        let n = u32::from(chunk[0]) << 16 | u32::from(chunk[1]) << 8 | u32::from(chunk[2]);
        chars.copy_from_slice(&[sextet(n >> 18), sextet(n >> 12), sextet(n >> 6), sextet(n)]);
    }
    let n = u32::from(bytes[30]) << 16 | u32::from(bytes[31]) << 8;
    out[40..].copy_from_slice(&[sextet(n >> 18), sextet(n >> 12), sextet(n >> 6)]);
    out
}

/// Input bytes per block of [`encode_into`], and the characters they become.
const BLOCK_IN: usize = 48;
const BLOCK_OUT: usize = 64;

fn sextet(n: u32) -> u8 {
    ALPHABET[(n & 63) as usize]
}

/// The bytes `text` encodes, or `None` if it is not a strict encoding.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let mut out = vec![0; decoded_len(text.len())?];
    decode_into(text, &mut out)?;
    Some(out)
}

/// The number of bytes an encoding of `len` characters holds, if `len` is a possible length.
pub(crate) const fn decoded_len(len: usize) -> Option<usize> {
    match len % 4 {
        1 => None,
        rest => Some(len / 4 * 3 + rest.saturating_sub(1)),
    }
}

/// Decodes `text` into the start of `out`; returns how many bytes it wrote, or `None` if
/// `text` is not a strict encoding or `out` is too short.
pub(crate) fn decode_into(text: &str, out: &mut [u8]) -> Option<usize> {
    let len = decoded_len(text.len())?;
    let out = out.get_mut(..len)?;
    let sextets = |chars: &[u8]| -> Option<u32> {
        let mut n = 0u32;
        let mut all = 0u8;
        for &c in chars {
            let value = DECODE[usize::from(c)];
            all |= value;
            n = n << 6 | u32::from(value);
        }
        (all < 64).then_some(n)
    };
    let mut chunks = text.as_bytes().chunks_exact(4);
    let mut bytes = out.chunks_exact_mut(3);
    for (chunk, bytes) in (&mut chunks).zip(&mut bytes) {
        let n = sextets(chunk)?;
        bytes.copy_from_slice(&n.to_be_bytes()[1..]);
    }
    let tail = bytes.into_remainder();
    match *chunks.remainder() {
        [] => {}
        [a, b] => {
            let n = sextets(&[a, b])?;
            // 12 bits for one byte: the low 4 must be zero.
            if n & 0xf != 0 {
                return None;
            }
            tail[0] = (n >> 4) as u8;
        }
        [a, b, c] => {
            let n = sextets(&[a, b, c])?;
            // 18 bits for two bytes: the low 2 must be zero.
            if n & 0x3 != 0 {
                return None;
            }
            tail.copy_from_slice(&((n >> 2) as u16).to_be_bytes());
        }
        _ => return None,
    }
    Some(len)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn encodes_like_the_base64_crate(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(encode(&bytes), URL_SAFE_NO_PAD.encode(&bytes));
            prop_assert_eq!(encode(&bytes).len(), encoded_len(bytes.len()));
        }

        #[test]
        fn decodes_like_the_base64_crate(text in "[A-Za-z0-9_=+/. -]{0,80}") {
            prop_assert_eq!(decode(&text), URL_SAFE_NO_PAD.decode(&text).ok());
        }

        #[test]
        fn decodes_valid_encodings_like_the_base64_crate(text in "[A-Za-z0-9_-]{0,80}") {
            // Mostly valid: only the length and the trailing bits can be wrong.
            prop_assert_eq!(decode(&text), URL_SAFE_NO_PAD.decode(&text).ok());
        }

        #[test]
        fn encodes_32_bytes_like_the_base64_crate(bytes in any::<[u8; 32]>()) {
            prop_assert_eq!(encode(&bytes), URL_SAFE_NO_PAD.encode(bytes));
        }

        #[test]
        fn round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(decode(&encode(&bytes)), Some(bytes));
        }
    }

    #[test]
    fn refuses_what_a_strict_decoder_refuses() {
        assert_eq!(decode("QQ"), Some(b"A".to_vec()));
        assert_eq!(decode("QR"), None, "non-zero trailing bits");
        assert_eq!(decode("QUI"), Some(b"AB".to_vec()));
        assert_eq!(decode("QUJ"), None, "non-zero trailing bits");
        assert_eq!(decode("QQ=="), None, "padding");
        assert_eq!(decode("Q"), None, "impossible length");
        assert_eq!(decode("QU+D"), None, "standard alphabet");
        assert_eq!(decode("é"), None);
    }

    #[test]
    fn decode_into_needs_room() {
        let mut short = [0u8; 1];
        assert_eq!(decode_into("QUI", &mut short), None);
        let mut room = [0u8; 4];
        assert_eq!(decode_into("QUI", &mut room), Some(2));
        assert_eq!(&room[..2], b"AB");
    }
}
