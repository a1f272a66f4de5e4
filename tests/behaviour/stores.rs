//! The stores behind the spy: the memory store, and the real servers `scripts/test` starts, so
//! that every case that applies to an external store runs against Redis, PostgreSQL and
//! MariaDB, and SQLite too. Each app gets its own key prefix, table or database, so tests never
//! see each other.

#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use time::OffsetDateTime;
use tokio::sync::OnceCell;
use typed_sessions::{
    Error, MemoryStore,
    clock::Clock,
    store::{Created, Patch, Record, SessionStore, StoreKey, Updated},
};

use crate::harness::Backend;

type Init<S> = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = S> + Send>> + Send + Sync>;

/// A store connected on first use (tests build apps synchronously; connecting is async).
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

    async fn get(&self) -> &S {
        self.cell.get_or_init(|| (self.init)()).await
    }
}

/// A unique name for this process and app.
fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Where this run's SQLite databases go: emptied once per run, under cargo's target directory.
#[cfg(feature = "sqlite")]
fn sqlite_dir() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("behaviour-sqlite");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a directory for the SQLite test databases");
        dir
    })
    .clone()
}

/// The address of a test server.
pub fn env_url(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: run the behaviour tests through `scripts/test`, which starts \
             Redis, PostgreSQL and MariaDB and exports their addresses"
        )
    })
}

/// Any store a behaviour case runs against.
#[derive(Clone)]
pub enum AnyStore {
    Memory(MemoryStore),
    #[cfg(feature = "redis")]
    Redis {
        store: Lazy<typed_sessions::RedisStore>,
        prefix: String,
    },
    #[cfg(feature = "postgres")]
    Postgres {
        store: Lazy<typed_sessions::PostgresStore>,
        table: String,
    },
    #[cfg(feature = "mysql")]
    Mysql {
        store: Lazy<typed_sessions::MySqlStore>,
        table: String,
    },
    #[cfg(feature = "sqlite")]
    Sqlite {
        store: Lazy<typed_sessions::SqliteStore>,
        url: String,
    },
}

impl AnyStore {
    /// The store for `backend`, reading the time from `clock`.
    pub fn for_backend(backend: Backend, clock: Clock) -> Self {
        match backend {
            Backend::Cookie => panic!("the cookie backend has no store"),
            Backend::Memory => Self::Memory(MemoryStore::new().with_clock(clock)),
            #[cfg(feature = "redis")]
            Backend::Redis => {
                let prefix = unique("bt");
                let p = prefix.clone();
                let store = Lazy::new(move || {
                    let (prefix, clock) = (format!("{p}:"), clock.clone());
                    async move {
                        typed_sessions::RedisStore::connect(&env_url("TS_REDIS_URL"))
                            .await
                            .expect("connect to the test Redis")
                            .with_prefix(prefix)
                            .with_clock(clock)
                    }
                });
                Self::Redis { store, prefix }
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let table = unique("bt_");
                let t = table.clone();
                let store = Lazy::new(move || {
                    let (table, clock) = (t.clone(), clock.clone());
                    async move {
                        let store =
                            typed_sessions::PostgresStore::connect(&env_url("TS_POSTGRES_URL"))
                                .await
                                .expect("connect to the test PostgreSQL")
                                .with_table_name(table)
                                .expect("a valid table name")
                                .with_clock(clock);
                        store.migrate().await.expect("create the table");
                        store
                    }
                });
                Self::Postgres { store, table }
            }
            #[cfg(feature = "mysql")]
            Backend::Mysql => {
                let table = unique("bt_");
                let t = table.clone();
                let store = Lazy::new(move || {
                    let (table, clock) = (t.clone(), clock.clone());
                    async move {
                        let store = typed_sessions::MySqlStore::connect(&env_url("TS_MYSQL_URL"))
                            .await
                            .expect("connect to the test MariaDB")
                            .with_table_name(table)
                            .expect("a valid table name")
                            .with_clock(clock);
                        store.migrate().await.expect("create the table");
                        store
                    }
                });
                Self::Mysql { store, table }
            }
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                let path = sqlite_dir().join(format!("{}.sqlite", unique("bt")));
                let url = format!("sqlite://{}?mode=rwc", path.display());
                let u = url.clone();
                let store = Lazy::new(move || {
                    let (url, clock) = (u.clone(), clock.clone());
                    async move {
                        let store = typed_sessions::SqliteStore::connect(&url)
                            .await
                            .expect("open the test SQLite database")
                            .with_clock(clock);
                        store.migrate().await.expect("create the table");
                        store
                    }
                });
                Self::Sqlite { store, url }
            }
        }
    }

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
            Self::Postgres { store, table } => {
                store.get().await;
                let pool = sqlx::PgPool::connect(&env_url("TS_POSTGRES_URL"))
                    .await
                    .unwrap();
                let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT COUNT(*) FROM {table}"
                )))
                .fetch_one(&pool)
                .await
                .unwrap();
                usize::try_from(count).unwrap()
            }
            #[cfg(feature = "mysql")]
            Self::Mysql { store, table } => {
                store.get().await;
                let pool = sqlx::MySqlPool::connect(&env_url("TS_MYSQL_URL"))
                    .await
                    .unwrap();
                let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT COUNT(*) FROM {table}"
                )))
                .fetch_one(&pool)
                .await
                .unwrap();
                usize::try_from(count).unwrap()
            }
            #[cfg(feature = "sqlite")]
            Self::Sqlite { store, url } => {
                store.get().await;
                let pool = sqlx::SqlitePool::connect(url).await.unwrap();
                let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                usize::try_from(count).unwrap()
            }
        }
    }

    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }

    /// Forgets every session of this app.
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
            Self::Postgres { store, table } => {
                store.get().await;
                let pool = sqlx::PgPool::connect(&env_url("TS_POSTGRES_URL"))
                    .await
                    .unwrap();
                sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            #[cfg(feature = "mysql")]
            Self::Mysql { store, table } => {
                store.get().await;
                let pool = sqlx::MySqlPool::connect(&env_url("TS_MYSQL_URL"))
                    .await
                    .unwrap();
                sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            #[cfg(feature = "sqlite")]
            Self::Sqlite { store, url } => {
                store.get().await;
                let pool = sqlx::SqlitePool::connect(url).await.unwrap();
                sqlx::query("DELETE FROM sessions")
                    .execute(&pool)
                    .await
                    .unwrap();
            }
        }
    }
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
            AnyStore::Postgres { store, .. } => {
                let $store = store.get().await;
                $call
            }
            #[cfg(feature = "mysql")]
            AnyStore::Mysql { store, .. } => {
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
}
