//! The inputs: cookie values, `Cookie` header soup, garbage to splice a genuine cookie into,
//! stored records, record times.

use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime, Time};
use typed_sessions::store::Fields;

use super::fixture::{ABSOLUTE, CURRENT, FOREIGN, NOW, OLD};
use super::probe::known_keys;
use crate::wire;

/// Runs `test` on `cases` inputs of `strategy`, without persisting failures; panics with the
/// minimal failing input.
pub fn run<S: Strategy>(
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    if let Err(error) = TestRunner::new(config).run(&strategy, test) {
        panic!("{error}");
    }
}

/// Maps the bytes no header value may hold (controls other than tab, DEL) to ones it may.
pub fn header_safe(mut bytes: Vec<u8>) -> Vec<u8> {
    for byte in &mut bytes {
        if (*byte < 0x20 && *byte != b'\t') || *byte == 0x7f {
            *byte = byte.wrapping_add(0x40) & 0x7e;
        }
    }
    bytes
}

/// Base64url text of a length in `len`.
pub fn b64(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(
        select(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".to_vec()),
        len,
    )
    .prop_map(|bytes| String::from_utf8(bytes).unwrap())
}

/// A live session payload with arbitrary field values.
pub fn live_payload() -> impl Strategy<Value = Vec<u8>> {
    let now_ms = i64::try_from(NOW.unix_timestamp_nanos() / 1_000_000).unwrap();
    (b64(43..=43), record_fields()).prop_map(move |(id, fields)| {
        serde_json::to_vec(&json!({"i": id, "c": now_ms, "s": now_ms, "d": fields})).unwrap()
    })
}

/// Values shaped like the wire format, with a made-up or foreign signature.
pub fn shaped_value() -> impl Strategy<Value = Vec<u8>> {
    let kid = prop_oneof![
        Just(wire::kid(&CURRENT)),
        Just(wire::kid(&OLD)),
        Just(wire::kid(&FOREIGN)),
        b64(0..=10),
    ];
    let version = select(vec!["1", "2", "3", "0", "22", ""]);
    prop_oneof![
        (version, kid.clone(), b64(0..=120), b64(40..=46))
            .prop_map(|(v, kid, payload, mac)| format!("{v}.{kid}.{payload}.{mac}")),
        (kid.clone(), b64(0..=160)).prop_map(|(kid, body)| format!("3.{kid}.{body}")),
        (kid, b64(43..=43), b64(43..=43)).prop_map(|(kid, id, mac)| format!("1.{kid}.{id}.{mac}")),
        (live_payload(), 0..3u8).prop_map(|(payload, how)| match how {
            0 => wire::signed_data(&FOREIGN, &payload),
            1 => wire::sealed(&FOREIGN, &payload, [7; 12]),
            _ => wire::signed_data(&FOREIGN, &payload).replacen(
                &wire::kid(&FOREIGN),
                &wire::kid(&CURRENT),
                1,
            ),
        }),
        b64(43..=43).prop_map(|id| wire::signed(&FOREIGN, "1", &id)),
    ]
    .prop_map(String::into_bytes)
}

/// Any cookie value: bytes, text, shapes of the wire format, 8 KB values.
pub fn cookie_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..96).prop_map(header_safe),
        2 => ".{0,48}".prop_map(|text| header_safe(text.into_bytes())),
        4 => shaped_value(),
        1 => (4000usize..9000, any::<u8>())
            .prop_map(|(len, byte)| header_safe(vec![byte | 0x20; len])),
    ]
}

/// A piece of `Cookie` header soup.
pub fn soup_piece() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        4 => select(vec![
            "session", "session=", "=", ";", "; ", " ", "\t", "\"", ",", "Session=", "sessionx=",
            " session =", "=session", "2.", "3.", "1.", ".", "==", ";;",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        2 => (0x80u8..=0xff).prop_map(|b| vec![b]),
        3 => "[ -~]{0,12}".prop_map(String::into_bytes),
        2 => shaped_value(),
    ]
    .boxed()
}

/// One `Cookie` header's worth of soup pieces.
pub fn soup() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(soup_piece(), 0..40).prop_map(|pieces| pieces.concat())
}

/// One to three `Cookie` headers of soup.
pub fn soup_headers() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(soup(), 1..4)
}

