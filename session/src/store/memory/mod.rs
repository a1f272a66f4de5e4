//! An in-process store: bounded, expiring, field-level patches.

mod entries;
mod index;
#[cfg(test)]
mod model;
#[cfg(test)]
mod segments;
mod stored;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use time::OffsetDateTime;

use crate::Error;
use crate::clock::Clock;
use crate::store::SessionStore;
use crate::store::StoreKey;
use crate::store::{Created, IndexDigest, Patch, Record, Rekeyed, Updated};
use entries::Entries;

/// Sessions kept in this process's memory: for a single instance, for tests, and as the model
/// of the store contract.
///
/// - **Expiry**: an expired record is never returned; expired entries are swept a few at a time
///   on every write (in expiry order: the sweep visits only index entries that are due, never
///   the whole table).
/// - **Capacity** (default 100 000 sessions): when a new session arrives at a full store, expired
///   entries are swept first; if it is still full, one session is evicted to make room. The
///   store never grows past its capacity, so a flood of new sessions never costs the process's
///   memory; and it evicts in two segments, as 2Q and SLRU caches do, so that such a flood does
///   not log users out either. A session is *new* from its creation until a request presents it
///   back (its signed cookie names it), *returning* from then on. A new session at a full store
///   evicts the new session closest to its expiry (the oldest); only while fewer than a quarter
///   of the capacity are new does it evict the returning session closest to its expiry (the
///   least recently active). Cookieless requests (bots, scanners, a flood) only ever create new
///   sessions, so they evict each other. The quarter kept for new sessions keeps the store open
///   to new users when returning ones fill it. Against an attacker, the bound is this: only a
///   session's client can make it returning, with a request that sends its cookie, so before
///   any user is evicted the attacker's returning sessions and the users' must fill three
///   quarters of the store within one idle timeout (his sessions expire too), which takes him
///   about twice as many requests (one to create each, one to present it): 150 000 at the
///   default capacity with few users. Past that, each request or two of his evicts one more
///   returning session, the closest to its expiry first.
/// - **Size**: a session costs its fields' values plus about 550 to 650 bytes of tables,
///   depending on how full they are (they grow by doubling); field names are stored once for
///   all sessions. A full store of one-field sessions at the default capacity holds about
///   60 MB.
/// - **Concurrency**: each call holds one short lock (now and then a removal compacts the
///   expiry index, one pass over it: about a millisecond at 100 000 sessions), and a patch
///   touches only its fields, so concurrent requests that change different fields all survive.
///
/// Clones share the same sessions.
///
/// # Examples
///
/// ```
/// use typed_sessions::{Key, MemoryStore, SessionLayer};
///
/// let store = MemoryStore::new().with_capacity(10_000);
/// let layer = SessionLayer::new(Key::generate()).with_store(store.clone());
/// assert_eq!(store.len(), 0);
/// # let _ = layer;
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    shared: Arc<Mutex<Entries>>,
    clock: Clock,
}

