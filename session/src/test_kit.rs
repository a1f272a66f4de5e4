//! A conformance kit for [`SessionStore`] implementations: one macro call runs every check.
//!
//! ```
//! # #[cfg(any())] // the macro expands to `#[test]` functions, which doctests cannot hold
//! mod memory {
//!     typed_sessions::store_conformance!(store = async { typed_sessions::MemoryStore::new() });
//! }
//! ```
//!
//! The checks use short real expiry times (hundreds of milliseconds), so they run against the
//! store's own clock. Each check works on fresh random keys, so they can share one database.

mod exact;
mod index;
mod rekey;

use std::future::Future;
use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::id::SessionId;
use crate::store::Fields;
use crate::store::SessionStore;
use crate::store::StoreKey;
use crate::store::{Created, Patch, Record, Updated};

pub use exact::{awkward_field_keys_round_trip, tricky_values_survive_create_and_patch};
pub use index::{
    index_follows_field_changes, index_forgets_removed_and_expired,
    index_lists_the_sessions_of_a_value,
};
pub use rekey::{
    concurrent_patch_during_rekey_is_kept_or_reported, rekey_does_not_resurrect,
    rekey_moves_and_patches, rekey_refuses_a_taken_key,
};

/// Runs `check` to completion on a fresh multi-threaded Tokio runtime.
///
/// # Panics
///
/// If the runtime cannot be built, or `check` panics.
///
/// # Examples
///
/// ```
/// use typed_sessions::MemoryStore;
/// use typed_sessions::test_kit::{remove_deletes, run};
///
/// run(async { remove_deletes(&MemoryStore::new()).await });
/// ```
pub fn run<F: Future<Output = ()>>(check: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a Tokio runtime for the conformance kit")
        .block_on(check);
}

/// A key no other check uses.
///
/// # Examples
///
/// ```
/// use typed_sessions::test_kit::fresh_key;
///
/// assert_ne!(fresh_key(), fresh_key());
/// ```
pub fn fresh_key() -> StoreKey {
    SessionId::generate().store_key()
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn millis(at: OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos() / 1_000_000
}

fn fields(pairs: &[(&str, Value)]) -> Fields {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), value.clone()))
        .collect()
}

fn record(pairs: &[(&str, Value)], ttl: Duration) -> Record {
    let created = now();
    Record::new(fields(pairs), created, created + ttl)
}

/// Asserts that two records agree, with times compared to the millisecond (stores may keep
/// less precision than `OffsetDateTime`).
///
/// # Panics
///
/// When the fields differ, or a time differs by a millisecond or more.
///
/// # Examples
///
/// ```
/// use time::{Duration, OffsetDateTime};
/// use typed_sessions::store::{Fields, Record};
/// use typed_sessions::test_kit::assert_same_record;
///
/// let created = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789)?;
/// let kept = Record::new(Fields::new(), created, created + Duration::hours(1));
/// // A store that keeps milliseconds drops the rest: still the same record.
/// let millis = created.replace_nanosecond(123_000_000)?;
/// let loaded = Record::new(Fields::new(), millis, kept.expires());
/// assert_same_record(&loaded, &kept);
/// # Ok::<(), time::error::ComponentRange>(())
/// ```
#[track_caller]
pub fn assert_same_record(actual: &Record, expected: &Record) {
    assert_eq!(actual.fields(), expected.fields(), "stored fields differ");
    assert_eq!(
        millis(actual.created()),
        millis(expected.created()),
        "created time differs"
    );
    assert_eq!(
        millis(actual.expires()),
        millis(expected.expires()),
        "expiry differs"
    );
}

async fn load<S: SessionStore>(store: &S, key: &StoreKey) -> Option<Record> {
    store.load(key).await.expect("load failed")
}

/// Creates a record of `pairs` under `key` that expires within 100 ms, and waits until it has.
async fn create_expired<S: SessionStore>(store: &S, key: &StoreKey, pairs: &[(&str, Value)]) {
    let short = record(pairs, Duration::from_millis(100));
    store.create(key, &short).await.expect("create failed");
    tokio::time::sleep(Duration::from_millis(400)).await;
}

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

/// Runs futures concurrently on the current task (no spawning, so `store` may be borrowed).
async fn join_all<F: Future<Output = ()>>(futures: impl IntoIterator<Item = F>) {
    let mut set = Vec::from_iter(futures.into_iter().map(Box::pin));
    std::future::poll_fn(move |cx| {
        set.retain_mut(|future| future.as_mut().poll(cx).is_pending());
        if set.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

/// Generates one `#[test]` per conformance check for a store.
///
/// `store = <expr>` is a future that builds the store under test; it runs once per check.
/// The optional `failing = <expr>` builds the same kind of store pointed at something that does
/// not answer (a closed port), to check that failures are errors, not "not found".
///
/// ```
/// # #[cfg(any())]
/// mod conformance {
///     typed_sessions::store_conformance!(
///         store = async { my_crate::MyStore::connect("...").await.unwrap() },
///         failing = async { my_crate::MyStore::connect("127.0.0.1:1").await.unwrap() },
///     );
/// }
/// ```
#[macro_export]
macro_rules! store_conformance {
    (store = $store:expr $(, failing = $failing:expr)? $(,)?) => {
        $crate::store_conformance!(@checks $store;
            round_trip,
            not_found_is_not_an_error,
            create_does_not_overwrite,
            patch_does_not_resurrect,
            remove_deletes,
            expiry_and_touch,
            patch_keeps_other_fields,
            large_record,
            concurrent_patches_of_different_fields,
            awkward_field_keys_round_trip,
            tricky_values_survive_create_and_patch,
            rekey_moves_and_patches,
            rekey_does_not_resurrect,
            rekey_refuses_a_taken_key,
            concurrent_patch_during_rekey_is_kept_or_reported,
            index_lists_the_sessions_of_a_value,
            index_follows_field_changes,
            index_forgets_removed_and_expired,
        );
        $(
            #[test]
            fn failure_is_an_error() {
                $crate::test_kit::run(async {
                    let store = $failing.await;
                    $crate::test_kit::failure_is_an_error(&store).await;
                });
            }
        )?
    };
    (@checks $store:expr; $($check:ident),+ $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::test_kit::run(async {
                    let store = $store.await;
                    $crate::test_kit::$check(&store).await;
                });
            }
        )+
    };
}

#[cfg(test)]
mod memory_store_conforms {
    crate::store_conformance!(store = async { crate::MemoryStore::new() });
}
