//! The memory store's tables: records by key, and for each segment (new sessions, and those
//! presented back) an index in expiry order for the sweep and for eviction.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use time::OffsetDateTime;

use super::index::{ExpiryIndex, Indexes, Place, Segment};
use super::stored::{Names, Stored};
use crate::clock::unix_ms;
use crate::store::{Created, Patch, Record, Rekeyed, Updated};
use crate::store::{INDEX_FIELD, IndexDigest, StoreKey};

/// How many expired entries each write sweeps at most in each segment, so that the sweep's
/// cost is spread over the writes that make it necessary instead of stalling one of them.
const SWEEP_PER_WRITE: usize = 8;

/// A new session at a full store evicts one of the probation segment while that holds at least
/// this share of the capacity (a quarter, 2Q's size for its segment of new entries), and one of
/// the protected segment only below it.
///
/// Evicting new sessions first is what keeps a flood of them from logging out the users whose
/// clients came back. Keeping a share of the store for them is what keeps the store open to new
/// users when those who came back fill it: were the protected segment evicted only once
/// probation is empty, a new session would be evicted by the next one, so a new visitor could
/// keep a session only if no one else arrived before his second request.
const PROBATION_SHARE: usize = 4;

/// Every session of one [`MemoryStore`](super::MemoryStore), behind its lock.
type Records = HashMap<StoreKey, Entry, BuildHasherDefault<DigestHasher>>;

pub(super) struct Entries {
    pub(super) records: Records,
    /// One entry per record, in its segment's index, in expiry order. A record's entry is never
    /// later than its expiry, but may be earlier: a write that only extends the expiry (nearly
    /// every write) leaves the index alone, and the sweep moves an entry it finds early. A
    /// record starts in probation and moves to the protected segment the first time its client
    /// presents it back (a load, or a write, which follows one).
    pub(super) by_expiry: Indexes,
    names: Names,
    pub(super) capacity: usize,
}

pub(super) struct Entry {
    pub(super) stored: Stored,
    /// Where the record's index entry is, and so the record's segment.
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
            by_expiry: Indexes::default(),
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

    /// The live record under `key`, which its client has now presented back.
    pub(super) fn load(&mut self, key: &StoreKey, now: OffsetDateTime) -> Option<Record> {
        let Some(entry) = self
            .records
            .get_mut(key)
            .filter(|e| !e.stored.is_expired(now))
        else {
            self.delete(key);
            return None;
        };
        Self::promote(entry, key, &mut self.by_expiry);
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
        Created::Stored
    }

    pub(super) fn patch(&mut self, key: &StoreKey, patch: &Patch, now: OffsetDateTime) -> Updated {
        self.update(key, now, |stored, names| stored.apply(patch, names))
    }

