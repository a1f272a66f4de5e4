//! An in-process store: bounded, expiring, field-level patches.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

use time::OffsetDateTime;

use crate::Error;
use crate::clock::{Clock, unix_ms};
use crate::id::StoreKey;
use crate::record::{Applied, Created, Patch, Record};
use crate::store::SessionStore;

/// How many expired entries each write sweeps at most, so that the sweep's cost is spread over
/// the writes that make it necessary instead of stalling one of them.
const SWEEP_PER_WRITE: usize = 8;

/// Sessions kept in this process's memory: for a single instance, for tests, and as the model
/// of the store contract.
///
/// - **Expiry**: an expired record is never returned; expired entries are swept a few at a time
///   on every write (in expiry order, so the sweep never scans live entries).
/// - **Capacity** (default 100 000 sessions): when a new session arrives at a full store, expired
///   entries are swept first; if it is still full, the session closest to its expiry (the least
///   recently active one) is evicted to make room. The store never grows past its capacity, so a
///   flood of new sessions costs the oldest idle ones, never the process's memory.
/// - **Concurrency**: each call holds one short lock, and a patch touches only its fields, so
///   concurrent requests that change different fields all survive.
///
/// Clones share the same sessions.
///
/// # Example
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

#[derive(Default)]
struct Entries {
    records: HashMap<StoreKey, Entry, BuildHasherDefault<DigestHasher>>,
    /// One `(indexed, key)` per record, in expiry order. A record's entry is never later than
    /// its expiry, but may be earlier: a write that only extends the expiry (nearly every
    /// write) leaves the index alone, and the sweep moves an entry it finds early.
    by_expiry: BTreeSet<(i64, StoreKey)>,
    capacity: usize,
}

struct Entry {
    record: Record,
    /// Where the record's index entry is: Unix milliseconds, at or before its expiry.
    indexed: i64,
}

/// Hashes a [`StoreKey`] by its first 16 hex digits.
///
/// A store key is a SHA-256 digest: its digits are already uniformly random, so 64 bits of
/// them are the hash, without SipHash's rounds over all 64 characters. Keys are only ever
/// inserted for ids the server drew itself, so a client cannot aim keys at one bucket; looking
/// up keys it chose costs one probe sequence like any other miss.
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn write(&mut self, bytes: &[u8]) {
        let (Some(high), Some(low)) = (bytes.get(..8), bytes.get(8..16)) else {
            // Not a store key (the map hashes nothing else): fold it in whole.
            for &byte in bytes {
                self.0 = self.0.rotate_left(8) ^ u64::from(byte);
            }
            return;
        };
        self.0 ^= nibbles(high) << 4 | nibbles(low);
    }

    /// The length prefix of the key's bytes: always the same.
    fn write_usize(&mut self, _: usize) {}

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Eight ASCII hex digits → their values, one per byte (`'0'..='9'`, `'a'..='f'`).
fn nibbles(digits: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(digits);
    let word = u64::from_le_bytes(word);
    (word & 0x0f0f_0f0f_0f0f_0f0f) + 9 * ((word >> 6) & 0x0101_0101_0101_0101)
}

impl MemoryStore {
    /// The default capacity, in sessions.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// An empty store with the default capacity.
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Mutex::new(Entries {
                capacity: Self::DEFAULT_CAPACITY,
                ..Entries::default()
            })),
            clock: Clock::system(),
        }
    }

    /// Keeps at most `capacity` sessions (at least one).
    #[must_use]
    pub fn with_capacity(self, capacity: usize) -> Self {
        self.lock().capacity = capacity.max(1);
        self
    }

    /// Reads the time from `clock` instead of the system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Into<Clock>) -> Self {
        self.clock = clock.into();
        self
    }

    /// The number of live sessions.
    pub fn len(&self) -> usize {
        let now = self.clock.now();
        let entries = self.lock();
        entries
            .records
            .values()
            .filter(|entry| !entry.record.is_expired(now))
            .count()
    }

    /// Whether no live session is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every session.
    pub fn clear(&self) {
        let mut entries = self.lock();
        entries.records.clear();
        entries.by_expiry.clear();
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
            .field("sessions", &entries.records.len())
            .field("capacity", &entries.capacity)
            .finish_non_exhaustive()
    }
}

impl Entries {
    fn live(&mut self, key: &StoreKey, now: OffsetDateTime) -> Option<&mut Record> {
        let expired = self.records.get(key)?.record.is_expired(now);
        if expired {
            self.delete(key);
            return None;
        }
        self.records.get_mut(key).map(|entry| &mut entry.record)
    }

    fn insert(&mut self, key: &StoreKey, record: Record) {
        self.delete(key);
        let indexed = unix_ms(record.expires);
        self.by_expiry.insert((indexed, key.clone()));
        self.records.insert(key.clone(), Entry { record, indexed });
    }

    fn delete(&mut self, key: &StoreKey) {
        if let Some(entry) = self.records.remove(key) {
            self.by_expiry.remove(&(entry.indexed, key.clone()));
        }
    }

    /// Keeps the index entry of the record under `key` at or before its (new) expiry.
    fn expiry_changed(&mut self, key: &StoreKey) {
        let Some(entry) = self.records.get_mut(key) else {
            return;
        };
        let expires = unix_ms(entry.record.expires);
        if expires < entry.indexed {
            let old = std::mem::replace(&mut entry.indexed, expires);
            self.by_expiry.remove(&(old, key.clone()));
            self.by_expiry.insert((expires, key.clone()));
        }
    }

