//! Sessions in Redis, standalone, behind Sentinel or Cluster: one hash per session,
//! field-level patches in Lua.

mod builders;
mod connection;
mod index;
mod layout;
mod replicas;
mod sentinel;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::Script;
use time::OffsetDateTime;

use crate::Error;
use crate::clock::Clock;
use crate::store::StoreKey;
use crate::store::{Created, IndexDigest, Patch, Record, Rekeyed, Updated};
use crate::store::{SessionStore, bounded};
use connection::{Connection, map_error, not_a_session};
use index::IndexWrite;
use layout::{
    Answer, CREATE_SCRIPT, PATCH_SCRIPT, REKEY_SCRIPT, applied, millis, parse_record, patch_args,
    push_fields, rekeyed,
};
use replicas::ReplicaAcks;

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
/// - **Every device of a user** ([`list_indexed`](SessionStore::list_indexed)): one sorted
///   set per index digest, `<prefix>index:<digest>`, of the sessions' store keys scored by
///   their expiry. On a standalone server the script that writes a session writes its entry
///   in the same step: a new indexed session, a patch that sets or clears the index, a move to
///   a new id ([`Patch::loaded_index`] names the set the session was in). A user's sessions
///   live in every Cluster slot, so there the set is written in two steps: the entry goes in
///   before a write that indexes the session, and follows its key and expiry after. Listing
///   checks each entry against its session (the hash is the truth) and drops those of sessions
///   gone; writes check the entries past their score, so nothing piles up unlisted; the set
///   expires with its last session. The `index` module's documentation has the details.
/// - **Expiry**: liveness is decided by `m:expires` against this store's [`Clock`], passed to
///   the scripts; Redis also expires the key natively after the record's remaining lifetime.
/// - **Outages**: every call is bounded by the command timeout (500 ms by default) and fails
///   with an error for which [`Error::is_unavailable`] holds. The connection re-establishes
///   itself once Redis is back; the store never needs to be rebuilt.
/// - **Deployments**: besides URLs, the store is built on the `redis` crate's own clients and
///   connections, so every deployment that crate supports works: TLS (its `tokio-rustls-comp`
///   or `tokio-native-tls-comp` feature, enabled in the application's `Cargo.toml`) and ACL
///   users through [`from_client`](Self::from_client) and
///   [`from_cluster_client`](Self::from_cluster_client), shared connections through
///   [`from_connection_manager`](Self::from_connection_manager) and
///   [`from_cluster_connection`](Self::from_cluster_connection), Sentinel through
///   [`connect_sentinel`](Self::connect_sentinel) and
///   [`from_sentinel_client`](Self::from_sentinel_client).
/// - **Failover**: through Sentinel, the store asks the sentinels for the master again after
///   its connection failed, was refused by a demoted master (`READONLY`) or ran into the
///   command timeout, and checks once a second in the background that they still name the
///   same master (after a forced failover the old master takes writes until Sentinel demotes
///   it); on a Cluster the `redis` crate follows the new slot owners. Calls during
///   the switch fail as unavailable (503), later calls work, with no restart.
/// - **Replication**: Redis replicates asynchronously, so a write acknowledged just before its
///   master dies can be lost in the failover. [`with_replica_acks`](Self::with_replica_acks)
///   trades a replica round trip per write for narrowing that window.
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
    replica_acks: Option<ReplicaAcks>,
}

impl RedisStore {
    /// The key prefix used unless [`with_prefix`](Self::with_prefix) says otherwise.
    pub const DEFAULT_PREFIX: &'static str = "session:";

    /// How long one call may take unless [`with_command_timeout`](Self::with_command_timeout)
    /// says otherwise.
    pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

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

    /// The bound of a write: the command timeout, plus the wait for replicas when on.
    fn write_timeout(&self) -> Duration {
        self.timeout
            + self
                .replica_acks
                .map_or(Duration::ZERO, |acks| acks.timeout)
    }

