//! Writes that wait for replicas (`WAIT`) before they count as done.
//!
//! Redis replicates asynchronously: a master acknowledges a write before any replica has it,
//! and a write acknowledged just before the master dies is lost when a replica takes over.
//! With [`ReplicaAcks`] on, each write is followed by `WAIT <replicas> <timeout>` in one
//! pipeline on the same server connection (`WAIT` counts the replicas that hold everything
//! that connection wrote; it is not allowed inside a Lua script). On a Cluster the pipeline is
//! routed to the master of the session's slot. Fewer acknowledgements within the timeout make
//! the call fail as unavailable, although the master did apply the write.

use std::time::Duration;

use redis::cluster_routing::{Route, SingleNodeRoutingInfo, SlotAddr};
use redis::{
    ErrorKind, Pipeline, RedisResult, Script, ScriptInvocation, ServerErrorKind, Value,
    aio::ConnectionLike,
};

use super::connection::{Connection, map_error, not_a_session};
use crate::Error;

/// How many replicas must hold a write, and how long to wait for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ReplicaAcks {
    pub(super) replicas: usize,
    pub(super) timeout: Duration,
}

impl ReplicaAcks {
    /// Runs the script `invocation` of `script` on the master of `routing_key`, then waits for
    /// the replicas; the script's answer.
    pub(super) async fn invoke<T: redis::FromRedisValue>(
        self,
        connection: &mut Connection,
        routing_key: &str,
        script: &Script,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, Error> {
        let pipeline = |load: bool| {
            let mut pipeline = redis::pipe();
            if load {
                pipeline.load_script(script);
            }
            pipeline.invoke_script(invocation);
            pipeline
        };
        let answers = match self.send(connection, routing_key, pipeline(false)).await {
            // The server does not know the script yet (it restarted or was just promoted):
            // the script did not run, so it runs again after loading it.
            Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                self.send(connection, routing_key, pipeline(true)).await
            }
            result => result,
        };
        let status = self.check(answers)?.pop().ok_or_else(not_a_session)?;
        redis::from_redis_value(status).map_err(|_| not_a_session())
    }

    /// Deletes `key`, then waits for the replicas.
    pub(super) async fn delete(self, connection: &mut Connection, key: &str) -> Result<(), Error> {
        let mut pipeline = redis::pipe();
        pipeline.cmd("DEL").arg(key);
        self.check(self.send(connection, key, pipeline).await)?;
        Ok(())
    }

    /// Fails as unavailable when fewer replicas than asked for acknowledged the write; the
    /// answers of the write's commands otherwise.
    fn check(self, answers: RedisResult<(Vec<Value>, i64)>) -> Result<Vec<Value>, Error> {
        let (values, acked) = answers.map_err(map_error)?;
        if usize::try_from(acked).unwrap_or(0) < self.replicas {
            return Err(Error::unavailable(format!(
                "{acked} of {} Redis replicas acknowledged the write within {:?}",
                self.replicas, self.timeout
            )));
        }
        Ok(values)
    }

    /// Sends `pipeline` followed by `WAIT` to the master of `routing_key`: the answers of the
    /// pipeline's commands and the number of replicas that acknowledged them. Fails with the
    /// first error among the answers.
    async fn send(
        self,
        connection: &mut Connection,
        routing_key: &str,
        mut pipeline: Pipeline,
    ) -> RedisResult<(Vec<Value>, i64)> {
        let millis = u64::try_from(self.timeout.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        pipeline.cmd("WAIT").arg(self.replicas).arg(millis);
        let count = pipeline.len();
        let values = match connection {
            Connection::Cluster(cluster) => {
                let route = Route::with_key(routing_key, SlotAddr::Master);
                let route = SingleNodeRoutingInfo::SpecificNode(route);
                cluster.route_pipeline(pipeline, 0, count, route).await?
            }
            Connection::Standalone(server) => {
                server.req_packed_commands(&pipeline, 0, count).await?
            }
        };
        let mut values = match Value::Array(values).extract_error()? {
            Value::Array(values) => values,
            _ => Vec::new(),
        };
        match values.pop() {
            Some(acked) => Ok((values, redis::from_redis_value(acked)?)),
            None => Err((ErrorKind::UnexpectedReturnType, "no answer to WAIT").into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use redis::{ErrorKind, RedisError, Value};

    use super::ReplicaAcks;

    const TWO: ReplicaAcks = ReplicaAcks {
        replicas: 2,
        timeout: Duration::from_millis(50),
    };

    #[test]
    fn enough_acknowledgements_pass_the_answers_on() {
        let answers = TWO.check(Ok((vec![Value::Int(1)], 2))).unwrap();
        assert_eq!(answers, vec![Value::Int(1)]);
        assert!(TWO.check(Ok((Vec::new(), 3))).is_ok());
    }

    #[test]
    fn too_few_acknowledgements_are_unavailable_and_say_how_many() {
        let err = TWO.check(Ok((vec![Value::Int(1)], 1))).unwrap_err();
        assert!(err.is_unavailable(), "{err:?}");
        assert!(err.to_string().contains("1 of 2"), "{err}");
    }

    #[test]
    fn a_failed_write_stays_its_own_error() {
        let failed = RedisError::from((ErrorKind::UnexpectedReturnType, "not an integer"));
        let err = TWO.check(Err(failed)).unwrap_err();
        assert!(!err.is_unavailable(), "{err:?}");
    }
}