impl MemoryStore {
    /// The default capacity, in sessions.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// An empty store with the default capacity.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::{Key, MemoryStore, SessionLayer};
    ///
    /// let layer = SessionLayer::new(Key::generate()).with_store(MemoryStore::new());
    /// # let _ = layer;
    /// ```
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Mutex::new(Entries::new(Self::DEFAULT_CAPACITY))),
            clock: Clock::system(),
        }
    }

    /// Keeps at most `capacity` sessions (at least one); a new session at a full store evicts
    /// the new session closest to its expiry, or, while fewer than a quarter of `capacity` are
    /// new, the returning one closest to its expiry (see the type's documentation). A smaller
    /// capacity than the sessions stored takes effect at the next new session, which evicts
    /// down to it in the same order.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::MemoryStore;
    ///
    /// let store = MemoryStore::new().with_capacity(10_000);
    /// # let _ = store;
    /// ```
    #[must_use]
    pub fn with_capacity(self, capacity: usize) -> Self {
        self.lock().capacity = capacity.max(1);
        self
    }

    /// Reads the time from `clock` instead of the system clock (tests use a
    /// [`ManualClock`](crate::clock::ManualClock), shared with the layer).
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::clock::ManualClock;
    /// use typed_sessions::{Key, MemoryStore, SessionLayer};
    ///
    /// let clock = ManualClock::starting_now();
    /// let store = MemoryStore::new().with_clock(clock.clone());
    /// let layer = SessionLayer::new(Key::generate()).with_clock(clock).with_store(store);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn with_clock(mut self, clock: impl Into<Clock>) -> Self {
        self.clock = clock.into();
        self
    }

    /// The number of live sessions.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::MemoryStore;
    ///
    /// assert_eq!(MemoryStore::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        let now = self.clock.now();
        self.lock().count_live(now)
    }

    /// Whether no live session is stored.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::MemoryStore;
    ///
    /// assert!(MemoryStore::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every session: every user is logged out.
    ///
    /// # Examples
    ///
    /// ```
    /// use time::{Duration, OffsetDateTime};
    /// use typed_sessions::MemoryStore;
    /// use typed_sessions::store::{Fields, Record, SessionStore, StoreKey};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// let store = MemoryStore::new();
    /// let now = OffsetDateTime::now_utc();
    /// let key = StoreKey::from_digest_hex("a".repeat(64)).unwrap();
    /// store.create(&key, &Record::new(Fields::new(), now, now + Duration::hours(1))).await?;
    /// assert_eq!(store.len(), 1);
    /// store.clear();
    /// assert!(store.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave the maps inconsistent with each other in
        // a way that matters more than losing every session would, so keep serving.
        self.shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.lock();
        f.debug_struct("MemoryStore")
            .field("sessions", &entries.len())
            .field("capacity", &entries.capacity)
            .finish_non_exhaustive()
    }
}

