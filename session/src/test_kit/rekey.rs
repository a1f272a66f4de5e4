//! Checks of `rekey`, the atomic move of a session to a new key that `regenerate()` makes at
//! login: it carries the record and the patch over in one step, never brings back a session
//! that was removed or expired meanwhile, never overwrites another live session, and loses no
//! concurrent patch without reporting it.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;

use super::{assert_same_record, create_expired, fields, fresh_key, join_all, load, now, record};
use crate::store::{Patch, Record, Rekeyed, SessionStore, StoreKey, Updated};

/// How many patches race each rekey.
const PATCHES: usize = 8;

/// A fresh key that `store` can move a session from `old` to in one step.
pub(super) fn fresh_key_for<S: SessionStore>(store: &S, old: &StoreKey) -> StoreKey {
    for _ in 0..1 << 16 {
        let new = fresh_key();
        if store.can_rekey(old, &new) {
            return new;
        }
    }
    panic!("can_rekey accepted none of 65,536 fresh keys");
}

/// A live record moves to the new key with the patch applied (fields set and removed, expiry
/// moved), keeps its creation time and its other fields, and the old key holds nothing.
///
/// # Examples
///
/// ```
/// let store = typed_sessions::MemoryStore::new();
/// typed_sessions::test_kit::run(typed_sessions::test_kit::rekey_moves_and_patches(&store));
/// ```
pub async fn rekey_moves_and_patches<S: SessionStore>(store: &S) {
    let old = fresh_key();
    let new = fresh_key_for(store, &old);
    let stored = record(
        &[
            ("cart", json!([1, 2])),
            ("csrf", json!("t0")),
            ("n", json!(1)),
        ],
        Duration::from_secs(60),
    );
    store.create(&old, &stored).await.unwrap();
    let expires = now() + Duration::from_secs(120);
    let login = Patch::new(
        fields(&[("user", json!("ann")), ("n", json!(2))]),
        vec!["csrf".into()],
        expires,
    );
    assert_eq!(
        store.rekey(&old, &new, &login).await.unwrap(),
        Rekeyed::Applied
    );
    assert!(
        load(store, &old).await.is_none(),
        "the old key must hold nothing after a rekey"
    );
    let moved = load(store, &new)
        .await
        .expect("the session must load under its new key");
    let expected = Record::new(
        fields(&[
            ("cart", json!([1, 2])),
            ("n", json!(2)),
            ("user", json!("ann")),
        ]),
        stored.created(),
        expires,
    );
    assert_same_record(&moved, &expected);
    assert_eq!(
        store.rekey(&old, &new, &login).await.unwrap(),
        Rekeyed::Missing,
        "a key already moved away holds nothing to move"
    );
}

/// A session removed, or expired, before the rekey is reported `Missing`, and nothing is
/// written: neither key holds a session afterwards.
///
/// # Examples
///
/// ```
/// let store = typed_sessions::MemoryStore::new();
/// typed_sessions::test_kit::run(typed_sessions::test_kit::rekey_does_not_resurrect(&store));
/// ```
pub async fn rekey_does_not_resurrect<S: SessionStore>(store: &S) {
    let login = || {
        Patch::new(
            fields(&[("user", json!("ann"))]),
            vec![],
            now() + Duration::from_secs(60),
        )
    };
    let removed = fresh_key();
    store
        .create(
            &removed,
            &record(&[("a", json!(1))], Duration::from_secs(60)),
        )
        .await
        .unwrap();
    store.remove(&removed).await.unwrap();
    let new = fresh_key_for(store, &removed);
    assert_eq!(
        store.rekey(&removed, &new, &login()).await.unwrap(),
        Rekeyed::Missing,
        "a rekey of a removed session must report it missing"
    );
    assert!(
        load(store, &new).await.is_none(),
        "a removed session came back"
    );
    assert!(load(store, &removed).await.is_none());

    let expired = fresh_key();
    create_expired(store, &expired, &[("a", json!(1))]).await;
    let new = fresh_key_for(store, &expired);
    assert_eq!(
        store.rekey(&expired, &new, &login()).await.unwrap(),
        Rekeyed::Missing,
        "a rekey of an expired session must report it missing"
    );
    assert!(
        load(store, &new).await.is_none(),
        "an expired session came back"
    );
}

