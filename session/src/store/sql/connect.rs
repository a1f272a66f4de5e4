//! Opening a pool on a database server.

use super::SqlDialect;
use super::errors::map_error;
use crate::Error;

/// How long a pool opened by [`connect_server`] waits for a connection before the call fails as
/// unavailable: short, so that an outage answers 503 quickly instead of queueing requests.
#[cfg(any(feature = "postgres", feature = "mysql"))]
const SERVER_ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// A pool on the server at `url`, with a one-second acquire timeout and no check of a pooled
/// connection before use (see [`TEST_BEFORE_ACQUIRE`]), once the server answered.
///
/// # Errors
///
/// As [`connect_error`].
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) async fn connect_server<DB: SqlDialect>(url: &str) -> Result<sqlx::Pool<DB>, Error> {
    sqlx::pool::PoolOptions::<DB>::new()
        .acquire_timeout(SERVER_ACQUIRE_TIMEOUT)
        .test_before_acquire(TEST_BEFORE_ACQUIRE)
        .connect(url)
        .await
        .map_err(connect_error::<DB>)
}

/// Whether a pool the store opens pings a connection before each use: no. The ping is a round
/// trip on every store call, and it does not make a call safe: a connection can die between the
/// ping and the statement. A statement on a connection that died since its last use fails as
/// unavailable like any other outage, and sqlx closes that connection instead of pooling it
/// again, so the next call opens a fresh one.
pub(crate) const TEST_BEFORE_ACQUIRE: bool = false;

/// A failure to open a pool: [`Error::Config`] for an invalid URL, else as [`map_error`].
pub(crate) fn connect_error<DB: SqlDialect>(e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::Configuration(e) => {
            Error::Config(format!("invalid {} URL: {e}", <DB as sqlx::Database>::NAME))
        }
        e => map_error::<DB>(e),
    }
}
