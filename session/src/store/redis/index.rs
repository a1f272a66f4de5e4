//! The Redis store's session index: one sorted set per [`IndexDigest`], of the store keys of
//! the sessions indexed under it, scored by their expiry.
//!
//! A session's hash and its index's set are two keys, in two slots of a Cluster (a user's
//! sessions are spread over every slot, as their ids are), so they are written in two steps,
//! the same way on a standalone server and on a Cluster:
//!
//! 1. before a write that gives a session an index (a new indexed session, a patch that sets
//!    the indexed field), the session's key is added to the index's set;
//! 2. after every patch, touch or move of a session that has an index, its entry is brought
//!    up to date: its new key, its new expiry (the scripts answer the session's digest).
//!
//! An entry is thus in the set before the session is indexed, and moves with its expiry, so a
//! listing never misses a live session. The entries left over (a session removed, moved to a
//! new key, or re-indexed under another value) are checked and dropped when the set is listed,
//! entries past their expiry are dropped at every write to the set, and the set itself expires
//! with the last of its sessions: nothing stays for ever.

use time::OffsetDateTime;

use super::RedisStore;
use super::connection::map_error;
use super::layout::{REGISTER_SCRIPT, millis};
use crate::Error;
use crate::store::{IndexDigest, Record, SessionStore, StoreKey, bounded};

impl RedisStore {
    /// The Redis key of the sorted set of the sessions indexed under `digest`.
    pub(super) fn index_key(&self, digest: &IndexDigest) -> String {
        format!("{}index:{}", self.prefix, digest.as_str())
    }

    /// Adds (or moves) the entry of the session `key` in the set of `digest`, at `expires`.
    pub(super) async fn register(
        &self,
        digest: &IndexDigest,
        key: &StoreKey,
        expires: OffsetDateTime,
    ) -> Result<(), Error> {
        let mut invocation = REGISTER_SCRIPT.prepare_invoke();
        invocation
            .key(self.index_key(digest))
            .arg(millis(self.clock.now()))
            .arg(millis(expires))
            .arg(key.as_str());
        // Acknowledged by the replicas as the session's own writes are, so that a failover
        // does not keep a session and lose its entry.
        let set = self.index_key(digest);
        let _: i64 = self
            .invoke_write(&REGISTER_SCRIPT, &invocation, &set)
            .await?;
        Ok(())
    }

    /// The live sessions of the set of `digest`; drops the entries that no longer name one.
    pub(super) async fn list_index(
        &self,
        digest: &IndexDigest,
    ) -> Result<Vec<(StoreKey, Record)>, Error> {
        let set = self.index_key(digest);
        let now = millis(self.clock.now());
        let members: Vec<String> = bounded(self.timeout, async {
            let mut cmd = redis::cmd("ZRANGEBYSCORE");
            cmd.arg(&set).arg(format!("({now}")).arg("+inf");
            cmd.query_async(&mut self.connection.clone())
                .await
                .map_err(map_error)
        })
        .await?;
        let mut live = Vec::with_capacity(members.len());
        let mut stale = Vec::new();
        for member in members {
            let Some(key) = StoreKey::from_digest_hex(member.as_str()) else {
                stale.push(member);
                continue;
            };
            match self.load(&key).await? {
                Some(record) if record.index().as_ref() == Some(digest) => {
                    live.push((key, record));
                }
                _ => stale.push(member),
            }
        }
        bounded(self.timeout, async {
            let mut cmd = redis::cmd("ZREMRANGEBYSCORE");
            cmd.arg(&set).arg("-inf").arg(now);
            let mut pipe = redis::pipe();
            pipe.add_command(cmd).ignore();
            if !stale.is_empty() {
                pipe.cmd("ZREM").arg(&set).arg(&stale).ignore();
            }
            pipe.exec_async(&mut self.connection.clone())
                .await
                .map_err(map_error)
        })
        .await?;
        Ok(live)
    }
}
