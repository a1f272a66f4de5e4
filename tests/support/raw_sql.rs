//! Raw SQL on a test database, for looking at and tampering with rows behind a store's back.

use sqlx::{
    AssertSqlSafe, ColumnIndex, Database, Decode, Executor, IntoArguments, Pool, Row, Type,
};

/// Raw SQL on a test database, to look at and tamper with rows behind the store's back.
#[allow(async_fn_in_trait)]
pub trait RawSql {
    /// Runs `sql`.
    async fn execute(&self, sql: String);

    /// The first column of each row of `sql`, as text.
    async fn strings(&self, sql: String) -> Vec<String>;

    /// How many rows `table` has.
    async fn count_rows(&self, table: &str) -> i64;
}

impl<DB> RawSql for Pool<DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    usize: ColumnIndex<DB::Row>,
    i64: Type<DB> + for<'r> Decode<'r, DB>,
    String: Type<DB> + for<'r> Decode<'r, DB>,
{
    async fn execute(&self, sql: String) {
        let done = sqlx::query::<DB>(AssertSqlSafe(sql)).execute(self).await;
        done.expect("raw statement");
    }

    async fn strings(&self, sql: String) -> Vec<String> {
        let rows = sqlx::query::<DB>(AssertSqlSafe(sql)).fetch_all(self).await;
        let rows = rows.expect("raw query");
        rows.iter().map(|row| row.get::<String, _>(0)).collect()
    }

    async fn count_rows(&self, table: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM {table}");
        let row = sqlx::query::<DB>(AssertSqlSafe(sql)).fetch_one(self).await;
        row.expect("counting rows").get::<i64, _>(0)
    }
}
