//! The sorted sets behind "every device of a user", looked at in Redis: on a standalone server
//! each write keeps its session's entry in the same script; an entry whose score fell behind
//! its session (a lost second step) is raised, never dropped; the entries of sessions gone
//! leave without anyone listing the set.

use std::collections::HashSet;
use std::time::Duration;

use redis::aio::ConnectionLike;
use serde_json::json;
use time::OffsetDateTime;
use typed_sessions::RedisStore;
use typed_sessions::clock::ManualClock;
use typed_sessions::store::{
    Fields, INDEX_FIELD, IndexDigest, Patch, Record, Rekeyed, SessionStore, StoreKey,
};
use typed_sessions::test_kit::{fresh_key, run};

use super::{cluster, cluster_urls, raw, record, record_at, standalone};

/// A digest no other test uses.
fn fresh_digest() -> IndexDigest {
    IndexDigest::from_digest_hex(fresh_key().as_str()).unwrap()
}

fn indexed(digest: &IndexDigest, ttl: Duration) -> Record {
    record(&[(INDEX_FIELD, json!(digest.as_str()))], ttl)
}

fn ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap()
}

/// The entries of `set`: member (a store key in hex) and score.
async fn entries(raw: &mut impl ConnectionLike, set: &str) -> Vec<(String, i64)> {
    redis::cmd("ZRANGE")
        .arg(set)
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query_async(raw)
        .await
        .unwrap()
}

async fn members(raw: &mut impl ConnectionLike, set: &str) -> HashSet<String> {
    entries(raw, set)
        .await
        .into_iter()
        .map(|(m, _)| m)
        .collect()
}

/// Moves the entry of `key` in `set` to `score`, as a second step that never ran leaves it.
async fn set_score(raw: &mut impl ConnectionLike, set: &str, key: &StoreKey, score: i64) {
    let changed: i64 = redis::cmd("ZADD")
        .arg(set)
        .arg("XX")
        .arg("CH")
        .arg(score)
        .arg(key.as_str())
        .query_async(raw)
        .await
        .unwrap();
    assert_eq!(changed, 1, "the entry exists");
}

async fn listed(store: &RedisStore, digest: &IndexDigest) -> HashSet<StoreKey> {
    let live = store.list_indexed(digest).await.unwrap();
    live.into_iter().map(|(key, _)| key).collect()
}

/// A patch of one plain field that leaves the index as it is.
fn unrelated(loaded: Option<&IndexDigest>, expires: OffsetDateTime) -> Patch {
    let mut changed = Fields::new();
    changed.insert("views".into(), json!(1));
    Patch::new(changed, Vec::new(), expires).with_loaded_index(loaded.cloned())
}

/// Standalone: login, a switch of user, a new id and a logout each update the sets in the
/// session's own script; nothing waits for a listing.
#[test]
fn standalone_writes_keep_their_entry_in_the_same_script() {
    run(async {
        let up = standalone().await;
        let store = up.store.clone().with_prefix("ts-index-same:");
        let set = |digest: &IndexDigest| format!("ts-index-same:index:{digest}");
        let (ann, bob) = (fresh_digest(), fresh_digest());
        let mut raw = raw().await;
        let key = fresh_key();
        let login = indexed(&ann, Duration::from_secs(60));
        store.create(&key, &login).await.unwrap();
        assert_eq!(
            entries(&mut raw, &set(&ann)).await,
            [(key.as_str().to_owned(), ms(login.expires()))]
        );

        let later = OffsetDateTime::now_utc() + Duration::from_secs(120);
        let mut changed = Fields::new();
        changed.insert(INDEX_FIELD.into(), json!(bob.as_str()));
        let switch = Patch::new(changed, Vec::new(), later).with_loaded_index(Some(ann.clone()));
        store.patch(&key, &switch).await.unwrap();
        assert!(entries(&mut raw, &set(&ann)).await.is_empty());
        assert_eq!(
            entries(&mut raw, &set(&bob)).await,
            [(key.as_str().to_owned(), ms(later))]
        );

        let moved = fresh_key();
        let regenerate = unrelated(Some(&bob), later);
        assert_eq!(
            store.rekey(&key, &moved, &regenerate).await.unwrap(),
            Rekeyed::Applied
        );
        assert_eq!(
            members(&mut raw, &set(&bob)).await,
            HashSet::from([moved.as_str().to_owned()])
        );

        let logout = Patch::new(Fields::new(), vec![INDEX_FIELD.into()], later)
            .with_loaded_index(Some(bob.clone()));
        store.patch(&moved, &logout).await.unwrap();
        let exists: i64 = redis::cmd("EXISTS")
            .arg(set(&bob))
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(exists, 0, "the last entry went with the logout");
    });
}

