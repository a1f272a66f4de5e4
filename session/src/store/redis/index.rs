//! The Redis store's session index: one sorted set per [`IndexDigest`], of the store keys of
//! the sessions indexed under it, scored by their expiry.
//!
//! The session's hash (its `f:$index` field) is the truth; the set is how a listing finds the
//! candidates, so it must hold every live session of its digest, and should hold little else.
//!
//! **Standalone** (and behind Sentinel): the script that writes a session writes its entry in
//! the same step. A new indexed session is entered by the script that creates it; a patch or a
//! move names the sets of the digest it sets and of the digest the session was loaded with
//! ([`Patch::loaded_index`]), and its script checks the session's `f:$index` after the write:
//! the set of that digest gets the entry (at the session's new key and expiry), the other
//! loses it. Only a touch, which cannot change the index, moves its entry's score in a second
//! command; so does a patch that finds the session re-indexed meanwhile by another request.
//!
//! **Cluster**: a user's sessions are spread over every slot, as their ids are, so the set is
//! written beside the session in two steps: the entry goes in before a write that indexes the
//! session, and is moved to the session's new key and expiry after every write of an indexed
//! session (the scripts answer its digest: an unindexed session costs nothing more).
//!
//! An entry is thus in the set before (Cluster) or when (standalone) its session is indexed,
//! and a lost second step only leaves its score behind the session's expiry. So nothing is
//! dropped on its score alone: a listing checks every entry against its session and raises the
//! scores that lag; an entry is dropped once its session is checked gone (removed, moved,
//! expired or re-indexed) — on a Cluster only once its score has passed too, as a missing
//! session may be one whose first step is done and whose script is not. The writes answer how
//! many of their set's entries are at or past their score, and a write that finds some checks
//! a batch of them (a sweep), so the entries of expired sessions go even if nobody lists the
//! set; and the set expires with its last entry.

use time::OffsetDateTime;

use super::RedisStore;
use super::connection::{Connection, map_error};
use super::layout::{Answer, CLEAN_SCRIPT, REGISTER_SCRIPT, millis};
use crate::Error;
use crate::store::{IndexChange, IndexDigest, Patch, Record, SessionStore, StoreKey, bounded};

/// The most entries one write checks in a sweep: each costs a load, in the request that wrote.
const SWEEP_BATCH: usize = 32;

/// How one write keeps the index, decided before it runs.
#[derive(Default)]
pub(super) struct IndexWrite {
    /// The sets the write's script brings up to date (standalone).
    pub(super) sets: Vec<IndexDigest>,
    /// The digest whose set step 1 entered the session in (Cluster).
    registered: Option<IndexDigest>,
    /// Sets with entries due for a check.
    due: Vec<IndexDigest>,
}

/// What checking a set's entries against their sessions found.
#[derive(Default)]
struct Checked {
    live: Vec<(StoreKey, Record)>,
    /// Members of live sessions whose score lags their expiry, with the expiry (ms).
    rescore: Vec<(String, i64)>,
    /// Members of sessions checked gone, with the score the check saw.
    gone: Vec<(String, String)>,
}

