//! The store contract, for applications that bring their own store and for store authors, and
//! the stores that ship with the crate.
//!
//! An application only constructs a store and hands it to
//! [`SessionLayer::with_store`](crate::SessionLayer::with_store); the shipped stores are also
//! re-exported at the crate root. A store author implements [`SessionStore`] over the types of
//! this module ([`StoreKey`], [`Record`], [`Patch`], [`Created`], [`Updated`]) and proves it with
//! the conformance kit (`store_conformance!`, feature `test-kit`).

mod call;
mod index;
mod key;
mod memory;
mod record;
#[cfg(feature = "redis")]
mod redis;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod sql;

use std::future::Future;

use time::OffsetDateTime;

use crate::Error;

pub(crate) use call::{DynStore, bounded};
pub use index::{INDEX_FIELD, IndexChange, IndexDigest};
pub use key::StoreKey;
pub use memory::MemoryStore;
pub(crate) use record::nesting_exceeds;
pub use record::{Created, Fields, Patch, Record, Rekeyed, Updated};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::RedisStore;
#[cfg(feature = "mysql")]
#[cfg_attr(docsrs, doc(cfg(feature = "mysql")))]
pub use sql::MySqlStore;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use sql::PostgresStore;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sql::SqliteStore;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite")))
)]
pub use sql::{CleanupTask, SqlDialect, SqlStore};