/// A hint that is out of date (another request re-indexed the session since this one loaded
/// it) is checked against the session: the old set loses the entry, the digest the session
/// holds gets it.
#[test]
fn an_outdated_loaded_index_is_checked_against_the_session() {
    run(async {
        let up = standalone().await;
        let store = up.store.clone().with_prefix("ts-index-hint:");
        let set = |digest: &IndexDigest| format!("ts-index-hint:index:{digest}");
        let (ann, bob) = (fresh_digest(), fresh_digest());
        let mut raw = raw().await;
        let key = fresh_key();
        store
            .create(&key, &indexed(&ann, Duration::from_secs(60)))
            .await
            .unwrap();
        // Another request switches the user; it says nothing of what it loaded.
        let mut changed = Fields::new();
        changed.insert(INDEX_FIELD.into(), json!(bob.as_str()));
        let expires = OffsetDateTime::now_utc() + Duration::from_secs(60);
        store
            .patch(&key, &Patch::new(changed, Vec::new(), expires))
            .await
            .unwrap();
        assert!(members(&mut raw, &set(&ann)).await.contains(key.as_str()));

        let later = OffsetDateTime::now_utc() + Duration::from_secs(90);
        store
            .patch(&key, &unrelated(Some(&ann), later))
            .await
            .unwrap();
        assert!(entries(&mut raw, &set(&ann)).await.is_empty());
        assert_eq!(
            entries(&mut raw, &set(&bob)).await,
            [(key.as_str().to_owned(), ms(later))]
        );
        assert_eq!(listed(&store, &bob).await, HashSet::from([key]));
    });
}

/// An entry whose score lags its session's expiry (its second step was lost) stays in the set
/// and in every listing: a write that finds it due raises it, and so does a listing.
async fn lagging_entries_are_raised(store: RedisStore, raw: &mut impl ConnectionLike) {
    let digest = fresh_digest();
    let set = store.index_key(&digest);
    let (first, second) = (fresh_key(), fresh_key());
    let session = indexed(&digest, Duration::from_secs(60));
    store.create(&first, &session).await.unwrap();
    let past = ms(OffsetDateTime::now_utc()) - 1_000;
    set_score(raw, &set, &first, past).await;

    store
        .create(&second, &indexed(&digest, Duration::from_secs(60)))
        .await
        .unwrap();
    let scores: Vec<(String, i64)> = entries(raw, &set).await;
    assert!(
        scores.contains(&(first.as_str().to_owned(), ms(session.expires()))),
        "the write's sweep raised the lagging entry: {scores:?}"
    );

    set_score(raw, &set, &first, past).await;
    assert_eq!(
        listed(&store, &digest).await,
        HashSet::from([first.clone(), second.clone()])
    );
    assert!(
        entries(raw, &set)
            .await
            .contains(&(first.as_str().to_owned(), ms(session.expires())))
    );
    // Revoking everything the listing shows leaves nothing live.
    for key in listed(&store, &digest).await {
        store.remove(&key).await.unwrap();
    }
    assert!(store.load(&first).await.unwrap().is_none());
}

#[test]
fn standalone_lagging_entries_are_raised_not_dropped() {
    run(async {
        let up = standalone().await;
        lagging_entries_are_raised(up.store.clone(), &mut raw().await).await;
    });
}

#[test]
fn cluster_lagging_entries_are_raised_not_dropped() {
    run(async {
        let mut raw = cluster_raw().await;
        lagging_entries_are_raised(cluster().await, &mut raw).await;
    });
}

