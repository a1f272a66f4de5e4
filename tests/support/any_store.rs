//! Any store, so that one layer type serves every backend: the memory store, or a client of a
//! real server connected on first use (apps are built synchronously; connecting is async).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::OnceCell;
use typed_sessions::{
    Error, MemoryStore,
    store::{Created, IndexDigest, Patch, Record, Rekeyed, SessionStore, StoreKey, Updated},
};

#[cfg(feature = "sqlite")]
use crate::backend::SqliteFile;
#[cfg(any(feature = "redis", feature = "postgres", feature = "mysql"))]
use crate::backend::env_url;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
use crate::raw_sql::RawSql;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
use sqlx::Pool;
#[cfg(any(
    feature = "redis",
    feature = "postgres",
    feature = "mysql",
    feature = "sqlite"
))]
use typed_sessions::clock::Clock;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
use typed_sessions::store::{SqlDialect, SqlStore};

type Init<S> = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = S> + Send>> + Send + Sync>;

/// A store connected on first use.
pub struct Lazy<S> {
    cell: Arc<OnceCell<S>>,
    init: Init<S>,
}

impl<S> Clone for Lazy<S> {
    fn clone(&self) -> Self {
        Self {
            cell: self.cell.clone(),
            init: self.init.clone(),
        }
    }
}

impl<S: SessionStore> Lazy<S> {
    #[cfg_attr(
        not(any(
            feature = "redis",
            feature = "postgres",
            feature = "mysql",
            feature = "sqlite"
        )),
        allow(dead_code)
    )]
    fn new<F, Fut>(init: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = S> + Send + 'static,
    {
        Self {
            cell: Arc::new(OnceCell::new()),
            init: Arc::new(move || Box::pin(init())),
        }
    }

    /// The store, connected on the first call.
    pub async fn get(&self) -> &S {
        self.cell.get_or_init(|| (self.init)()).await
    }
}

/// Any store a test runs against; clones share one client.
#[derive(Clone)]
pub enum AnyStore {
    /// A memory store.
    Memory(MemoryStore),
    /// A Redis client, its keys under `<prefix>:`.
    #[cfg(feature = "redis")]
    Redis {
        /// The client.
        store: Lazy<typed_sessions::RedisStore>,
        /// The key prefix, without its `:`.
        prefix: String,
    },
    /// A PostgreSQL client on a table of its own.
    #[cfg(feature = "postgres")]
    Postgres(Lazy<typed_sessions::PostgresStore>),
    /// A MariaDB client on a table of its own.
    #[cfg(feature = "mysql")]
    Mysql(Lazy<typed_sessions::MySqlStore>),
    /// A SQLite database file of its own.
    #[cfg(feature = "sqlite")]
    Sqlite {
        /// The client.
        store: Lazy<typed_sessions::SqliteStore>,
        /// The file, removed when the last client and place holding it go.
        file: Arc<SqliteFile>,
    },
}

#[cfg(feature = "redis")]
impl AnyStore {
    /// A new client of the test Redis, its keys under `<prefix>:`.
    pub fn redis(prefix: String, clock: Option<Clock>) -> Self {
        let p = prefix.clone();
        let store = Lazy::new(move || {
            let (prefix, clock) = (format!("{p}:"), clock.clone());
            async move {
                let store = typed_sessions::RedisStore::connect(&env_url("TS_REDIS_URL"))
                    .await
                    .expect("connect to the test Redis")
                    .with_prefix(prefix);
                match clock {
                    Some(clock) => store.with_clock(clock),
                    None => store,
                }
            }
        });
        Self::Redis { store, prefix }
    }
}

/// A new client of the SQL database at `url`, on `table` (created if missing), or on the
/// default table.
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
fn sql<DB: SqlDialect>(
    url: String,
    table: Option<String>,
    clock: Option<Clock>,
) -> Lazy<SqlStore<DB>> {
    Lazy::new(move || {
        let (url, table, clock) = (url.clone(), table.clone(), clock.clone());
        async move {
            let mut store = SqlStore::<DB>::connect(&url)
                .await
                .unwrap_or_else(|e| panic!("connect to the test database {url}: {e}"));
            if let Some(table) = table {
                store = store.with_table_name(table).expect("a valid table name");
            }
            if let Some(clock) = clock {
                store = store.with_clock(clock);
            }
            store.migrate().await.expect("create the table");
            store
        }
    })
}

