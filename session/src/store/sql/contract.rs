//! The store contract over SQL: each operation is one statement (MySQL's `create` two), every
//! parameter bound, "now" from the store's clock.

use sqlx::error::ErrorKind;
use time::OffsetDateTime;

use super::errors::map_error;
use super::statements::{self, Create};
use super::{SqlDialect, SqlStore};
use crate::Error;
use crate::store::{Created, IndexDigest, Patch, Record, Rekeyed, SessionStore, StoreKey, Updated};

/// `key` as it is bound.
fn text<DB: SqlDialect>(key: &StoreKey) -> DB::Text<'_> {
    DB::Text::from(key.as_str())
}

/// An `UPDATE`'s affected rows as an outcome: no row means no live session.
fn applied(rows: u64) -> Updated {
    if rows == 0 {
        Updated::Missing
    } else {
        Updated::Applied
    }
}

impl<DB: SqlDialect> SessionStore for SqlStore<DB> {
    async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        let query = sqlx::query(self.sql.load.clone())
            .bind(text::<DB>(key))
            .bind(self.now());
        let row = DB::fetch_optional(&self.pool, query)
            .await
            .map_err(map_error::<DB>)?;
        row.as_ref().map(DB::decode).transpose()
    }

    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, Error> {
        for (field, value) in record.fields() {
            DB::check_value(field, value)?;
        }
        let data = DB::data(record.fields())?;
        let (created, expires) = (DB::time(record.created()), DB::time(record.expires()));
        match &self.sql.create {
            Create::Upsert(upsert) => {
                let query = sqlx::query(upsert.clone())
                    .bind(text::<DB>(key))
                    .bind(data)
                    .bind(created)
                    .bind(expires)
                    .bind(self.now());
                Ok(if self.run(query).await? == 0 {
                    Created::AlreadyExists
                } else {
                    Created::Stored
                })
            }
            Create::ClearThenInsert { clear, insert } => {
                let clear = sqlx::query(clear.clone())
                    .bind(text::<DB>(key))
                    .bind(self.now());
                self.run(clear).await?;
                let insert = sqlx::query(insert.clone())
                    .bind(text::<DB>(key))
                    .bind(data)
                    .bind(created)
                    .bind(expires);
                match DB::execute(&self.pool, insert).await {
                    Ok(_) => Ok(Created::Stored),
                    Err(sqlx::Error::Database(e)) if e.kind() == ErrorKind::UniqueViolation => {
                        Ok(Created::AlreadyExists)
                    }
                    Err(e) => Err(map_error::<DB>(e)),
                }
            }
        }
    }

    async fn patch(&self, key: &StoreKey, patch: &Patch) -> Result<Updated, Error> {
        for (field, value) in patch.changed() {
            DB::check_value(field, value)?;
        }
        let sql = statements::patch::<DB>(
            &self.sql.table,
            patch.removed().len(),
            patch.changed().len(),
        );
        let query = DB::bind_patch(sqlx::query(sql), patch)
            .bind(DB::time(patch.expires()))
            .bind(text::<DB>(key))
            .bind(self.now());
        Ok(applied(self.run(query).await?))
    }

    async fn rekey(&self, old: &StoreKey, new: &StoreKey, patch: &Patch) -> Result<Rekeyed, Error> {
        for (field, value) in patch.changed() {
            DB::check_value(field, value)?;
        }
        let sql = statements::rekey::<DB>(
            &self.sql.table,
            patch.removed().len(),
            patch.changed().len(),
        );
        let query = DB::bind_patch(sqlx::query(sql), patch)
            .bind(DB::time(patch.expires()))
            .bind(text::<DB>(new))
            .bind(text::<DB>(old))
            .bind(self.now());
        match DB::execute(&self.pool, query).await {
            Ok(0) => Ok(Rekeyed::Missing),
            Ok(_) => Ok(Rekeyed::Applied),
            // A row under the new key, live or not yet deleted: the layer draws another.
            Err(sqlx::Error::Database(e)) if e.kind() == ErrorKind::UniqueViolation => {
                Ok(Rekeyed::Taken)
            }
            Err(e) => Err(map_error::<DB>(e)),
        }
    }

    /// Always: one table holds every key.
    fn can_rekey(&self, _old: &StoreKey, _new: &StoreKey) -> bool {
        true
    }

    async fn remove(&self, key: &StoreKey) -> Result<(), Error> {
        let query = sqlx::query(self.sql.remove.clone()).bind(text::<DB>(key));
        self.run(query).await?;
        Ok(())
    }

    async fn touch(&self, key: &StoreKey, expires: OffsetDateTime) -> Result<Updated, Error> {
        let query = sqlx::query(self.sql.touch.clone())
            .bind(DB::time(expires))
            .bind(text::<DB>(key))
            .bind(self.now());
        Ok(applied(self.run(query).await?))
    }

    /// One `SELECT` on the `$index` member of `data`, through an index: on that expression on
    /// PostgreSQL and SQLite, on a generated column holding it on MySQL and MariaDB. The index
    /// lives in the row, so it is deleted with it: nothing piles up.
    async fn list_indexed(&self, index: &IndexDigest) -> Result<Vec<(StoreKey, Record)>, Error> {
        let query = sqlx::query(self.sql.list_indexed.clone())
            .bind(DB::Text::from(index.as_str()))
            .bind(self.now());
        let rows = DB::fetch_all(&self.pool, query)
            .await
            .map_err(map_error::<DB>)?;
        rows.iter()
            .map(|row| {
                let key = DB::row_key(row).map_err(super::errors::corrupt_column)?;
                let key = StoreKey::from_digest_hex(key)
                    .ok_or_else(|| Error::corrupt("a session row's key is not a store key"))?;
                Ok((key, DB::decode(row)?))
            })
            .collect()
    }

    /// `"postgres"`, `"mysql"` or `"sqlite"`.
    fn kind(&self) -> &'static str {
        DB::KIND
    }
}
