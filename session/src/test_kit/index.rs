//! Checks of `list_indexed`, the index behind every device of a user: it answers exactly the
//! live sessions of one digest, follows every write that changes a session's index (a patch,
//! a move to a new key, a touch that keeps it alive), and forgets removed and expired sessions.
//!
//! A store that does not index sessions (its `list_indexed` answers [`Error::Config`], the
//! default) fails them, saying so: a wrapper that forgets to pass `list_indexed` on is caught
//! here rather than by the first user who asks for their devices.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;

use super::{fresh_key, now, record};
use crate::Error;
use crate::store::{
    Created, INDEX_FIELD, IndexDigest, Patch, Record, Rekeyed, SessionStore, StoreKey, Updated,
};

/// A digest no other check uses.
fn fresh_digest() -> IndexDigest {
    IndexDigest::from_digest_hex(fresh_key().as_str()).expect("a store key is a digest")
}

/// Panics, saying why, unless `store` indexes sessions.
async fn assert_indexes<S: SessionStore>(store: &S) {
    if let Err(Error::Config(why)) = store.list_indexed(&fresh_digest()).await {
        panic!(
            "the store does not index sessions ({why}): implement `list_indexed`, or pass it on \
             if the store wraps another"
        );
    }
}

/// A record indexed under `digest` (or not indexed), with one more field, that lives `ttl`.
fn indexed(digest: Option<&IndexDigest>, ttl: Duration) -> Record {
    match digest {
        Some(digest) => record(
            &[
                (INDEX_FIELD, json!(digest.as_str())),
                ("device", json!("phone")),
            ],
            ttl,
        ),
        None => record(&[("device", json!("phone"))], ttl),
    }
}

/// The keys `store` lists under `digest`.
async fn listed<S: SessionStore>(store: &S, digest: &IndexDigest) -> BTreeSet<StoreKey> {
    let listed = store
        .list_indexed(digest)
        .await
        .expect("list_indexed failed");
    for (_, record) in &listed {
        assert_eq!(
            record.index().as_ref(),
            Some(digest),
            "a record of another index"
        );
    }
    listed.into_iter().map(|(key, _)| key).collect()
}

/// A patch that sets (or, with `None`, clears) the index, and moves the expiry `ttl` ahead.
fn reindex(digest: Option<&IndexDigest>, ttl: Duration) -> Patch {
    let expires = now() + ttl;
    match digest {
        Some(digest) => Patch::new(
            super::fields(&[(INDEX_FIELD, json!(digest.as_str()))]),
            Vec::new(),
            expires,
        ),
        None => Patch::new(Default::default(), vec![INDEX_FIELD.to_owned()], expires),
    }
}

/// The live sessions of a digest are listed, with their fields and times, and only they: not
/// those of another digest, nor those without an index.
///
/// # Examples
///
/// ```
/// let store = typed_sessions::MemoryStore::new();
/// typed_sessions::test_kit::run(typed_sessions::test_kit::index_lists_the_sessions_of_a_value(&store));
/// ```
pub async fn index_lists_the_sessions_of_a_value<S: SessionStore>(store: &S) {
    assert_indexes(store).await;
    let (ann, bob) = (fresh_digest(), fresh_digest());
    let minute = Duration::from_secs(60);
    let anns: BTreeSet<StoreKey> = (0..3).map(|_| fresh_key()).collect();
    for key in &anns {
        let created = store.create(key, &indexed(Some(&ann), minute)).await;
        assert_eq!(created.expect("create failed"), Created::Stored);
    }
    let bobs = fresh_key();
    store
        .create(&bobs, &indexed(Some(&bob), minute))
        .await
        .unwrap();
    store
        .create(&fresh_key(), &indexed(None, minute))
        .await
        .unwrap();

    assert_eq!(listed(store, &ann).await, anns);
    assert_eq!(listed(store, &bob).await, BTreeSet::from([bobs.clone()]));
    assert!(listed(store, &fresh_digest()).await.is_empty());
    let (_, record) = store.list_indexed(&bob).await.unwrap().remove(0);
    assert_eq!(record.fields()["device"], json!("phone"));
    assert!(record.expires() > now() && record.created() <= now());
}