    pub(super) fn touch(
        &mut self,
        key: &StoreKey,
        expires: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Updated {
        self.update(key, now, |stored, _| stored.expires = expires)
    }

    /// Changes the live record under `key` (presented back: the layer loaded it first) and keeps
    /// its index entry at or before its expiry.
    fn update(
        &mut self,
        key: &StoreKey,
        now: OffsetDateTime,
        change: impl FnOnce(&mut Stored, &mut Names),
    ) -> Updated {
        self.sweep(now, unix_ms(now), SWEEP_PER_WRITE);
        let Some(entry) = self
            .records
            .get_mut(key)
            .filter(|e| !e.stored.is_expired(now))
        else {
            self.delete(key);
            return Updated::Missing;
        };
        change(&mut entry.stored, &mut self.names);
        // Promotion puts the entry at the record's new expiry; if it did not, reindexing does.
        Self::promote(entry, key, &mut self.by_expiry);
        Self::reindex(entry, key, &mut self.by_expiry);
        Updated::Applied
    }

    /// Moves the live record under `old` to `new`, patched, in one step under the store's
    /// lock. The session's client presented it (the layer loaded it to regenerate it), so it
    /// lands in the protected segment, at its expiry.
    pub(super) fn rekey(
        &mut self,
        old: &StoreKey,
        new: &StoreKey,
        patch: &Patch,
        now: OffsetDateTime,
    ) -> Rekeyed {
        self.sweep(now, unix_ms(now), SWEEP_PER_WRITE);
        let live = |key| {
            self.records
                .get(key)
                .is_some_and(|e: &Entry| !e.stored.is_expired(now))
        };
        if !live(old) {
            return Rekeyed::Missing;
        }
        if live(new) {
            return Rekeyed::Taken;
        }
        let mut entry = self.records.remove(old).expect("live above");
        self.by_expiry.remove(entry.indexed);
        entry.stored.apply(patch, &mut self.names);
        self.delete(new);
        entry.indexed = self
            .by_expiry
            .protected
            .add(unix_ms(entry.stored.expires), new.clone());
        self.records.insert(new.clone(), entry);
        Rekeyed::Applied
    }

    pub(super) fn delete(&mut self, key: &StoreKey) {
        if let Some(entry) = self.records.remove(key) {
            self.by_expiry.remove(entry.indexed);
        }
    }

    /// Every live record whose index field holds `index`, with its key: one pass over the
    /// records (a memory store holds at most its capacity), no table of its own to keep clean.
    pub(super) fn list_indexed(
        &self,
        index: &IndexDigest,
        now: OffsetDateTime,
    ) -> Vec<(StoreKey, Record)> {
        self.records
            .iter()
            .filter(|(_, entry)| !entry.stored.is_expired(now))
            .filter(|(_, entry)| {
                entry
                    .stored
                    .field(INDEX_FIELD)
                    .and_then(serde_json::Value::as_str)
                    == Some(index.as_str())
            })
            .map(|(key, entry)| (key.clone(), entry.stored.to_record()))
            .collect()
    }

    pub(super) fn clear(&mut self) {
        self.records.clear();
        self.by_expiry = Indexes::default();
    }

    /// The record under `key` if it has not expired at `now`, read without presenting it (the
    /// tests check what the store holds with it).
    #[cfg(test)]
    pub(super) fn live(&self, key: &StoreKey, now: OffsetDateTime) -> Option<&Entry> {
        self.records.get(key).filter(|e| !e.stored.is_expired(now))
    }

    /// Adds a record under a key that has none, in probation.
    fn insert_new(&mut self, key: &StoreKey, stored: Stored) {
        let indexed = self
            .by_expiry
            .probation
            .add(unix_ms(stored.expires), key.clone());
        let previous = self.records.insert(key.clone(), Entry { stored, indexed });
        debug_assert!(previous.is_none(), "the key had no record");
    }

    /// Keeps `entry`'s index entry at or before its (new) expiry: moves it, within its
    /// segment, when the expiry moved earlier.
    fn reindex(entry: &mut Entry, key: &StoreKey, indexes: &mut Indexes) {
        let expires = unix_ms(entry.stored.expires);
        if expires < entry.indexed.0 {
            let index = indexes.of(Segment::of(entry.indexed));
            index.remove(entry.indexed);
            entry.indexed = index.add(expires, key.clone());
        }
    }

    /// Moves a record in probation, which its client has just presented back, to the protected
    /// segment, at its expiry. Only a client that holds the record's signed cookie presents it,
    /// and each presentation is a request: a flood of new sessions promotes none.
    ///
    /// The first presentation costs a removal from the probation index (a binary search and a
    /// mark, or a B-tree removal) and an addition to the protected one (at the back of its queue
    /// when clients come back in the order they arrived); later ones, one comparison.
    fn promote(entry: &mut Entry, key: &StoreKey, indexes: &mut Indexes) {
        if Segment::of(entry.indexed) == Segment::Probation {
            indexes.probation.remove(entry.indexed);
            entry.indexed = indexes
                .protected
                .add(unix_ms(entry.stored.expires), key.clone());
        }
    }

    /// Takes the index entry of the record of `segment` that expires first out of the index,
    /// moving the earlier entries it passes to their records' real expiry, and returns that
    /// record's key (or that of an expired record it meets first, as good a victim). The caller
    /// removes the record.
    fn pop_earliest(&mut self, segment: Segment, now: OffsetDateTime) -> Option<StoreKey> {
        let index = self.by_expiry.of(segment);
        loop {
            let (place, key) = index.pop_first()?;
            let Some(entry) = self.records.get_mut(&key) else {
                debug_assert!(false, "every index entry has its record");
                continue;
            };
            let expires = unix_ms(entry.stored.expires);
            if expires == place.0 || entry.stored.is_expired(now) {
                // No entry is earlier, and every record expires at or after its entry.
                return Some(key);
            }
            entry.indexed = index.add(expires, key);
        }
    }

    /// Visits up to `limit` index entries of each segment that are due at `now` (`now_ms` in
    /// Unix milliseconds): deletes their records when expired, moves the entries to the
    /// records' real expiry when not.
    fn sweep(&mut self, now: OffsetDateTime, now_ms: i64, limit: usize) {
        let Indexes {
            probation,
            protected,
        } = &mut self.by_expiry;
        for index in [probation, protected] {
            if index.may_be_due(now_ms) {
                Self::sweep_index(&mut self.records, index, now, now_ms, limit);
            }
        }
    }

    /// [`sweep`](Self::sweep) in one segment's index.
    fn sweep_index(
        records: &mut Records,
        index: &mut ExpiryIndex,
        now: OffsetDateTime,
        now_ms: i64,
        limit: usize,
    ) {
        // Live records that expire later within this very millisecond: their entries would be
        // due again at once, so they go back into the index only after the loop (which must
        // still reach the expired records behind them).
        let mut due_again = Vec::new();
        for _ in 0..limit {
            if index.first().is_none_or(|(ms, _)| ms > now_ms) {
                break;
            }
            let Some((_, key)) = index.pop_first() else {
                break;
            };
            let Some(entry) = records.get_mut(&key) else {
                debug_assert!(false, "every index entry has its record");
                continue;
            };
            if entry.stored.is_expired(now) {
                records.remove(&key);
                continue;
            }
            let expires = unix_ms(entry.stored.expires);
            if expires <= now_ms {
                due_again.push(key);
                continue;
            }
            entry.indexed = index.add(expires, key);
        }
        for key in due_again {
            if let Some(entry) = records.get_mut(&key) {
                entry.indexed = index.add(unix_ms(entry.stored.expires), key);
            }
        }
        index.settle();
    }

    /// The segment that a new session at a full store evicts from (see [`PROBATION_SHARE`]).
    fn to_evict(&self) -> Segment {
        let probation = self.by_expiry.probation.len();
        if probation >= self.capacity.div_ceil(PROBATION_SHARE)
            || self.by_expiry.protected.len() == 0
        {
            Segment::Probation
        } else {
            Segment::Protected
        }
    }

    fn make_room(&mut self, now: OffsetDateTime, now_ms: i64) {
        if self.records.len() < self.capacity {
            return;
        }
        // Expired sessions go first, from either segment.
        self.sweep(now, now_ms, usize::MAX);
        while self.records.len() >= self.capacity {
            let segment = self.to_evict();
            let Some(key) = self.pop_earliest(segment, now) else {
                break;
            };
            tracing::debug!(
                ?segment,
                "memory session store full; evicting the session closest to expiry"
            );
            self.records.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
