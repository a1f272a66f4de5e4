//! Opening a pool on a database server.

use super::SqlDialect;
use super::errors::map_error;
use crate::Error;

/// How long a pool opened by [`connect_server`] waits for a connection before the call fails as
/// unavailable: short, so that an outage answers 503 quickly instead of queueing requests.
#[cfg(any(feature = "postgres", feature = "mysql"))]
const SERVER_ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// A pool on the server at `url`, with a one-second acquire timeout, once the server answered.
///
/// # Errors
///
/// As [`connect_error`].
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) async fn connect_server<DB: SqlDialect>(url: &str) -> Result<sqlx::Pool<DB>, Error> {
    sqlx::pool::PoolOptions::<DB>::new()
        .acquire_timeout(SERVER_ACQUIRE_TIMEOUT)
        .connect(url)
        .await
        .map_err(connect_error::<DB>)
}

/// A failure to open a pool: [`Error::Config`] for an invalid URL, else as [`map_error`].
pub(crate) fn connect_error<DB: SqlDialect>(e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::Configuration(e) => {
            Error::Config(format!("invalid {} URL: {e}", <DB as sqlx::Database>::NAME))
        }
        e => map_error::<DB>(e),
    }
}
