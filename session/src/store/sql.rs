//! What the SQL stores share: table names, the background cleanup task.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::Error;

/// Checks that `name` can be spliced into SQL as a table name: ASCII letters, digits and `_`,
/// not starting with a digit, at most 63 bytes.
pub(crate) fn check_table_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && !name.as_bytes()[0].is_ascii_digit()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "invalid session table name {name:?}: use ASCII letters, digits and `_`"
        )))
    }
}

/// A background task deleting expired sessions on an interval; stops when dropped.
///
/// # Example
///
/// ```no_run
/// # #[cfg(feature = "sqlite")]
/// # async fn run() -> Result<(), typed_sessions::Error> {
/// let store = typed_sessions::SqliteStore::connect("sqlite::memory:").await?;
/// store.migrate().await?;
/// let cleanup = store.spawn_cleanup(std::time::Duration::from_secs(300));
/// // ... serve; dropping `cleanup` stops it.
/// # drop(cleanup);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "the cleanup task stops when this handle is dropped"]
pub struct CleanupTask {
    handle: JoinHandle<()>,
}

impl CleanupTask {
    /// Runs `sweep` every `interval` on the current Tokio runtime, logging failures.
    pub(crate) fn spawn<F, Fut>(interval: Duration, sweep: F) -> Self
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<u64, Error>> + Send,
    {
        let handle = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match sweep().await {
                    Ok(0) => {}
                    Ok(deleted) => tracing::debug!(deleted, "deleted expired sessions"),
                    Err(error) => tracing::warn!(%error, "deleting expired sessions failed"),
                }
            }
        });
        Self { handle }
    }

    /// Stops the task.
    pub fn stop(self) {}
}

impl Drop for CleanupTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        assert!(check_table_name("sessions").is_ok());
        assert!(check_table_name("app_sessions_2").is_ok());
        for bad in ["", "1x", "a-b", "a;drop table x", "\"x\"", &"a".repeat(64)] {
            assert!(check_table_name(bad).is_err(), "{bad}");
        }
    }
}
