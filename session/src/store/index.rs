//! What a store indexes: the keyed digest of a session's `#[session(index)]` value, kept in the
//! record under a reserved field so that it rides every write of the session.

use std::fmt;

use serde_json::Value;

use super::{Fields, Patch, Record, StoreKey};

/// The record field that holds a session's [`IndexDigest`], as a JSON string of 64 hex digits;
/// absent when the session's indexed field is `None` (or its type has no index). Like every
/// field name starting with `$`, no session type can read or write it.
///
/// A store that supports [`SessionStore::list_indexed`](super::SessionStore::list_indexed)
/// answers the live records whose field holds the digest asked for.
///
/// # Examples
///
/// ```
/// assert_eq!(typed_sessions::store::INDEX_FIELD, "$index");
/// ```
pub const INDEX_FIELD: &str = crate::reserved::INDEX;

/// The keyed digest (HMAC-SHA256 under a key derived from the layer's [`Key`](crate::Key)) of
/// one indexed field's storage key and value, such as a user id: what a store sees of it,
/// never the value.
///
/// # Examples
///
/// ```
/// use typed_sessions::store::IndexDigest;
///
/// let digest = IndexDigest::from_digest_hex("ab".repeat(32)).unwrap();
/// assert_eq!(digest.as_str(), "ab".repeat(32));
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IndexDigest(StoreKey);

impl IndexDigest {
    /// The digest as 64 lowercase hex characters.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::store::IndexDigest;
    ///
    /// assert_eq!(IndexDigest::from_digest_hex("0".repeat(64)).unwrap().as_str().len(), 64);
    /// ```
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Rebuilds a digest from its hex form: 64 lowercase hex digits.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::store::IndexDigest;
    ///
    /// assert!(IndexDigest::from_digest_hex("not hex").is_none());
    /// ```
    pub fn from_digest_hex(hex: impl Into<String>) -> Option<Self> {
        StoreKey::from_digest_hex(hex).map(Self)
    }

    pub(crate) fn from_digest(digest: &[u8]) -> Self {
        Self(StoreKey::from_digest(digest))
    }

    /// The digest as the record field holds it.
    pub(crate) fn to_value(&self) -> Value {
        Value::String(self.as_str().to_owned())
    }

    /// The digest that `fields` hold, if any.
    pub(crate) fn in_fields(fields: &Fields) -> Option<Self> {
        fields
            .get(INDEX_FIELD)
            .and_then(Value::as_str)
            .and_then(Self::from_digest_hex)
    }
}

impl fmt::Debug for IndexDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IndexDigest").field(&self.as_str()).finish()
    }
}

impl fmt::Display for IndexDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a patch changes a session's index.
///
/// # Examples
///
/// ```
/// use typed_sessions::store::{IndexChange, Patch};
///
/// /// What a store with an index column writes beside the patch.
/// fn column(patch: &Patch) -> Option<Option<String>> {
///     match patch.index_change() {
///         IndexChange::Unchanged => None,
///         IndexChange::Set(digest) => Some(Some(digest.to_string())),
///         IndexChange::Cleared => Some(None),
///     }
/// }
/// # let _ = column;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexChange {
    /// The patch leaves the index as it is.
    Unchanged,
    /// The session is now indexed under this digest.
    Set(IndexDigest),
    /// The session is no longer indexed.
    Cleared,
}

impl Record {
    /// The digest this record is indexed under ([`INDEX_FIELD`]), if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use time::OffsetDateTime;
    /// use typed_sessions::store::{Fields, Record, INDEX_FIELD};
    ///
    /// let now = OffsetDateTime::now_utc();
    /// let mut fields = Fields::new();
    /// fields.insert(INDEX_FIELD.into(), "ab".repeat(32).into());
    /// assert_eq!(Record::new(fields, now, now).index().unwrap().as_str(), "ab".repeat(32));
    /// ```
    pub fn index(&self) -> Option<IndexDigest> {
        IndexDigest::in_fields(self.fields())
    }
}

impl Patch {
    /// The digest the session was indexed under when this request loaded it; `None` when it had
    /// none (or was new). A hint for a store that keeps its index beside the records (a set, a
    /// table): with it, a patch that clears the index or moves the session to a new key can
    /// update the old entry in the same step. The record's own [`INDEX_FIELD`] stays the truth:
    /// a concurrent request may have changed it since the load, so a store checks the hint
    /// against the record before it relies on it.
    ///
    /// # Examples
    ///
    /// ```
    /// use time::OffsetDateTime;
    /// use typed_sessions::store::{Fields, IndexDigest, Patch};
    ///
    /// let digest = IndexDigest::from_digest_hex("ab".repeat(32)).unwrap();
    /// let patch = Patch::new(Fields::new(), Vec::new(), OffsetDateTime::now_utc());
    /// assert_eq!(patch.loaded_index(), None);
    /// let patch = patch.with_loaded_index(Some(digest.clone()));
    /// assert_eq!(patch.loaded_index(), Some(digest));
    /// ```
    pub fn loaded_index(&self) -> Option<IndexDigest> {
        self.loaded_index.clone().map(IndexDigest)
    }

    /// The patch, saying the session was indexed under `index` when it was loaded (see
    /// [`loaded_index`](Self::loaded_index)). The layer sets it on every patch it sends.
    ///
    /// # Examples
    ///
    /// ```
    /// use time::OffsetDateTime;
    /// use typed_sessions::store::{Fields, IndexDigest, Patch};
    ///
    /// let loaded = IndexDigest::from_digest_hex("cd".repeat(32));
    /// let patch = Patch::new(Fields::new(), Vec::new(), OffsetDateTime::now_utc())
    ///     .with_loaded_index(loaded.clone());
    /// assert_eq!(patch.loaded_index(), loaded);
    /// ```
    #[must_use]
    pub fn with_loaded_index(mut self, index: Option<IndexDigest>) -> Self {
        self.loaded_index = index.map(|digest| digest.0);
        self
    }

    /// What the patch does to the session's index ([`INDEX_FIELD`]): a store that keeps the
    /// index beside the record (a column, a set) applies it in the same step as the patch.
    ///
    /// # Examples
    ///
    /// ```
    /// use time::OffsetDateTime;
    /// use typed_sessions::store::{Fields, IndexChange, Patch, INDEX_FIELD};
    ///
    /// let now = OffsetDateTime::now_utc();
    /// assert_eq!(Patch::new(Fields::new(), Vec::new(), now).index_change(), IndexChange::Unchanged);
    /// let cleared = Patch::new(Fields::new(), vec![INDEX_FIELD.into()], now);
    /// assert_eq!(cleared.index_change(), IndexChange::Cleared);
    /// ```
    pub fn index_change(&self) -> IndexChange {
        if let Some(digest) = IndexDigest::in_fields(self.changed()) {
            IndexChange::Set(digest)
        } else if self.changed().contains_key(INDEX_FIELD)
            || self.removed().iter().any(|name| name == INDEX_FIELD)
        {
            IndexChange::Cleared
        } else {
            IndexChange::Unchanged
        }
    }
}
