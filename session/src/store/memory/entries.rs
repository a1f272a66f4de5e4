//! The memory store's tables: records by key, and an index in expiry order for the sweep and
//! for eviction.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use time::OffsetDateTime;

use super::index::{ExpiryIndex, Place};
use super::stored::{Names, Stored};
use crate::clock::unix_ms;
use crate::id::StoreKey;
use crate::record::{Applied, Created, Patch, Record};

/// How many expired entries each write sweeps at most, so that the sweep's cost is spread over
/// the writes that make it necessary instead of stalling one of them.
const SWEEP_PER_WRITE: usize = 8;

/// Every session of one [`MemoryStore`](super::MemoryStore), behind its lock.
type Records = HashMap<StoreKey, Entry, BuildHasherDefault<DigestHasher>>;

pub(super) struct Entries {
    pub(super) records: Records,
    /// One entry per record, in expiry order (plus stale entries of records since removed). A
    /// record's entry is never later than its expiry, but may be earlier: a write that only
    /// extends the expiry (nearly every write) leaves the index alone, and the sweep moves an
    /// entry it finds early.
    pub(super) by_expiry: ExpiryIndex,
    names: Names,
    pub(super) capacity: usize,
}

pub(super) struct Entry {
    pub(super) stored: Stored,
    /// Where the record's index entry is.
    pub(super) indexed: Place,
}

/// Hashes a [`StoreKey`] by its first 16 hex digits.
///
/// A store key is a SHA-256 digest: its digits are already uniformly random, so 64 bits of
/// them are the hash, without SipHash's rounds over all 64 characters. Keys are only ever
/// inserted for ids the server drew itself, so a client cannot aim keys at one bucket; looking
/// up keys it chose costs one probe sequence like any other miss.
#[derive(Default)]
pub(super) struct DigestHasher(u64);

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

