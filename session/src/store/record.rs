//! What stores keep and are asked to do: a session's fields and times, a change to them, and
//! the outcomes of the calls that can find a record missing.

use serde_json::Value;
use time::OffsetDateTime;

use super::StoreKey;

/// The stored form of a session: each storage key maps to that field's JSON encoding.
///
/// Keys that the current session type does not know are kept as they are, so that two struct
/// versions (or two session types sharing one session) never erase each other's fields.
///
/// # Examples
///
/// ```
/// use typed_sessions::store::Fields;
///
/// let mut fields = Fields::new();
/// fields.insert("views".into(), 3.into());
/// assert_eq!(fields["views"], 3);
/// ```
pub type Fields = serde_json::Map<String, Value>;

/// One stored session: each field's JSON encoding under its storage key, plus its times.
///
/// # Examples
///
/// ```
/// use time::{Duration, OffsetDateTime};
/// use typed_sessions::store::{Fields, Record};
///
/// let now = OffsetDateTime::now_utc();
/// let mut fields = Fields::new();
/// fields.insert("views".into(), 3.into());
/// let record = Record::new(fields, now, now + Duration::hours(1));
/// assert_eq!(record.fields()["views"], 3);
/// assert!(!record.is_expired(now));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    fields: Fields,
    created: OffsetDateTime,
    expires: OffsetDateTime,
}

impl Record {
    /// A record of `fields`, created at `created`, that the store may forget at `expires`.
    ///
    /// # Examples
    ///
    /// ```
    /// use time::{Duration, OffsetDateTime};
    /// use typed_sessions::store::{Fields, Record};
    ///
    /// let now = OffsetDateTime::now_utc();
    /// let record = Record::new(Fields::new(), now, now + Duration::days(1));
    /// assert_eq!(record.created(), now);
    /// ```
    pub fn new(fields: Fields, created: OffsetDateTime, expires: OffsetDateTime) -> Self {
        Self {
            fields,
            created,
            expires,
        }
    }

    /// Storage key → that field's JSON encoding. Keys the reader does not know are kept.
    ///
    /// # Examples
    ///
    /// ```
    /// # use time::OffsetDateTime;
    /// use typed_sessions::store::{Fields, Record};
    ///
    /// # let now = OffsetDateTime::now_utc();
    /// let record = Record::new(Fields::new(), now, now);
    /// assert!(record.fields().is_empty());
    /// ```
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// The fields, taken out of the record.
    ///
    /// # Examples
    ///
    /// ```
    /// # use time::OffsetDateTime;
    /// use typed_sessions::store::{Fields, Record};
    ///
    /// # let now = OffsetDateTime::now_utc();
    /// let mut fields = Fields::new();
    /// fields.insert("u".into(), "ann".into());
    /// let record = Record::new(fields.clone(), now, now);
    /// assert_eq!(record.into_fields(), fields);
    /// ```
    pub fn into_fields(self) -> Fields {
        self.fields
    }

    /// When the session was first saved; anchors the absolute timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// # use time::{Duration, OffsetDateTime};
    /// use typed_sessions::store::{Fields, Record};
    ///
    /// let created = OffsetDateTime::now_utc();
    /// let record = Record::new(Fields::new(), created, created + Duration::hours(1));
    /// assert_eq!(record.created(), created);
    /// ```
    pub fn created(&self) -> OffsetDateTime {
        self.created
    }

    /// When the store may forget the session.
    ///
    /// # Examples
    ///
    /// ```
    /// # use time::{Duration, OffsetDateTime};
    /// use typed_sessions::store::{Fields, Record};
    ///
    /// let now = OffsetDateTime::now_utc();
    /// let record = Record::new(Fields::new(), now, now + Duration::hours(1));
    /// assert_eq!(record.expires() - record.created(), Duration::hours(1));
    /// ```
    pub fn expires(&self) -> OffsetDateTime {
        self.expires
    }

    /// Whether the record is past its expiry at `now`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use time::{Duration, OffsetDateTime};
    /// use typed_sessions::store::{Fields, Record};
    ///
    /// let now = OffsetDateTime::now_utc();
    /// let record = Record::new(Fields::new(), now, now + Duration::seconds(1));
    /// assert!(!record.is_expired(now));
    /// assert!(record.is_expired(now + Duration::seconds(1)));
    /// ```
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires <= now
    }
}

/// A change to one stored session: fields to set, fields to delete, and the new expiry.
///
/// # Examples
///
/// ```
/// use time::OffsetDateTime;
/// use typed_sessions::store::{Fields, Patch};
///
/// let mut changed = Fields::new();
/// changed.insert("views".into(), 4.into());
/// let patch = Patch::new(changed, vec!["u".into()], OffsetDateTime::now_utc());
/// assert_eq!(patch.removed(), ["u"]);
/// assert_eq!(patch.changed()["views"], 4);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Patch {
    changed: Fields,
    removed: Vec<String>,
    expires: OffsetDateTime,
    /// The digest the session was indexed under when the request loaded it (see
    /// `Patch::loaded_index`), as the store key it wraps.
    pub(super) loaded_index: Option<StoreKey>,
}

impl Patch {
    /// A patch that sets `changed`, deletes `removed` and moves the expiry to `expires`.
    ///
    /// # Examples
    ///
    /// ```
    /// use time::OffsetDateTime;
    /// use typed_sessions::store::{Fields, Patch};
    ///
    /// let patch = Patch::new(Fields::new(), Vec::new(), OffsetDateTime::now_utc());
    /// assert!(patch.changed().is_empty() && patch.removed().is_empty());
    /// ```
    pub fn new(changed: Fields, removed: Vec<String>, expires: OffsetDateTime) -> Self {
        Self {
            changed,
            removed,
            expires,
            loaded_index: None,
        }
    }

