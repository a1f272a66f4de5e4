//! What stores keep: a session's fields and its times.

use time::OffsetDateTime;

use crate::data::Fields;

/// One stored session: each field's JSON encoding under its storage key, plus its times.
///
/// # Example
///
/// ```
/// use typed_sessions::{Fields, Record};
///
/// let now = time::OffsetDateTime::now_utc();
/// let mut fields = Fields::new();
/// fields.insert("views".into(), 3.into());
/// let record = Record { fields, created: now, expires: now + time::Duration::hours(1) };
/// assert!(!record.is_expired(now));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// Storage key → that field's JSON encoding. Keys the reader does not know are kept.
    pub fields: Fields,
    /// When the session was first saved; anchors the absolute timeout.
    pub created: OffsetDateTime,
    /// When the store may forget the session.
    pub expires: OffsetDateTime,
}

impl Record {
    /// Whether the record is past its expiry at `now`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires <= now
    }
}

/// A change to one stored session: fields to set, fields to delete, and the new expiry.
///
/// # Example
///
/// ```
/// use typed_sessions::{Fields, Patch};
///
/// let mut changed = Fields::new();
/// changed.insert("views".into(), 4.into());
/// let patch = Patch {
///     changed,
///     removed: vec!["u".into()],
///     expires: time::OffsetDateTime::now_utc(),
/// };
/// assert_eq!(patch.removed, ["u"]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Patch {
    /// Fields whose new encoding replaces the stored one (or is added).
    pub changed: Fields,
    /// Fields to delete.
    pub removed: Vec<String>,
    /// The session's new expiry.
    pub expires: OffsetDateTime,
}

impl Patch {
    /// Applies the patch to `record`, as every store must.
    pub fn apply_to(&self, record: &mut Record) {
        for key in &self.removed {
            record.fields.remove(key);
        }
        for (key, value) in &self.changed {
            record.fields.insert(key.clone(), value.clone());
        }
        record.expires = self.expires;
    }
}

/// What [`SessionStore::create`](crate::SessionStore::create) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Created {
    /// The record was stored.
    Created,
    /// A live record already had that key; nothing was written.
    AlreadyExists,
}

/// What [`SessionStore::patch`](crate::SessionStore::patch) or
/// [`SessionStore::touch`](crate::SessionStore::touch) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The live record was updated.
    Applied,
    /// No live record had that key (removed or expired); nothing was written.
    Missing,
}
