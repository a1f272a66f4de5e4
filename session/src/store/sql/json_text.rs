//! What MySQL and SQLite share: the fields as JSON text patched by JSON functions over member
//! paths, the times as Unix milliseconds.

use sqlx::{ColumnIndex, Database, Decode, Encode, Row, Type};
use time::OffsetDateTime;

use super::dialect::DbQuery;
use super::errors::{corrupt_column, object};
use crate::Error;
use crate::store::{Patch, Record};

/// How a database spells the JSON functions of a patch, and how many arguments one call takes.
pub(crate) struct JsonFunctions {
    /// Removes the members at the paths that follow the document.
    pub(crate) remove: &'static str,
    /// Sets path/value pairs in the document.
    pub(crate) set: &'static str,
    /// A bound JSON text as a JSON value of its own type (not as a JSON string).
    pub(crate) value: &'static str,
    /// Paths per call of [`remove`](Self::remove).
    pub(crate) remove_per_call: usize,
    /// Path/value pairs per call of [`set`](Self::set).
    pub(crate) set_per_call: usize,
}

impl JsonFunctions {
    /// The new `data` after a patch: removals first, then the changed fields, each path and
    /// value a parameter; more arguments than one call takes nest calls.
    pub(crate) fn patch_data(&self, removed: usize, changed: usize) -> String {
        let mut data = String::from("`data`");
        for chunk in chunks(removed, self.remove_per_call) {
            data = format!("{}({data}{})", self.remove, ", ?".repeat(chunk));
        }
        let pair = format!(", ?, {}", self.value);
        for chunk in chunks(changed, self.set_per_call) {
            data = format!("{}({data}{})", self.set, pair.repeat(chunk));
        }
        data
    }
}

/// Binds the parameters of [`JsonFunctions::patch_data`]: each removed field's path, then each
/// changed field's path and JSON text.
pub(crate) fn bind_patch<DB: Database>(mut query: DbQuery<DB>, patch: &Patch) -> DbQuery<DB>
where
    String: Encode<'static, DB> + Type<DB>,
{
    for field in patch.removed() {
        query = query.bind(member_path(field));
    }
    for (field, value) in patch.changed() {
        query = query.bind(member_path(field)).bind(value.to_string());
    }
    query
}

/// Sizes of the chunks `total` items are split into, at most `per` each.
pub(crate) fn chunks(total: usize, per: usize) -> impl Iterator<Item = usize> {
    (0..total.div_ceil(per)).map(move |i| per.min(total - i * per))
}

/// The JSON path of the top-level member `key`, whatever characters it holds: `$.` followed by
/// the key as a JSON string literal, which PostgreSQL, SQLite, MySQL and MariaDB all decode, so
/// `.`, `"`, `\`, `[`, `*` and spaces are plain characters.
pub(crate) fn member_path(key: &str) -> String {
    format!("$.{}", serde_json::Value::from(key))
}

/// A row of `SELECT data, created, expires` as a record, its `data` already read as `json`.
///
/// # Errors
///
/// [`Error::corrupt`] unless `json` is a JSON object and both times are Unix milliseconds
/// in range.
pub(crate) fn decode_text_row<R: Row>(json: &[u8], row: &R) -> Result<Record, Error>
where
    i64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    for<'c> &'c str: ColumnIndex<R>,
{
    let data = serde_json::from_slice(json)
        .map_err(|e| Error::corrupt(format!("session data is not JSON: {e}")))?;
    let time = |column: &str| {
        let millis: i64 = row.try_get(column).map_err(corrupt_column)?;
        from_unix_millis(millis, column)
    };
    Ok(Record::new(
        object(data)?,
        time("created")?,
        time("expires")?,
    ))
}

/// The time `millis` Unix milliseconds stand for, or a corrupt-record error naming `column`.
pub(crate) fn from_unix_millis(millis: i64, column: &str) -> Result<OffsetDateTime, Error> {
    crate::clock::from_unix_ms(millis)
        .ok_or_else(|| Error::corrupt(format!("session {column} time {millis} is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::unix_ms;

    #[test]
    fn member_paths_quote_any_key() {
        assert_eq!(member_path("views"), r#"$."views""#);
        assert_eq!(member_path(r#"a."b"[0] \c"#), r#"$."a.\"b\"[0] \\c""#);
    }

    #[test]
    fn millis_round_trip() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_999_999).unwrap();
        let back = from_unix_millis(unix_ms(at), "created").unwrap();
        assert_eq!(back.unix_timestamp_nanos(), 1_700_000_000_123_000_000);
        assert!(from_unix_millis(i64::MAX, "created").is_err());
    }

    #[test]
    fn millis_round_down() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_500_999_999).unwrap();
        assert_eq!(unix_ms(at), 1_500);
        let before = OffsetDateTime::from_unix_timestamp_nanos(-1).unwrap();
        assert_eq!(unix_ms(before), -1);
        assert_eq!(
            from_unix_millis(1_500, "created")
                .unwrap()
                .unix_timestamp_nanos(),
            1_500_000_000
        );
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(chunks(0, 3).collect::<Vec<_>>(), Vec::<usize>::new());
        assert_eq!(chunks(7, 3).collect::<Vec<_>>(), [3, 3, 1]);
        assert_eq!(chunks(6, 3).collect::<Vec<_>>(), [3, 3]);
        assert_eq!(chunks(5, usize::MAX).collect::<Vec<_>>(), [5]);
    }
}
