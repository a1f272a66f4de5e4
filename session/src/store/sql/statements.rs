//! The statements of one table, written once with `` ` `` quoted names and `?` parameters and
//! rendered in each database's SQL by its [`SqlDialect::render`].

use std::sync::Arc;

use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

use super::SqlDialect;
use crate::Error;

/// Binds the key and now.
const LOAD: &str =
    "SELECT `data`, `created`, `expires` FROM `{table}` WHERE `key` = ? AND `expires` > ?";
/// Binds the key, the data, created and expires.
const INSERT: &str =
    "INSERT INTO `{table}` (`key`, `data`, `created`, `expires`) VALUES (?, ?, ?, ?)";
/// After [`INSERT`], for the databases that upsert: replaces only an expired row; binds now.
const UPSERT: &str = " ON CONFLICT (`key`) DO UPDATE \
     SET `data` = excluded.`data`, `created` = excluded.`created`, `expires` = excluded.`expires` \
     WHERE `{table}`.`expires` <= ?";
/// Binds the key and now.
const CLEAR_EXPIRED_KEY: &str = "DELETE FROM `{table}` WHERE `key` = ? AND `expires` <= ?";
/// Binds the new expiry, the key and now.
const TOUCH: &str = "UPDATE `{table}` SET `expires` = ? WHERE `key` = ? AND `expires` > ?";
/// Binds the key.
const REMOVE: &str = "DELETE FROM `{table}` WHERE `key` = ?";
/// Binds the index digest and now; `{index}` stands for the dialect's `$index` member.
const LIST_INDEXED: &str = "SELECT `key`, `data`, `created`, `expires` FROM `{table}` \
     WHERE {index} = ? AND `expires` > ?";
/// Binds now.
const DELETE_EXPIRED: &str = "DELETE FROM `{table}` WHERE `expires` <= ?";

/// The index on `expires`, for the databases that can create it on its own, unless it exists.
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub(crate) const EXPIRY_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS `{table}_expires` ON `{table}` (`expires`)";

/// The statements of one table, built once (the table name is spliced in, after
/// [`check_table_name`]); a patch's statement depends on its shape and is built per call by
/// [`patch`].
pub(crate) struct Statements {
    pub(crate) table: String,
    pub(crate) migrate: Vec<SqlStr>,
    pub(crate) load: SqlStr,
    pub(crate) create: Create,
    pub(crate) touch: SqlStr,
    pub(crate) remove: SqlStr,
    pub(crate) delete_expired: SqlStr,
    pub(crate) list_indexed: SqlStr,
}

/// How `create` stores a record without overwriting a live one.
pub(crate) enum Create {
    /// One `INSERT ... ON CONFLICT DO UPDATE ... WHERE` the row has expired: binds the key, the
    /// data, created, expires and now; no affected row means a live row holds the key.
    Upsert(SqlStr),
    /// Deletes an expired row under the key (binds the key and now), then inserts (binds the
    /// key, the data, created and expires): the primary key refuses a live row.
    ClearThenInsert { clear: SqlStr, insert: SqlStr },
}

impl Statements {
    /// The statements of `table` in `DB`'s SQL.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `table` is not a valid table name.
    pub(crate) fn new<DB: SqlDialect>(table: &str) -> Result<Self, Error> {
        check_table_name(table)?;
        let sql = |template: &str| statement::<DB>(template, table);
        let create = if DB::CREATE_BY_UPSERT {
            Create::Upsert(sql(&format!("{INSERT}{UPSERT}")))
        } else {
            Create::ClearThenInsert {
                clear: sql(CLEAR_EXPIRED_KEY),
                insert: sql(INSERT),
            }
        };
        let delete_expired = match DB::DELETE_BATCH {
            None => sql(DELETE_EXPIRED),
            Some(batch) => sql(&format!(
                "{DELETE_EXPIRED} ORDER BY `expires` LIMIT {batch}"
            )),
        };
        Ok(Self {
            table: table.to_owned(),
            migrate: DB::SCHEMA.iter().map(|schema| sql(schema)).collect(),
            load: sql(LOAD),
            create,
            touch: sql(TOUCH),
            remove: sql(REMOVE),
            delete_expired,
            list_indexed: sql(&LIST_INDEXED.replace("{index}", DB::INDEX_MEMBER)),
        })
    }
}

/// The `UPDATE` applying a patch of `removed` and `changed` fields to `table`: the patch's
/// parameters ([`SqlDialect::bind_patch`]), then the expiry, the key and now.
pub(crate) fn patch<DB: SqlDialect>(table: &str, removed: usize, changed: usize) -> SqlStr {
    update::<DB>(table, removed, changed, "")
}

/// The `UPDATE` moving the live row to a new key and applying a patch to it, in one
/// statement: the patch's parameters, then the expiry, the new key, the old key and now. A
/// row already under the new key makes it fail as a duplicate key.
pub(crate) fn rekey<DB: SqlDialect>(table: &str, removed: usize, changed: usize) -> SqlStr {
    update::<DB>(table, removed, changed, ", `key` = ?")
}

fn update<DB: SqlDialect>(table: &str, removed: usize, changed: usize, also: &str) -> SqlStr {
    let data = DB::patch_data(removed, changed);
    statement::<DB>(
        &format!(
            "UPDATE `{{table}}` SET `data` = {data}, `expires` = ?{also} \
             WHERE `key` = ? AND `expires` > ?"
        ),
        table,
    )
}

/// `template` for `table` in `DB`'s SQL: its only dynamic part is the checked table name, all
/// data is bound. Cheap to clone.
pub(crate) fn statement<DB: SqlDialect>(template: &str, table: &str) -> SqlStr {
    let text = DB::render(&template.replace("{table}", table));
    AssertSqlSafe(Arc::<str>::from(text)).into_sql_str()
}

/// `template` without its `` ` `` quotes, for the databases whose names need none (the table
/// name is checked, and every column name is a plain word).
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub(crate) fn unquoted(template: &str) -> String {
    template.replace('`', "")
}

/// `template` with its `?` parameters numbered `$1`, `$2`, ... (it holds no `?` in a string).
#[cfg(feature = "postgres")]
pub(crate) fn numbered(template: &str) -> String {
    use std::fmt::Write as _;

    let mut text = String::with_capacity(template.len() + 8);
    let mut parameters = 0;
    for c in template.chars() {
        if c == '?' {
            parameters += 1;
            let _ = write!(text, "${parameters}");
        } else {
            text.push(c);
        }
    }
    text
}

/// Checks that `name` can be spliced into SQL as a table name: ASCII letters, digits and `_`,
/// not starting with a digit, at most 63 bytes.
pub(crate) fn check_table_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && !name.as_bytes()[0].is_ascii_digit()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "invalid session table name {name:?}: use ASCII letters, digits and `_`"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        assert!(check_table_name("sessions").is_ok());
        assert!(check_table_name("app_sessions_2").is_ok());
        for bad in ["", "1x", "a-b", "a;drop table x", "\"x\"", &"a".repeat(64)] {
            assert!(check_table_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    #[cfg(feature = "postgres")]
    fn parameters_are_numbered_and_quotes_dropped() {
        assert_eq!(
            numbered(&unquoted("UPDATE `t` SET `a` = ?::text[] WHERE `b` = ?")),
            "UPDATE t SET a = $1::text[] WHERE b = $2"
        );
        assert_eq!(unquoted("`x`"), "x");
    }
}