    /// Runs a write script on `keys` (Redis key names; the first routes it), answers what it
    /// answered unless that is -1, a key holding something other than a session.
    async fn run_script(
        &self,
        script: &Script,
        keys: &[String],
        args: Vec<Vec<u8>>,
    ) -> Result<Answer, Error> {
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(key);
        }
        for arg in args {
            invocation.arg(arg);
        }
        let answer: Answer = self.invoke_write(script, &invocation, &keys[0]).await?;
        if answer.status < 0 {
            return Err(not_a_session());
        }
        Ok(answer)
    }

    /// The Redis keys of a write's script: the session's, then its index sets'.
    fn script_keys(&self, sessions: &[&StoreKey], write: &IndexWrite) -> Vec<String> {
        let sessions = sessions.iter().map(|key| self.redis_key(key));
        let sets = write.sets.iter().map(|digest| self.index_key(digest));
        sessions.chain(sets).collect()
    }

    /// Runs a write script on the master of `routing_key` (its first key), acknowledged by the
    /// replicas when [`with_replica_acks`](Self::with_replica_acks) asks for it; bounded by the
    /// write timeout.
    async fn invoke_write<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        invocation: &redis::ScriptInvocation<'_>,
        routing_key: &str,
    ) -> Result<T, Error> {
        let call = async {
            match self.replica_acks {
                None => invocation
                    .invoke_async(&mut self.connection.clone())
                    .await
                    .map_err(map_error),
                Some(acks) => {
                    let mut connection = self.connection.clone();
                    acks.invoke(&mut connection, routing_key, script, invocation)
                        .await
                }
            }
        };
        bounded(self.write_timeout(), call).await
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection is left out: its URL may carry a password.
        let mode = match self.connection {
            Connection::Standalone(connection::Server::Manager(_)) => "standalone",
            Connection::Standalone(connection::Server::Sentinel(_)) => "sentinel",
            Connection::Cluster(_) => "cluster",
        };
        f.debug_struct("RedisStore")
            .field("mode", &mode)
            .field("replica_acks", &self.replica_acks)
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
        let index = self.index_create(key, record).await?;
        let mut args = vec![
            millis(now).to_string().into_bytes(),
            millis(record.created()).to_string().into_bytes(),
            millis(record.expires()).to_string().into_bytes(),
            index.sets.len().to_string().into_bytes(),
        ];
        if !index.sets.is_empty() {
            args.push(key.as_str().as_bytes().to_vec());
        }
        push_fields(&mut args, record.fields());
        let keys = self.script_keys(&[key], &index);
        let answer = self.run_script(&CREATE_SCRIPT, &keys, args).await?;
        if answer.status == 0 {
            return Ok(Created::AlreadyExists);
        }
        self.settle_index(key, record.expires(), index, &answer)
            .await?;
        Ok(Created::Stored)
    }

    async fn patch(&self, key: &StoreKey, patch: &Patch) -> Result<Updated, Error> {
        let index = self.index_patch(key, patch).await?;
        let args = patch_args(self.clock.now(), patch, &index.sets, [key, key]);
        let keys = self.script_keys(&[key], &index);
        let answer = self.run_script(&PATCH_SCRIPT, &keys, args).await?;
        self.settle_index(key, patch.expires(), index, &answer)
            .await?;
        applied(answer.status)
    }

    async fn rekey(&self, old: &StoreKey, new: &StoreKey, patch: &Patch) -> Result<Rekeyed, Error> {
        let index = self.index_patch(new, patch).await?;
        let args = patch_args(self.clock.now(), patch, &index.sets, [old, new]);
        let keys = self.script_keys(&[old, new], &index);
        let answer = self.run_script(&REKEY_SCRIPT, &keys, args).await?;
        self.settle_index(new, patch.expires(), index, &answer)
            .await?;
        Ok(rekeyed(answer.status))
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
            if let Some(acks) = self.replica_acks {
                return acks
                    .delete(&mut self.connection.clone(), &self.redis_key(key))
                    .await;
            }
            let mut cmd = redis::cmd("DEL");
            cmd.arg(self.redis_key(key));
            cmd.exec_async(&mut self.connection.clone())
                .await
                .map_err(map_error)
        };
        bounded(self.write_timeout(), call).await
    }

    /// A patch with no fields. A touch cannot change the index: an indexed session's entry
    /// follows its expiry in a second command.
    async fn touch(&self, key: &StoreKey, expires: OffsetDateTime) -> Result<Updated, Error> {
        let now = self.clock.now();
        let args = vec![
            millis(now).to_string().into_bytes(),
            millis(expires).to_string().into_bytes(),
            b"0".to_vec(),
            b"0".to_vec(),
        ];
        let keys = [self.redis_key(key)];
        let answer = self.run_script(&PATCH_SCRIPT, &keys, args).await?;
        self.settle_index(key, expires, IndexWrite::default(), &answer)
            .await?;
        applied(answer.status)
    }

    /// The set of every session indexed under `index`, each entry checked against its
    /// session: see the `index` module for how the set stays clean on a Cluster.
    async fn list_indexed(&self, index: &IndexDigest) -> Result<Vec<(StoreKey, Record)>, Error> {
        self.list_index(index).await
    }
}