/// A patch that changes the index moves the session from one listing to the other, a patch
/// that removes it takes it out of both, and a move to a new key (`rekey`) lists the new key
/// only.
///
/// # Examples
///
/// ```
/// let store = typed_sessions::MemoryStore::new();
/// typed_sessions::test_kit::run(typed_sessions::test_kit::index_follows_field_changes(&store));
/// ```
pub async fn index_follows_field_changes<S: SessionStore>(store: &S) {
    assert_indexes(store).await;
    let (ann, bob) = (fresh_digest(), fresh_digest());
    let minute = Duration::from_secs(60);
    let key = fresh_key();
    store.create(&key, &indexed(None, minute)).await.unwrap();
    assert!(listed(store, &ann).await.is_empty());

    let patched = store.patch(&key, &reindex(Some(&ann), minute)).await;
    assert_eq!(patched.unwrap(), Updated::Applied, "login");
    assert_eq!(listed(store, &ann).await, BTreeSet::from([key.clone()]));

    store
        .patch(&key, &reindex(Some(&bob), minute))
        .await
        .unwrap();
    assert!(
        listed(store, &ann).await.is_empty(),
        "still listed under the old value"
    );
    assert_eq!(listed(store, &bob).await, BTreeSet::from([key.clone()]));

    let new = super::rekey::fresh_key_for(store, &key);
    let unchanged = Patch::new(Default::default(), Vec::new(), now() + minute);
    let moved = store.rekey(&key, &new, &unchanged).await.unwrap();
    assert_eq!(moved, Rekeyed::Applied);
    assert_eq!(
        listed(store, &bob).await,
        BTreeSet::from([new.clone()]),
        "the new key only"
    );

    store.patch(&new, &reindex(None, minute)).await.unwrap();
    assert!(
        listed(store, &bob).await.is_empty(),
        "logout leaves the index"
    );
}

/// A touch that keeps an indexed session alive past its first expiry keeps it listed; removed
/// and expired sessions are not listed, and a re-created key is listed once.
///
/// # Examples
///
/// ```
/// let store = typed_sessions::MemoryStore::new();
/// typed_sessions::test_kit::run(typed_sessions::test_kit::index_forgets_removed_and_expired(&store));
/// ```
pub async fn index_forgets_removed_and_expired<S: SessionStore>(store: &S) {
    assert_indexes(store).await;
    let ann = fresh_digest();
    let short = Duration::from_millis(300);
    let (kept, touched, removed, expired) = (fresh_key(), fresh_key(), fresh_key(), fresh_key());
    for key in [&kept, &removed] {
        let record = indexed(Some(&ann), Duration::from_secs(60));
        store.create(key, &record).await.unwrap();
    }
    for key in [&touched, &expired] {
        store
            .create(key, &indexed(Some(&ann), short))
            .await
            .unwrap();
    }
    let later = now() + Duration::from_secs(60);
    assert_eq!(
        store.touch(&touched, later).await.unwrap(),
        Updated::Applied
    );
    store.remove(&removed).await.unwrap();
    tokio::time::sleep(short + Duration::from_millis(300)).await;

    let live = BTreeSet::from([kept.clone(), touched.clone()]);
    assert_eq!(
        listed(store, &ann).await,
        live,
        "touched past its first expiry"
    );
    // The key of an expired session, created again: listed once.
    store
        .create(&expired, &indexed(Some(&ann), Duration::from_secs(60)))
        .await
        .unwrap();
    let mut again = live;
    again.insert(expired);
    assert_eq!(listed(store, &ann).await, again);
    assert_eq!(
        store.list_indexed(&ann).await.unwrap().len(),
        3,
        "each key once"
    );
}
