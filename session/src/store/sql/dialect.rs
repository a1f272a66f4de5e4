//! What a database supplies to [`SqlStore`](super::SqlStore): the statements that differ, how
//! times and JSON are bound and decoded, how to connect, which server errors mean "unavailable".

use std::future::Future;

use serde_json::Value;
use sqlx::error::DatabaseError;
use sqlx::query::Query;
use sqlx::{Database, Encode, Pool, Type};
use time::OffsetDateTime;

use crate::Error;
use crate::store::{Fields, Patch, Record};

/// A query of `DB` whose statement is owned, with its arguments as they are bound.
pub(crate) type DbQuery<DB> = Query<'static, DB, <DB as Database>::Arguments>;

/// A database that [`SqlStore`](super::SqlStore) speaks: [`sqlx::Postgres`] (see
/// [`PostgresStore`](super::PostgresStore)), [`sqlx::MySql`] (see
/// [`MySqlStore`](super::MySqlStore)) and [`sqlx::Sqlite`] (see
/// [`SqliteStore`](super::SqliteStore)).
///
/// Sealed: only this crate implements it, and its items are the crate's business (the SQL of
/// each statement that differs between databases, how times and JSON are bound and decoded,
/// which server errors mean "unavailable").
///
/// # Examples
///
/// Code generic over the SQL stores:
///
/// ```
/// use typed_sessions::store::{SqlDialect, SqlStore};
///
/// fn describe<DB: SqlDialect>(store: &SqlStore<DB>) -> String {
///     format!("sessions in the table {}", store.table_name())
/// }
/// # let _ = describe::<sqlx::Sqlite>;
/// ```
pub trait SqlDialect: Database + sealed::Sealed {
    /// The store's type name, for `Debug`.
    #[doc(hidden)]
    const STORE: &'static str;

    /// The store's kind, for spans and metrics ([`SessionStore::kind`](crate::store::SessionStore::kind)).
    #[doc(hidden)]
    const KIND: &'static str;

    /// The statements that create the table and its indexes, unless they exist; `{table}`
    /// stands for the table name.
    #[doc(hidden)]
    const SCHEMA: &'static [&'static str];

    /// Whether `create` is one upsert that replaces only an expired row (else: delete the
    /// expired row under the key, then a plain insert that the primary key refuses).
    #[doc(hidden)]
    const CREATE_BY_UPSERT: bool = true;

    /// At most how many rows one `DELETE` of expired sessions removes (`None`: all at once).
    #[doc(hidden)]
    const DELETE_BATCH: Option<u64> = None;

    /// The SQL expression of the `$index` member of `data`, as text (see
    /// [`INDEX_FIELD`](crate::store::INDEX_FIELD)), or a column computed from it: what listing
    /// a user's sessions compares.
    #[doc(hidden)]
    const INDEX_MEMBER: &'static str;

    /// A time as it is bound.
    #[doc(hidden)]
    type Time: Encode<'static, Self> + Type<Self> + Send;

    /// A string as it is bound.
    #[doc(hidden)]
    type Text<'a>: Encode<'static, Self> + Type<Self> + Send + From<&'a str>;

    /// A record's fields as they are bound.
    #[doc(hidden)]
    type Data<'a>: Encode<'static, Self> + Type<Self> + Send;

    /// A statement written with `` ` `` quoted names and `?` parameters, in this database's SQL.
    #[doc(hidden)]
    fn render(template: &str) -> String;

    /// `at` as it is bound.
    #[doc(hidden)]
    fn time(at: OffsetDateTime) -> Self::Time;

    /// `fields` as they are bound.
    ///
    /// # Errors
    ///
    /// When they cannot be encoded.
    #[doc(hidden)]
    fn data(fields: &Fields) -> Result<Self::Data<'_>, Error>;

    /// Refuses a field value that this database cannot store faithfully.
    ///
    /// # Errors
    ///
    /// [`Error::store`] naming the field.
    #[doc(hidden)]
    fn check_value(_field: &str, _value: &Value) -> Result<(), Error> {
        Ok(())
    }

    /// The SQL expression of a patch's new `data`, for that many removed and changed fields.
    #[doc(hidden)]
    fn patch_data(removed: usize, changed: usize) -> String;

    /// Binds the parameters of [`patch_data`](Self::patch_data).
    #[doc(hidden)]
    fn bind_patch(query: DbQuery<Self>, patch: &Patch) -> DbQuery<Self>;

    /// A row of `SELECT data, created, expires` as a record.
    ///
    /// # Errors
    ///
    /// [`Error::corrupt`] for a row that is not a session record.
    #[doc(hidden)]
    fn decode(row: &Self::Row) -> Result<Record, Error>;

    /// Whether a server error means that the server is out of reach rather than that the
    /// statement failed.
    #[doc(hidden)]
    fn is_unreachable(error: &dyn DatabaseError) -> bool;

    /// A pool on `url`.
    #[doc(hidden)]
    fn connect(url: &str) -> impl Future<Output = Result<Pool<Self>, Error>> + Send;

    /// Brings `table` (a checked name), made by the [`SCHEMA`](Self::SCHEMA) of an earlier
    /// version, up to date where `SCHEMA` cannot (a column added without `IF NOT EXISTS`); runs
    /// after it. Default: nothing to do.
    #[doc(hidden)]
    fn upgrade(
        _pool: &Pool<Self>,
        _table: &str,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send {
        async { Ok(()) }
    }

    /// Runs `query` on `pool` and answers how many rows it affected.
    #[doc(hidden)]
    fn execute(
        pool: &Pool<Self>,
        query: DbQuery<Self>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;

    /// Runs `query` on `pool` and answers its row, if any.
    #[doc(hidden)]
    fn fetch_optional(
        pool: &Pool<Self>,
        query: DbQuery<Self>,
    ) -> impl Future<Output = Result<Option<Self::Row>, sqlx::Error>> + Send;

    /// The `key` column of a row.
    #[doc(hidden)]
    fn row_key(row: &Self::Row) -> Result<String, sqlx::Error>;

    /// Runs `query` on `pool` and answers its rows.
    #[doc(hidden)]
    fn fetch_all(
        pool: &Pool<Self>,
        query: DbQuery<Self>,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send;
}

/// [`SqlDialect::execute`] and [`SqlDialect::fetch_optional`]: the same text for every database,
/// written per database because generic code could only name the pool's executor through
/// higher-ranked bounds.
macro_rules! pool_calls {
    () => {
        fn execute(
            pool: &sqlx::Pool<Self>,
            query: $crate::store::sql::dialect::DbQuery<Self>,
        ) -> impl std::future::Future<Output = Result<u64, sqlx::Error>> + Send {
            async move { Ok(query.execute(pool).await?.rows_affected()) }
        }

        fn fetch_optional(
            pool: &sqlx::Pool<Self>,
            query: $crate::store::sql::dialect::DbQuery<Self>,
        ) -> impl std::future::Future<Output = Result<Option<Self::Row>, sqlx::Error>> + Send {
            query.fetch_optional(pool)
        }

        fn row_key(row: &Self::Row) -> Result<String, sqlx::Error> {
            sqlx::Row::try_get(row, "key")
        }

        fn fetch_all(
            pool: &sqlx::Pool<Self>,
            query: $crate::store::sql::dialect::DbQuery<Self>,
        ) -> impl std::future::Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send {
            query.fetch_all(pool)
        }
    };
}
pub(crate) use pool_calls;

pub(crate) mod sealed {
    /// Keeps [`SqlDialect`](super::SqlDialect) to the databases of this crate.
    #[doc(hidden)]
    pub trait Sealed {}
}
