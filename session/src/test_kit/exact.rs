//! Checks that a store keeps fields exactly: keys that SQL, JSON paths or key layouts could
//! misread, and values whose JSON text a database might rewrite.

use std::time::Duration;

use serde_json::json;

use super::{assert_same_record, fresh_key, load, now};
use crate::store::{Created, Fields, Patch, Record, SessionStore, Updated};

/// Field keys that SQL, JSON paths and key layouts could misread.
const AWKWARD_KEYS: [&str; 22] = [
    "a.b",
    "\"quoted\"",
    "x[0]",
    "with space",
    "back\\slash",
    "$",
    "'single'",
    "ü 日本 😀",
    "",
    "a.\"b\"[1] \\",
    "tab\there\nnewline",
    "#-1",
    "q\"x",
    "\\\"",
    "[0]",
    "a[0].b",
    "*",
    "**",
    "'quote",
    "new\nline",
    "\u{1}",
    "a\"].b",
];

/// Field keys holding `.`, `"`, `\`, `[`, `*`, `$`, `'`, spaces, control characters, non-ASCII
/// text, and the empty key, round-trip through `create`, a `patch` that sets some of them (one
/// to JSON `null`, which must be stored, not deleted), removes the others and adds more, and a
/// `patch` that removes them all; a nested member that a naive path for `a.b` would reach is
/// never touched.
///
/// # Examples
///
/// ```
/// use typed_sessions::test_kit::{awkward_field_keys_round_trip, run};
///
/// run(awkward_field_keys_round_trip(&typed_sessions::MemoryStore::new()));
/// ```
pub async fn awkward_field_keys_round_trip<S: SessionStore>(store: &S) {
    let key = fresh_key();
    let mut fields: Fields = AWKWARD_KEYS
        .iter()
        .enumerate()
        .map(|(i, name)| ((*name).to_owned(), json!(i)))
        .collect();
    fields.insert("a".into(), json!({"b": "nested, not a.b"}));
    let created = now();
    let mut expected = Record::new(fields, created, created + Duration::from_secs(60));
    assert_eq!(
        store.create(&key, &expected).await.expect("create failed"),
        Created::Stored
    );
    assert_same_record(&load(store, &key).await.unwrap(), &expected);

    let mut changed = Fields::new();
    for (i, name) in AWKWARD_KEYS.iter().enumerate().step_by(2) {
        let value = if i == 0 {
            json!(null)
        } else {
            json!({ "new": *name, "n": null })
        };
        changed.insert((*name).to_owned(), value);
    }
    changed.insert("added \"key\".x".to_owned(), json!([null, true, 1.5, "s"]));
    changed.insert("new.\"field\" [x]".to_owned(), json!([1]));
    let removed = AWKWARD_KEYS.iter().skip(1).step_by(2);
    let patch = Patch::new(
        changed,
        removed.map(|name| (*name).to_owned()).collect(),
        created + Duration::from_secs(120),
    );
    assert_eq!(store.patch(&key, &patch).await.unwrap(), Updated::Applied);
    patch.apply_to(&mut expected);
    let loaded = load(store, &key).await.unwrap();
    assert_same_record(&loaded, &expected);
    assert_eq!(
        loaded.fields().get("a.b"),
        Some(&json!(null)),
        "a null field must be kept"
    );
    assert_eq!(loaded.fields()["a"], json!({"b": "nested, not a.b"}));

    let remove_all = Patch::new(
        Fields::new(),
        expected.fields().keys().cloned().collect(),
        expected.expires(),
    );
    assert_eq!(
        store.patch(&key, &remove_all).await.unwrap(),
        Updated::Applied
    );
    assert!(load(store, &key).await.unwrap().fields().is_empty());
}

/// Values whose JSON text a database might rewrite.
fn tricky_values() -> Fields {
    let values = [
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1e300),
        json!(0.1),
        json!(-2.5e-8),
        json!(1.0),
        json!("quotes \" and \\ and \u{1} and \t and 日本 😀"),
        json!({"nested": {"deep": [null, false, {"x": null}]}}),
        json!([]),
        json!({}),
        json!(""),
        json!(true),
        json!(null),
    ];
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| (format!("v{i}"), v))
        .collect()
}

/// Values a database might rewrite (the largest and smallest 64-bit integers, floats large,
/// small and integral, escapes and non-ASCII text, nested nulls, empty containers, a `null`
/// field) come back unchanged, through `create` and through `patch`.
///
/// # Examples
///
/// ```
/// use typed_sessions::test_kit::{tricky_values_survive_create_and_patch, run};
///
/// run(tricky_values_survive_create_and_patch(&typed_sessions::MemoryStore::new()));
/// ```
pub async fn tricky_values_survive_create_and_patch<S: SessionStore>(store: &S) {
    let created = now();
    let expires = created + Duration::from_secs(60);
    let first = Record::new(tricky_values(), created, expires);
    let key = fresh_key();
    store.create(&key, &first).await.expect("create failed");
    assert_same_record(&load(store, &key).await.unwrap(), &first);

    let key = fresh_key();
    let mut expected = Record::new(Fields::new(), created, expires);
    store.create(&key, &expected).await.unwrap();
    let patch = Patch::new(tricky_values(), vec![], expires);
    assert_eq!(store.patch(&key, &patch).await.unwrap(), Updated::Applied);
    patch.apply_to(&mut expected);
    assert_same_record(&load(store, &key).await.unwrap(), &expected);
}