#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
impl AnyStore {
    /// A new client of the test PostgreSQL, on `table` (created if missing).
    #[cfg(feature = "postgres")]
    pub fn postgres(table: String, clock: Option<Clock>) -> Self {
        let store = sql(env_url("TS_POSTGRES_URL"), Some(table), clock);
        Self::Postgres(store)
    }

    /// A new client of the test MariaDB, on `table` (created if missing).
    #[cfg(feature = "mysql")]
    pub fn mysql(table: String, clock: Option<Clock>) -> Self {
        let store = sql(env_url("TS_MYSQL_URL"), Some(table), clock);
        Self::Mysql(store)
    }

    /// A new client of the SQLite database in `file` (created if missing).
    #[cfg(feature = "sqlite")]
    pub fn sqlite(file: Arc<SqliteFile>, clock: Option<Clock>) -> Self {
        let store = sql(file.url(), None, clock);
        Self::Sqlite { store, file }
    }
}

impl AnyStore {
    /// The number of sessions stored (live or not yet swept).
    pub async fn len(&self) -> usize {
        match self {
            Self::Memory(store) => store.len(),
            #[cfg(feature = "redis")]
            Self::Redis { store, prefix } => {
                store.get().await;
                redis_keys(prefix).await.len()
            }
            #[cfg(feature = "postgres")]
            Self::Postgres(store) => sql_len(store.get().await).await,
            #[cfg(feature = "mysql")]
            Self::Mysql(store) => sql_len(store.get().await).await,
            #[cfg(feature = "sqlite")]
            Self::Sqlite { store, .. } => sql_len(store.get().await).await,
        }
    }

    /// Whether no session is stored.
    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }

    /// Forgets every session of this store.
    pub async fn clear(&self) {
        match self {
            Self::Memory(store) => store.clear(),
            #[cfg(feature = "redis")]
            Self::Redis { store, prefix } => {
                let store = store.get().await;
                for key in redis_keys(prefix).await {
                    let hex = key.rsplit(':').next().unwrap().to_owned();
                    store
                        .remove(&StoreKey::from_digest_hex(hex).unwrap())
                        .await
                        .unwrap();
                }
            }
            #[cfg(feature = "postgres")]
            Self::Postgres(store) => sql_clear(store.get().await).await,
            #[cfg(feature = "mysql")]
            Self::Mysql(store) => sql_clear(store.get().await).await,
            #[cfg(feature = "sqlite")]
            Self::Sqlite { store, .. } => sql_clear(store.get().await).await,
        }
    }
}

impl AnyStore {
    /// Sets field `field` of the stored session `key` to `value` behind the store's back, as
    /// an operator editing the database would: raw SQL, a Redis `HSET`, or (the memory store,
    /// which has nothing outside the process) a patch that keeps the record's expiry.
    ///
    /// # Panics
    ///
    /// When the session is not stored, or the edit fails.
    pub async fn overwrite_field(&self, key: &StoreKey, field: &str, value: &serde_json::Value) {
        match self {
            Self::Memory(store) => {
                let record = store.load(key).await.unwrap().expect("a stored session");
                let mut changed = typed_sessions::store::Fields::new();
                changed.insert(field.to_owned(), value.clone());
                let patch = Patch::new(changed, Vec::new(), record.expires());
                assert_eq!(store.patch(key, &patch).await.unwrap(), Updated::Applied);
            }
            #[cfg(feature = "redis")]
            Self::Redis { store, .. } => {
                let name = store.get().await.redis_key(key);
                let client = redis::Client::open(env_url("TS_REDIS_URL")).unwrap();
                let json = value.to_string();
                let mut connection = client.get_multiplexed_async_connection().await.unwrap();
                let set: i64 = redis::cmd("HSET")
                    .arg(name)
                    .arg(format!("f:{field}"))
                    .arg(json)
                    .query_async(&mut connection)
                    .await
                    .unwrap();
                assert_eq!(set, 0, "the field existed and was replaced, not added");
            }
            #[cfg(feature = "postgres")]
            Self::Postgres(store) => {
                let store = store.get().await;
                let (json, hex) = (value.to_string(), key.as_str());
                let table = store.table_name();
                let sql = format!(
                    "UPDATE {table} SET data = jsonb_set(data, '{{\"{field}\"}}', '{json}'::jsonb) \
                     WHERE key = '{hex}'"
                );
                store.pool().execute(sql).await;
            }
            #[cfg(feature = "mysql")]
            Self::Mysql(store) => {
                let store = store.get().await;
                let (json, hex) = (value.to_string(), key.as_str());
                let table = store.table_name();
                let sql = format!(
                    "UPDATE {table} SET data = JSON_SET(data, '$.\"{field}\"', \
                     JSON_EXTRACT('{json}', '$')) WHERE `key` = '{hex}'"
                );
                store.pool().execute(sql).await;
            }
            #[cfg(feature = "sqlite")]
            Self::Sqlite { store, .. } => {
                let store = store.get().await;
                let (json, hex) = (value.to_string(), key.as_str());
                let table = store.table_name();
                let sql = format!(
                    "UPDATE {table} SET data = json_set(data, '$.\"{field}\"', json('{json}')) \
                     WHERE key = '{hex}'"
                );
                store.pool().execute(sql).await;
            }
        }
    }
}

