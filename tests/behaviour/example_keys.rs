//! The session key of the examples a user would deploy (login, redis, postgres): read from
//! `SESSION_KEY` in base64, and refused with a message that says what is wrong and how to make
//! one, never repeating the value. The code is the examples' own (`examples/common/key.rs`).

#[path = "../../examples/common/key.rs"]
#[allow(dead_code)] // `from_env` exits the process: the tests call what it wraps
mod key;

use typed_sessions::Key;

#[track_caller]
fn refused(value: Option<Option<&str>>, says: &str) -> String {
    let message = key::parse(value).expect_err("refused");
    assert!(message.starts_with("SESSION_KEY"), "{message}");
    assert!(message.contains(says), "{message}");
    assert!(
        message.contains("cargo run -q --example keygen"),
        "says how to make one: {message}"
    );
    message
}

#[test]
fn a_missing_key_says_how_to_make_one() {
    refused(None, "is not set");
    refused(Some(None), "not valid base64");
}

#[test]
fn an_undecodable_key_says_why_without_repeating_it() {
    for value in [
        "hunter2-is-my-password!",
        "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0=x",
    ] {
        let message = refused(Some(Some(value)), "is not valid base64");
        assert!(!message.contains(value), "{message}");
    }
    refused(Some(Some("")), "it is empty");
}

#[test]
fn a_short_key_says_how_long_it_must_be() {
    let short = "c2hvcnQtc2VjcmV0LXNob3J0LXNlY3JldA"; // 25 bytes
    let message = refused(Some(Some(short)), "25 bytes long; at least 32 bytes");
    assert!(!message.contains(short), "{message}");
}

#[test]
fn a_keygen_key_is_accepted_in_every_base64_form() {
    let text = Key::generate_base64();
    assert!(key::parse(Some(Some(&text))).is_ok());
    assert!(
        key::parse(Some(Some(&format!("{text}\n")))).is_ok(),
        "a file's newline"
    );
    let standard = text.replace('-', "+").replace('_', "/") + "==";
    assert!(
        key::parse(Some(Some(&standard))).is_ok(),
        "standard, padded"
    );
}
