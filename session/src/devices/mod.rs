//! Every device of a user: list the live sessions of one value (a user id), and revoke one of
//! them, all but the current one, or all — from a handler, or from outside any request (an
//! admin action, a password-change job). Laravel calls the last `logoutOtherDevices`.
//!
//! # The design
//!
//! - **What is indexed**: one field per session type, marked `#[session(index)]`, whose type
//!   implements [`IndexValue`] (a string, an integer, or an `Option` of one; `None` means "not
//!   indexed", as before login). A second marked field, or a type that cannot index, is a
//!   compile error.
//! - **One indexed type per layer**: a record has one index field, which the layer brings up
//!   to date with whichever type a request extracts, so two indexed types would overwrite each
//!   other's digest and hide sessions from each other's listing ("log this user out
//!   everywhere" would miss some). The first indexed type a layer meets, in a request or in
//!   [`SessionLayer::devices`](crate::SessionLayer::devices), owns the index; extracting
//!   another indexed type answers a 500 (the log names both types), and `devices` for it an
//!   [`Error::Config`]. Session types without an index field mix freely with the indexed one.
//! - **What the store sees**: never the value, but its keyed digest ([`IndexDigest`]):
//!   HMAC-SHA256 under a key derived from the layer's [`Key`](crate::Key), of the field's
//!   storage key and the value. User ids have low entropy, so an unkeyed hash would give them
//!   away to whoever reads the store; the field's name keeps a user `7` and an organisation
//!   `7` apart, even on two layers that share a store and a key.
//! - **Key rotation**: a session's digest is made with the newest key when the session is
//!   written, and the layer brings it up to date in the first request that extracts the session
//!   after a rotation. Listing asks for the digest under every key of the ring (the newest and
//!   the old ones), so no session is lost in between; a session whose digest was made by a key
//!   since retired could not be presented anyway (its cookie no longer verifies).
//! - **How the store learns it**: the digest is a reserved field of the record,
//!   [`INDEX_FIELD`] (`$index`), that the layer sets or removes whenever the indexed field
//!   changes. It rides the same patch as the field, so every write that changes the field
//!   changes the index in the same atomic step, in every store that writes a patch atomically
//!   (the store contract). [`Patch::index_change`](crate::store::Patch::index_change) tells a
//!   store that keeps its index beside the record (a column, a set) what to do.
//! - **Listing**: [`SessionStore::list_indexed`](crate::store::SessionStore::list_indexed),
//!   which answers only live records. The memory store scans its records; the SQL stores query
//!   the `$index` member of the `data` column through an index (on that expression on
//!   PostgreSQL and SQLite, on a generated column on MySQL/MariaDB); Redis keeps one sorted set
//!   per digest (see the `RedisStore` page: on one server the session's script writes its
//!   entry, with [`Patch::loaded_index`](crate::store::Patch::loaded_index) naming the set it
//!   leaves).
//! - **Revoking**: removing the listed record by its store key (never the session id, which
//!   the store does not have): [`Device::handle`] is that key, opaque; a revocation checks that
//!   the handle is one of the value's sessions, so a handle from another user revokes nothing.
//! - **The cookie store** keeps no state on the server: nothing can list the cookies it handed
//!   out, nor revoke one before its expiry. [`SessionLayer::devices`](crate::SessionLayer::devices)
//!   answers a clear [`Error::Config`] for it, rather than an empty list that would read as
//!   "no other device".
//!
//! # Examples
//!
//! ```
//! use typed_sessions::{Key, MemoryStore, Session, SessionLayer};
//!
//! #[derive(Session, Default)]
//! struct Auth {
//!     #[session(index)]
//!     user: Option<u64>,
//!     device: String,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), typed_sessions::Error> {
//! let layer = SessionLayer::new(Key::generate()).with_store(MemoryStore::new());
//! // From a job, outside any request: log user 7 out everywhere.
//! let devices = layer.devices::<Auth>()?;
//! let revoked = devices.revoke_all(&7u64).await?;
//! assert_eq!(revoked, 0); // no session yet
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

mod device;

use crate::Error;
use crate::config::Config;
use crate::data::SessionData;
use crate::key::KeyRing;
use crate::request::RequestState;
use crate::reserved;
use crate::state::SessionState;
use crate::store::{DynStore, INDEX_FIELD, IndexDigest, Record, StoreKey, bounded};

pub use crate::index_value::IndexValue;
pub use device::{Device, DeviceHandle};