/// A cookie name that is not the session cookie's, nor the same once trimmed.
pub fn other_name() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "sessionid",
            "session2",
            "Session",
            "SESSION",
            "_session",
            "a",
            "theme"
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z0-9_]{1,10}".prop_filter("not the session cookie", |name| name != "session"),
    ]
}

/// Bytes that hold no `;` (so they stay in one cookie pair).
pub fn no_semicolon(bytes: Vec<u8>) -> Vec<u8> {
    header_safe(bytes)
        .into_iter()
        .map(|b| if b == b';' { b':' } else { b })
        .collect()
}

/// What may come before a genuine cookie without hiding it: cookies of other names, bare words,
/// and at most three other `session` cookies (the layer tries the first four).
#[derive(Clone, Debug)]
pub enum Before {
    /// A cookie of another name.
    Other(String, Vec<u8>),
    /// Bytes without an `=`.
    Bare(Vec<u8>),
    /// Another session cookie's value.
    Session(Vec<u8>),
}

/// Up to 30 pieces to put before a genuine cookie, at most three of them session cookies.
pub fn before() -> impl Strategy<Value = Vec<Before>> {
    let piece = prop_oneof![
        3 => (other_name(), prop::collection::vec(any::<u8>(), 0..24))
            .prop_map(|(name, value)| Before::Other(name, no_semicolon(value))),
        1 => prop::collection::vec(any::<u8>(), 0..12).prop_map(|bytes| {
            Before::Bare(no_semicolon(bytes).into_iter().filter(|&b| b != b'=').collect())
        }),
        1 => cookie_value().prop_map(|value| Before::Session(no_semicolon(value))),
    ];
    prop::collection::vec(piece, 0..30).prop_map(|pieces| {
        let mut sessions = 0;
        pieces
            .into_iter()
            .filter(|piece| {
                sessions += usize::from(matches!(piece, Before::Session(_)));
                !matches!(piece, Before::Session(_)) || sessions <= 3
            })
            .collect()
    })
}

/// Joins cookie pairs into one to three headers, split at pair boundaries.
pub fn into_headers(pairs: Vec<Vec<u8>>, splits: &[Index], tight: bool) -> Vec<Vec<u8>> {
    let mut cuts: Vec<usize> = splits.iter().map(|i| i.index(pairs.len() + 1)).collect();
    cuts.sort_unstable();
    let separator: &[u8] = if tight { b";" } else { b"; " };
    let mut headers = vec![Vec::new()];
    for (i, pair) in pairs.into_iter().enumerate() {
        if cuts.contains(&i) && !headers.last().unwrap().is_empty() {
            headers.push(Vec::new());
        }
        let header = headers.last_mut().unwrap();
        if !header.is_empty() {
            header.extend_from_slice(separator);
        }
        header.extend_from_slice(&pair);
    }
    headers
}

// --- stored records ---

/// A field key: mostly one the session types read, sometimes any text.
pub fn record_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(known_keys().collect::<Vec<_>>()).prop_map(str::to_owned),
        1 => ".{0,8}",
    ]
}

/// Any JSON value, nested up to four levels, its objects keyed like records.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0u32..300).prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        ".{0,12}".prop_map(Value::String),
        select(vec![
            "light", "dark", "Plain", "Tuple", "Named", "é", "ab", ""
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(record_key(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// The fields of a stored record.
pub fn record_fields() -> impl Strategy<Value = Fields> {
    prop::collection::btree_map(record_key(), json_value(), 0..12)
        .prop_map(|map| map.into_iter().collect())
}

/// A record time: the edges around the fixture's `NOW` and its timeouts, the extremes, or any.
pub fn edge_time() -> impl Strategy<Value = OffsetDateTime> {
    let min = Date::MIN.midnight().assume_utc();
    let max = Date::MAX
        .with_time(Time::from_hms_nano(23, 59, 59, 999_999_999).unwrap())
        .assume_utc();
    prop_oneof![
        select(vec![
            NOW - Duration::days(15),
            NOW - ABSOLUTE,
            NOW - Duration::hours(1),
            NOW - Duration::milliseconds(1),
            NOW,
            NOW + Duration::milliseconds(1),
            NOW + Duration::days(1),
            NOW + Duration::days(30),
            min,
            max,
        ]),
        (-40_000_000i64..40_000_000).prop_map(|s| NOW + Duration::seconds(s)),
    ]
}