/// The rows of a SQL store's table.
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
async fn sql_len<DB: SqlDialect>(store: &SqlStore<DB>) -> usize
where
    Pool<DB>: RawSql,
{
    let rows = store.pool().count_rows(store.table_name()).await;
    usize::try_from(rows).unwrap()
}

/// Deletes every row of a SQL store's table.
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
async fn sql_clear<DB: SqlDialect>(store: &SqlStore<DB>)
where
    Pool<DB>: RawSql,
{
    let table = store.table_name();
    store.pool().execute(format!("DELETE FROM {table}")).await;
}

#[cfg(feature = "redis")]
async fn redis_keys(prefix: &str) -> Vec<String> {
    let client = redis::Client::open(env_url("TS_REDIS_URL")).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut connection)
        .await
        .unwrap()
}

/// Runs `$call` on whichever store `$self` is.
macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Memory($store) => $call,
            #[cfg(feature = "redis")]
            AnyStore::Redis { store, .. } => {
                let $store = store.get().await;
                $call
            }
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(store) => {
                let $store = store.get().await;
                $call
            }
            #[cfg(feature = "mysql")]
            AnyStore::Mysql(store) => {
                let $store = store.get().await;
                $call
            }
            #[cfg(feature = "sqlite")]
            AnyStore::Sqlite { store, .. } => {
                let $store = store.get().await;
                $call
            }
        }
    };
}

impl SessionStore for AnyStore {
    async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        delegate!(self, store => store.load(key).await)
    }
    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, Error> {
        delegate!(self, store => store.create(key, record).await)
    }
    async fn patch(&self, key: &StoreKey, patch: &Patch) -> Result<Updated, Error> {
        delegate!(self, store => store.patch(key, patch).await)
    }
    async fn remove(&self, key: &StoreKey) -> Result<(), Error> {
        delegate!(self, store => store.remove(key).await)
    }
    async fn touch(&self, key: &StoreKey, expires: OffsetDateTime) -> Result<Updated, Error> {
        delegate!(self, store => store.touch(key, expires).await)
    }
    async fn rekey(&self, old: &StoreKey, new: &StoreKey, patch: &Patch) -> Result<Rekeyed, Error> {
        delegate!(self, store => store.rekey(old, new, patch).await)
    }
    async fn list_indexed(&self, index: &IndexDigest) -> Result<Vec<(StoreKey, Record)>, Error> {
        delegate!(self, store => store.list_indexed(index).await)
    }
    // Every store a test runs here can move a session between any two keys (Redis standalone;
    // the Cluster's tests use `RedisStore` itself).
    fn can_rekey(&self, _old: &StoreKey, _new: &StoreKey) -> bool {
        true
    }

    /// The kind of the store behind (known before it connects).
    fn kind(&self) -> &'static str {
        match self {
            AnyStore::Memory(_) => "memory",
            #[cfg(feature = "redis")]
            AnyStore::Redis { .. } => "redis",
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(_) => "postgres",
            #[cfg(feature = "mysql")]
            AnyStore::Mysql(_) => "mysql",
            #[cfg(feature = "sqlite")]
            AnyStore::Sqlite { .. } => "sqlite",
        }
    }
}
