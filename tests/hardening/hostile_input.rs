//! Hostile input, as property tests: the inputs of the fuzz targets in `fuzz/` (the cookie
//! value, the `Cookie` header, a stored record) sent through a real `Router` on the cookie store
//! (signed and encrypted) and on a `MemoryStore`, with the fixture and strategies of the support
//! layer's `input` module, which the fuzz targets use too.
//!
//! Whatever a client sends: no panic, no 5xx, and no session that a configured key did not sign
//! — the handler sees a new, default session — unless the input holds a cookie value the layer
//! issued, which is then found; one changed byte in such a value makes it a new session again.
//! Whatever a store returns: decoding yields each field's stored value or its default.
//!
//! A crash the fuzzer finds becomes a named regression test at the end of this file, its input
//! inline (none so far: see `scripts/fuzz`).

use http::StatusCode;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};
use typed_sessions::{
    SessionData,
    store::{Fields, Record},
};
use typed_sessions_tests::input::*;
use typed_sessions_tests::wire;

// --- sending inputs, and what must hold ---

/// `headers` as the fixture takes them; the strategies make valid header values only.
fn valid(headers: &[Vec<u8>]) -> Vec<&[u8]> {
    let headers: Vec<&[u8]> = headers.iter().map(Vec::as_slice).collect();
    assert_eq!(
        valid_headers(headers.iter().copied()).len(),
        headers.len(),
        "strategies make valid headers: {}",
        show(&headers)
    );
    headers
}

/// `GET path` with `headers` to `target`'s app.
fn send(fx: &Fixture, target: Target, path: &str, headers: &[Vec<u8>]) -> Outcome {
    fx.send(target, path, &valid(headers))
}

/// `GET /read` with `headers` to `target`'s app.
fn read(fx: &Fixture, target: Target, headers: &[Vec<u8>]) -> Outcome {
    send(fx, target, "/read", headers)
}

/// A 2xx response whose handler saw a new, default session without an id.
fn assert_new_default(
    target: Target,
    headers: &[Vec<u8>],
    outcome: &Outcome,
) -> Result<(), TestCaseError> {
    let shown = show(&valid(headers));
    prop_assert_eq!(outcome.status, StatusCode::OK, "{:?} {}", target, shown);
    let seen = outcome.seen.as_ref().expect("the handler ran");
    prop_assert!(
        seen.is_new && !seen.has_id,
        "{:?}: a session that no configured key signed was found: {}",
        target,
        shown
    );
    prop_assert_eq!(&seen.probe, &Probe::default_session());
    Ok(())
}

/// A 2xx response whose handler saw the genuine session.
fn assert_genuine(
    target: Target,
    headers: &[Vec<u8>],
    outcome: &Outcome,
) -> Result<(), TestCaseError> {
    let shown = show(&valid(headers));
    prop_assert_eq!(outcome.status, StatusCode::OK, "{:?} {}", target, shown);
    let seen = outcome.seen.as_ref().expect("the handler ran");
    prop_assert!(
        !seen.is_new && seen.has_id,
        "{:?}: the genuine session was not found in {}",
        target,
        shown
    );
    prop_assert_eq!(&seen.probe, &Probe::genuine());
    Ok(())
}

// --- cookie values and headers ---

#[test]
fn arbitrary_cookie_values_give_a_new_default_session() {
    let fx = Fixture::new();
    for target in Target::REAL {
        run(128, (cookie_value(), any::<bool>()), |(value, writes)| {
            let headers = vec![[b"session=".as_slice(), &value].concat()];
            let path = if writes { "/write" } else { "/read" };
            let outcome = send(&fx, target, path, &headers);
            assert_new_default(target, &headers, &outcome)
        });
    }
}

#[test]
fn arbitrary_cookie_headers_give_a_new_default_session() {
    let fx = Fixture::new();
    for target in Target::REAL {
        run(128, (soup_headers(), any::<bool>()), |(headers, writes)| {
            let path = if writes { "/write" } else { "/read" };
            let outcome = send(&fx, target, path, &headers);
            assert_new_default(target, &headers, &outcome)
        });
    }
}

/// Thousands of cookies, duplicate session cookies, 8 KB values: still a 200 and a new session.
#[test]
fn huge_cookie_headers_give_a_new_default_session() {
    let fx = Fixture::new();
    for target in Target::REAL {
        let strategy = (
            1000usize..4000,
            1usize..60,
            4000usize..9000,
            prop::collection::vec(cookie_value(), 1..4),
        );
        run(12, strategy, |(count, every, long, values)| {
            let mut header = Vec::new();
            for i in 0..count {
                if i % every == 0 {
                    let value = no_semicolon(values[i % values.len()].clone());
                    header.extend_from_slice(b"session=");
                    header.extend_from_slice(&value);
                } else {
                    header.extend_from_slice(format!("c{i}=v{i}").as_bytes());
                }
                header.extend_from_slice(b"; ");
            }
            header.extend_from_slice(format!("session={}", "A".repeat(long)).as_bytes());
            let headers = vec![header.clone(), header];
            let outcome = read(&fx, target, &headers);
            assert_new_default(target, &headers, &outcome)
        });
    }
}

