//! The two segments through the store's API: which session a new one at a full store evicts,
//! when a session is promoted, and what `with_capacity`, `len` and `clear` do with segments.

use std::time::Duration;

use time::OffsetDateTime;

use super::MemoryStore;
use super::index::Segment;
use crate::clock::{ManualClock, unix_ms};
use crate::store::{Fields, Patch, Record, SessionStore, StoreKey};

fn record(now: OffsetDateTime, ttl_secs: i64) -> Record {
    Record::new(Fields::new(), now, now + time::Duration::seconds(ttl_secs))
}

fn keys(n: usize) -> Vec<StoreKey> {
    (0..n).map(|_| StoreKey::random()).collect()
}

fn store(capacity: usize) -> (MemoryStore, ManualClock) {
    let clock = ManualClock::starting_now();
    let store = MemoryStore::new()
        .with_capacity(capacity)
        .with_clock(clock.clone());
    (store, clock)
}

/// The segment of the record under `key`, if the store holds one.
fn segment(store: &MemoryStore, key: &StoreKey) -> Option<Segment> {
    let entries = store.lock();
    entries.records.get(key).map(|e| Segment::of(e.indexed))
}

/// How many records each segment's index holds: (probation, protected).
fn sizes(store: &MemoryStore) -> (usize, usize) {
    let entries = store.lock();
    let index = &entries.by_expiry;
    (index.probation.len(), index.protected.len())
}

/// Creates a session under each key, `ttl` seconds from now, and presents it back.
async fn log_in(store: &MemoryStore, clock: &ManualClock, keys: &[StoreKey], ttl: i64) {
    for key in keys {
        store.create(key, &record(clock.now(), ttl)).await.unwrap();
        store.load(key).await.unwrap().unwrap();
    }
}

async fn present(store: &MemoryStore, keys: &[StoreKey]) -> usize {
    let mut live = 0;
    for key in keys {
        live += usize::from(store.load(key).await.unwrap().is_some());
    }
    live
}

#[tokio::test]
async fn a_flood_of_new_sessions_evicts_only_new_ones() {
    let (store, clock) = store(8);
    let users = keys(3);
    log_in(&store, &clock, &users, 600).await;
    // Later, so that every new session expires after every user's.
    clock.advance(Duration::from_secs(60));
    let flood = keys(100);
    for key in &flood {
        store.create(key, &record(clock.now(), 600)).await.unwrap();
    }
    assert_eq!(store.len(), 8);
    assert_eq!(sizes(&store), (5, 3));
    // The five newest new sessions are the ones left.
    for key in &flood[95..] {
        assert_eq!(segment(&store, key), Some(Segment::Probation));
    }
    assert_eq!(present(&store, &users).await, 3, "every user kept");
}

#[tokio::test]
async fn a_session_is_promoted_once_when_presented_back_and_placed_at_its_expiry() {
    let (store, clock) = store(100);
    let k = keys(3);
    for key in &k {
        store.create(key, &record(clock.now(), 60)).await.unwrap();
        assert_eq!(segment(&store, key), Some(Segment::Probation));
    }
    store.load(&k[0]).await.unwrap().unwrap();
    let place = store.lock().records[&k[0]].indexed;
    assert_eq!(Segment::of(place), Segment::Protected);
    let expires = clock.now() + time::Duration::seconds(60);
    assert_eq!(place.0, unix_ms(expires));
    store.load(&k[0]).await.unwrap().unwrap();
    assert_eq!(
        store.lock().records[&k[0]].indexed,
        place,
        "not moved again"
    );
    // A write follows a load; it promotes too, at the new expiry.
    let later = clock.now() + time::Duration::seconds(90);
    let patch = Patch::new(Fields::new(), Vec::new(), later);
    store.patch(&k[1], &patch).await.unwrap();
    store.touch(&k[2], later).await.unwrap();
    for key in &k[1..] {
        let place = store.lock().records[key].indexed;
        assert_eq!(Segment::of(place), Segment::Protected);
        assert_eq!(place.0, unix_ms(later));
    }
    // A missing session is not created by a load.
    assert!(store.load(&keys(1)[0]).await.unwrap().is_none());
    assert_eq!(sizes(&store), (0, 3));
}

