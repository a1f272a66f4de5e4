//! The memory store's tables: records by key, and an index in expiry order for the sweep and
//! for eviction.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use time::OffsetDateTime;

use super::stored::{Names, Stored};
use crate::clock::unix_ms;
use crate::id::StoreKey;
use crate::record::{Applied, Created, Patch, Record};

/// How many expired entries each write sweeps at most, so that the sweep's cost is spread over
/// the writes that make it necessary instead of stalling one of them.
const SWEEP_PER_WRITE: usize = 8;

/// Every session of one [`MemoryStore`](super::MemoryStore), behind its lock.
pub(super) struct Entries {
    pub(super) records: HashMap<StoreKey, Entry, BuildHasherDefault<DigestHasher>>,
    /// One entry per record, in expiry order. A record's entry is never later than its
    /// expiry, but may be earlier: a write that only extends the expiry (nearly every write)
    /// leaves the index alone, and the sweep moves an entry it finds early.
    pub(super) by_expiry: ExpiryIndex,
    names: Names,
    pub(super) capacity: usize,
}

pub(super) struct Entry {
    pub(super) stored: Stored,
    /// Where the record's index entry is.
    pub(super) indexed: Place,
}

/// A place in expiry order: Unix milliseconds, then the order in which entries were added, so
/// that places are unique and compare as two integers (never as 64-byte keys).
pub(super) type Place = (i64, u64);

pub(super) struct ExpiryIndex {
    pub(super) order: BTreeMap<Place, StoreKey>,
    /// How many entries were ever added.
    added: u64,
    /// No entry is earlier than this many Unix milliseconds. While it is still to come, a write
    /// knows that nothing is due without walking down to the tree's first leaf (a handful of
    /// cache misses on every write of a big store).
    pub(super) due_from: i64,
}

impl Default for ExpiryIndex {
    fn default() -> Self {
        Self {
            order: BTreeMap::new(),
            added: 0,
            due_from: i64::MAX,
        }
    }
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
        self.live(key, now).map(|entry| entry.stored.to_record())
    }

    pub(super) fn create(
        &mut self,
        key: &StoreKey,
        record: &Record,
        now: OffsetDateTime,
    ) -> Created {
        self.sweep(now, SWEEP_PER_WRITE);
        if self.live(key, now).is_some() {
            return Created::AlreadyExists;
        }
        self.make_room(now);
        let stored = Stored::new(record, &mut self.names);
        self.insert(key, stored);
        Created::Created
    }

    pub(super) fn patch(&mut self, key: &StoreKey, patch: &Patch, now: OffsetDateTime) -> Applied {
        self.sweep(now, SWEEP_PER_WRITE);
        // As `live`, split from `self.names`, which the patch needs too.
        let Some(entry) = self
            .records
            .get_mut(key)
            .filter(|e| !e.stored.is_expired(now))
        else {
            self.delete(key);
            return Applied::Missing;
        };
        entry.stored.apply(patch, &mut self.names);
        self.expiry_changed(key);
        Applied::Applied
    }

    pub(super) fn touch(
        &mut self,
        key: &StoreKey,
        expires: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Applied {
        self.sweep(now, SWEEP_PER_WRITE);
        let Some(entry) = self.live(key, now) else {
            return Applied::Missing;
        };
        entry.stored.expires = expires;
        self.expiry_changed(key);
        Applied::Applied
    }

    pub(super) fn delete(&mut self, key: &StoreKey) {
        if let Some(entry) = self.records.remove(key) {
            self.by_expiry.order.remove(&entry.indexed);
        }
    }

    pub(super) fn clear(&mut self) {
        self.records.clear();
        self.by_expiry = ExpiryIndex::default();
    }

    /// The live entry under `key`; an expired one is deleted.
    fn live(&mut self, key: &StoreKey, now: OffsetDateTime) -> Option<&mut Entry> {
        let expired = self.records.get(key)?.stored.is_expired(now);
        if expired {
            self.delete(key);
            return None;
        }
        self.records.get_mut(key)
    }

    fn insert(&mut self, key: &StoreKey, stored: Stored) {
        self.delete(key);
        let indexed = self.by_expiry.add(unix_ms(stored.expires), key.clone());
        self.records.insert(key.clone(), Entry { stored, indexed });
    }

    /// Keeps the index entry of the record under `key` at or before its (new) expiry.
    fn expiry_changed(&mut self, key: &StoreKey) {
        let Some(entry) = self.records.get_mut(key) else {
            return;
        };
        let expires = unix_ms(entry.stored.expires);
        if expires < entry.indexed.0 {
            if let Some(key) = self.by_expiry.order.remove(&entry.indexed) {
                entry.indexed = self.by_expiry.add(expires, key);
            }
        }
    }

    /// Takes the index entry of the record that expires first out of the index, moving the
    /// earlier entries it passes to their records' real expiry, and returns that record's key.
    /// The caller removes the record.
    fn pop_earliest(&mut self) -> Option<StoreKey> {
        loop {
            let ((indexed, _), key) = self.by_expiry.order.pop_first()?;
            let Some(entry) = self.records.get_mut(&key) else {
                continue;
            };
            let expires = unix_ms(entry.stored.expires);
            if expires == indexed {
                // No entry is earlier, and every record expires at or after its entry.
                return Some(key);
            }
            entry.indexed = self.by_expiry.add(expires, key);
        }
    }

    /// Visits up to `limit` index entries that are due: deletes their records when expired,
    /// moves the entries to the records' real expiry when not.
    fn sweep(&mut self, now: OffsetDateTime, limit: usize) {
        let now_ms = unix_ms(now);
        if now_ms < self.by_expiry.due_from {
            return;
        }
        for _ in 0..limit {
            match self.by_expiry.order.first_key_value() {
                Some(((indexed, _), _)) if *indexed <= now_ms => {}
                _ => break,
            }
            let Some((_, key)) = self.by_expiry.order.pop_first() else {
                break;
            };
            let Some(entry) = self.records.get_mut(&key) else {
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
        self.by_expiry.due_from = self
            .by_expiry
            .order
            .first_key_value()
            .map_or(i64::MAX, |((ms, _), _)| *ms);
    }

    fn make_room(&mut self, now: OffsetDateTime) {
        if self.records.len() < self.capacity {
            return;
        }
        self.sweep(now, usize::MAX);
        while self.records.len() >= self.capacity {
            let Some(key) = self.pop_earliest() else {
                break;
            };
            tracing::debug!("memory session store full; evicting the session closest to expiry");
            self.records.remove(&key);
        }
    }
}

impl ExpiryIndex {
    /// Adds an entry for `key` at `ms` and returns its place.
    fn add(&mut self, ms: i64, key: StoreKey) -> Place {
        self.due_from = self.due_from.min(ms);
        self.added += 1;
        let place = (ms, self.added);
        self.order.insert(place, key);
        place
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