    /// Fields whose new encoding replaces the stored one (or is added).
    ///
    /// # Examples
    ///
    /// ```
    /// # use time::OffsetDateTime;
    /// use typed_sessions::store::{Fields, Patch};
    ///
    /// let mut changed = Fields::new();
    /// changed.insert("views".into(), 4.into());
    /// let patch = Patch::new(changed, Vec::new(), OffsetDateTime::now_utc());
    /// assert_eq!(patch.changed().len(), 1);
    /// ```
    pub fn changed(&self) -> &Fields {
        &self.changed
    }

    /// Fields to delete.
    ///
    /// # Examples
    ///
    /// ```
    /// # use time::OffsetDateTime;
    /// use typed_sessions::store::{Fields, Patch};
    ///
    /// let patch = Patch::new(Fields::new(), vec!["u".into()], OffsetDateTime::now_utc());
    /// assert_eq!(patch.removed(), ["u"]);
    /// ```
    pub fn removed(&self) -> &[String] {
        &self.removed
    }

    /// The session's new expiry.
    ///
    /// # Examples
    ///
    /// ```
    /// # use time::OffsetDateTime;
    /// use typed_sessions::store::{Fields, Patch};
    ///
    /// let at = OffsetDateTime::now_utc();
    /// assert_eq!(Patch::new(Fields::new(), Vec::new(), at).expires(), at);
    /// ```
    pub fn expires(&self) -> OffsetDateTime {
        self.expires
    }

    /// Applies the patch to `record`, as every store must: removals first, then the changed
    /// fields, then the expiry. Useful to a store that holds records in memory.
    ///
    /// # Examples
    ///
    /// ```
    /// use time::{Duration, OffsetDateTime};
    /// use typed_sessions::store::{Fields, Patch, Record};
    ///
    /// let now = OffsetDateTime::now_utc();
    /// let mut fields = Fields::new();
    /// fields.insert("u".into(), "ann".into());
    /// let mut record = Record::new(fields, now, now + Duration::hours(1));
    ///
    /// let mut changed = Fields::new();
    /// changed.insert("views".into(), 1.into());
    /// Patch::new(changed, vec!["u".into()], now + Duration::hours(2)).apply_to(&mut record);
    ///
    /// assert_eq!(record.fields().len(), 1);
    /// assert_eq!(record.fields()["views"], 1);
    /// assert_eq!(record.expires(), now + Duration::hours(2));
    /// ```
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

/// What [`SessionStore::create`](crate::store::SessionStore::create) did.
///
/// # Examples
///
/// ```
/// use typed_sessions::store::Created;
///
/// fn describe(created: Created) -> &'static str {
///     match created {
///         Created::Stored => "stored",
///         Created::AlreadyExists => "a live session already has that key",
///     }
/// }
/// assert_eq!(describe(Created::Stored), "stored");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Created {
    /// The record was stored.
    Stored,
    /// A live record already had that key; nothing was written.
    AlreadyExists,
}

/// What [`SessionStore::patch`](crate::store::SessionStore::patch) or
/// [`SessionStore::touch`](crate::store::SessionStore::touch) did to a live record.
///
/// # Examples
///
/// ```
/// use typed_sessions::store::Updated;
///
/// fn describe(updated: Updated) -> &'static str {
///     match updated {
///         Updated::Applied => "the live record was updated",
///         Updated::Missing => "no live record: removed or expired, and not re-created",
///     }
/// }
/// assert_eq!(describe(Updated::Missing), "no live record: removed or expired, and not re-created");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Updated {
    /// The live record was updated.
    Applied,
    /// No live record had that key (removed or expired); nothing was written.
    Missing,
}

/// What [`SessionStore::rekey`](crate::store::SessionStore::rekey) did.
///
/// # Examples
///
/// ```
/// use typed_sessions::store::Rekeyed;
///
/// fn describe(rekeyed: Rekeyed) -> &'static str {
///     match rekeyed {
///         Rekeyed::Applied => "the session lives under its new key",
///         Rekeyed::Missing => "no live record under the old key: removed or expired meanwhile",
///         Rekeyed::Taken => "a live record already has the new key: draw another",
///     }
/// }
/// assert_eq!(describe(Rekeyed::Taken), "a live record already has the new key: draw another");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rekeyed {
    /// The live record moved to the new key, patched; the old key holds nothing.
    Applied,
    /// No live record had the old key (removed or expired); nothing was written.
    Missing,
    /// A live record already had the new key; nothing was written.
    Taken,
}

/// Whether `value` nests deeper than `limit` arrays and objects (iteratively: the value may be
/// far deeper than the stack allows to recurse). A scalar costs no allocation.
pub(crate) fn nesting_exceeds(value: &Value, limit: usize) -> bool {
    if !matches!(value, Value::Array(_) | Value::Object(_)) {
        return false;
    }
    let mut stack = vec![(value, 0usize)];
    while let Some((value, depth)) = stack.pop() {
        let next = depth + 1;
        match value {
            Value::Array(_) | Value::Object(_) if next > limit => return true,
            Value::Array(items) => stack.extend(items.iter().map(|child| (child, next))),
            Value::Object(map) => stack.extend(map.values().map(|child| (child, next))),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nesting_limit() {
        let nested = |depth: usize| (0..depth).fold(json!(1), |inner, _| json!([inner]));
        assert!(!nesting_exceeds(&json!({"a": [1, {"b": 2}]}), 3));
        assert!(nesting_exceeds(&json!({"a": [1, {"b": [2]}]}), 3));
        assert!(!nesting_exceeds(&nested(100), 100));
        assert!(nesting_exceeds(&nested(101), 100));
        assert!(!nesting_exceeds(&json!("scalar"), 0));
    }
}