/// The entries of expired sessions leave at the next write to their set, with no listing.
async fn expired_entries_go_unlisted(store: RedisStore, raw: &mut impl ConnectionLike) {
    let digest = fresh_digest();
    let set = store.index_key(&digest);
    for _ in 0..3 {
        store
            .create(&fresh_key(), &indexed(&digest, Duration::from_millis(200)))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let last = fresh_key();
    store
        .create(&last, &indexed(&digest, Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(
        members(raw, &set).await,
        HashSet::from([last.as_str().to_owned()])
    );
}

#[test]
fn standalone_expired_entries_go_without_a_listing() {
    run(async {
        let up = standalone().await;
        expired_entries_go_unlisted(up.store.clone(), &mut raw().await).await;
    });
}

#[test]
fn cluster_expired_entries_go_without_a_listing() {
    run(async {
        let mut raw = cluster_raw().await;
        expired_entries_go_unlisted(cluster().await, &mut raw).await;
    });
}

/// A write checks at most a batch of due entries (32), so a set with many leaves over a few
/// writes, and no request pays for all of them.
#[test]
fn a_write_checks_a_bounded_batch_of_due_entries() {
    run(async {
        let up = standalone().await;
        // The store's own clock: every entry falls due at one instant, after the 40 writes.
        let clock = ManualClock::starting_now();
        let store = up.store.clone().with_clock(clock.clone());
        let mut raw = raw().await;
        let digest = fresh_digest();
        let set = store.index_key(&digest);
        let at = |ttl| record_at(clock.now(), &[(INDEX_FIELD, json!(digest.as_str()))], ttl);
        for _ in 0..40 {
            store
                .create(&fresh_key(), &at(Duration::from_secs(60)))
                .await
                .unwrap();
        }
        clock.advance(Duration::from_secs(120));
        let first = fresh_key();
        store
            .create(&first, &at(Duration::from_secs(3600)))
            .await
            .unwrap();
        assert_eq!(members(&mut raw, &set).await.len(), 40 - 32 + 1);
        let later = clock.now() + Duration::from_secs(3600);
        store
            .patch(&first, &unrelated(Some(&digest), later))
            .await
            .unwrap();
        assert_eq!(
            members(&mut raw, &set).await,
            HashSet::from([first.as_str().to_owned()])
        );
    });
}

/// On a Cluster a removed session's entry is left out of listings at once, and dropped once
/// its score has passed: until then it could be a session whose script has not run yet.
#[test]
fn cluster_drops_a_gone_session_entry_once_its_score_passed() {
    run(async {
        let store = cluster().await;
        let mut raw = cluster_raw().await;
        let digest = fresh_digest();
        let set = store.index_key(&digest);
        let (short, long) = (fresh_key(), fresh_key());
        store
            .create(&short, &indexed(&digest, Duration::from_millis(300)))
            .await
            .unwrap();
        store
            .create(&long, &indexed(&digest, Duration::from_secs(60)))
            .await
            .unwrap();
        store.remove(&short).await.unwrap();
        assert_eq!(listed(&store, &digest).await, HashSet::from([long.clone()]));
        assert_eq!(members(&mut raw, &set).await.len(), 2);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(listed(&store, &digest).await, HashSet::from([long.clone()]));
        assert_eq!(
            members(&mut raw, &set).await,
            HashSet::from([long.as_str().to_owned()])
        );
    });
}

/// The sorted set behind a user's devices leaves nothing behind: the entries of removed,
/// expired and moved sessions (a move by a store caller that gave no loaded index) go at the
/// next listing, and the set expires with its last session.
#[test]
fn the_index_set_keeps_no_stale_entry() {
    run(async {
        let up = standalone().await;
        let store = up.store.clone().with_prefix("ts-index:");
        let digest = IndexDigest::from_digest_hex(fresh_key().as_str()).unwrap();
        let set = format!("ts-index:index:{digest}");
        let indexed = |ttl| record(&[(INDEX_FIELD, json!(digest.as_str()))], ttl);
        let keys: Vec<StoreKey> = (0..4).map(|_| fresh_key()).collect();
        for key in &keys[..3] {
            store
                .create(key, &indexed(Duration::from_secs(60)))
                .await
                .unwrap();
        }
        store
            .create(&keys[3], &indexed(Duration::from_millis(200)))
            .await
            .unwrap();
        let mut raw = raw().await;
        assert_eq!(zcard(&mut raw, &set).await, 4);
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&set)
            .query_async(&mut raw)
            .await
            .unwrap();
        assert!(
            ttl > 59_000 && ttl <= 60_000,
            "the set lives as long as its last session: {ttl}"
        );

        store.remove(&keys[0]).await.unwrap();
        let moved = loop {
            let new = fresh_key();
            if store.can_rekey(&keys[1], &new) {
                break new;
            }
        };
        let unchanged = Patch::new(
            Fields::new(),
            Vec::new(),
            OffsetDateTime::now_utc() + Duration::from_secs(60),
        );
        assert_eq!(
            store.rekey(&keys[1], &moved, &unchanged).await.unwrap(),
            Rekeyed::Applied
        );
        tokio::time::sleep(Duration::from_millis(300)).await;

        let listed: HashSet<StoreKey> = store
            .list_indexed(&digest)
            .await
            .unwrap()
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        assert_eq!(listed, HashSet::from([moved.clone(), keys[2].clone()]));
        assert_eq!(
            zcard(&mut raw, &set).await,
            2,
            "removed, moved and expired entries dropped"
        );

        store.remove(&moved).await.unwrap();
        store.remove(&keys[2]).await.unwrap();
        assert!(store.list_indexed(&digest).await.unwrap().is_empty());
        let exists: i64 = redis::cmd("EXISTS")
            .arg(&set)
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(exists, 0, "an empty set is no key");
    });
}

/// How many members the sorted set `set` has.
async fn zcard(raw: &mut redis::aio::MultiplexedConnection, set: &str) -> i64 {
    redis::cmd("ZCARD").arg(set).query_async(raw).await.unwrap()
}

async fn cluster_raw() -> redis::cluster_async::ClusterConnection {
    redis::cluster::ClusterClient::new(cluster_urls())
        .unwrap()
        .get_async_connection()
        .await
        .unwrap()
}
