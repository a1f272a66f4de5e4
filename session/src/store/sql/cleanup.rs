//! The background task that deletes expired sessions.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::Error;

/// A background task deleting expired sessions on an interval, started by
/// [`SqlStore::spawn_cleanup`](super::SqlStore::spawn_cleanup); stops when dropped.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "sqlite")]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), typed_sessions::Error> {
/// let store = typed_sessions::SqliteStore::connect("sqlite::memory:").await?;
/// store.migrate().await?;
/// let cleanup = store.spawn_cleanup(std::time::Duration::from_secs(300));
/// // ... serve; dropping `cleanup` stops it.
/// drop(cleanup);
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "sqlite"))]
/// # fn main() {}
/// ```
#[derive(Debug)]
#[must_use = "the cleanup task stops when this handle is dropped"]
pub struct CleanupTask {
    handle: JoinHandle<()>,
}

impl CleanupTask {
    /// Runs `sweep` every `interval` on the current Tokio runtime, logging failures; the first
    /// time right away, or after one interval unless `at_once`.
    pub(crate) fn spawn<F, Fut>(interval: Duration, at_once: bool, sweep: F) -> Self
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<u64, Error>> + Send,
    {
        let handle = tokio::spawn(async move {
            let first =
                tokio::time::Instant::now() + if at_once { Duration::ZERO } else { interval };
            let mut ticks = tokio::time::interval_at(first, interval);
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

    /// Stops the task, as dropping it does.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), typed_sessions::Error> {
    /// let store = typed_sessions::SqliteStore::connect("sqlite::memory:").await?;
    /// store.migrate().await?;
    /// store.spawn_cleanup(std::time::Duration::from_secs(300)).stop();
    /// # Ok(())
    /// # }
    /// # #[cfg(not(feature = "sqlite"))]
    /// # fn main() {}
    /// ```
    pub fn stop(self) {}
}

impl Drop for CleanupTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}