/// The live sessions of one indexed value, listed and revoked: built by
/// [`SessionLayer::devices`](crate::SessionLayer::devices) (outside a request) or
/// [`Session::devices`](crate::Session::devices) (in a handler, which marks the current session).
///
/// Each call is one store call per key of the layer's key ring to list, plus one removal per
/// revoked session, each bounded by the layer's store timeout.
///
/// # Examples
///
/// ```
/// use typed_sessions::{Key, MemoryStore, Session, SessionLayer};
///
/// #[derive(Session, Default)]
/// struct Auth {
///     #[session(index)]
///     user: Option<String>,
/// }
///
/// let layer = SessionLayer::new(Key::generate()).with_store(MemoryStore::new());
/// let devices = layer.devices::<Auth>()?;
/// # let _ = devices;
/// # Ok::<(), typed_sessions::Error>(())
/// ```
#[must_use]
pub struct Devices<T> {
    config: Arc<Config>,
    store: Arc<dyn DynStore>,
    /// The request whose session is current, when built from a handler.
    current: Option<(Arc<RequestState>, StoreKey)>,
    session: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Devices<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Devices")
            .field("from_request", &self.current.is_some())
            .finish_non_exhaustive()
    }
}

impl<T: SessionData> Devices<T> {
    /// The handle of a layer with a store, outside any request.
    pub(crate) fn new(config: Arc<Config>) -> Result<Self, Error> {
        if T::INDEX.is_none() {
            return Err(Error::Config(format!(
                "`{}` has no `#[session(index)]` field: its sessions are not indexed",
                std::any::type_name::<T>()
            )));
        }
        config.index_owner.claim::<T>()?;
        let store = config.store.clone().ok_or_else(|| {
            Error::Config(
                "the cookie store keeps no sessions on the server: they cannot be listed or \
                 revoked; use a store (memory, Redis, SQL) to list a user's devices"
                    .into(),
            )
        })?;
        Ok(Self {
            config,
            store,
            current: None,
            session: PhantomData,
        })
    }

    /// The handle of a request, whose stored session is the current one.
    pub(crate) fn of_request(state: Arc<RequestState>) -> Result<Self, Error> {
        let mut devices = Self::new(state.config_arc())?;
        let key = {
            let mut session = state.lock();
            (!session.is_new() && session.id().is_some()).then(|| session.store_key())
        };
        devices.current = key.map(|key| (state, key));
        Ok(devices)
    }

    /// The live sessions indexed by `value` (none when `value` indexes nothing, such as
    /// `None`), oldest first, the current one marked.
    ///
    /// # Errors
    ///
    /// The store's errors, as for a session load ([`Error::Timeout`] past the store timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::{Key, MemoryStore, Session, SessionLayer};
    /// # #[derive(Session, Default)]
    /// # struct Auth { #[session(index)] user: Option<u64> }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// # let layer = SessionLayer::new(Key::generate()).with_store(MemoryStore::new());
    /// let devices = layer.devices::<Auth>()?;
    /// assert!(devices.list(&7u64).await?.is_empty()); // user 7 has no session yet
    /// assert!(devices.list(&None::<u64>).await?.is_empty()); // nothing is indexed by `None`
    /// # Ok(())
    /// # }
    /// ```
    pub async fn list(&self, value: &impl IndexValue) -> Result<Vec<Device<T>>, Error> {
        let mut devices: Vec<Device<T>> = self
            .records(value)
            .await?
            .into_iter()
            .map(|(key, record)| self.device(key, record))
            .collect();
        devices.sort_by_key(Device::created);
        Ok(devices)
    }

