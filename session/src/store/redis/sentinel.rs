//! A connection to the master that Redis Sentinel names, which asks the sentinels again after
//! a failover.
//!
//! The `redis` crate's [`SentinelClient`] resolves the master once per call to
//! `async_get_client`; a connection opened from it stays on that server for good, even after
//! the server was demoted to a replica. This connection keeps one multiplexed connection to the
//! current master and drops it when it shows that the master moved on: an I/O error (Sentinel
//! closes the clients of a demoted master), `READONLY` (the server is a replica now), a master
//! that is down or loading, or a call given up by the store's command timeout. The next call
//! asks the sentinels for the master again, so the application follows a failover without a
//! restart.
//!
//! A failover forced by `SENTINEL FAILOVER` (or one whose old master comes back) leaves the old
//! master answering as a master for seconds, until Sentinel demotes it; writes sent there in
//! that time are lost. So the connection also asks the sentinels in the background, at most
//! once a second while calls come in, whether they still name the same master, and moves on
//! when they do not.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::sentinel::SentinelClient;
use redis::{AsyncConnectionConfig, Cmd, ErrorKind, Pipeline, RedisError, RedisResult};
use redis::{RedisFuture, ServerErrorKind, Value};

use super::CONNECT_TIMEOUT;

/// How often, at most, the sentinels are asked whether the master is still the same one.
const RECHECK_EVERY: Duration = Duration::from_secs(1);

/// The master of a Sentinel-watched group, re-resolved after it changed. Clones share it.
#[derive(Clone)]
pub(super) struct SentinelConnection {
    shared: Arc<Shared>,
}

struct Shared {
    sentinel: tokio::sync::Mutex<SentinelClient>,
    /// The connection to the master as last resolved.
    current: Mutex<Option<Current>>,
    generations: AtomicU64,
    /// Whether a background check of the master's address runs.
    checking: AtomicBool,
}

struct Current {
    generation: u64,
    connection: MultiplexedConnection,
    /// The master's address, as the sentinels named it.
    address: String,
    /// When the sentinels last named this master.
    confirmed: Instant,
}

