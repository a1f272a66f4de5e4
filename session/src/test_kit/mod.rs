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
//!
//! This file holds the kit (the macro, and the helpers the checks share); the checks are in
//! files by what they check: one record's life, `patch`, exact keys and values, `rekey`, the
//! session index.

mod exact;
mod index;
mod lifecycle;
mod patch;
mod rekey;

use std::future::Future;
use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;

use crate::id::SessionId;
use crate::store::{Fields, Record, SessionStore, StoreKey};

pub use exact::{awkward_field_keys_round_trip, tricky_values_survive_create_and_patch};
pub use index::{
    index_follows_field_changes, index_forgets_removed_and_expired,
    index_lists_the_sessions_of_a_value,
};
pub use lifecycle::{
    create_does_not_overwrite, expiry_and_touch, failure_is_an_error, large_record,
    not_found_is_not_an_error, remove_deletes, round_trip,
};
pub use patch::{
    concurrent_patches_of_different_fields, patch_does_not_resurrect, patch_keeps_other_fields,
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
