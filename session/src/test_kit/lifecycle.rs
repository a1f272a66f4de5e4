//! Checks of one record's life: it is created without overwriting a live one, loads back as
//! stored (a 1 MiB field too), is "not found" once gone and an error when the store fails, is
//! removed alone, and expires unless `touch` moves its expiry.

use std::time::Duration;

use serde_json::json;

use super::{assert_same_record, create_expired, fields, fresh_key, load, millis, now, record};
use crate::store::{Created, Patch, SessionStore, Updated};

/// A created record loads back as it was stored.
///
/// # Examples
///
/// ```
/// let store = typed_sessions::MemoryStore::new();
/// typed_sessions::test_kit::run(typed_sessions::test_kit::round_trip(&store));
/// ```
pub async fn round_trip<S: SessionStore>(store: &S) {
    let key = fresh_key();
    let record = record(
        &[
            ("views", json!(3)),
            ("u", json!("ann")),
            (
                "nested",
                json!({"a": [1, 2, {"b": null}], "s": "ü 日本 😀 \"q\" ;,"}),
            ),
            ("f", json!(1.5)),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(
        store.create(&key, &record).await.expect("create failed"),
        Created::Stored
    );
    let loaded = load(store, &key).await.expect("a created record must load");
    assert_same_record(&loaded, &record);
}

/// A key that was never stored is "not found", for every operation, and not an error.
///
/// # Examples
///
/// ```
/// let store = typed_sessions::MemoryStore::new();
/// typed_sessions::test_kit::run(typed_sessions::test_kit::not_found_is_not_an_error(&store));
/// ```
pub async fn not_found_is_not_an_error<S: SessionStore>(store: &S) {
    let key = fresh_key();
    assert!(
        load(store, &key).await.is_none(),
        "unknown key must load as None"
    );
    let patch = Patch::new(
        fields(&[("a", json!(1))]),
        vec![],
        now() + Duration::from_secs(60),
    );
    assert_eq!(
        store.patch(&key, &patch).await.expect("patch failed"),
        Updated::Missing
    );
    assert!(
        load(store, &key).await.is_none(),
        "patch must not create a record"
    );
    let touched = store.touch(&key, now() + Duration::from_secs(60)).await;
    assert_eq!(touched.expect("touch failed"), Updated::Missing);
    assert!(
        load(store, &key).await.is_none(),
        "touch must not create a record"
    );
    store
        .remove(&key)
        .await
        .expect("removing a missing record is not an error");
}

/// A store that cannot do its job answers with an error, never with "not found".
///
/// # Examples
///
/// ```no_run
/// # #[cfg(feature = "sqlite")] {
/// use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
///
/// let unopenable = SqliteConnectOptions::new().filename("/nonexistent-dir/sessions.db");
/// let pool = SqlitePoolOptions::new().connect_lazy_with(unopenable);
/// let store = typed_sessions::SqliteStore::new(pool);
/// typed_sessions::test_kit::run(typed_sessions::test_kit::failure_is_an_error(&store));
/// # }
/// ```
pub async fn failure_is_an_error<S: SessionStore>(failing: &S) {
    let key = fresh_key();
    match failing.load(&key).await {
        Err(_) => {}
        Ok(found) => panic!("a failing store must report an error, not {found:?}"),
    }
    let record = record(&[("a", json!(1))], Duration::from_secs(60));
    assert!(
        failing.create(&key, &record).await.is_err(),
        "create must fail"
    );
}

/// `create` never overwrites a live record.
///
/// # Examples
///
/// ```
/// let store = typed_sessions::MemoryStore::new();
/// typed_sessions::test_kit::run(typed_sessions::test_kit::create_does_not_overwrite(&store));
/// ```
pub async fn create_does_not_overwrite<S: SessionStore>(store: &S) {
    let key = fresh_key();
    let first = record(&[("who", json!("first"))], Duration::from_secs(60));
    let second = record(&[("who", json!("second"))], Duration::from_secs(60));
    assert_eq!(store.create(&key, &first).await.unwrap(), Created::Stored);
    assert_eq!(
        store.create(&key, &second).await.unwrap(),
        Created::AlreadyExists
    );
    assert_same_record(&load(store, &key).await.unwrap(), &first);
}

/// `remove` deletes the record, and only that record.
///
/// # Examples
///
/// ```
/// let store = typed_sessions::MemoryStore::new();
/// typed_sessions::test_kit::run(typed_sessions::test_kit::remove_deletes(&store));
/// ```
pub async fn remove_deletes<S: SessionStore>(store: &S) {
    let (gone, kept) = (fresh_key(), fresh_key());
    let record = record(&[("a", json!(1))], Duration::from_secs(60));
    store.create(&gone, &record).await.unwrap();
    store.create(&kept, &record).await.unwrap();
    store.remove(&gone).await.unwrap();
    assert!(load(store, &gone).await.is_none());
    assert!(
        load(store, &kept).await.is_some(),
        "remove must not touch other records"
    );
}

/// Expired records are not returned; `touch` moves the expiry and nothing else; an expired
/// key can be created afresh.
///
/// # Examples
///
/// ```
/// let store = typed_sessions::MemoryStore::new();
/// typed_sessions::test_kit::run(typed_sessions::test_kit::expiry_and_touch(&store));
/// ```
pub async fn expiry_and_touch<S: SessionStore>(store: &S) {
    let short = fresh_key();
    store
        .create(
            &short,
            &record(&[("a", json!(1))], Duration::from_millis(300)),
        )
        .await
        .unwrap();
    let touched = fresh_key();
    let original = record(&[("b", json!(2))], Duration::from_millis(300));
    store.create(&touched, &original).await.unwrap();
    let later = now() + Duration::from_millis(2500);
    assert_eq!(
        store.touch(&touched, later).await.unwrap(),
        Updated::Applied
    );

    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        load(store, &short).await.is_none(),
        "an expired record must not load"
    );
    let kept = load(store, &touched)
        .await
        .expect("touch must extend the expiry");
    assert_eq!(
        kept.fields(),
        original.fields(),
        "touch must not change the fields"
    );
    assert_eq!(millis(kept.expires()), millis(later));
    assert_eq!(millis(kept.created()), millis(original.created()));

    let again = record(&[("a", json!("new"))], Duration::from_secs(60));
    assert_eq!(
        store.create(&short, &again).await.unwrap(),
        Created::Stored,
        "an expired record must not block a new one"
    );
    assert_eq!(
        store.touch(&fresh_key(), later).await.unwrap(),
        Updated::Missing
    );
    let patch = Patch::new(
        fields(&[("x", json!(1))]),
        vec![],
        now() + Duration::from_secs(60),
    );
    let expired = fresh_key();
    create_expired(store, &expired, &[("a", json!(1))]).await;
    assert_eq!(
        store.patch(&expired, &patch).await.unwrap(),
        Updated::Missing,
        "a patch must not revive an expired record"
    );
    assert!(load(store, &expired).await.is_none());
}

/// A 1 MiB field round-trips.
///
/// # Examples
///
/// ```
/// let store = typed_sessions::MemoryStore::new();
/// typed_sessions::test_kit::run(typed_sessions::test_kit::large_record(&store));
/// ```
pub async fn large_record<S: SessionStore>(store: &S) {
    let key = fresh_key();
    let big = "x".repeat(1 << 20);
    let record = record(
        &[("big", json!(big)), ("small", json!(1))],
        Duration::from_secs(60),
    );
    store.create(&key, &record).await.unwrap();
    assert_same_record(&load(store, &key).await.unwrap(), &record);
    let patch = Patch::new(fields(&[("small", json!(2))]), vec![], record.expires());
    store.patch(&key, &patch).await.unwrap();
    let loaded = load(store, &key).await.unwrap();
    assert_eq!(
        loaded.fields()["big"],
        json!(big),
        "a patch must keep the large field"
    );
}
