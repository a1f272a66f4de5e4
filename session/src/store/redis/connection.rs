//! The connection to a standalone server (named by its address or by Redis Sentinel) or a
//! Cluster, and how Redis failures map onto the crate's errors.

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, ServerErrorKind, Value};

use super::sentinel::SentinelConnection;
use crate::Error;

pub(super) fn not_a_session() -> Error {
    Error::corrupt("the Redis key holds something that is not a session record")
}

pub(super) fn config_error(e: RedisError) -> Error {
    Error::Config(format!("invalid Redis address: {e}"))
}

/// Sorts a Redis failure into the crate's error kinds.
pub(super) fn map_error(e: RedisError) -> Error {
    if e.code() == Some("WRONGTYPE") {
        return not_a_session();
    }
    let unreachable = e.is_io_error()
        || e.is_timeout()
        || matches!(
            e.kind(),
            ErrorKind::ClusterConnectionNotFound
                // No sentinel names a master that answers as one: down, or mid-failover.
                | ErrorKind::MasterNameNotFoundBySentinel
                | ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::ClusterDown
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ReadOnly
                )
        );
    if unreachable {
        Error::unavailable(e)
    } else {
        Error::store(e)
    }
}

/// A standalone server or a Cluster behind one command interface.
#[derive(Clone)]
pub(super) enum Connection {
    Standalone(Server),
    Cluster(ClusterConnection),
}

/// The one server that holds every key: at a known address, or the master that Redis Sentinel
/// names.
#[derive(Clone)]
pub(super) enum Server {
    Manager(ConnectionManager),
    Sentinel(SentinelConnection),
}

impl ConnectionLike for Server {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Manager(manager) => Box::pin(async move {
                match manager.req_packed_command(cmd).await {
                    // A refused connection means the command was never sent, and the manager
                    // has just started a fresh connection: when Redis is back, this second
                    // attempt succeeds instead of failing one more request.
                    Err(e) if e.is_connection_refusal() => manager.req_packed_command(cmd).await,
                    result => result,
                }
            }),
            Self::Sentinel(sentinel) => sentinel.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Manager(manager) => manager.req_packed_commands(pipeline, offset, count),
            Self::Sentinel(sentinel) => sentinel.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Manager(manager) => manager.get_db(),
            Self::Sentinel(sentinel) => sentinel.get_db(),
        }
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Standalone(server) => server.req_packed_command(cmd),
            Self::Cluster(cluster) => cluster.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Standalone(server) => server.req_packed_commands(pipeline, offset, count),
            Self::Cluster(cluster) => cluster.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Standalone(server) => server.get_db(),
            Self::Cluster(cluster) => cluster.get_db(),
        }
    }
}