#[test]
fn a_genuine_cookie_spliced_into_garbage_is_found() {
    let fx = Fixture::new();
    for target in Target::REAL {
        let strategy = (
            before(),
            any::<bool>(),
            soup(),
            prop::collection::vec(any::<Index>(), 0..3),
            any::<bool>(),
        );
        run(128, strategy, |(before, stale, after, splits, tight)| {
            let mut pairs: Vec<Vec<u8>> = before
                .into_iter()
                .map(|piece| match piece {
                    Before::Other(name, value) => [name.as_bytes(), b"=", &value].concat(),
                    Before::Bare(bytes) => bytes,
                    Before::Session(value) => [b"session=".as_slice(), &value].concat(),
                })
                .collect();
            let genuine = if stale {
                fx.stale(target)
            } else {
                fx.genuine(target)
            };
            pairs.push(format!("session={genuine}").into_bytes());
            pairs.push(after);
            let headers = into_headers(pairs, &splits, tight);
            let outcome = read(&fx, target, &headers);
            assert_genuine(target, &headers, &outcome)
        });
    }
}

#[test]
fn duplicate_genuine_and_forged_session_cookies() {
    let fx = Fixture::new();
    for target in Target::REAL {
        let cookie = |value: &str| format!("session={value}").into_bytes();
        let mutated = fx.genuine(target).replacen('.', "-", 1);
        for headers in [
            vec![
                [
                    cookie(fx.genuine(target)),
                    b"; ".to_vec(),
                    cookie(fx.genuine(target)),
                ]
                .concat(),
            ],
            vec![cookie(fx.foreign(target)), cookie(fx.genuine(target))],
            vec![cookie(&mutated), cookie(fx.stale(target))],
            vec![cookie(fx.genuine(target)), cookie("garbage")],
        ] {
            assert_genuine(target, &headers, &read(&fx, target, &headers)).unwrap();
        }
        // Junk sharing the session cookie's name (unknown version or key id) costs no MAC and
        // cannot hide the genuine cookie behind it (cookie tossing would log the user out).
        let mut flood = vec![cookie("x"); 1000];
        flood.extend(vec![cookie(fx.foreign(target)); 100]);
        flood.push(cookie(fx.genuine(target)));
        assert_genuine(target, &flood, &read(&fx, target, &flood)).unwrap();
    }
}

#[test]
fn one_changed_byte_in_a_genuine_cookie_gives_a_new_session() {
    let fx = Fixture::new();
    for target in Target::REAL {
        let byte = (0x20u8..=0xff).prop_filter("a header byte", |&b| b != 0x7f);
        let strategy = (any::<bool>(), any::<Index>(), byte, any::<bool>());
        run(192, strategy, |(stale, at, byte, alone)| {
            let genuine = if stale {
                fx.stale(target)
            } else {
                fx.genuine(target)
            };
            let mut value = genuine.as_bytes().to_vec();
            let at = at.index(value.len());
            prop_assume!(value[at] != byte);
            value[at] = byte;
            let cookie = [b"session=".as_slice(), &value].concat();
            let headers = if alone {
                vec![cookie]
            } else {
                vec![[b"a=b; ".as_slice(), &cookie, b"; c=d"].concat()]
            };
            let outcome = read(&fx, target, &headers);
            assert_new_default(target, &headers, &outcome)
        });
    }
}

/// A live session signed by a key the layer is not configured with is never accepted; the same
/// payload signed by the layer's key is (the control).
#[test]
fn values_signed_by_a_foreign_key_are_never_accepted() {
    let fx = Fixture::new();
    for target in Target::REAL {
        run(48, (live_payload(), any::<bool>()), |(payload, sealed)| {
            let sign = |master: &[u8]| match (target, sealed) {
                (Target::Memory, _) => {
                    let id = serde_json::from_slice::<Value>(&payload).unwrap()["i"].clone();
                    wire::id_cookie(master, id.as_str().unwrap())
                }
                (_, false) => wire::signed_data(master, &payload),
                (_, true) => wire::sealed(master, &payload, [7; 12]),
            };
            let headers = vec![format!("session={}", sign(&FOREIGN)).into_bytes()];
            assert_new_default(target, &headers, &read(&fx, target, &headers))?;

            let value = sign(&CURRENT);
            if value.len() > 3000 {
                // Kept well under the 4096-byte limits, so that the control is about the key.
                return Ok(());
            }
            let headers = vec![format!("session={value}").into_bytes()];
            let outcome = read(&fx, target, &headers);
            prop_assert_eq!(outcome.status, StatusCode::OK);
            let seen = outcome.seen.unwrap();
            if target == Target::Memory {
                // An authentic id that the store does not hold is never adopted.
                prop_assert!(seen.is_new && !seen.has_id);
            } else {
                let sent: Value = serde_json::from_slice(&payload).unwrap();
                let fields = sent["d"].as_object().unwrap();
                prop_assert!(!seen.is_new);
                prop_assert_eq!(seen.probe, Probe::expected(fields));
            }
            Ok(())
        });
    }
}