impl SentinelConnection {
    pub(super) fn new(sentinel: SentinelClient) -> Self {
        Self {
            shared: Arc::new(Shared {
                sentinel: tokio::sync::Mutex::new(sentinel),
                current: Mutex::new(None),
                generations: AtomicU64::new(0),
                checking: AtomicBool::new(false),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Current>> {
        self.shared
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The connection to the master as last resolved; starts a background check of the
    /// master's address when the last one is over a second old.
    fn cached(&self) -> Option<(u64, MultiplexedConnection)> {
        let current = self.lock();
        let current = current.as_ref()?;
        if current.confirmed.elapsed() >= RECHECK_EVERY {
            self.recheck(current.generation, current.address.clone());
        }
        Some((current.generation, current.connection.clone()))
    }

    /// Asks the sentinels in the background whether they still name the master at `address`;
    /// forgets its connection when they name another one.
    fn recheck(&self, generation: u64, address: String) {
        if self.shared.checking.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let named = async {
                let mut sentinel = this.shared.sentinel.lock().await;
                let client = sentinel.async_get_client().await.ok()?;
                Some(client.get_connection_info().addr().to_string())
            };
            let named = tokio::time::timeout(CONNECT_TIMEOUT, named)
                .await
                .ok()
                .flatten();
            match named {
                // The sentinels name another master: the next call connects to it.
                Some(named) if named != address => this.forget(generation),
                // The same master, or no answer (an outage shows in the calls themselves).
                _ => {
                    let mut current = this.lock();
                    if let Some(current) = current.as_mut().filter(|c| c.generation == generation) {
                        current.confirmed = Instant::now();
                    }
                }
            }
            this.shared.checking.store(false, Ordering::Release);
        });
    }

    /// The connection to the current master, asking the sentinels when there is none.
    async fn master(&self) -> RedisResult<(u64, MultiplexedConnection)> {
        if let Some(cached) = self.cached() {
            return Ok(cached);
        }
        // One resolution at a time: the calls queued behind it use its result.
        let mut sentinel = self.shared.sentinel.lock().await;
        if let Some(cached) = self.cached() {
            return Ok(cached);
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(None);
        let client = sentinel.async_get_client().await?;
        let address = client.get_connection_info().addr().to_string();
        let connection = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let generation = self.shared.generations.fetch_add(1, Ordering::Relaxed) + 1;
        *self.lock() = Some(Current {
            generation,
            connection: connection.clone(),
            address,
            confirmed: Instant::now(),
        });
        Ok((generation, connection))
    }

    /// Forgets the connection of `generation`, unless a newer one already replaced it.
    fn forget(&self, generation: u64) {
        let mut current = self.lock();
        if current.as_ref().is_some_and(|c| c.generation == generation) {
            *current = None;
        }
    }

    /// Runs `send` on the master's connection; forgets that connection when the answer (or
    /// the store giving up on the call) says the master moved, and retries once on `READONLY`,
    /// which the server answers without running the command.
    async fn run(&self, request: Request<'_>) -> RedisResult<Vec<Value>> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (generation, mut connection) = self.master().await?;
            let mut guard = ForgetOnDrop {
                connection: self,
                generation: Some(generation),
            };
            let result = match request {
                Request::Command(cmd) => connection.req_packed_command(cmd).await.map(|v| vec![v]),
                Request::Pipeline(pipeline, offset, count) => {
                    connection
                        .req_packed_commands(pipeline, offset, count)
                        .await
                }
            };
            guard.generation = None;
            match result {
                Err(e) if master_moved(&e) => {
                    self.forget(generation);
                    if attempts < 2 && e.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly) {
                        continue;
                    }
                    return Err(e);
                }
                result => return result,
            }
        }
    }
}

/// One command or a pipeline.
#[derive(Clone, Copy)]
enum Request<'a> {
    Command(&'a Cmd),
    Pipeline(&'a Pipeline, usize, usize),
}

/// Whether `e` says that the server is no longer (or not yet) the reachable master.
fn master_moved(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || matches!(
            e.kind(),
            ErrorKind::Server(
                ServerErrorKind::ReadOnly
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
            )
        )
}

/// Forgets the connection when a call on it is dropped before its answer: the store's
/// command timeout gave up on it, so the master may be unreachable without a closed socket.
struct ForgetOnDrop<'a> {
    connection: &'a SentinelConnection,
    generation: Option<u64>,
}

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(generation) = self.generation {
            self.connection.forget(generation);
        }
    }
}

impl ConnectionLike for SentinelConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let mut values = self.run(Request::Command(cmd)).await?;
            Ok(values.pop().unwrap_or(Value::Nil))
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(self.run(Request::Pipeline(pipeline, offset, count)))
    }

    fn get_db(&self) -> i64 {
        self.lock().as_ref().map_or(0, |c| c.connection.get_db())
    }
}

#[cfg(test)]
mod tests {
    use redis::{ErrorKind, RedisError, ServerErrorKind};

    use super::master_moved;

    fn server(kind: ServerErrorKind) -> RedisError {
        RedisError::from((ErrorKind::Server(kind), "from the server"))
    }

    #[test]
    fn a_demoted_unreachable_or_loading_master_means_asking_the_sentinels_again() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(master_moved(&RedisError::from(io)));
        for kind in [
            ServerErrorKind::ReadOnly,
            ServerErrorKind::MasterDown,
            ServerErrorKind::BusyLoading,
            ServerErrorKind::TryAgain,
        ] {
            assert!(master_moved(&server(kind)), "{kind:?}");
        }
    }

    #[test]
    fn an_answer_about_the_command_keeps_the_connection() {
        for kind in [ServerErrorKind::NoScript, ServerErrorKind::ResponseError] {
            assert!(!master_moved(&server(kind)), "{kind:?}");
        }
        let parse = RedisError::from((ErrorKind::UnexpectedReturnType, "not an integer"));
        assert!(!master_moved(&parse));
    }
}