impl RedisStore {
    /// The Redis key of the sorted set of the sessions indexed under `digest`: the prefix,
    /// `index:`, then the digest in hex. Its members are the sessions' store keys in hex,
    /// scored by their expiry in Unix milliseconds.
    ///
    /// For operators and tests that look at Redis directly (`redis-cli ZRANGE <key> 0 -1`).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use typed_sessions::store::IndexDigest;
    ///
    /// # async fn run() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::RedisStore::connect("redis://127.0.0.1:6379/").await?;
    /// let digest = IndexDigest::from_digest_hex("ab".repeat(32)).unwrap();
    /// assert_eq!(store.index_key(&digest), format!("session:index:{}", "ab".repeat(32)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn index_key(&self, digest: &IndexDigest) -> String {
        format!("{}index:{}", self.prefix, digest.as_str())
    }

    /// Whether the scripts can write a session and its set in one step: one server holds both.
    fn one_server(&self) -> bool {
        matches!(self.connection, Connection::Standalone(_))
    }

    /// Before a new session `key` is created with `record`: standalone, the set its script
    /// enters it in; on a Cluster, step 1.
    pub(super) async fn index_create(
        &self,
        key: &StoreKey,
        record: &Record,
    ) -> Result<IndexWrite, Error> {
        let Some(digest) = record.index() else {
            return Ok(IndexWrite::default());
        };
        if self.one_server() {
            return Ok(IndexWrite {
                sets: vec![digest],
                ..IndexWrite::default()
            });
        }
        self.register_first(digest, key, record.expires()).await
    }

    /// Before `patch` is applied to the session that will be at `key`: standalone, the sets its
    /// script brings up to date (the digest the patch sets, the one the session was loaded
    /// with); on a Cluster, step 1 for a patch that indexes the session.
    pub(super) async fn index_patch(
        &self,
        key: &StoreKey,
        patch: &Patch,
    ) -> Result<IndexWrite, Error> {
        let set = match patch.index_change() {
            IndexChange::Set(digest) => Some(digest),
            IndexChange::Unchanged | IndexChange::Cleared => None,
        };
        if self.one_server() {
            let mut sets: Vec<IndexDigest> = set.into_iter().collect();
            sets.extend(patch.loaded_index().filter(|loaded| !sets.contains(loaded)));
            return Ok(IndexWrite {
                sets,
                ..IndexWrite::default()
            });
        }
        match set {
            Some(digest) => self.register_first(digest, key, patch.expires()).await,
            None => Ok(IndexWrite::default()),
        }
    }

    async fn register_first(
        &self,
        digest: IndexDigest,
        key: &StoreKey,
        expires: OffsetDateTime,
    ) -> Result<IndexWrite, Error> {
        let due = self.register(&digest, key, expires).await? > 0;
        Ok(IndexWrite {
            sets: Vec::new(),
            due: due.then(|| digest.clone()).into_iter().collect(),
            registered: Some(digest),
        })
    }

    /// After a write of the session now at `key` applied: the second step when its script did
    /// not enter the session in the set of the digest it holds, then the sweeps due. A failed
    /// sweep is logged, not returned: the write is done, and the next one sweeps again.
    pub(super) async fn settle_index(
        &self,
        key: &StoreKey,
        expires: OffsetDateTime,
        write: IndexWrite,
        answer: &Answer,
    ) -> Result<(), Error> {
        let IndexWrite {
            sets,
            registered,
            mut due,
        } = write;
        if answer.covered {
            // A new session's script answers no digest: it was entered in the one set given.
            let digest = answer.index.as_ref().or(sets.first());
            if let Some(digest) = digest.filter(|_| answer.stale > 0) {
                due.push(digest.clone());
            }
        } else if let Some(digest) = answer.index.as_ref()
            && registered.as_ref() != Some(digest)
            && self.register(digest, key, expires).await? > 0
        {
            due.push(digest.clone());
        }
        for digest in due {
            if let Err(error) = self.sweep(&digest).await {
                tracing::warn!(%error, "checking the stale entries of a session index failed");
            }
        }
        Ok(())
    }

    /// Adds (or moves) the entry of the session `key` in the set of `digest`, at `expires`;
    /// answers how many of the set's entries are due for a check.
    async fn register(
        &self,
        digest: &IndexDigest,
        key: &StoreKey,
        expires: OffsetDateTime,
    ) -> Result<i64, Error> {
        let set = self.index_key(digest);
        let mut invocation = REGISTER_SCRIPT.prepare_invoke();
        invocation
            .key(&set)
            .arg(millis(self.clock.now()))
            .arg(millis(expires))
            .arg(key.as_str());
        // Acknowledged by the replicas as the session's own writes are, so that a failover
        // does not keep a session and lose its entry.
        self.invoke_write(&REGISTER_SCRIPT, &invocation, &set).await
    }

    /// The live sessions of the set of `digest`: every entry checked against its session.
    pub(super) async fn list_index(
        &self,
        digest: &IndexDigest,
    ) -> Result<Vec<(StoreKey, Record)>, Error> {
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(self.index_key(digest))
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES");
        let now = self.clock.now();
        let checked = self.check(digest, cmd, now).await?;
        self.clean(digest, now, &checked).await?;
        Ok(checked.live)
    }

    /// Checks the entries of the set of `digest` at or past their score, [`SWEEP_BATCH`] at
    /// most (a write pays for them; the next write takes the next ones): the entries of expired
    /// sessions go, those of live sessions whose score lags get their expiry.
    async fn sweep(&self, digest: &IndexDigest) -> Result<(), Error> {
        let now = self.clock.now();
        let mut cmd = redis::cmd("ZRANGEBYSCORE");
        cmd.arg(self.index_key(digest))
            .arg("-inf")
            .arg(millis(now))
            .arg("WITHSCORES")
            .arg("LIMIT")
            .arg(0)
            .arg(SWEEP_BATCH);
        let checked = self.check(digest, cmd, now).await?;
        self.clean(digest, now, &checked).await
    }

    /// Loads the session of each entry `range` answers (member and score pairs).
    async fn check(
        &self,
        digest: &IndexDigest,
        range: redis::Cmd,
        now: OffsetDateTime,
    ) -> Result<Checked, Error> {
        let entries: Vec<(String, String)> = bounded(self.timeout, async {
            range
                .query_async(&mut self.connection.clone())
                .await
                .map_err(map_error)
        })
        .await?;
        let now = millis(now);
        let mut checked = Checked::default();
        for (member, score) in entries {
            let record = match StoreKey::from_digest_hex(member.as_str()) {
                Some(key) => self.load(&key).await?.map(|record| (key, record)),
                None => None,
            };
            match record {
                Some((key, record)) if record.index().as_ref() == Some(digest) => {
                    let expires = millis(record.expires());
                    if score
                        .parse::<f64>()
                        .is_ok_and(|score| score < expires as f64)
                    {
                        checked.rescore.push((member, expires));
                    }
                    checked.live.push((key, record));
                }
                // Gone. On a Cluster, a session whose first step is done and whose script is
                // not looks gone too; its entry's score is its future expiry.
                _ if self.one_server() || score.parse::<f64>().is_ok_and(|s| s <= now as f64) => {
                    checked.gone.push((member, score));
                }
                _ => {}
            }
        }
        Ok(checked)
    }

    /// Raises the lagging scores and drops the entries of sessions gone, in one script.
    async fn clean(
        &self,
        digest: &IndexDigest,
        now: OffsetDateTime,
        checked: &Checked,
    ) -> Result<(), Error> {
        if checked.rescore.is_empty() && checked.gone.is_empty() {
            return Ok(());
        }
        let set = self.index_key(digest);
        let mut invocation = CLEAN_SCRIPT.prepare_invoke();
        invocation
            .key(&set)
            .arg(millis(now))
            .arg(checked.rescore.len());
        for (member, expires) in &checked.rescore {
            invocation.arg(member).arg(expires);
        }
        for (member, score) in &checked.gone {
            invocation.arg(member).arg(score);
        }
        let _: i64 = self.invoke_write(&CLEAN_SCRIPT, &invocation, &set).await?;
        Ok(())
    }
}
