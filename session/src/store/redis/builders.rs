//! The ways to build a [`RedisStore`]: from addresses, from the `redis` crate's own clients and
//! connections (every deployment that crate supports: TLS, ACL users, Sentinel, Cluster), and
//! its settings.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelServerType};

use super::connection::{Connection, Server, config_error, map_error};
use super::replicas::ReplicaAcks;
use super::sentinel::SentinelConnection;
use super::{CONNECT_TIMEOUT, RedisStore};
use crate::Error;
use crate::clock::Clock;

impl RedisStore {
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
        Self::from_client(redis::Client::open(url).map_err(config_error)?)
    }

    /// A store on the standalone server of `client`, connecting on first use like
    /// [`connect_lazy`](Self::connect_lazy): for a client built with settings a URL cannot
    /// carry (TLS certificates through the `redis` crate's `tls-rustls` or `tls-native-tls`
    /// features, ACL users, RESP3, TCP settings).
    ///
    /// The store opens its own connection from the client, which reconnects by itself.
    /// Enable the `redis` crate's features in the application's own `Cargo.toml`; Cargo
    /// merges them into the one `redis` crate this store uses (1.x).
    ///
    /// # Errors
    ///
    /// [`Error::unavailable`] when the connection cannot be set up.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), typed_sessions::Error> {
    /// let client = redis::Client::open("redis://sessions:secret@127.0.0.1:6379/")
    ///     .expect("a valid URL");
    /// let store = typed_sessions::RedisStore::from_client(client)?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_client(client: redis::Client) -> Result<Self, Error> {
        // One attempt per (re)connection: while Redis is down a call fails at once instead of
        // waiting out a backoff, and the first call after it is back reconnects (see
        // `Server::req_packed_command`).
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(None);
        let manager = ConnectionManager::new_lazy_with_config(client, config).map_err(map_error)?;
        Ok(Self::from_connection_manager(manager))
    }

    /// A store sharing `manager`, a connection the application already has: the manager's
    /// own settings (reconnect retries, timeouts) apply, and every store call stays bounded by
    /// the command timeout.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = redis::Client::open("redis://127.0.0.1:6379/")?;
    /// let manager = redis::aio::ConnectionManager::new(client).await?;
    /// let store = typed_sessions::RedisStore::from_connection_manager(manager.clone());
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn from_connection_manager(manager: ConnectionManager) -> Self {
        Self::new(Connection::Standalone(Server::Manager(manager)))
    }

    /// Connects to the master that the Redis Sentinels at `sentinel_urls` name `master_name`,
    /// and checks that it answers.
    ///
    /// After a failover the store asks the sentinels again for the new master, on the first
    /// call after the old connection failed: calls during the switch fail fast as unavailable
    /// (503), later ones reach the new master without a restart. The master's password or
    /// TLS settings are given with [`from_sentinel_client`](Self::from_sentinel_client).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a malformed URL or an empty list; [`Error::unavailable`] when no
    /// sentinel names a reachable master within a second.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let sentinels = ["redis://10.0.0.1:26379/", "redis://10.0.0.2:26379/"];
    /// let store = typed_sessions::RedisStore::connect_sentinel(sentinels, "mymaster").await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_sentinel<I, S>(sentinel_urls: I, master_name: &str) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let store = Self::connect_sentinel_lazy(sentinel_urls, master_name)?;
        store.ping().await?;
        Ok(store)
    }

    /// Like [`connect_sentinel`](Self::connect_sentinel), but asks the sentinels on first use,
    /// so that an application can start while they are down.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a malformed URL or an empty list.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn run() -> Result<(), typed_sessions::Error> {
    /// let sentinels = ["redis://10.0.0.1:26379/"];
    /// let store = typed_sessions::RedisStore::connect_sentinel_lazy(sentinels, "mymaster")?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect_sentinel_lazy<I, S>(sentinel_urls: I, master_name: &str) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let urls = nonempty(sentinel_urls, "no Redis Sentinel given")?;
        let client = SentinelClient::build(
            urls,
            master_name.to_owned(),
            None,
            SentinelServerType::Master,
        )
        .map_err(config_error)?;
        Ok(Self::from_sentinel_client(client))
    }

    /// A store on the master that `client` resolves, for Sentinel deployments with ACL users,
    /// passwords or TLS (see the `redis` crate's `SentinelClientBuilder`). The client must
    /// resolve the master ([`SentinelServerType::Master`]); like
    /// [`connect_sentinel`](Self::connect_sentinel), the store asks it again after a failover.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use redis::sentinel::{SentinelClientBuilder, SentinelServerType};
    /// use redis::{ConnectionAddr, TlsMode};
    ///
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let sentinels = [ConnectionAddr::Tcp("10.0.0.1".into(), 26379)];
    /// let client = SentinelClientBuilder::new(sentinels, "mymaster", SentinelServerType::Master)?
    ///     .set_client_to_redis_username("sessions")
    ///     .set_client_to_redis_password("secret")
    ///     .build()?;
    /// let store = typed_sessions::RedisStore::from_sentinel_client(client);
    /// # let _ = (store, TlsMode::Secure);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn from_sentinel_client(client: SentinelClient) -> Self {
        Self::new(Connection::Standalone(Server::Sentinel(
            SentinelConnection::new(client),
        )))
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
        let urls = nonempty(urls, "no Redis Cluster node given")?;
        let client = ClusterClient::builder(urls)
            .connection_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(config_error)?;
        Ok(Self::from_cluster_client(&client))
    }

    /// A store on the Redis Cluster of `client`, connecting in the background like
    /// [`connect_cluster_lazy`](Self::connect_cluster_lazy): for a client built with settings
    /// URLs cannot carry (TLS, ACL users, read routing, retries) through the `redis` crate's
    /// `ClusterClientBuilder`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = redis::cluster::ClusterClient::builder(["redis://10.0.0.1:6379/"])
    ///     .username("sessions")
    ///     .password("secret")
    ///     .build()?;
    /// let store = typed_sessions::RedisStore::from_cluster_client(&client);
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn from_cluster_client(client: &ClusterClient) -> Self {
        let connection = client.get_pending_async_connection_with_config(Default::default());
        Self::from_cluster_connection(connection)
    }

    /// A store sharing `connection`, a Cluster connection the application already has.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = redis::cluster::ClusterClient::new(["redis://10.0.0.1:6379/"])?;
    /// let connection = client.get_async_connection().await?;
    /// let store = typed_sessions::RedisStore::from_cluster_connection(connection.clone());
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn from_cluster_connection(connection: ClusterConnection) -> Self {
        Self::new(Connection::Cluster(connection))
    }

    fn new(connection: Connection) -> Self {
        Self {
            connection,
            prefix: Self::DEFAULT_PREFIX.into(),
            clock: Clock::system(),
            timeout: Self::DEFAULT_COMMAND_TIMEOUT,
            replica_acks: None,
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

    /// Waits after every write until `replicas` replicas hold it, for up to `timeout`, before
    /// the response leaves (`WAIT`); off by default.
    ///
    /// Redis replicates asynchronously: a write the master acknowledged may not have reached
    /// any replica when the master dies, and a replica promoted in its place has lost it (a
    /// login that is forgotten, a logout that comes undone). With this on, a write that
    /// reached the client reached `replicas` replicas too, so it survives the failover of one
    /// master. The cost is latency: each write waits for a replica round trip, and for the
    /// full `timeout` when replicas are missing.
    ///
    /// When fewer replicas acknowledge within `timeout` the call fails as unavailable (503),
    /// although the master applied the write: the session may hold it, or lose it if the master
    /// fails now. Standalone and Sentinel: `WAIT` runs on the connection that wrote. Cluster:
    /// it runs on the master of the session's slot. The command timeout bounds each call with
    /// `timeout` added to it. Reads do not wait; `replicas` 0 turns the wait off.
    ///
    /// `WAIT` narrows the window without making Redis strongly consistent: a replica that
    /// acknowledged may itself be passed over in the failover, and writes fail while the master
    /// has fewer replicas than asked for (after a failover, until one is back).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::RedisStore::connect_sentinel(["redis://10.0.0.1:26379/"], "mymaster")
    ///     .await?
    ///     .with_replica_acks(1, Duration::from_millis(100));
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_replica_acks(mut self, replicas: usize, timeout: Duration) -> Self {
        self.replica_acks = (replicas > 0).then_some(ReplicaAcks { replicas, timeout });
        self
    }
}

/// `urls` as owned strings; [`Error::Config`] with `empty` when there is none.
fn nonempty<I, S>(urls: I, empty: &str) -> Result<Vec<String>, Error>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let urls: Vec<String> = urls
        .into_iter()
        .map(|url| url.as_ref().to_owned())
        .collect();
    if urls.is_empty() {
        return Err(Error::Config(empty.into()));
    }
    Ok(urls)
}
