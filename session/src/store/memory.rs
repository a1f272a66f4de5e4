//! An in-process store: bounded, expiring, field-level patches.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use time::OffsetDateTime;

use crate::Error;
use crate::clock::Clock;
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
    records: HashMap<StoreKey, Record>,
    by_expiry: BTreeSet<(OffsetDateTime, StoreKey)>,
    capacity: usize,
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
            .filter(|r| !r.is_expired(now))
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
        let expired = self.records.get(key)?.is_expired(now);
        if expired {
            self.delete(key);
            return None;
        }
        self.records.get_mut(key)
    }

    fn delete(&mut self, key: &StoreKey) {
        if let Some(record) = self.records.remove(key) {
            self.by_expiry.remove(&(record.expires, key.clone()));
        }
    }

    fn set_expiry(&mut self, key: &StoreKey, old: OffsetDateTime, new: OffsetDateTime) {
        if old != new {
            self.by_expiry.remove(&(old, key.clone()));
            self.by_expiry.insert((new, key.clone()));
        }
    }

    /// Deletes up to `limit` expired entries, earliest expiry first.
    fn sweep(&mut self, now: OffsetDateTime, limit: usize) {
        for _ in 0..limit {
            match self.by_expiry.first() {
                Some((expires, key)) if *expires <= now => {
                    let key = key.clone();
                    self.delete(&key);
                }
                _ => break,
            }
        }
    }

    fn make_room(&mut self, now: OffsetDateTime) {
        if self.records.len() < self.capacity {
            return;
        }
        self.sweep(now, usize::MAX);
        while self.records.len() >= self.capacity {
            let Some((_, key)) = self.by_expiry.first().cloned() else {
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
        entries.by_expiry.insert((record.expires, key.clone()));
        entries.records.insert(key.clone(), record.clone());
        Ok(Created::Created)
    }

    async fn patch(&self, key: &StoreKey, patch: &Patch) -> Result<Applied, Error> {
        let now = self.clock.now();
        let mut entries = self.lock();
        entries.sweep(now, SWEEP_PER_WRITE);
        let Some(record) = entries.live(key, now) else {
            return Ok(Applied::Missing);
        };
        let old = record.expires;
        patch.apply_to(record);
        entries.set_expiry(key, old, patch.expires);
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
        let old = std::mem::replace(&mut record.expires, expires);
        entries.set_expiry(key, old, expires);
        Ok(Applied::Applied)
    }
}