impl Entries {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            records: HashMap::default(),
            by_expiry: ExpiryIndex::default(),
            names: Names::default(),
            capacity,
        }
    }

    /// The number of sessions not yet expired at `now`.
    pub(super) fn count_live(&self, now: OffsetDateTime) -> usize {
        self.records
            .values()
            .filter(|entry| !entry.stored.is_expired(now))
            .count()
    }

    pub(super) fn len(&self) -> usize {
        self.records.len()
    }

    pub(super) fn load(&mut self, key: &StoreKey, now: OffsetDateTime) -> Option<Record> {
        let Some(entry) = self.live(key, now) else {
            self.delete(key);
            return None;
        };
        Some(entry.stored.to_record())
    }

    pub(super) fn create(
        &mut self,
        key: &StoreKey,
        record: &Record,
        now: OffsetDateTime,
    ) -> Created {
        let now_ms = unix_ms(now);
        self.sweep(now, now_ms, SWEEP_PER_WRITE);
        match self.records.get(key) {
            Some(entry) if !entry.stored.is_expired(now) => return Created::AlreadyExists,
            Some(_) => self.delete(key),
            None => {}
        }
        self.make_room(now, now_ms);
        let stored = Stored::new(record, &mut self.names);
        self.insert_new(key, stored);
        Created::Created
    }

    pub(super) fn patch(&mut self, key: &StoreKey, patch: &Patch, now: OffsetDateTime) -> Applied {
        self.update(key, now, |stored, names| stored.apply(patch, names))
    }

    pub(super) fn touch(
        &mut self,
        key: &StoreKey,
        expires: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Applied {
        self.update(key, now, |stored, _| stored.expires = expires)
    }

    /// Changes the live record under `key` and keeps its index entry at or before its expiry.
    fn update(
        &mut self,
        key: &StoreKey,
        now: OffsetDateTime,
        change: impl FnOnce(&mut Stored, &mut Names),
    ) -> Applied {
        self.sweep(now, unix_ms(now), SWEEP_PER_WRITE);
        let Some(entry) = self
            .records
            .get_mut(key)
            .filter(|e| !e.stored.is_expired(now))
        else {
            self.delete(key);
            return Applied::Missing;
        };
        change(&mut entry.stored, &mut self.names);
        if Self::reindex(entry, key, &mut self.by_expiry) {
            self.retain_if_stale();
        }
        Applied::Applied
    }

    pub(super) fn delete(&mut self, key: &StoreKey) {
        if self.records.remove(key).is_some() {
            self.forget_index_entry();
        }
    }

    pub(super) fn clear(&mut self) {
        self.records.clear();
        self.by_expiry = ExpiryIndex::default();
    }

    /// The record under `key` if it has not expired at `now` (the callers delete an expired
    /// one).
    fn live(&self, key: &StoreKey, now: OffsetDateTime) -> Option<&Entry> {
        self.records.get(key).filter(|e| !e.stored.is_expired(now))
    }

    /// Adds a record under a key that has none.
    fn insert_new(&mut self, key: &StoreKey, stored: Stored) {
        let indexed = self.by_expiry.add(unix_ms(stored.expires), key.clone());
        let previous = self.records.insert(key.clone(), Entry { stored, indexed });
        debug_assert!(previous.is_none(), "the key had no record");
    }

    /// Keeps `entry`'s index entry at or before its (new) expiry: when the expiry moved
    /// earlier, adds an entry there and leaves the old one stale. Says whether it did.
    fn reindex(entry: &mut Entry, key: &StoreKey, index: &mut ExpiryIndex) -> bool {
        let expires = unix_ms(entry.stored.expires);
        if expires >= entry.indexed.0 {
            return false;
        }
        entry.indexed = index.add(expires, key.clone());
        index.forget();
        true
    }

    /// The index entry of a record just removed stays behind, stale.
    fn forget_index_entry(&mut self) {
        self.by_expiry.forget();
        self.retain_if_stale();
    }

    /// Drops stale index entries once they outnumber the records.
    fn retain_if_stale(&mut self) {
        if self.by_expiry.wants_retain(self.records.len()) {
            let records = &self.records;
            self.by_expiry
                .retain(|place, key| records.get(key).is_some_and(|e| e.indexed == place));
        }
    }

    /// The record indexed at `place`, if the entry there (just taken out of `index`) is not
    /// stale.
    fn indexed_at<'a>(
        records: &'a mut Records,
        index: &mut ExpiryIndex,
        place: Place,
        key: &StoreKey,
    ) -> Option<&'a mut Entry> {
        let entry = records.get_mut(key).filter(|e| e.indexed == place);
        if entry.is_none() {
            index.skipped();
        }
        entry
    }

    /// Takes the index entry of the record that expires first out of the index, moving the
    /// earlier entries it passes to their records' real expiry, and returns that record's key.
    /// The caller removes the record.
    fn pop_earliest(&mut self) -> Option<StoreKey> {
        loop {
            let (place, key) = self.by_expiry.pop_first()?;
            let Some(entry) = Self::indexed_at(&mut self.records, &mut self.by_expiry, place, &key)
            else {
                continue;
            };
            let expires = unix_ms(entry.stored.expires);
            if expires == place.0 {
                // No entry is earlier, and every record expires at or after its entry.
                return Some(key);
            }
            entry.indexed = self.by_expiry.add(expires, key);
        }
    }

    /// Visits up to `limit` index entries that are due at `now` (`now_ms` in Unix
    /// milliseconds): deletes their records when expired, moves the entries to the records'
    /// real expiry when not.
    fn sweep(&mut self, now: OffsetDateTime, now_ms: i64, limit: usize) {
        if !self.by_expiry.may_be_due(now_ms) {
            return;
        }
        for _ in 0..limit {
            if self.by_expiry.first().is_none_or(|(ms, _)| ms > now_ms) {
                break;
            }
            let Some((place, key)) = self.by_expiry.pop_first() else {
                break;
            };
            let Some(entry) = Self::indexed_at(&mut self.records, &mut self.by_expiry, place, &key)
            else {
                continue;
            };
            if entry.stored.is_expired(now) {
                self.records.remove(&key);
                continue;
            }
            let expires = unix_ms(entry.stored.expires);
            entry.indexed = self.by_expiry.add(expires, key);
            if expires <= now_ms {
                // Live for less than a millisecond more: the earliest entry, and not due.
                break;
            }
        }
        self.by_expiry.settle();
    }

    fn make_room(&mut self, now: OffsetDateTime, now_ms: i64) {
        if self.records.len() < self.capacity {
            return;
        }
        self.sweep(now, now_ms, usize::MAX);
        while self.records.len() >= self.capacity {
            let Some(key) = self.pop_earliest() else {
                break;
            };
            tracing::debug!("memory session store full; evicting the session closest to expiry");
            self.records.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap as Model;

    use proptest::prelude::*;

    use super::*;
    use crate::clock::from_unix_ms;
    use crate::data::Fields;
    use crate::id::SessionId;

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

    #[derive(Debug, Clone)]
    enum Op {
        Create(usize, i64),
        Patch(usize, i64),
        Touch(usize, i64),
        Delete(usize),
        Advance(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        let key = 0..5usize;
        let ttl = 1..40i64;
        prop_oneof![
            3 => (key.clone(), ttl.clone()).prop_map(|(k, t)| Op::Create(k, t)),
            2 => (key.clone(), ttl.clone()).prop_map(|(k, t)| Op::Patch(k, t)),
            2 => (key.clone(), ttl).prop_map(|(k, t)| Op::Touch(k, t)),
            1 => key.prop_map(Op::Delete),
            2 => (0..25i64).prop_map(Op::Advance),
        ]
    }

    /// Checks the index against the records: each record's entry is where the record says, at
    /// or before its expiry; every other entry is counted stale.
    fn check_index(entries: &Entries) -> Result<(), TestCaseError> {
        let index = &entries.by_expiry;
        prop_assert_eq!(
            index.entries().count(),
            entries.records.len() + index.stale()
        );
        prop_assert!(index.queued_in_order());
        for (key, entry) in &entries.records {
            let here = index
                .entries()
                .filter(|(place, indexed)| *place == entry.indexed && *indexed == key)
                .count();
            prop_assert_eq!(here, 1);
            prop_assert!(entry.indexed.0 <= unix_ms(entry.stored.expires));
        }
        Ok(())
    }

    proptest! {
        /// Against a model of the contract (a map of expiries; at capacity, a session with the
        /// earliest expiry makes room), whatever the order of creates, extensions, shortenings,
        /// removals and the passing of time.
        #[test]
        fn entries_behave_like_the_model(ops in prop::collection::vec(op(), 1..160)) {
            const CAPACITY: usize = 3;
            let keys: Vec<StoreKey> = (0..5).map(|_| SessionId::generate().store_key()).collect();
            let mut entries = Entries::new(CAPACITY);
            let mut model: Model<usize, i64> = Model::new();
            let mut now_ms = 1_800_000_000_000i64;
            let at = |ms: i64| from_unix_ms(ms).unwrap();
            for op in ops {
                let now = at(now_ms);
                model.retain(|_, expires| *expires > now_ms);
                match op {
                    Op::Create(k, ttl) => {
                        let record = Record {
                            fields: Fields::new(),
                            created: now,
                            expires: at(now_ms + ttl),
                        };
                        let created = entries.create(&keys[k], &record, now);
                        if model.contains_key(&k) {
                            prop_assert_eq!(created, Created::AlreadyExists);
                            continue;
                        }
                        prop_assert_eq!(created, Created::Created);
                        if model.len() == CAPACITY {
                            let earliest = *model.values().min().unwrap();
                            let evicted: Vec<usize> = model
                                .keys()
                                .copied()
                                .filter(|i| !entries.records.contains_key(&keys[*i]))
                                .collect();
                            prop_assert_eq!(evicted.len(), 1);
                            prop_assert_eq!(model.remove(&evicted[0]), Some(earliest));
                        }
                        model.insert(k, now_ms + ttl);
                    }
                    Op::Patch(k, ttl) | Op::Touch(k, ttl) => {
                        let expires = at(now_ms + ttl);
                        let applied = if matches!(op, Op::Patch(..)) {
                            let patch = Patch {
                                changed: Fields::new(),
                                removed: Vec::new(),
                                expires,
                            };
                            entries.patch(&keys[k], &patch, now)
                        } else {
                            entries.touch(&keys[k], expires, now)
                        };
                        match model.get_mut(&k) {
                            Some(stored) => {
                                prop_assert_eq!(applied, Applied::Applied);
                                *stored = now_ms + ttl;
                            }
                            None => prop_assert_eq!(applied, Applied::Missing),
                        }
                    }
                    Op::Delete(k) => {
                        entries.delete(&keys[k]);
                        model.remove(&k);
                    }
                    Op::Advance(ms) => now_ms += ms,
                }
                check_index(&entries)?;
                prop_assert!(entries.records.len() <= CAPACITY);
                let now = at(now_ms);
                for (i, key) in keys.iter().enumerate() {
                    let live = model.get(&i).is_some_and(|expires| *expires > now_ms);
                    prop_assert_eq!(entries.load(key, now).is_some(), live, "key {}", i);
                }
            }
        }
    }
}
