//! Checks of `patch`: it sets and removes exactly the fields it names, never brings back a
//! removed session, and concurrent patches of different fields all survive.

use std::time::Duration;

use serde_json::json;

use super::{assert_same_record, fields, fresh_key, join_all, load, now, record};
use crate::store::{Patch, SessionStore, Updated};

/// A patch on a removed session reports `Missing` and does not bring it back.
///
/// # Examples
///
/// ```
/// let store = typed_sessions::MemoryStore::new();
/// typed_sessions::test_kit::run(typed_sessions::test_kit::patch_does_not_resurrect(&store));
/// ```
pub async fn patch_does_not_resurrect<S: SessionStore>(store: &S) {
    let key = fresh_key();
    let record = record(&[("user", json!("ann"))], Duration::from_secs(60));
    store.create(&key, &record).await.unwrap();
    store.remove(&key).await.unwrap();
    let patch = Patch::new(
        fields(&[("views", json!(9))]),
        vec!["user".into()],
        now() + Duration::from_secs(60),
    );
    assert_eq!(store.patch(&key, &patch).await.unwrap(), Updated::Missing);
    assert!(
        load(store, &key).await.is_none(),
        "a removed session must stay removed"
    );
}

/// A patch sets and removes exactly the fields it names, keeps every other stored field
/// (including ones no session type knows), and moves the expiry.
///
/// # Examples
///
/// ```
/// let store = typed_sessions::MemoryStore::new();
/// typed_sessions::test_kit::run(typed_sessions::test_kit::patch_keeps_other_fields(&store));
/// ```
pub async fn patch_keeps_other_fields<S: SessionStore>(store: &S) {
    let key = fresh_key();
    let original = record(
        &[
            ("a", json!(1)),
            ("b", json!("bee")),
            ("unknown.to.this.version", json!({"kept": true})),
        ],
        Duration::from_secs(60),
    );
    store.create(&key, &original).await.unwrap();
    let patch = Patch::new(
        fields(&[("a", json!(2)), ("c", json!([1, 2, 3]))]),
        vec!["b".into(), "never-stored".into()],
        now() + Duration::from_secs(120),
    );
    assert_eq!(store.patch(&key, &patch).await.unwrap(), Updated::Applied);
    let mut expected = original.clone();
    patch.apply_to(&mut expected);
    assert_same_record(&load(store, &key).await.unwrap(), &expected);
}

/// 100 concurrent patches of different fields of one session all survive.
///
/// # Examples
///
/// ```
/// let store = typed_sessions::MemoryStore::new();
/// typed_sessions::test_kit::run(typed_sessions::test_kit::concurrent_patches_of_different_fields(&store));
/// ```
pub async fn concurrent_patches_of_different_fields<S: SessionStore>(store: &S) {
    let key = fresh_key();
    let expires = now() + Duration::from_secs(60);
    store
        .create(
            &key,
            &record(&[("base", json!(0))], Duration::from_secs(60)),
        )
        .await
        .unwrap();
    let patches = (0..100).map(|i| {
        let patch = Patch::new(fields(&[(&format!("f{i}"), json!(i))]), vec![], expires);
        let key = key.clone();
        async move {
            let applied = store.patch(&key, &patch).await.expect("patch failed");
            assert_eq!(applied, Updated::Applied);
        }
    });
    join_all(patches).await;
    let loaded = load(store, &key).await.unwrap();
    for i in 0..100 {
        assert_eq!(
            loaded.fields().get(&format!("f{i}")),
            Some(&json!(i)),
            "field f{i} lost"
        );
    }
    assert_eq!(loaded.fields()["base"], json!(0));
}
