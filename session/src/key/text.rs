//! Keys written as text, as configuration holds them: base64 (either alphabet, padded or not)
//! and hex. Errors say what is wrong with the text, never what it was.

use zeroize::Zeroizing;

use crate::Error;

/// The bytes of `text` in base64: the standard (`+/`) or URL-safe (`-_`) alphabet, with or
/// without `=` padding, surrounding whitespace ignored.
pub(super) fn base64(text: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    let problem = |problem| Error::KeyEncoding {
        encoding: "base64",
        problem,
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(problem("it is empty"));
    }
    let unpadded = text.trim_end_matches('=');
    let padding = text.len() - unpadded.len();
    if padding > 2 || (padding > 0 && !text.len().is_multiple_of(4)) {
        return Err(problem("its `=` padding is wrong"));
    }
    // One alphabet for the strict decoder; the copy is a secret too.
    let mut normalized = Zeroizing::new(String::with_capacity(unpadded.len()));
    for c in unpadded.chars() {
        normalized.push(match c {
            '+' => '-',
            '/' => '_',
            '=' => return Err(problem("it has `=` padding before its end")),
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '_' => c,
            _ => return Err(problem("it holds a character outside the base64 alphabets")),
        });
    }
    if crate::b64::decoded_len(normalized.len()).is_none() {
        return Err(problem(
            "its length is impossible for base64: a character is missing or extra",
        ));
    }
    crate::b64::decode(&normalized)
        .map(Zeroizing::new)
        .ok_or_else(|| {
            problem("its last character has bits set that encode nothing: is it truncated?")
        })
}

/// The bytes of `text` in hex, either case, surrounding whitespace ignored.
pub(super) fn hex(text: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    let problem = |problem| Error::KeyEncoding {
        encoding: "hex",
        problem,
    };
    let text = text.trim().as_bytes();
    if text.is_empty() {
        return Err(problem("it is empty"));
    }
    if !text.len().is_multiple_of(2) {
        return Err(problem("it has an odd number of digits"));
    }
    let digit = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
    let mut bytes = Zeroizing::new(Vec::with_capacity(text.len() / 2));
    for pair in text.chunks_exact(2) {
        match (digit(pair[0]), digit(pair[1])) {
            (Some(high), Some(low)) => bytes.push(high << 4 | low),
            _ => return Err(problem("it holds a character that is not a hex digit")),
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use proptest::prelude::*;

    use super::*;

    fn problem(result: Result<Zeroizing<Vec<u8>>, Error>) -> String {
        match result {
            Err(error @ Error::KeyEncoding { .. }) => error.to_string(),
            Err(other) => panic!("not an encoding error: {other}"),
            Ok(_) => panic!("decoded"),
        }
    }

    proptest! {
        #[test]
        fn base64_reads_every_alphabet_and_padding(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
                let text = engine.encode(&bytes);
                if bytes.is_empty() {
                    prop_assert!(base64(&text).is_err());
                } else {
                    prop_assert_eq!(&*base64(&text).unwrap(), &bytes);
                    prop_assert_eq!(&*base64(&format!(" {text}\n")).unwrap(), &bytes);
                }
            }
        }

        #[test]
        fn hex_reads_either_case(bytes in proptest::collection::vec(any::<u8>(), 1..100)) {
            let lower: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            prop_assert_eq!(&*hex(&lower).unwrap(), &bytes);
            prop_assert_eq!(&*hex(&lower.to_uppercase()).unwrap(), &bytes);
        }

        #[test]
        fn errors_never_echo_the_text(text in "[ -~]{0,60}") {
            for error in [base64(&text).err(), hex(&text).err()].into_iter().flatten() {
                let message = error.to_string();
                if text.trim().len() > 3 {
                    prop_assert!(!message.contains(text.trim()), "{}", message);
                }
            }
        }
    }

    #[test]
    fn base64_says_what_is_wrong() {
        assert_eq!(
            problem(base64("  ")),
            "session key is not valid base64: it is empty"
        );
        assert!(problem(base64("QUJD*EFG")).contains("outside the base64 alphabets"));
        assert!(problem(base64("QUJDR")).contains("length is impossible"));
        assert!(problem(base64("QUI=A")).contains("padding"));
        assert!(problem(base64("QQ===")).contains("padding"));
        assert!(problem(base64("QUJ=")).contains("truncated"));
        assert!(problem(base64("QQ=")).contains("padding"));
    }

    #[test]
    fn hex_says_what_is_wrong() {
        assert_eq!(
            problem(hex("")),
            "session key is not valid hex: it is empty"
        );
        assert!(problem(hex("abc")).contains("odd number of digits"));
        assert!(problem(hex("zz")).contains("not a hex digit"));
        assert!(problem(hex("0x00")).contains("not a hex digit"));
    }
}
