//! A store that returns whatever record the input put in it, whatever the key, and logs the
//! writes the layer makes.

use std::sync::{Arc, Mutex};

use time::OffsetDateTime;
use typed_sessions::{
    Error,
    store::{Created, Patch, Record, Rekeyed, SessionStore, StoreKey, Updated},
};

/// A store write, as `RecordStore` saw it.
#[derive(Clone, Debug)]
pub enum Write {
    /// A new session.
    Create(Record),
    /// A change.
    Patch(Patch),
    /// A removal.
    Remove,
    /// A new expiry.
    Touch,
    /// A move to a new key, with a change.
    Rekey(Patch),
}

/// A store that answers every `load` with the record it holds, whatever the key, and keeps a
/// log of the writes.
#[derive(Clone, Default)]
pub struct RecordStore {
    record: Arc<Mutex<Option<Record>>>,
    writes: Arc<Mutex<Vec<Write>>>,
}

impl RecordStore {
    /// Makes every later `load` answer `record`.
    pub fn set(&self, record: Option<Record>) {
        *self.record.lock().unwrap() = record;
    }

    /// The writes so far, and forgets them.
    pub fn take_writes(&self) -> Vec<Write> {
        std::mem::take(&mut *self.writes.lock().unwrap())
    }

    fn log(&self, write: Write) {
        self.writes.lock().unwrap().push(write);
    }
}

impl SessionStore for RecordStore {
    async fn load(&self, _key: &StoreKey) -> Result<Option<Record>, Error> {
        Ok(self.record.lock().unwrap().clone())
    }
    async fn create(&self, _key: &StoreKey, record: &Record) -> Result<Created, Error> {
        self.log(Write::Create(record.clone()));
        Ok(Created::Stored)
    }
    async fn patch(&self, _key: &StoreKey, patch: &Patch) -> Result<Updated, Error> {
        self.log(Write::Patch(patch.clone()));
        Ok(Updated::Applied)
    }
    async fn remove(&self, _key: &StoreKey) -> Result<(), Error> {
        self.log(Write::Remove);
        Ok(())
    }
    async fn touch(&self, _key: &StoreKey, _expires: OffsetDateTime) -> Result<Updated, Error> {
        self.log(Write::Touch);
        Ok(Updated::Applied)
    }
    async fn rekey(
        &self,
        _old: &StoreKey,
        _new: &StoreKey,
        patch: &Patch,
    ) -> Result<Rekeyed, Error> {
        self.log(Write::Rekey(patch.clone()));
        Ok(Rekeyed::Applied)
    }
    fn can_rekey(&self, _old: &StoreKey, _new: &StoreKey) -> bool {
        true
    }
}
