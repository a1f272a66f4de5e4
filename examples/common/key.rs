//! The session key of an example you would deploy: base64 in the environment variable
//! `SESSION_KEY`, shared by every instance and kept across restarts.

use typed_sessions::Key;

/// The variable the key is read from.
pub(crate) const VAR: &str = "SESSION_KEY";

/// How to make a key, for the messages below.
const HOW: &str = "make one with `cargo run -q --example keygen` \
    (export SESSION_KEY=\"$(cargo run -q --example keygen)\")";

/// The key in `SESSION_KEY`; on a missing, undecodable or short key, exits with a message
/// that says what is wrong and how to make one.
pub(crate) fn from_env() -> Key {
    let value = std::env::var_os(VAR);
    match parse(value.as_ref().map(|value| value.to_str())) {
        Ok(key) => key,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    }
}

/// The key in `value`, the variable's value (`None`: not set; `Some(None)`: not UTF-8), or
/// what is wrong with it. The message never repeats the value.
pub(crate) fn parse(value: Option<Option<&str>>) -> Result<Key, String> {
    let text = match value {
        None => {
            return Err(format!(
                "{VAR} is not set: it must hold the session key in base64; {HOW}"
            ));
        }
        Some(None) => return Err(format!("{VAR} is not valid base64 (not even UTF-8); {HOW}")),
        Some(Some(text)) => text,
    };
    Key::from_base64(text).map_err(|error| format!("{VAR}: {error}; {HOW}"))
}
