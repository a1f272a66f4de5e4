//! What must hold whatever the input: no server error, no session that a configured key did not
//! sign, and the genuine session found whenever its cookie is among those the layer tries.

use super::fixture::{CONFIGURED, MAX_VALUE_LEN, NAME, Outcome};
use super::probe::Probe;
use crate::wire;

/// The values of the cookies called `NAME` in `headers`, in order, as the layer documents that
/// it reads them: each header split at `;`, each pair at its first `=`, names and values trimmed
/// of ASCII whitespace, values that are not UTF-8 skipped, values that cannot be this layer's
/// (not at most `MAX_VALUE_LEN` long, or not a known version and the id of a configured key)
/// skipped for free; every one of the rest, as the layer tries them all (a cookie planted ahead
/// of the genuine one must not hide it).
pub fn tried<'h>(headers: &[&'h [u8]]) -> Vec<&'h str> {
    headers
        .iter()
        .flat_map(|header| header.split(|&b| b == b';'))
        .filter_map(|pair| {
            let pair = pair.trim_ascii();
            let eq = pair.iter().position(|&b| b == b'=')?;
            if pair[..eq].trim_ascii() != NAME.as_bytes() {
                return None;
            }
            std::str::from_utf8(pair[eq + 1..].trim_ascii()).ok()
        })
        .filter(|value| plausible(value))
        .collect()
}

/// Whether `value` could be a cookie of the fixture's layers: a known version, then the id of
/// a configured key.
fn plausible(value: &str) -> bool {
    if value.len() > MAX_VALUE_LEN {
        return false;
    }
    let mut parts = value.splitn(3, '.');
    let (Some(version), Some(kid)) = (parts.next(), parts.next()) else {
        return false;
    };
    matches!(version, "1" | "2" | "3") && CONFIGURED.iter().any(|master| wire::kid(master) == kid)
}

/// Shows an input in a failure message.
pub fn show(headers: &[&[u8]]) -> String {
    let text: Vec<String> = headers
        .iter()
        .map(|header| String::from_utf8_lossy(header).into_owned())
        .collect();
    let text = format!("{text:?}");
    if text.len() > 600 {
        let end = (0..=600)
            .rev()
            .find(|&end| text.is_char_boundary(end))
            .unwrap_or(0);
        format!("{}… ({} bytes)", &text[..end], text.len())
    } else {
        text
    }
}

/// No 5xx; `too_large_allowed` lets through the documented error for a session whose cookie
/// would outgrow the browser limit (only inputs signed by the fixture's own key can get there).
pub fn assert_no_server_error(headers: &[&[u8]], outcome: &Outcome, too_large_allowed: bool) {
    if outcome.status.is_server_error() {
        // The body is generic; the cause is in the log.
        let too_large = outcome.log.contains("session cookie too large");
        assert!(
            too_large_allowed && too_large,
            "server error {} ({}) for {}",
            outcome.status,
            outcome.body,
            show(headers)
        );
        return;
    }
    assert!(
        outcome.status.is_success(),
        "status {} ({}) for {}",
        outcome.status,
        outcome.body,
        show(headers)
    );
    assert!(
        outcome.seen.is_some(),
        "the handler did not run for {}",
        show(headers)
    );
}

/// A session was found only if a cookie the layer tried was signed by a configured key.
pub fn assert_found_only_if_authentic(headers: &[&[u8]], outcome: &Outcome) {
    if outcome.found() {
        assert!(
            tried(headers)
                .iter()
                .any(|value| wire::is_authentic(&CONFIGURED, value)),
            "a session was found, but no cookie the layer tries is signed by a configured key: {}",
            show(headers)
        );
    }
}

/// The genuine session is found whenever one of `genuine` is among the cookies the layer
/// tries, and every session found is the genuine one.
pub fn assert_genuine_found(headers: &[&[u8]], genuine: &[&str], outcome: &Outcome) {
    let offered = tried(headers).iter().any(|value| genuine.contains(value));
    assert!(
        !offered || outcome.found(),
        "a genuine cookie among those tried, yet a new session: {} → {outcome:?}",
        show(headers)
    );
    if let Some(seen) = outcome.seen.as_ref().filter(|seen| !seen.is_new) {
        assert!(seen.has_id, "a found session without an id");
        assert_eq!(
            seen.probe,
            Probe::genuine(),
            "a found session that is not the genuine one: {}",
            show(headers)
        );
    }
}

/// A new session is the default session.
pub fn assert_new_is_default(headers: &[&[u8]], outcome: &Outcome) {
    if let Some(seen) = outcome.seen.as_ref().filter(|seen| seen.is_new) {
        assert!(!seen.has_id, "a new session with an id: {}", show(headers));
        assert_eq!(
            seen.probe,
            Probe::default_session(),
            "a new session that is not the default: {}",
            show(headers)
        );
    }
}

/// Everything that must hold for any input: no server error, a session found only if a cookie
/// the layer tried is authentic, the genuine session (one of `genuine`) found whenever offered,
/// and a new session the default one.
pub fn assert_any_input_holds(headers: &[&[u8]], genuine: &[&str], outcome: &Outcome) {
    assert_no_server_error(headers, outcome, false);
    assert_found_only_if_authentic(headers, outcome);
    assert_genuine_found(headers, genuine, outcome);
    assert_new_is_default(headers, outcome);
}