// --- stored records ---

/// Records as a store might hand them back after any number of deploys: every field its stored
/// value or, when that no longer decodes, its default.
#[test]
fn arbitrary_records_decode_to_stored_values_or_defaults() {
    run(256, record_fields(), |fields| {
        let probe = Probe::decode(&fields);
        prop_assert_eq!(&probe, &Probe::expected(&fields));
        prop_assert_eq!(Cart::decode(&fields), Cart::expected(&fields));
        let again: Fields = Probe::KEYS
            .iter()
            .map(|key| (*key).to_owned())
            .zip(probe.encode().unwrap())
            .collect();
        prop_assert_eq!(Probe::decode(&again), probe);
        Ok(())
    });
}

/// JSON text soup that parses as an object decodes like any record.
#[test]
fn arbitrary_json_text_records_decode_to_stored_values_or_defaults() {
    let text = prop::collection::vec(
        prop_oneof![
            select(vec![
                "{",
                "}",
                "[",
                "]",
                ",",
                ":",
                "\"views\"",
                "\"u\"",
                "\"tags\"",
                "\"kind\"",
                "\"cart.items\"",
                "\"any\"",
                "null",
                "true",
                "1",
                "-1",
                "1e999",
                "18446744073709551616",
                "\"x\"",
                "\"\\ud800\"",
                "0.5",
                " ",
            ])
            .prop_map(str::to_owned),
            ".{0,3}",
        ],
        0..40,
    )
    .prop_map(|pieces| format!("{{{}}}", pieces.concat()));
    run(256, text, |text| {
        if let Ok(fields) = serde_json::from_str::<Fields>(&text) {
            prop_assert_eq!(Probe::decode(&fields), Probe::expected(&fields));
            prop_assert_eq!(Cart::decode(&fields), Cart::expected(&fields));
        }
        Ok(())
    });
}

/// Through a store that returns arbitrary records: the session is found exactly when the record
/// is live, the handler sees what `decode` makes of it, and a write changes only the field it
/// changed.
#[test]
fn arbitrary_records_through_a_store_are_decoded_or_ignored() {
    let fx = RecordFixture::new();
    let strategy = (
        record_fields(),
        edge_time(),
        edge_time(),
        any::<bool>(),
        any::<bool>(),
    );
    run(
        96,
        strategy,
        |(fields, created, expires, old_key, writes)| {
            let record = Record::new(fields.clone(), created, expires);
            let path = if writes { "/write" } else { "/read" };
            let outcome = fx.send(record, old_key, path);
            let live = expires.min(created.saturating_add(ABSOLUTE)) > NOW;
            prop_assert_eq!(outcome.status, StatusCode::OK);
            let seen = outcome.seen.unwrap();
            prop_assert_eq!(!seen.is_new, live);
            let expected = if live {
                Probe::expected(&fields)
            } else {
                Probe::default_session()
            };
            prop_assert_eq!(seen.probe, expected);
            let writes_seen = outcome.writes;
            if writes && live {
                let [Write::Patch(patch)] = writes_seen.as_slice() else {
                    return Err(TestCaseError::fail(format!(
                        "one patch expected: {writes_seen:?}"
                    )));
                };
                let touched: Vec<&str> = patch
                    .changed()
                    .keys()
                    .chain(patch.removed())
                    .map(String::as_str)
                    .collect();
                prop_assert_eq!(touched, ["views"]);
            } else {
                for write in &writes_seen {
                    let allowed = match write {
                        Write::Create(record) => {
                            let fields = record.fields();
                            writes && fields.len() == 1 && fields.get("views") == Some(&json!(1))
                        }
                        Write::Remove => !live,
                        Write::Touch => live,
                        Write::Patch(_) | Write::Rekey(_) => false,
                    };
                    prop_assert!(allowed, "unexpected {:?} (live {})", write, live);
                }
            }
            if (old_key && live) || (writes && !live) {
                prop_assert!(
                    !outcome.set_cookies.is_empty(),
                    "re-issued or new: a cookie is set"
                );
            }
            Ok(())
        },
    );
}
