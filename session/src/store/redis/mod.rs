//! Sessions in Redis, standalone or Cluster: one hash per session, field-level patches in Lua.

mod connection;
mod layout;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use time::OffsetDateTime;

use crate::Error;
use crate::clock::Clock;
use crate::store::StoreKey;
use crate::store::{Created, Patch, Record, Rekeyed, Updated};
use crate::store::{SessionStore, bounded};
use connection::{Connection, config_error, map_error, not_a_session};
use layout::{
    CREATE_SCRIPT, PATCH_SCRIPT, REKEY_SCRIPT, applied, millis, parse_record, patch_args,
    push_fields, rekeyed,
};

/// How long one attempt to open a connection may take, at connect time and on reconnects.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Sessions in Redis, on a standalone server or a Redis Cluster.
///
/// - **Layout**: one hash per session under `<prefix>` (`session:` by default) and the store
///   key's digest in base64url (see [`redis_key`](Self::redis_key)). Each session field is the
///   hash field `f:<storage key>` holding its JSON; the hash fields `m:created` and `m:expires`
///   hold the times in Unix milliseconds. One session is one key, hence one Cluster slot.
/// - **Cost**: a load is one `HGETALL`; a patch, a touch and a new session are one `EVALSHA`
///   of a script loaded once per connection, which runs three commands on the hash.
/// - **Atomicity**: `create`, `patch` and `touch` are Lua scripts on that one key. A patch
///   writes only the changed fields (`HSET`), deletes the removed ones (`HDEL`) and moves the
///   expiry in one step, and only if the record is still live: it never re-creates a session
///   that a concurrent request removed. Concurrent patches of different fields all survive.
/// - **Expiry**: liveness is decided by `m:expires` against this store's [`Clock`], passed to
///   the scripts; Redis also expires the key natively after the record's remaining lifetime.
/// - **Outages**: every call is bounded by the command timeout (500 ms by default) and fails
///   with an error for which [`Error::is_unavailable`] holds. The connection re-establishes
///   itself once Redis is back; the store never needs to be rebuilt.
///
/// Clones share the same connection.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use typed_sessions::{Key, RedisStore, SessionLayer};
///
/// # async fn run() -> Result<(), typed_sessions::Error> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379/")
///     .await?
///     .with_prefix("myapp:session:")
///     .with_command_timeout(Duration::from_millis(250));
/// let layer = SessionLayer::new(Key::generate()).with_store(store);
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    connection: Connection,
    prefix: Arc<str>,
    clock: Clock,
    timeout: Duration,
}

impl RedisStore {
    /// The key prefix used unless [`with_prefix`](Self::with_prefix) says otherwise.
    pub const DEFAULT_PREFIX: &'static str = "session:";

    /// How long one call may take unless [`with_command_timeout`](Self::with_command_timeout)
    /// says otherwise.
    pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