/// A rekey onto a key that a live session holds reports `Taken` and changes neither session;
/// onto the key of an expired one, it goes through.
///
/// # Examples
///
/// ```
/// let store = typed_sessions::MemoryStore::new();
/// typed_sessions::test_kit::run(typed_sessions::test_kit::rekey_refuses_a_taken_key(&store));
/// ```
pub async fn rekey_refuses_a_taken_key<S: SessionStore>(store: &S) {
    let old = fresh_key();
    let new = fresh_key_for(store, &old);
    let mine = record(&[("who", json!("mine"))], Duration::from_secs(60));
    let theirs = record(&[("who", json!("theirs"))], Duration::from_secs(60));
    store.create(&old, &mine).await.unwrap();
    store.create(&new, &theirs).await.unwrap();
    let patch = Patch::new(
        fields(&[("user", json!("ann"))]),
        vec![],
        now() + Duration::from_secs(60),
    );
    assert_eq!(
        store.rekey(&old, &new, &patch).await.unwrap(),
        Rekeyed::Taken
    );
    assert_same_record(&load(store, &old).await.unwrap(), &mine);
    assert_same_record(&load(store, &new).await.unwrap(), &theirs);

    let stale = fresh_key_for(store, &old);
    create_expired(store, &stale, &[("who", json!("gone"))]).await;
    match store.rekey(&old, &stale, &patch).await.unwrap() {
        Rekeyed::Applied => {
            let moved = load(store, &stale)
                .await
                .expect("moved onto the expired key");
            assert_eq!(moved.fields()["who"], json!("mine"));
            assert_eq!(moved.fields()["user"], json!("ann"));
            assert!(load(store, &old).await.is_none());
        }
        // A store may keep an expired row until its cleanup: the layer then draws another id.
        Rekeyed::Taken => assert_same_record(&load(store, &old).await.unwrap(), &mine),
        Rekeyed::Missing => panic!("the old session is live: it cannot be missing"),
    }
}

/// Patches of the old key racing a rekey are each either applied and moved with the session,
/// or reported `Missing`: none is acknowledged and then lost.
///
/// # Examples
///
/// ```
/// let store = typed_sessions::MemoryStore::new();
/// typed_sessions::test_kit::run(typed_sessions::test_kit::concurrent_patch_during_rekey_is_kept_or_reported(&store));
/// ```
pub async fn concurrent_patch_during_rekey_is_kept_or_reported<S: SessionStore>(store: &S) {
    for round in 0..10 {
        let old = fresh_key();
        let new = fresh_key_for(store, &old);
        store
            .create(
                &old,
                &record(&[("base", json!(0))], Duration::from_secs(60)),
            )
            .await
            .unwrap();
        let expires = now() + Duration::from_secs(60);
        let login = Patch::new(fields(&[("user", json!("ann"))]), vec![], expires);
        let outcomes = Mutex::new(vec![None; PATCHES]);
        // Task `PATCHES` is the rekey; the patches spread around it.
        let tasks = (0..=PATCHES).map(|i| {
            let (old, new, login, outcomes) = (&old, &new, &login, &outcomes);
            async move {
                tokio::time::sleep(Duration::from_micros(200 * i as u64)).await;
                if i == PATCHES {
                    let moved = store.rekey(old, new, login).await.expect("rekey failed");
                    assert_eq!(moved, Rekeyed::Applied);
                } else {
                    let patch =
                        Patch::new(fields(&[(&format!("f{i}"), json!(i))]), vec![], expires);
                    let outcome = store.patch(old, &patch).await.expect("patch failed");
                    outcomes.lock().unwrap()[i] = Some(outcome);
                }
            }
        });
        join_all(tasks).await;
        let moved = load(store, &new).await.expect("the session moved");
        assert_eq!(moved.fields()["user"], json!("ann"));
        assert_eq!(moved.fields()["base"], json!(0));
        for (i, outcome) in outcomes.into_inner().unwrap().into_iter().enumerate() {
            let field = moved.fields().get(&format!("f{i}"));
            match outcome.expect("every patch ran") {
                Updated::Applied => assert_eq!(
                    field,
                    Some(&json!(i)),
                    "round {round}: patch {i} was acknowledged, then lost in the rekey"
                ),
                Updated::Missing => assert!(
                    field.is_none(),
                    "round {round}: patch {i} was reported missing, yet written"
                ),
            }
        }
        assert!(load(store, &old).await.is_none());
    }
}
