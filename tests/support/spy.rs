//! The spy store: in front of any store, it counts and records every call and, when told to,
//! fails or delays calls of a given kind.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use typed_sessions::{
    Error,
    store::{Created, IndexDigest, Patch, Record, Rekeyed, SessionStore, StoreKey, Updated},
};

use crate::any_store::AnyStore;

/// One store call, as the spy saw it.
#[derive(Clone, Debug)]
pub enum Call {
    /// `load(key)`.
    Load(StoreKey),
    /// `create(key, record)`.
    Create(StoreKey, Record),
    /// `patch(key, patch)`.
    Patch(StoreKey, Patch),
    /// `remove(key)`.
    Remove(StoreKey),
    /// `touch(key, expires)`.
    Touch(StoreKey, OffsetDateTime),
    /// `rekey(old, new, patch)`.
    Rekey(StoreKey, StoreKey, Patch),
}

/// The kinds of calls, in the order of [`SpyStore::count`]'s counters.
const KINDS: [&str; 6] = ["load", "create", "patch", "remove", "touch", "rekey"];

impl Call {
    /// The kind of call: `"load"`, `"create"`, `"patch"`, `"remove"`, `"touch"` or `"rekey"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Call::Load(_) => "load",
            Call::Create(..) => "create",
            Call::Patch(..) => "patch",
            Call::Remove(_) => "remove",
            Call::Touch(..) => "touch",
            Call::Rekey(..) => "rekey",
        }
    }

    /// The key the call is about (for a rekey, the old one).
    pub fn key(&self) -> &StoreKey {
        match self {
            Call::Load(key)
            | Call::Create(key, _)
            | Call::Patch(key, _)
            | Call::Remove(key)
            | Call::Touch(key, _)
            | Call::Rekey(key, ..) => key,
        }
    }
}

/// How the spy misbehaves, by kind of call.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Calls of these kinds fail with `Error::store("boom!")`.
    pub fail: Vec<&'static str>,
    /// Calls of these kinds fail as unavailable.
    pub unavailable: Vec<&'static str>,
    /// Calls of these kinds fail as corrupt (`Error::corrupt`: what the store holds is not a
    /// session record).
    pub corrupt: Vec<&'static str>,
    /// Calls of this kind are delayed.
    pub delay: Option<(&'static str, Duration)>,
}

/// A store that counts and records every call and forwards it to `inner`, unless told to fail.
#[derive(Clone)]
pub struct SpyStore {
    /// The store the calls go to.
    pub inner: AnyStore,
    /// Whether calls are recorded (counted only, otherwise).
    records: bool,
    calls: Arc<Mutex<Vec<Call>>>,
    counts: Arc<[AtomicUsize; 6]>,
    faults: Arc<Mutex<Faults>>,
}

impl SpyStore {
    /// A spy that records every call in front of `inner`.
    pub fn new(inner: AnyStore) -> Self {
        Self {
            inner,
            records: true,
            calls: Arc::default(),
            counts: Arc::default(),
            faults: Arc::default(),
        }
    }

    /// A spy that only counts the calls (for floods of requests: it keeps nothing per call).
    pub fn counting(inner: AnyStore) -> Self {
        Self {
            records: false,
            ..Self::new(inner)
        }
    }

    /// Every call recorded so far, and forgets them.
    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    /// The kinds of the calls recorded so far, in order, and forgets them.
    pub fn take_kinds(&self) -> Vec<&'static str> {
        self.take_calls().iter().map(Call::kind).collect()
    }

    /// How many calls of `kind` the spy saw in all.
    ///
    /// # Panics
    ///
    /// When `kind` is not a kind of call.
    pub fn count(&self, kind: &str) -> usize {
        let index = KINDS
            .iter()
            .position(|k| *k == kind)
            .unwrap_or_else(|| panic!("no store call is called {kind}"));
        self.counts[index].load(Ordering::Relaxed)
    }

    /// How many calls the spy saw in all.
    pub fn total(&self) -> usize {
        KINDS.iter().map(|kind| self.count(kind)).sum()
    }

    /// Makes the calls misbehave from now on.
    pub fn set_faults(&self, faults: Faults) {
        *self.faults.lock().unwrap() = faults;
    }

    async fn enter(&self, call: Call) -> Result<(), Error> {
        let kind = call.kind();
        let index = KINDS.iter().position(|k| *k == kind).expect("a known kind");
        self.counts[index].fetch_add(1, Ordering::Relaxed);
        if self.records {
            self.calls.lock().unwrap().push(call);
        }
        let faults = self.faults.lock().unwrap().clone();
        if let Some((delayed, by)) = faults.delay
            && delayed == kind
        {
            tokio::time::sleep(by).await;
        }
        if faults.fail.contains(&kind) {
            return Err(Error::store("boom!"));
        }
        if faults.unavailable.contains(&kind) {
            return Err(Error::unavailable("connection refused"));
        }
        if faults.corrupt.contains(&kind) {
            return Err(Error::corrupt("expected a JSON object, found a string"));
        }
        Ok(())
    }
}

impl SessionStore for SpyStore {
    async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        self.enter(Call::Load(key.clone())).await?;
        self.inner.load(key).await
    }
    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, Error> {
        self.enter(Call::Create(key.clone(), record.clone()))
            .await?;
        self.inner.create(key, record).await
    }
    async fn patch(&self, key: &StoreKey, patch: &Patch) -> Result<Updated, Error> {
        self.enter(Call::Patch(key.clone(), patch.clone())).await?;
        self.inner.patch(key, patch).await
    }
    async fn remove(&self, key: &StoreKey) -> Result<(), Error> {
        self.enter(Call::Remove(key.clone())).await?;
        self.inner.remove(key).await
    }
    async fn touch(&self, key: &StoreKey, expires: OffsetDateTime) -> Result<Updated, Error> {
        self.enter(Call::Touch(key.clone(), expires)).await?;
        self.inner.touch(key, expires).await
    }
    async fn rekey(&self, old: &StoreKey, new: &StoreKey, patch: &Patch) -> Result<Rekeyed, Error> {
        self.enter(Call::Rekey(old.clone(), new.clone(), patch.clone()))
            .await?;
        self.inner.rekey(old, new, patch).await
    }
    fn can_rekey(&self, old: &StoreKey, new: &StoreKey) -> bool {
        self.inner.can_rekey(old, new)
    }
    /// Not a call the layer makes in a request: passed on unrecorded.
    async fn list_indexed(&self, index: &IndexDigest) -> Result<Vec<(StoreKey, Record)>, Error> {
        self.inner.list_indexed(index).await
    }
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
}
