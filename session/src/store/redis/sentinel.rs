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

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::sentinel::SentinelClient;
use redis::{AsyncConnectionConfig, Cmd, ErrorKind, Pipeline, RedisError, RedisResult};
use redis::{RedisFuture, ServerErrorKind, Value};

use super::CONNECT_TIMEOUT;

/// The master of a Sentinel-watched group, re-resolved after it changed. Clones share it.
#[derive(Clone)]
pub(super) struct SentinelConnection {
    shared: Arc<Shared>,
}

struct Shared {
    sentinel: tokio::sync::Mutex<SentinelClient>,
    /// The connection to the master as last resolved, with its generation number.
    current: Mutex<Option<(u64, MultiplexedConnection)>>,
    generations: AtomicU64,
}

impl SentinelConnection {
    pub(super) fn new(sentinel: SentinelClient) -> Self {
        Self {
            shared: Arc::new(Shared {
                sentinel: tokio::sync::Mutex::new(sentinel),
                current: Mutex::new(None),
                generations: AtomicU64::new(0),
            }),
        }
    }

    fn cached(&self) -> Option<(u64, MultiplexedConnection)> {
        let current = self
            .shared
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        current.clone()
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
        let connection = sentinel
            .async_get_client()
            .await?
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let generation = self.shared.generations.fetch_add(1, Ordering::Relaxed) + 1;
        let mut current = self
            .shared
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *current = Some((generation, connection.clone()));
        Ok((generation, connection))
    }

    /// Forgets the connection of `generation`, unless a newer one already replaced it.
    fn forget(&self, generation: u64) {
        let mut current = self
            .shared
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().is_some_and(|(g, _)| *g == generation) {
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
        self.cached()
            .map_or(0, |(_, connection)| connection.get_db())
    }
}
