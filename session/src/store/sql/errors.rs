//! sqlx failures and undecodable rows as the crate's errors.

use serde_json::Value;

use super::SqlDialect;
use crate::Error;
use crate::store::Fields;

/// Sorts an sqlx failure into the crate's errors: the server out of reach (I/O, the pool, or a
/// server error that `DB` [recognises](SqlDialect::is_unreachable)) is unavailable, a row that
/// cannot be a record is corrupt, anything else is a store error.
pub(crate) fn map_error<DB: SqlDialect>(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Error::unavailable(e),
        sqlx::Error::Database(db) if DB::is_unreachable(&**db) => Error::unavailable(e),
        sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_) => Error::corrupt(format!("session row: {e}")),
        _ => Error::store(e),
    }
}

/// A column of a session row that cannot be read: the row is corrupt.
pub(crate) fn corrupt_column(e: sqlx::Error) -> Error {
    Error::corrupt(format!("session row: {e}"))
}

/// The fields of a record from its `data`, which must be a JSON object.
pub(crate) fn object(data: Value) -> Result<Fields, Error> {
    match data {
        Value::Object(fields) => Ok(fields),
        other => Err(Error::corrupt(format!(
            "session data is JSON {}, not an object",
            json_kind(&other)
        ))),
    }
}

/// What kind of JSON `value` is, for error messages.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_an_object_is_a_record() {
        assert!(object(json!({"a": 1})).is_ok());
        for data in [
            json!([1]),
            json!("text"),
            json!(null),
            json!(3),
            json!(true),
        ] {
            assert!(matches!(object(data), Err(Error::Corrupt(_))));
        }
    }
}
