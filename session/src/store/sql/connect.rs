//! Opening a pool on a database server.

use super::SqlDialect;
use super::errors::map_error;
use crate::Error;

/// How long a pool opened by [`connect_server`] waits for a connection before the call fails as
/// unavailable: short, so that an outage answers 503 quickly instead of queueing requests.
#[cfg(any(feature = "postgres", feature = "mysql"))]
const SERVER_ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// A pool on the server at `url`, with a one-second acquire timeout, and a check of a pooled
/// connection before use only when it sat idle for [`PING_IDLE_AFTER`] or longer (see
/// [`TEST_BEFORE_ACQUIRE`]), once the server answered.
///
/// # Errors
///
/// As [`connect_error`].
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) async fn connect_server<DB: SqlDialect>(url: &str) -> Result<sqlx::Pool<DB>, Error> {
    sqlx::pool::PoolOptions::<DB>::new()
        .acquire_timeout(SERVER_ACQUIRE_TIMEOUT)
        .test_before_acquire(TEST_BEFORE_ACQUIRE)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_IDLE_AFTER {
                    // An error closes this connection and the pool takes or opens another.
                    sqlx::Connection::ping(connection).await?;
                }
                Ok(true)
            })
        })
        .connect(url)
        .await
        .map_err(connect_error::<DB>)
}

/// Whether a pool the store opens pings a connection before each use: no, a round trip more on
/// every store call. A server pool pings only a connection that sat idle for
/// [`PING_IDLE_AFTER`]: such a connection may have been closed by a server restart or a proxy's
/// idle timeout since its last use, and the ping lets the pool replace it before the statement
/// instead of failing one request after the server came back. A busy application's connections
/// are never idle that long, so it pays no ping.
pub(crate) const TEST_BEFORE_ACQUIRE: bool = false;

/// How long a server pool's connection may sit idle before it is pinged on its next use.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) const PING_IDLE_AFTER: std::time::Duration = std::time::Duration::from_millis(200);

/// A failure to open a pool: [`Error::Config`] for an invalid URL, else as [`map_error`].
pub(crate) fn connect_error<DB: SqlDialect>(e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::Configuration(e) => {
            Error::Config(format!("invalid {} URL: {e}", <DB as sqlx::Database>::NAME))
        }
        e => map_error::<DB>(e),
    }
}