/// Where sessions live when they do not live in the cookie.
///
/// The contract, which [`MemoryStore`] and every shipped store honour:
///
/// - keys are [`StoreKey`]s, SHA-256 digests of the session id; the store never sees an id;
/// - `load` answers `Ok(None)` for a missing or expired record: "not found" is not an error;
/// - `create` never overwrites a live record ([`Created::AlreadyExists`]);
/// - `patch` changes only the given fields and the expiry, and never re-creates a record that
///   was removed or expired meanwhile ([`Updated::Missing`]); two patches of different fields
///   both survive, patches of the same field are last-writer-wins;
/// - `rekey` moves a live record to a new key and patches it in one atomic step, and never
///   brings back a record that was removed meanwhile ([`Rekeyed::Missing`]): a session
///   regenerated at login while another request logs it out stays logged out;
/// - `touch` only moves the expiry;
/// - `remove` of a missing record is not an error.
///
/// Errors: [`Error::unavailable`] when the store cannot be reached (the request answers 503),
/// [`Error::corrupt`] for a record that is not a session record (treated as no session),
/// [`Error::store`] otherwise.
///
/// Make `patch` a single atomic step in your backend (a script, a conditional `UPDATE`, a
/// transaction): a read-modify-write from the application loses concurrent changes.
///
/// # Examples
///
/// A complete store that keeps records in a map behind a lock (the shipped [`MemoryStore`] does
/// the same, bounded and with an expiry index):
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
///
/// use time::OffsetDateTime;
/// use typed_sessions::store::{Created, Patch, Record, Rekeyed, SessionStore, StoreKey, Updated};
/// use typed_sessions::{Error, Key, SessionLayer};
///
/// #[derive(Default)]
/// struct MapStore {
///     records: Mutex<HashMap<StoreKey, Record>>,
/// }
///
/// impl MapStore {
///     /// The live record under `key`, forgetting it if it has expired.
///     fn live<'a>(records: &'a mut HashMap<StoreKey, Record>, key: &StoreKey) -> Option<&'a mut Record> {
///         let now = OffsetDateTime::now_utc();
///         if records.get(key).is_some_and(|record| record.is_expired(now)) {
///             records.remove(key);
///         }
///         records.get_mut(key)
///     }
/// }
///
/// impl SessionStore for MapStore {
///     async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
///         let mut records = self.records.lock().unwrap();
///         Ok(Self::live(&mut records, key).map(|record| record.clone()))
///     }
///
///     async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, Error> {
///         let mut records = self.records.lock().unwrap();
///         if Self::live(&mut records, key).is_some() {
///             return Ok(Created::AlreadyExists);
///         }
///         records.insert(key.clone(), record.clone());
///         Ok(Created::Stored)
///     }
///
///     async fn patch(&self, key: &StoreKey, patch: &Patch) -> Result<Updated, Error> {
///         let mut records = self.records.lock().unwrap();
///         match Self::live(&mut records, key) {
///             Some(record) => {
///                 patch.apply_to(record);
///                 Ok(Updated::Applied)
///             }
///             None => Ok(Updated::Missing), // never re-create a removed session
///         }
///     }
///
///     async fn remove(&self, key: &StoreKey) -> Result<(), Error> {
///         self.records.lock().unwrap().remove(key);
///         Ok(())
///     }
///
///     async fn touch(&self, key: &StoreKey, expires: OffsetDateTime) -> Result<Updated, Error> {
///         let mut records = self.records.lock().unwrap();
///         match Self::live(&mut records, key) {
///             Some(record) => {
///                 *record = Record::new(record.fields().clone(), record.created(), expires);
///                 Ok(Updated::Applied)
///             }
///             None => Ok(Updated::Missing),
///         }
///     }
///
///     async fn rekey(&self, old: &StoreKey, new: &StoreKey, patch: &Patch) -> Result<Rekeyed, Error> {
///         // One lock for the whole move: nothing can remove `old` half-way.
///         let mut records = self.records.lock().unwrap();
///         if Self::live(&mut records, new).is_some() {
///             return Ok(Rekeyed::Taken);
///         }
///         if Self::live(&mut records, old).is_none() {
///             return Ok(Rekeyed::Missing); // logged out meanwhile: stays logged out
///         }
///         let mut record = records.remove(old).expect("live above");
///         patch.apply_to(&mut record);
///         records.insert(new.clone(), record);
///         Ok(Rekeyed::Applied)
///     }
///
///     fn can_rekey(&self, _old: &StoreKey, _new: &StoreKey) -> bool {
///         true // one map: any key can move to any other
///     }
/// }
///
/// let layer = SessionLayer::new(Key::generate()).with_store(MapStore::default());
/// # let _ = layer;
/// ```
pub trait SessionStore: Send + Sync + 'static {
    /// The record stored under `key`, or `None` if there is none or it has expired.
    ///
    /// # Errors
    ///
    /// [`Error::unavailable`] when the store cannot be reached, [`Error::corrupt`] for a record
    /// that is not a session record, [`Error::store`] otherwise. Never an error for a missing
    /// record.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::MemoryStore;
    /// use typed_sessions::store::{SessionStore, StoreKey};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// let key = StoreKey::from_digest_hex("0".repeat(64)).unwrap();
    /// assert!(MemoryStore::new().load(&key).await?.is_none());
    /// # Ok(())
    /// # }
    /// ```
    fn load(&self, key: &StoreKey) -> impl Future<Output = Result<Option<Record>, Error>> + Send;

    /// Stores `record` under `key` unless a live record already has that key.
    ///
    /// # Errors
    ///
    /// As for [`load`](Self::load); an existing live record is not an error but
    /// [`Created::AlreadyExists`].
    ///
    /// # Examples
    ///
    /// ```
    /// use time::{Duration, OffsetDateTime};
    /// use typed_sessions::MemoryStore;
    /// use typed_sessions::store::{Created, Fields, Record, SessionStore, StoreKey};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// let store = MemoryStore::new();
    /// let key = StoreKey::from_digest_hex("1".repeat(64)).unwrap();
    /// let now = OffsetDateTime::now_utc();
    /// let record = Record::new(Fields::new(), now, now + Duration::hours(1));
    /// assert_eq!(store.create(&key, &record).await?, Created::Stored);
    /// assert_eq!(store.create(&key, &record).await?, Created::AlreadyExists);
    /// # Ok(())
    /// # }
    /// ```
    fn create(
        &self,
        key: &StoreKey,
        record: &Record,
    ) -> impl Future<Output = Result<Created, Error>> + Send;

    /// Applies `patch` to the live record under `key`, atomically, or reports it missing
    /// without writing anything.
    ///
    /// # Errors
    ///
    /// As for [`load`](Self::load); a missing record is not an error but
    /// [`Updated::Missing`].
    ///
    /// # Examples
    ///
    /// ```
    /// use time::{Duration, OffsetDateTime};
    /// use typed_sessions::MemoryStore;
    /// use typed_sessions::store::{Fields, Patch, Record, SessionStore, StoreKey, Updated};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// let store = MemoryStore::new();
    /// let key = StoreKey::from_digest_hex("2".repeat(64)).unwrap();
    /// let now = OffsetDateTime::now_utc();
    /// let mut changed = Fields::new();
    /// changed.insert("views".into(), 1.into());
    /// let patch = Patch::new(changed, Vec::new(), now + Duration::hours(1));
    /// assert_eq!(store.patch(&key, &patch).await?, Updated::Missing); // nothing to patch
    ///
    /// store.create(&key, &Record::new(Fields::new(), now, now + Duration::hours(1))).await?;
    /// assert_eq!(store.patch(&key, &patch).await?, Updated::Applied);
    /// assert_eq!(store.load(&key).await?.unwrap().fields()["views"], 1);
    /// # Ok(())
    /// # }
    /// ```
    fn patch(
        &self,
        key: &StoreKey,
        patch: &Patch,
    ) -> impl Future<Output = Result<Updated, Error>> + Send;

    /// Removes the record under `key`, if any.
    ///
    /// # Errors
    ///
    /// As for [`load`](Self::load); a missing record is not an error.
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
    /// let key = StoreKey::from_digest_hex("3".repeat(64)).unwrap();
    /// let now = OffsetDateTime::now_utc();
    /// store.create(&key, &Record::new(Fields::new(), now, now + Duration::hours(1))).await?;
    /// store.remove(&key).await?;
    /// store.remove(&key).await?; // already gone: not an error
    /// assert!(store.load(&key).await?.is_none());
    /// # Ok(())
    /// # }
    /// ```
    fn remove(&self, key: &StoreKey) -> impl Future<Output = Result<(), Error>> + Send;

    /// Moves the expiry of the live record under `key`, or reports it missing without
    /// writing anything.
    ///
    /// # Errors
    ///
    /// As for [`load`](Self::load); a missing record is not an error but
    /// [`Updated::Missing`].
    ///
    /// # Examples
    ///
    /// ```
    /// use time::{Duration, OffsetDateTime};
    /// use typed_sessions::MemoryStore;
    /// use typed_sessions::store::{Fields, Record, SessionStore, StoreKey, Updated};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// let store = MemoryStore::new();
    /// let key = StoreKey::from_digest_hex("4".repeat(64)).unwrap();
    /// let now = OffsetDateTime::now_utc();
    /// store.create(&key, &Record::new(Fields::new(), now, now + Duration::hours(1))).await?;
    /// let later = now + Duration::hours(2);
    /// assert_eq!(store.touch(&key, later).await?, Updated::Applied);
    /// assert!(store.load(&key).await?.unwrap().expires() >= later - Duration::milliseconds(1));
    /// # Ok(())
    /// # }
    /// ```
    fn touch(
        &self,
        key: &StoreKey,
        expires: OffsetDateTime,
    ) -> impl Future<Output = Result<Updated, Error>> + Send;

    /// Moves the live record under `old` to `new` and applies `patch` to it, in one atomic
    /// step: the record the request loaded, with the changes of everyone since (a concurrent
    /// patch of `old` either lands before the move and moves with it, or finds `old` gone and
    /// reports [`Updated::Missing`]). The record's creation time stays.
    ///
    /// This is how [`Session::regenerate`](crate::Session::regenerate) gives a session a new id
    /// at login: a logout racing it must not be undone, so a record removed (or expired)
    /// meanwhile is reported [`Rekeyed::Missing`] and nothing is written.
    ///
    /// # Errors
    ///
    /// As for [`load`](Self::load); a missing record is not an error but [`Rekeyed::Missing`],
    /// a live record under `new` is [`Rekeyed::Taken`].
    ///
    /// # Examples
    ///
    /// ```
    /// use time::{Duration, OffsetDateTime};
    /// use typed_sessions::MemoryStore;
    /// use typed_sessions::store::{Fields, Patch, Record, Rekeyed, SessionStore, StoreKey};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// let store = MemoryStore::new();
    /// let (old, new) = (StoreKey::from_digest_hex("5".repeat(64)).unwrap(), StoreKey::from_digest_hex("6".repeat(64)).unwrap());
    /// let now = OffsetDateTime::now_utc();
    /// store.create(&old, &Record::new(Fields::new(), now, now + Duration::hours(1))).await?;
    /// let mut changed = Fields::new();
    /// changed.insert("user".into(), "ann".into());
    /// let login = Patch::new(changed, Vec::new(), now + Duration::hours(2));
    /// assert_eq!(store.rekey(&old, &new, &login).await?, Rekeyed::Applied);
    /// assert!(store.load(&old).await?.is_none());
    /// assert_eq!(store.load(&new).await?.unwrap().fields()["user"], "ann");
    /// // The old key is gone: moving it again finds nothing, and writes nothing.
    /// assert_eq!(store.rekey(&old, &new, &login).await?, Rekeyed::Missing);
    /// # Ok(())
    /// # }
    /// ```
    fn rekey(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        patch: &Patch,
    ) -> impl Future<Output = Result<Rekeyed, Error>> + Send;

    /// Whether [`rekey`](Self::rekey) can move a record from `old` to `new` in one atomic step
    /// A store that can move any key to any other answers `true`. A store that partitions its
    /// keys, as Redis Cluster does by hash slot, answers only for keys of one partition; the
    /// layer draws new ids until this holds. A store that wraps another (to count or trace its
    /// calls) forwards its inner store's answer: that is why this method has no default, so
    /// that a wrapper around a Cluster store cannot forget it and fail every login.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::MemoryStore;
    /// use typed_sessions::store::{SessionStore, StoreKey};
    ///
    /// let (a, b) = (StoreKey::from_digest_hex("7".repeat(64)).unwrap(), StoreKey::from_digest_hex("8".repeat(64)).unwrap());
    /// assert!(MemoryStore::new().can_rekey(&a, &b));
    /// ```
    fn can_rekey(&self, old: &StoreKey, new: &StoreKey) -> bool;

    /// The store's kind, as spans and metrics name it (the `store` field and label): a short,
    /// fixed name such as `"memory"`, `"redis"`, `"postgres"`, `"mysql"` or `"sqlite"` (the
    /// cookie store is `"cookie"`). Default: `"custom"`. A third-party store returns its own
    /// name; a store that wraps another (to count or trace its calls) forwards it.
    ///
    /// Keep it one constant per store type: every distinct value is one more time series of each
    /// metric, and it is never a host, a table or anything taken from a request.
    ///
    /// # Examples
    ///
    /// ```
    /// use time::OffsetDateTime;
    /// use typed_sessions::MemoryStore;
    /// use typed_sessions::store::{Created, Patch, Record, Rekeyed, SessionStore, StoreKey, Updated};
    /// use typed_sessions::Error;
    ///
    /// assert_eq!(MemoryStore::new().kind(), "memory");
    ///
    /// /// A store that hands every call to the memory store, under a name of its own.
    /// struct Mine(MemoryStore);
    ///
    /// impl SessionStore for Mine {
    ///     fn kind(&self) -> &'static str {
    ///         "mine"
    ///     }
    /// #   async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> { self.0.load(key).await }
    /// #   async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, Error> { self.0.create(key, record).await }
    /// #   async fn patch(&self, key: &StoreKey, patch: &Patch) -> Result<Updated, Error> { self.0.patch(key, patch).await }
    /// #   async fn remove(&self, key: &StoreKey) -> Result<(), Error> { self.0.remove(key).await }
    /// #   async fn touch(&self, key: &StoreKey, expires: OffsetDateTime) -> Result<Updated, Error> { self.0.touch(key, expires).await }
    /// #   async fn rekey(&self, old: &StoreKey, new: &StoreKey, patch: &Patch) -> Result<Rekeyed, Error> { self.0.rekey(old, new, patch).await }
    /// #   fn can_rekey(&self, old: &StoreKey, new: &StoreKey) -> bool { self.0.can_rekey(old, new) }
    ///     // ... the store calls
    /// }
    ///
    /// assert_eq!(Mine(MemoryStore::new()).kind(), "mine");
    /// ```
    fn kind(&self) -> &'static str {
        "custom"
    }

    /// Every live record indexed under `index` (its [`INDEX_FIELD`] holds that digest), with
    /// its key: what [`Devices`](crate::devices::Devices) lists and revokes. Expired and removed
    /// records are never answered, and the store keeps no index entry of them for ever.
    ///
    /// The default answers [`Error::Config`]: a store that does not index sessions cannot list
    /// them, and says so rather than answering an empty list that would look like "no other
    /// device". Every shipped store except the cookie store (which keeps nothing on the
    /// server) implements it; the conformance kit checks it for a store that declares it.
    ///
    /// # Errors
    ///
    /// As for [`load`](Self::load); [`Error::Config`] when the store does not index sessions.
    ///
    /// # Examples
    ///
    /// ```
    /// use time::{Duration, OffsetDateTime};
    /// use typed_sessions::MemoryStore;
    /// use typed_sessions::store::{Fields, IndexDigest, Record, SessionStore, StoreKey, INDEX_FIELD};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// let store = MemoryStore::new();
    /// let user = IndexDigest::from_digest_hex("c".repeat(64)).unwrap();
    /// let mut fields = Fields::new();
    /// fields.insert(INDEX_FIELD.into(), user.as_str().into());
    /// let now = OffsetDateTime::now_utc();
    /// let key = StoreKey::from_digest_hex("9".repeat(64)).unwrap();
    /// store.create(&key, &Record::new(fields, now, now + Duration::hours(1))).await?;
    /// let listed = store.list_indexed(&user).await?;
    /// assert_eq!(listed.len(), 1);
    /// assert_eq!(listed[0].0, key);
    /// # Ok(())
    /// # }
    /// ```
    fn list_indexed(
        &self,
        index: &IndexDigest,
    ) -> impl Future<Output = Result<Vec<(StoreKey, Record)>, Error>> + Send {
        let _ = index;
        std::future::ready(Err(Error::Config(format!(
            "the {} session store does not index sessions: it cannot list a user's sessions",
            self.kind()
        ))))
    }
}