    /// The earliest index entry, moved until it is exact: then its record is the one that
    /// expires first. Returns that record's key and expiry.
    fn earliest(&mut self) -> Option<(StoreKey, i64)> {
        loop {
            let (indexed, key) = self.by_expiry.first()?.clone();
            let Some(entry) = self.records.get_mut(&key) else {
                self.by_expiry.pop_first();
                continue;
            };
            let expires = unix_ms(entry.record.expires);
            if expires == indexed {
                return Some((key, expires));
            }
            entry.indexed = expires;
            self.by_expiry.pop_first();
            self.by_expiry.insert((expires, key));
        }
    }

    /// Visits up to `limit` index entries that are due: deletes their records when expired,
    /// moves the entries to the records' real expiry when not.
    fn sweep(&mut self, now: OffsetDateTime, limit: usize) {
        let now_ms = unix_ms(now);
        for _ in 0..limit {
            match self.by_expiry.first() {
                Some((indexed, _)) if *indexed <= now_ms => {}
                _ => break,
            }
            let Some((_, key)) = self.by_expiry.pop_first() else {
                break;
            };
            let Some(entry) = self.records.get_mut(&key) else {
                continue;
            };
            if entry.record.is_expired(now) {
                self.records.remove(&key);
                continue;
            }
            let expires = unix_ms(entry.record.expires);
            entry.indexed = expires;
            self.by_expiry.insert((expires, key));
            if expires <= now_ms {
                // Live for less than a millisecond more: the earliest entry, and not due.
                break;
            }
        }
    }

    fn make_room(&mut self, now: OffsetDateTime) {
        if self.records.len() < self.capacity {
            return;
        }
        self.sweep(now, usize::MAX);
        while self.records.len() >= self.capacity {
            let Some((key, _)) = self.earliest() else {
                break;
            };
            tracing::debug!("memory session store full; evicting the session closest to expiry");
            self.delete(&key);
        }
    }
}

impl SessionStore for MemoryStore {
    async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        let now = self.clock.now();
        Ok(self.lock().live(key, now).map(|record| record.clone()))
    }

    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, Error> {
        let now = self.clock.now();
        let mut entries = self.lock();
        entries.sweep(now, SWEEP_PER_WRITE);
        if entries.live(key, now).is_some() {
            return Ok(Created::AlreadyExists);
        }
        entries.make_room(now);
        entries.insert(key, record.clone());
        Ok(Created::Created)
    }

    async fn patch(&self, key: &StoreKey, patch: &Patch) -> Result<Applied, Error> {
        let now = self.clock.now();
        let mut entries = self.lock();
        entries.sweep(now, SWEEP_PER_WRITE);
        let Some(record) = entries.live(key, now) else {
            return Ok(Applied::Missing);
        };
        patch.apply_to(record);
        entries.expiry_changed(key);
        Ok(Applied::Applied)
    }

    async fn remove(&self, key: &StoreKey) -> Result<(), Error> {
        self.lock().delete(key);
        Ok(())
    }

    async fn touch(&self, key: &StoreKey, expires: OffsetDateTime) -> Result<Applied, Error> {
        let now = self.clock.now();
        let mut entries = self.lock();
        entries.sweep(now, SWEEP_PER_WRITE);
        let Some(record) = entries.live(key, now) else {
            return Ok(Applied::Missing);
        };
        record.expires = expires;
        entries.expiry_changed(key);
        Ok(Applied::Applied)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::clock::ManualClock;
    use crate::data::Fields;
    use crate::id::SessionId;

    fn record(now: OffsetDateTime, ttl_secs: i64) -> Record {
        Record {
            fields: Fields::new(),
            created: now,
            expires: now + time::Duration::seconds(ttl_secs),
        }
    }

    fn patch(expires: OffsetDateTime) -> Patch {
        Patch {
            changed: Fields::new(),
            removed: Vec::new(),
            expires,
        }
    }

    fn keys(n: usize) -> Vec<StoreKey> {
        (0..n).map(|_| SessionId::generate().store_key()).collect()
    }

    /// Every record has exactly one index entry, at or before its expiry.
    fn assert_consistent(store: &MemoryStore) {
        let entries = store.lock();
        assert_eq!(entries.by_expiry.len(), entries.records.len());
        for (key, entry) in &entries.records {
            assert!(entries.by_expiry.contains(&(entry.indexed, key.clone())));
            assert!(entry.indexed <= unix_ms(entry.record.expires));
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
        assert!(entries.by_expiry.iter().all(|(indexed, _)| *indexed > due));
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
        let mut late = record(now, 0);
        late.expires = now + time::Duration::microseconds(1500);
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

    #[test]
    fn digest_hasher_reads_64_random_bits() {
        let hash = |bytes: &[u8]| {
            let mut hasher = DigestHasher::default();
            hasher.write_usize(bytes.len());
            hasher.write(bytes);
            hasher.finish()
        };
        // Byte i of the hash holds digit i (high nibble) and digit i + 8 (low nibble).
        assert_eq!(hash(b"0123456789abcdef0000"), 0x7f6e_5d4c_3b2a_1908);
        assert_eq!(hash(b"0123456789abcdef"), hash(b"0123456789abcdefffff"));
        // Anything else is folded in whole.
        assert_ne!(hash(b"short"), hash(b"shorT"));
    }
}