    /// Connects to a standalone Redis server at `url` (`redis://[user:password@]host:port/db`,
    /// or `rediss://` with the `redis` crate's TLS features enabled) and checks that it
    /// answers.
    ///
    /// The connection reconnects by itself after the server went away.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a malformed URL; [`Error::unavailable`] when the server cannot be
    /// reached or does not answer within a second.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::RedisStore::connect("redis://127.0.0.1:6379/").await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let store = Self::connect_lazy(url)?;
        store.ping().await?;
        Ok(store)
    }

    /// Like [`connect`](Self::connect), but opens the connection on first use, so that an
    /// application can start while Redis is down (its session requests fail until Redis is
    /// up).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a malformed URL.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::RedisStore::connect_lazy("redis://127.0.0.1:6379/")?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect_lazy(url: &str) -> Result<Self, Error> {
        let client = redis::Client::open(url).map_err(config_error)?;
        // One attempt per (re)connection: while Redis is down a call fails at once instead of
        // waiting out a backoff, and the first call after it is back reconnects (see
        // `Connection::req_packed_command`).
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(None);
        let manager = ConnectionManager::new_lazy_with_config(client, config).map_err(map_error)?;
        Ok(Self::new(Connection::Standalone(manager)))
    }

    /// Connects to a Redis Cluster through `urls`, some of its nodes, and checks that every
    /// master answers.
    ///
    /// The cluster connection follows slot moves and reconnects to nodes by itself.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a malformed URL or an empty list; [`Error::unavailable`] when the
    /// cluster cannot be reached or does not answer within a second.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let nodes = ["redis://10.0.0.1:6379/", "redis://10.0.0.2:6379/"];
    /// let store = typed_sessions::RedisStore::connect_cluster(nodes).await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_cluster<I, S>(urls: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let store = Self::connect_cluster_lazy(urls)?;
        store.ping().await?;
        Ok(store)
    }

    /// Like [`connect_cluster`](Self::connect_cluster), but connects in the background, so that
    /// an application can start while the cluster is down.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a malformed URL or an empty list.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), typed_sessions::Error> {
    /// let nodes = ["redis://10.0.0.1:6379/", "redis://10.0.0.2:6379/"];
    /// let store = typed_sessions::RedisStore::connect_cluster_lazy(nodes)?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect_cluster_lazy<I, S>(urls: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let urls: Vec<String> = urls
            .into_iter()
            .map(|url| url.as_ref().to_owned())
            .collect();
        if urls.is_empty() {
            return Err(Error::Config("no Redis Cluster node given".into()));
        }
        let client = ClusterClient::builder(urls)
            .connection_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(config_error)?;
        let connection = client.get_pending_async_connection_with_config(Default::default());
        Ok(Self::new(Connection::Cluster(connection)))
    }

    fn new(connection: Connection) -> Self {
        Self {
            connection,
            prefix: Self::DEFAULT_PREFIX.into(),
            clock: Clock::system(),
            timeout: Self::DEFAULT_COMMAND_TIMEOUT,
        }
    }

    /// Puts every key under `prefix` instead of `session:`, so several applications can share
    /// one Redis. On a Cluster, a prefix holding `{...}` is a hash tag that puts every session
    /// in one slot, which defeats the point of the Cluster.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::RedisStore::connect("redis://127.0.0.1:6379/")
    ///     .await?
    ///     .with_prefix("shop:session:");
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into().into();
        self
    }

    /// Reads the time from `clock` instead of the system clock.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use typed_sessions::RedisStore;
    /// use typed_sessions::clock::ManualClock;
    ///
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let clock = ManualClock::starting_now();
    /// let store = RedisStore::connect("redis://127.0.0.1:6379/").await?.with_clock(clock);
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_clock(mut self, clock: impl Into<Clock>) -> Self {
        self.clock = clock.into();
        self
    }

    /// Bounds every call, retries and reconnection included, by `timeout` (default 500 ms);
    /// a call that takes longer fails with [`Error::Timeout`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::RedisStore::connect("redis://127.0.0.1:6379/")
    ///     .await?
    ///     .with_command_timeout(std::time::Duration::from_millis(200));
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_command_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The Redis key a session is kept under: the prefix, then the store key's SHA-256 digest
    /// in base64url (43 characters). On a Cluster the digest's first byte comes first as two hex
    /// digits in a hash tag, then the other 31 bytes in base64url (`session:{ab}…`): a session's
    /// keys before and after `regenerate()` must share a slot to move in one script, and with 256
    /// tags a matching new id is drawn in about 256 tries, while the sessions still spread over
    /// 256 slots.
    ///
    /// For operators and tests that look at Redis directly (`redis-cli HGETALL <key>`).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use typed_sessions::store::StoreKey;
    ///
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::RedisStore::connect("redis://127.0.0.1:6379/").await?;
    /// let key = StoreKey::from_digest_hex("00".repeat(32)).unwrap();
    /// assert_eq!(store.redis_key(&key), format!("session:{}", "A".repeat(43)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn redis_key(&self, key: &StoreKey) -> String {
        let digest = key.digest();
        let mut name = String::with_capacity(self.prefix.len() + 47);
        name.push_str(&self.prefix);
        match self.connection {
            Connection::Standalone(_) => crate::b64::encode_into(&digest, &mut name),
            Connection::Cluster(_) => {
                let tag = &key.as_str()[..2];
                name.push('{');
                name.push_str(tag);
                name.push('}');
                crate::b64::encode_into(&digest[1..], &mut name);
            }
        }
        name
    }

    /// Checks that the server (every Cluster master) answers within the connect timeout.
    async fn ping(&self) -> Result<(), Error> {
        let (cmd, mut connection) = (redis::cmd("PING"), self.connection.clone());
        let ping = cmd.exec_async(&mut connection);
        match tokio::time::timeout(CONNECT_TIMEOUT, ping).await {
            Ok(result) => result.map_err(map_error),
            Err(_) => Err(Error::unavailable(format!(
                "Redis did not answer within {CONNECT_TIMEOUT:?}"
            ))),
        }
    }

    async fn run_script(
        &self,
        script: &Script,
        keys: &[&StoreKey],
        args: Vec<Vec<u8>>,
    ) -> Result<i64, Error> {
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(self.redis_key(key));
        }
        for arg in args {
            invocation.arg(arg);
        }
        let call = async {
            let status: i64 = invocation
                .invoke_async(&mut self.connection.clone())
                .await
                .map_err(map_error)?;
            if status < 0 {
                return Err(not_a_session());
            }
            Ok(status)
        };
        bounded(self.timeout, call).await
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection is left out: its URL may carry a password.
        let mode = match self.connection {
            Connection::Standalone(_) => "standalone",
            Connection::Cluster(_) => "cluster",
        };
        f.debug_struct("RedisStore")
            .field("mode", &mode)
            .field("prefix", &self.prefix)
            .field("command_timeout", &self.timeout)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl SessionStore for RedisStore {
    async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        let now = self.clock.now();
        let call = async {
            let mut cmd = redis::cmd("HGETALL");
            cmd.arg(self.redis_key(key));
            let hash: HashMap<Vec<u8>, Vec<u8>> = cmd
                .query_async(&mut self.connection.clone())
                .await
                .map_err(map_error)?;
            if hash.is_empty() {
                return Ok(None);
            }
            let record = parse_record(hash)?;
            Ok((!record.is_expired(now)).then_some(record))
        };
        bounded(self.timeout, call).await
    }

    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, Error> {
        let now = self.clock.now();
        let mut args = vec![
            millis(now).to_string().into_bytes(),
            millis(record.created()).to_string().into_bytes(),
            millis(record.expires()).to_string().into_bytes(),
        ];
        push_fields(&mut args, record.fields());
        match self.run_script(&CREATE_SCRIPT, &[key], args).await? {
            0 => Ok(Created::AlreadyExists),
            _ => Ok(Created::Stored),
        }
    }

    async fn patch(&self, key: &StoreKey, patch: &Patch) -> Result<Updated, Error> {
        let args = patch_args(self.clock.now(), patch);
        applied(self.run_script(&PATCH_SCRIPT, &[key], args).await?)
    }

    async fn rekey(&self, old: &StoreKey, new: &StoreKey, patch: &Patch) -> Result<Rekeyed, Error> {
        let args = patch_args(self.clock.now(), patch);
        Ok(rekeyed(
            self.run_script(&REKEY_SCRIPT, &[old, new], args).await?,
        ))
    }

    /// Standalone: always. Cluster: when both keys hash to one slot, so that one script can
    /// move the session.
    fn can_rekey(&self, old: &StoreKey, new: &StoreKey) -> bool {
        match self.connection {
            Connection::Standalone(_) => true,
            Connection::Cluster(_) => {
                let slot = |key| redis::cluster_routing::Slot::for_key(self.redis_key(key));
                slot(old) == slot(new)
            }
        }
    }

    /// `"redis"`, standalone and Cluster alike.
    fn kind(&self) -> &'static str {
        "redis"
    }

    async fn remove(&self, key: &StoreKey) -> Result<(), Error> {
        let call = async {
            let mut cmd = redis::cmd("DEL");
            cmd.arg(self.redis_key(key));
            cmd.exec_async(&mut self.connection.clone())
                .await
                .map_err(map_error)
        };
        bounded(self.timeout, call).await
    }

    async fn touch(&self, key: &StoreKey, expires: OffsetDateTime) -> Result<Updated, Error> {
        let now = self.clock.now();
        let args = vec![
            millis(now).to_string().into_bytes(),
            millis(expires).to_string().into_bytes(),
            b"0".to_vec(),
        ];
        applied(self.run_script(&PATCH_SCRIPT, &[key], args).await?)
    }
}
