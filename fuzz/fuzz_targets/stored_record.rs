//! A stored record decoded into derived structs: `SessionData::decode` directly, and through a
//! real `Router` whose store returns the record from `load`.
//!
//! Input: a form byte, a times byte, then the fields. Form bits: `0x02` the fields are built
//! from the bytes as arbitrary `serde_json::Value`s (else the bytes are JSON text; a JSON value
//! that is not an object is stored under every known key), `0x04` the cookie is signed by the
//! old key (re-issued when read), `0x08` the route that writes. The times byte picks the
//! record's `created` (low three bits) and `expires` (next three) from edge cases.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Number, Value};
use time::{Date, Duration, OffsetDateTime, Time};
use typed_sessions::{
    SessionData,
    store::{Fields, Record},
};
use typed_sessions_tests::input::*;

fuzz_target!(|data: &[u8]| {
    let [form, times, rest @ ..] = data else {
        return;
    };
    let fields = if form & 0x02 == 0 {
        match json_fields(rest) {
            Some(fields) => fields,
            None => return,
        }
    } else {
        match arbitrary_fields(&mut Unstructured::new(rest)) {
            Ok(fields) => fields,
            Err(_) => return,
        }
    };
    check_decode(&fields);
    check_router(fields, *times, form & 0x04 != 0, form & 0x08 != 0);
});

fn json_fields(text: &[u8]) -> Option<Fields> {
    match serde_json::from_slice::<Value>(text).ok()? {
        Value::Object(map) => Some(map),
        other => Some(
            known_keys()
                .chain(["unknown"])
                .map(|key| (key.to_owned(), other.clone()))
                .collect(),
        ),
    }
}

fn arbitrary_key(u: &mut Unstructured) -> arbitrary::Result<String> {
    let known: Vec<&str> = known_keys().collect();
    Ok(if u.ratio(3, 4)? {
        (*u.choose(&known)?).to_owned()
    } else {
        u.arbitrary()?
    })
}

fn arbitrary_value(u: &mut Unstructured, depth: usize) -> arbitrary::Result<Value> {
    let kinds = if depth == 0 { 6 } else { 8 };
    Ok(match u.choose_index(kinds)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::Number(u.arbitrary::<u64>()?.into()),
        3 => Value::Number(u.arbitrary::<i64>()?.into()),
        4 => Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        5 => Value::String(u.arbitrary()?),
        6 => {
            let len = u.int_in_range(0..=6)?;
            Value::Array(
                (0..len)
                    .map(|_| arbitrary_value(u, depth - 1))
                    .collect::<arbitrary::Result<_>>()?,
            )
        }
        _ => {
            let len = u.int_in_range(0..=6)?;
            let mut map = Map::new();
            for _ in 0..len {
                map.insert(arbitrary_key(u)?, arbitrary_value(u, depth - 1)?);
            }
            Value::Object(map)
        }
    })
}

fn arbitrary_fields(u: &mut Unstructured) -> arbitrary::Result<Fields> {
    let mut fields = Fields::new();
    let len = u.int_in_range(0..=24)?;
    for _ in 0..len {
        fields.insert(arbitrary_key(u)?, arbitrary_value(u, 6)?);
    }
    Ok(fields)
}

/// Decoding yields, field by field, the stored value or the field's default; what it yields
/// encodes and decodes back to itself.
fn check_decode(fields: &Fields) {
    let probe = Probe::decode(fields);
    assert_eq!(probe, Probe::expected(fields), "fields {fields:?}");
    let cart = Cart::decode(fields);
    assert_eq!(cart, Cart::expected(fields), "fields {fields:?}");

    let again = fields_of(&probe);
    assert_eq!(Probe::decode(&again), probe, "re-decoded from {again:?}");
    let encoded = cart.encode().expect("a decoded cart encodes");
    let again: Fields = Cart::KEYS
        .iter()
        .map(|key| (*key).to_owned())
        .zip(encoded)
        .collect();
    assert_eq!(Cart::decode(&again), cart, "re-decoded from {again:?}");
}

fn min_time() -> OffsetDateTime {
    Date::MIN.midnight().assume_utc()
}

fn max_time() -> OffsetDateTime {
    Date::MAX
        .with_time(Time::from_hms_nano(23, 59, 59, 999_999_999).expect("a time"))
        .assume_utc()
}

fn times(byte: u8) -> (OffsetDateTime, OffsetDateTime) {
    let created = match byte & 7 {
        0 => NOW - Duration::hours(1),
        1 => NOW - Duration::days(13),
        2 => NOW - ABSOLUTE,
        3 => NOW - Duration::days(15),
        4 => NOW + Duration::days(1),
        5 => min_time(),
        6 => max_time(),
        _ => NOW - Duration::milliseconds(1),
    };
    let expires = match (byte >> 3) & 7 {
        0 => NOW + Duration::hours(1),
        1 => NOW + Duration::milliseconds(1),
        2 => NOW,
        3 => NOW - Duration::milliseconds(1),
        4 => NOW + Duration::days(30),
        5 => min_time(),
        6 => max_time(),
        _ => NOW + IDLE,
    };
    (created, expires)
}

/// Through the router: the session is found exactly when the record is live, its fields are
/// what `decode` makes of the record, and a write changes the one field it changed.
fn check_router(fields: Fields, times_byte: u8, stale: bool, writes: bool) {
    let (created, expires) = times(times_byte);
    let record = Record::new(fields.clone(), created, expires);
    let live = expires.min(created.saturating_add(ABSOLUTE)) > NOW;
    let path = if writes { "/write" } else { "/read" };
    let outcome = RecordFixture::get().send(record, stale, path);
    let context = format!("{path}, stale {stale}, created {created}, expires {expires}");

    assert!(
        outcome.status.is_success(),
        "status {} ({}) for {context}",
        outcome.status,
        outcome.body
    );
    let seen = outcome.seen.as_ref().expect("the handler ran");
    assert_eq!(!seen.is_new, live, "{context}");
    if live {
        assert_eq!(seen.probe, Probe::expected(&fields), "{context}");
    } else {
        assert_eq!(seen.probe, Probe::expected(&Fields::new()), "{context}");
    }

    let mut patches = vec![];
    for write in &outcome.writes {
        match write {
            Write::Patch(patch) => patches.push(patch),
            Write::Create(record) if writes && !live => {
                let mut one_view = Fields::new();
                one_view.insert("views".into(), 1.into());
                assert_eq!(record.fields(), &one_view, "{context}");
            }
            Write::Remove if !live => {}
            Write::Touch if live && !writes => {}
            other => panic!("unexpected store write {other:?} for {context}"),
        }
    }
    if writes && live {
        assert_eq!(patches.len(), 1, "{context}: {:?}", outcome.writes);
        let patch = patches[0];
        let touched: Vec<&str> = patch
            .changed()
            .keys()
            .map(String::as_str)
            .chain(patch.removed().iter().map(String::as_str))
            .collect();
        assert_eq!(touched, ["views"], "{context}");
    } else {
        assert!(patches.is_empty(), "{context}: {:?}", outcome.writes);
    }
}