#[tokio::test]
async fn presented_sessions_give_way_once_new_ones_are_below_a_quarter_of_the_capacity() {
    // A quarter of 8: two new sessions.
    let (store, clock) = store(8);
    let users = keys(8);
    for (n, key) in users.iter().enumerate() {
        let ttl = 600 + i64::try_from(n).unwrap();
        log_in(&store, &clock, std::slice::from_ref(key), ttl).await;
    }
    let new = keys(3);
    for (n, key) in new.iter().enumerate() {
        store.create(key, &record(clock.now(), 900)).await.unwrap();
        // The first two evict the users closest to expiry; the third the first new session.
        let gone: Vec<usize> = (0..8)
            .filter(|u| segment(&store, &users[*u]).is_none())
            .collect();
        assert_eq!(
            gone,
            (0..(n + 1).min(2)).collect::<Vec<_>>(),
            "after new {n}"
        );
    }
    assert_eq!(segment(&store, &new[0]), None);
    assert_eq!(sizes(&store), (2, 6));
}

#[tokio::test]
async fn expired_presented_sessions_go_before_live_new_ones() {
    let (store, clock) = store(2);
    let k = keys(3);
    log_in(&store, &clock, &k[..1], 10).await;
    store
        .create(&k[1], &record(clock.now(), 600))
        .await
        .unwrap();
    clock.advance(Duration::from_secs(11));
    store
        .create(&k[2], &record(clock.now(), 600))
        .await
        .unwrap();
    assert_eq!(segment(&store, &k[0]), None, "expired");
    assert_eq!(segment(&store, &k[1]), Some(Segment::Probation));
    assert_eq!(sizes(&store), (2, 0));
}

#[tokio::test]
async fn a_smaller_capacity_evicts_new_sessions_first_then_the_presented_closest_to_expiry() {
    let (store, clock) = store(8);
    let users = keys(4);
    for (n, key) in users.iter().enumerate() {
        let ttl = 600 + i64::try_from(n).unwrap();
        log_in(&store, &clock, std::slice::from_ref(key), ttl).await;
    }
    for key in &keys(4) {
        store.create(key, &record(clock.now(), 900)).await.unwrap();
    }
    assert_eq!((store.len(), sizes(&store)), (8, (4, 4)));
    // Clones share the sessions: the next new session makes room for itself under 3.
    let smaller = store.clone().with_capacity(3);
    let last = keys(1);
    smaller
        .create(&last[0], &record(clock.now(), 900))
        .await
        .unwrap();
    assert_eq!(store.len(), 3);
    assert_eq!(sizes(&store), (1, 2));
    assert_eq!(
        present(&store, &users[2..]).await,
        2,
        "the two latest users"
    );
    assert_eq!(segment(&store, &last[0]), Some(Segment::Probation));
}

#[tokio::test]
async fn len_counts_both_segments_and_clear_empties_both() {
    let (store, clock) = store(10);
    log_in(&store, &clock, &keys(2), 60).await;
    for key in &keys(3) {
        store.create(key, &record(clock.now(), 60)).await.unwrap();
    }
    assert_eq!((store.len(), sizes(&store)), (5, (3, 2)));
    store.clear();
    assert!(store.is_empty());
    assert_eq!(sizes(&store), (0, 0));
    log_in(&store, &clock, &keys(1), 60).await;
    assert_eq!(sizes(&store), (0, 1));
}

/// An attacker can only promote sessions he created, one request each with the session's
/// cookie: no user is evicted until presented sessions fill three quarters of the store.
#[tokio::test]
async fn an_attacker_presenting_his_own_sessions_needs_three_quarters_of_the_store() {
    const CAPACITY: usize = 100;
    let (store, clock) = store(CAPACITY);
    let users = keys(10);
    log_in(&store, &clock, &users, 3_600).await;
    // A full store: the users and 90 new sessions of a flood.
    clock.advance(Duration::from_secs(60));
    for key in &keys(90) {
        store
            .create(key, &record(clock.now(), 3_600))
            .await
            .unwrap();
    }
    // Pairs of requests: a new session, then its cookie sent back.
    let mut pairs = 0;
    while present(&store, &users).await == users.len() {
        clock.advance(Duration::from_millis(10));
        log_in(&store, &clock, &keys(1), 3_600).await;
        pairs += 1;
    }
    // Each pair takes one new session out of probation (one evicted for the attacker's, which
    // then leaves it): after 66, 24 are left, fewer than a quarter of the store, with 76
    // presented; the next new session evicts the presented one closest to expiry, a user's.
    assert_eq!(pairs, 67);
    assert_eq!(sizes(&store), (24, 76));
}

#[test]
fn many_promotions_leave_the_probation_queue_small() {
    let mut entries = super::entries::Entries::new(100_000);
    let now = OffsetDateTime::now_utc();
    let k = keys(10_000);
    for key in &k {
        entries.create(key, &record(now, 60), now);
    }
    for key in &k {
        entries.load(key, now).unwrap();
    }
    let probation = &entries.by_expiry.probation;
    assert_eq!(probation.len(), 0);
    assert!(
        probation.queue_capacity() < 1_000,
        "{} places kept for no entry",
        probation.queue_capacity()
    );
}