impl SessionStore for MemoryStore {
    async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        let now = self.clock.now();
        Ok(self.lock().load(key, now))
    }

    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, Error> {
        let now = self.clock.now();
        Ok(self.lock().create(key, record, now))
    }

    async fn patch(&self, key: &StoreKey, patch: &Patch) -> Result<Updated, Error> {
        let now = self.clock.now();
        Ok(self.lock().patch(key, patch, now))
    }

    async fn remove(&self, key: &StoreKey) -> Result<(), Error> {
        self.lock().delete(key);
        Ok(())
    }

    async fn touch(&self, key: &StoreKey, expires: OffsetDateTime) -> Result<Updated, Error> {
        let now = self.clock.now();
        Ok(self.lock().touch(key, expires, now))
    }

    async fn rekey(&self, old: &StoreKey, new: &StoreKey, patch: &Patch) -> Result<Rekeyed, Error> {
        let now = self.clock.now();
        Ok(self.lock().rekey(old, new, patch, now))
    }

    /// Always: one map holds every key.
    fn can_rekey(&self, _old: &StoreKey, _new: &StoreKey) -> bool {
        true
    }

    fn kind(&self) -> &'static str {
        "memory"
    }

    /// One pass over the records under the lock: a store of 100 000 sessions takes about a
    /// millisecond. Removed and expired records are never listed, and leave nothing behind.
    async fn list_indexed(&self, index: &IndexDigest) -> Result<Vec<(StoreKey, Record)>, Error> {
        let now = self.clock.now();
        Ok(self.lock().list_indexed(index, now))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::clock::{ManualClock, unix_ms};
    use crate::store::Fields;

    fn record(now: OffsetDateTime, ttl_secs: i64) -> Record {
        Record::new(Fields::new(), now, now + time::Duration::seconds(ttl_secs))
    }

    fn patch(expires: OffsetDateTime) -> Patch {
        Patch::new(Fields::new(), Vec::new(), expires)
    }

    fn keys(n: usize) -> Vec<StoreKey> {
        (0..n).map(|_| StoreKey::random()).collect()
    }

    /// Every record has exactly one index entry, at or before its expiry, and the indexes have
    /// no other; no entry is before its index's `due_from`; the queues are in order.
    fn assert_consistent(store: &MemoryStore) {
        let entries = store.lock();
        let index = &entries.by_expiry;
        assert_eq!(index.entries().count(), entries.records.len());
        for segment in [&index.probation, &index.protected] {
            assert!(segment.queued_in_order());
            if let Some((first, _)) = segment.first() {
                assert!(
                    segment.due_from() <= first,
                    "a lower bound of the first entry"
                );
            }
        }
        for (key, entry) in &entries.records {
            let here: Vec<_> = index
                .entries()
                .filter(|(place, _)| *place == entry.indexed)
                .collect();
            assert_eq!(here, [(entry.indexed, key)]);
            assert!(entry.indexed.0 <= unix_ms(entry.stored.expires));
        }
    }

    #[tokio::test]
    async fn eviction_picks_the_real_earliest_expiry_after_extensions() {
        let clock = ManualClock::starting_now();
        let store = MemoryStore::new()
            .with_capacity(3)
            .with_clock(clock.clone());
        let now = clock.now();
        let k = keys(4);
        for (key, ttl) in k.iter().zip([10, 20, 30]) {
            store.create(key, &record(now, ttl)).await.unwrap();
        }
        // All three presented back: in the protected segment, each at its expiry.
        for key in &k[..3] {
            store.load(key).await.unwrap().unwrap();
        }
        // The first two live longest now; their index entries stay where they were.
        store
            .patch(&k[0], &patch(now + time::Duration::seconds(100)))
            .await
            .unwrap();
        store
            .touch(&k[1], now + time::Duration::seconds(90))
            .await
            .unwrap();
        assert_consistent(&store);
        store.create(&k[3], &record(now, 40)).await.unwrap();
        assert_consistent(&store);
        assert!(
            store.load(&k[2]).await.unwrap().is_none(),
            "closest to expiry"
        );
        for key in [&k[0], &k[1], &k[3]] {
            assert!(store.load(key).await.unwrap().is_some());
        }
    }

    #[tokio::test]
    async fn a_shortened_expiry_moves_the_index_entry() {
        let clock = ManualClock::starting_now();
        let store = MemoryStore::new()
            .with_capacity(2)
            .with_clock(clock.clone());
        let now = clock.now();
        let k = keys(3);
        store.create(&k[0], &record(now, 10)).await.unwrap();
        store.create(&k[1], &record(now, 20)).await.unwrap();
        // Both presented back, so that both are in the protected segment, at their expiry.
        for key in &k[..2] {
            store.load(key).await.unwrap().unwrap();
        }
        store
            .touch(&k[1], now + time::Duration::seconds(5))
            .await
            .unwrap();
        assert_consistent(&store);
        store.create(&k[2], &record(now, 30)).await.unwrap();
        assert!(store.load(&k[1]).await.unwrap().is_none());
        assert!(store.load(&k[0]).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn the_sweep_deletes_expired_records_and_moves_extended_ones() {
        let clock = ManualClock::starting_now();
        let store = MemoryStore::new().with_clock(clock.clone());
        let now = clock.now();
        let k = keys(20);
        for key in &k {
            store.create(key, &record(now, 10)).await.unwrap();
        }
        for key in &k[..10] {
            store
                .touch(key, now + time::Duration::seconds(60))
                .await
                .unwrap();
        }
        clock.advance(Duration::from_secs(11));
        // Each write sweeps a few due entries; a handful of writes visits all twenty.
        let extra = keys(5);
        for key in &extra {
            store.create(key, &record(clock.now(), 600)).await.unwrap();
            assert_consistent(&store);
        }
        let entries = store.lock();
        assert_eq!(entries.records.len(), 15, "the ten untouched ones are gone");
        assert!(k[..10].iter().all(|key| entries.records.contains_key(key)));
        let due = unix_ms(clock.now());
        assert!(entries.by_expiry.entries().all(|((ms, _), _)| ms > due));
    }

    #[tokio::test]
    async fn removing_or_recreating_a_record_with_an_early_index_entry_leaves_no_orphan() {
        let clock = ManualClock::starting_now();
        let store = MemoryStore::new().with_clock(clock.clone());
        let now = clock.now();
        let k = keys(2);
        for key in &k {
            store.create(key, &record(now, 10)).await.unwrap();
            store
                .touch(key, now + time::Duration::seconds(60))
                .await
                .unwrap();
        }
        store.remove(&k[0]).await.unwrap();
        assert_consistent(&store);
        // Expired in the store's eyes, then created again under the same key.
        clock.advance(Duration::from_secs(61));
        store.create(&k[1], &record(clock.now(), 30)).await.unwrap();
        assert_consistent(&store);
        assert_eq!(store.len(), 1);
    }

    #[tokio::test]
    async fn a_record_is_not_swept_before_its_sub_millisecond_expiry() {
        let clock = ManualClock::new(time::macros::datetime!(2026-01-01 0:00 UTC));
        let store = MemoryStore::new().with_clock(clock.clone());
        let now = clock.now();
        let k = keys(2);
        let late = Record::new(Fields::new(), now, now + time::Duration::microseconds(1500));
        store.create(&k[0], &late).await.unwrap();
        clock.advance(Duration::from_millis(1));
        // A write sweeps: the record is due by the millisecond, but live by the microsecond.
        store.create(&k[1], &record(clock.now(), 60)).await.unwrap();
        assert_consistent(&store);
        assert!(store.load(&k[0]).await.unwrap().is_some());
        clock.advance(Duration::from_millis(1));
        store
            .create(&keys(1)[0], &record(clock.now(), 60))
            .await
            .unwrap();
        assert!(
            !store.lock().records.contains_key(&k[0]),
            "swept once expired"
        );
        assert_consistent(&store);
    }

    #[tokio::test]
    async fn expired_records_make_room_before_live_ones_due_within_the_millisecond() {
        let clock = ManualClock::new(time::macros::datetime!(2026-01-01 0:00 UTC));
        let store = MemoryStore::new()
            .with_capacity(3)
            .with_clock(clock.clone());
        let t0 = clock.now();
        let ms = time::Duration::milliseconds;
        let k = keys(4);
        for (key, after) in k.iter().zip([1, 2, 3]) {
            let early = Record::new(Fields::new(), t0, t0 + ms(after));
            store.create(key, &early).await.unwrap();
        }
        // All three extended: their index entries stay early. At `t`, the first two live for
        // half a millisecond more; the third has just expired.
        let t = t0 + ms(10);
        let half = time::Duration::microseconds(500);
        for (key, expires) in k.iter().zip([t + half, t + half, t]) {
            store.touch(key, expires).await.unwrap();
        }
        clock.advance(Duration::from_millis(10));
        store.create(&k[3], &record(t, 60)).await.unwrap();
        assert_consistent(&store);
        for key in [&k[0], &k[1], &k[3]] {
            assert!(store.load(key).await.unwrap().is_some(), "live ones stay");
        }
        assert!(
            !store.lock().records.contains_key(&k[2]),
            "the expired one made room"
        );
    }

    #[tokio::test]
    async fn creating_over_an_expired_record_the_sweep_did_not_reach_keeps_the_index_exact() {
        let clock = ManualClock::starting_now();
        let store = MemoryStore::new().with_clock(clock.clone());
        let now = clock.now();
        let k = keys(20);
        for key in &k {
            let short = Record::new(Fields::new(), now, now + time::Duration::milliseconds(1));
            store.create(key, &short).await.unwrap();
        }
        clock.advance(Duration::from_millis(2));
        // A write sweeps 8 entries, in the order they were added: the last key is still there,
        // expired, when it is created again.
        let created = store
            .create(&k[19], &record(clock.now(), 60))
            .await
            .unwrap();
        assert_eq!(created, Created::Stored);
        assert!(store.lock().records.len() > 2, "the sweep stopped early");
        assert_consistent(&store);
        assert_eq!(store.len(), 1);
    }
}