    /// Ends the session `device` names, if it is one of `value`'s live sessions; answers
    /// whether it was. The current session ends too, if named (its cookie is cleared at the end
    /// of the request).
    ///
    /// # Errors
    ///
    /// As for [`list`](Self::list).
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::{Key, MemoryStore, Session, SessionLayer};
    /// # #[derive(Session, Default)]
    /// # struct Auth { #[session(index)] user: Option<u64> }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// # let layer = SessionLayer::new(Key::generate()).with_store(MemoryStore::new());
    /// let devices = layer.devices::<Auth>()?;
    /// // A handle from a form field, as `Device::handle` printed it.
    /// let handle = "ab".repeat(32).parse()?;
    /// assert!(!devices.revoke(&7u64, &handle).await?, "not one of user 7's sessions");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn revoke(
        &self,
        value: &impl IndexValue,
        device: &DeviceHandle,
    ) -> Result<bool, Error> {
        let listed = self.records(value).await?;
        if !listed.iter().any(|(key, _)| key == device.store_key()) {
            return Ok(false);
        }
        self.remove(device.store_key()).await?;
        Ok(true)
    }

    /// Ends every live session of `value` but the current one; answers how many ended. Outside
    /// a request there is no current session, and this ends them all.
    ///
    /// # Errors
    ///
    /// As for [`list`](Self::list).
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::{Key, MemoryStore, Session, SessionLayer};
    /// # #[derive(Session, Default)]
    /// # struct Auth { #[session(index)] user: Option<u64> }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// # let layer = SessionLayer::new(Key::generate()).with_store(MemoryStore::new());
    /// let devices = layer.devices::<Auth>()?;
    /// assert_eq!(devices.revoke_others(&7u64).await?, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn revoke_others(&self, value: &impl IndexValue) -> Result<usize, Error> {
        self.revoke_where(value, true).await
    }

    /// Ends every live session of `value`, the current one included; answers how many ended.
    ///
    /// # Errors
    ///
    /// As for [`list`](Self::list).
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::{Key, MemoryStore, Session, SessionLayer};
    /// # #[derive(Session, Default)]
    /// # struct Auth { #[session(index)] user: Option<u64> }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// # let layer = SessionLayer::new(Key::generate()).with_store(MemoryStore::new());
    /// let devices = layer.devices::<Auth>()?;
    /// assert_eq!(devices.revoke_all(&7u64).await?, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn revoke_all(&self, value: &impl IndexValue) -> Result<usize, Error> {
        self.revoke_where(value, false).await
    }

    async fn revoke_where(
        &self,
        value: &impl IndexValue,
        keep_current: bool,
    ) -> Result<usize, Error> {
        let mut revoked = 0;
        for (key, _) in self.records(value).await? {
            if keep_current && self.is_current(&key) {
                continue;
            }
            self.remove(&key).await?;
            revoked += 1;
        }
        Ok(revoked)
    }

    /// Removes the record under `key`; the current session also ends in its request.
    async fn remove(&self, key: &StoreKey) -> Result<(), Error> {
        bounded(self.config.store_timeout, self.store.remove(key)).await?;
        if let Some((state, current)) = &self.current
            && current == key
        {
            state.lock().destroy();
        }
        Ok(())
    }

    fn is_current(&self, key: &StoreKey) -> bool {
        self.current
            .as_ref()
            .is_some_and(|(_, current)| current == key)
    }

    /// The live records of `value`, under the digest of every key of the ring, each once.
    async fn records(&self, value: &impl IndexValue) -> Result<Vec<(StoreKey, Record)>, Error> {
        let Some(bytes) = value.index_bytes() else {
            return Ok(Vec::new());
        };
        let mut found: Vec<(StoreKey, Record)> = Vec::new();
        for key in self.config.codec.keys().all() {
            let digest = IndexDigest::from_digest(&key.index_digest(index_field::<T>(), &bytes));
            let listed =
                bounded(self.config.store_timeout, self.store.list_indexed(&digest)).await?;
            for (key, record) in listed {
                if record.index().as_ref() == Some(&digest)
                    && !found.iter().any(|(seen, _)| *seen == key)
                {
                    found.push((key, record));
                }
            }
        }
        Ok(found)
    }

    fn device(&self, key: StoreKey, record: Record) -> Device<T> {
        let current = self.is_current(&key);
        Device::new(key, &record, T::decode(record.fields()), current)
    }
}

/// The storage key of `T`'s indexed field, bound into its digests; empty for a type without
/// one (which never computes a digest).
fn index_field<T: SessionData>() -> &'static str {
    T::INDEX
        .and_then(|index| T::KEYS.get(index))
        .copied()
        .unwrap_or("")
}

/// Brings the session's index field up to date with `value`'s indexed field: its digest under
/// the newest key, or no field when the value indexes nothing. A no-op when they agree (the
/// common case), and for the cookie store, which indexes nothing.
pub(crate) fn sync_index<T: SessionData>(session: &mut SessionState, value: &T, keys: &KeyRing) {
    if T::INDEX.is_none() {
        return;
    }
    let wanted = value.index_value().map(|bytes| {
        IndexDigest::from_digest(&keys.newest().index_digest(index_field::<T>(), &bytes))
    });
    let stored = session.fields().get(INDEX_FIELD).and_then(|v| v.as_str());
    match (&wanted, stored) {
        (Some(wanted), Some(stored)) if wanted.as_str() == stored => {}
        (None, None) => {}
        (Some(wanted), _) => {
            session.set_field(reserved::INDEX, wanted.to_value(), || {
                Ok(serde_json::Value::Null)
            });
        }
        (None, Some(_)) => session.remove_field(reserved::INDEX),
    }
}
