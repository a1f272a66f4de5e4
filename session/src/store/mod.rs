//! The store contract, and the stores that ship with the crate.

mod memory;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use time::OffsetDateTime;

pub use memory::MemoryStore;
#[cfg(feature = "mysql")]
#[cfg_attr(docsrs, doc(cfg(feature = "mysql")))]
pub use mysql::MySqlStore;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::PostgresStore;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::RedisStore;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite")))
)]
pub use sql::CleanupTask;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::SqliteStore;

use crate::Error;
use crate::id::StoreKey;
use crate::record::{Applied, Created, Patch, Record};

/// Where sessions live when they do not live in the cookie.
///
/// The contract, which [`MemoryStore`] and every shipped store honour:
///
/// - keys are [`StoreKey`]s, SHA-256 digests of the session id; the store never sees an id;
/// - `load` answers `Ok(None)` for a missing or expired record: "not found" is not an error;
/// - `create` never overwrites a live record ([`Created::AlreadyExists`]);
/// - `patch` changes only the given fields and the expiry, and never re-creates a record that
///   was removed or expired meanwhile ([`Applied::Missing`]); two patches of different fields
///   both survive, patches of the same field are last-writer-wins;
/// - `touch` only moves the expiry;
/// - `remove` of a missing record is not an error.
///
/// Errors: [`Error::unavailable`] when the store cannot be reached (the request answers 503),
/// [`Error::corrupt`] for a record that is not a session record (treated as no session),
/// [`Error::store`] otherwise.
///
/// # Example
///
/// A store is used through [`SessionLayer::with_store`](crate::SessionLayer::with_store):
///
/// ```
/// use typed_sessions::{Key, MemoryStore, SessionLayer};
///
/// let layer = SessionLayer::new(Key::generate()).with_store(MemoryStore::new());
/// # let _ = layer;
/// ```
pub trait SessionStore: Send + Sync + 'static {
    /// The record stored under `key`, or `None` if there is none or it has expired.
    fn load(&self, key: &StoreKey) -> impl Future<Output = Result<Option<Record>, Error>> + Send;

    /// Stores `record` under `key` unless a live record already has that key.
    fn create(
        &self,
        key: &StoreKey,
        record: &Record,
    ) -> impl Future<Output = Result<Created, Error>> + Send;

    /// Applies `patch` to the live record under `key`, atomically, or reports it missing.
    fn patch(
        &self,
        key: &StoreKey,
        patch: &Patch,
    ) -> impl Future<Output = Result<Applied, Error>> + Send;

    /// Removes the record under `key`, if any.
    fn remove(&self, key: &StoreKey) -> impl Future<Output = Result<(), Error>> + Send;

    /// Moves the expiry of the live record under `key`, or reports it missing.
    fn touch(
        &self,
        key: &StoreKey,
        expires: OffsetDateTime,
    ) -> impl Future<Output = Result<Applied, Error>> + Send;
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`SessionStore`] made object-safe, so the layer is not generic over its store.
pub(crate) trait DynStore: Send + Sync {
    fn load<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<Record>, Error>>;
    fn create<'a>(
        &'a self,
        key: &'a StoreKey,
        record: &'a Record,
    ) -> BoxFuture<'a, Result<Created, Error>>;
    fn patch<'a>(
        &'a self,
        key: &'a StoreKey,
        patch: &'a Patch,
    ) -> BoxFuture<'a, Result<Applied, Error>>;
    fn remove<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<(), Error>>;
    fn touch<'a>(
        &'a self,
        key: &'a StoreKey,
        expires: OffsetDateTime,
    ) -> BoxFuture<'a, Result<Applied, Error>>;
}

impl<S: SessionStore> DynStore for S {
    fn load<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<Record>, Error>> {
        Box::pin(SessionStore::load(self, key))
    }
    fn create<'a>(
        &'a self,
        key: &'a StoreKey,
        record: &'a Record,
    ) -> BoxFuture<'a, Result<Created, Error>> {
        Box::pin(SessionStore::create(self, key, record))
    }
    fn patch<'a>(
        &'a self,
        key: &'a StoreKey,
        patch: &'a Patch,
    ) -> BoxFuture<'a, Result<Applied, Error>> {
        Box::pin(SessionStore::patch(self, key, patch))
    }
    fn remove<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(SessionStore::remove(self, key))
    }
    fn touch<'a>(
        &'a self,
        key: &'a StoreKey,
        expires: OffsetDateTime,
    ) -> BoxFuture<'a, Result<Applied, Error>> {
        Box::pin(SessionStore::touch(self, key, expires))
    }
}

/// Runs one store call, bounded by `limit`.
///
/// The timer is armed only when the call does not answer on its first poll: a store that
/// answers at once (the memory store, a cache hit) costs no timer, and a remote store's call
/// is not polled again until it or the timer wakes the task. The limit counts from that
/// first poll.
pub(crate) async fn bounded<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let mut call = std::pin::pin!(call);
    // Outside the task's cooperative budget, like `tokio::time::timeout`'s: a call that uses
    // the budget up cannot keep its own deadline from firing.
    let mut timer = std::pin::pin!(None::<tokio::task::Unconstrained<tokio::time::Sleep>>);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(result) = call.as_mut().poll(cx) {
            return Poll::Ready(result);
        }
        if timer.is_none() {
            timer.set(Some(tokio::task::unconstrained(tokio::time::sleep(limit))));
        }
        let timer = timer.as_mut().as_pin_mut().expect("armed above");
        timer.poll(cx).map(|()| Err(Error::Timeout(limit)))
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_answer_at_once_is_polled_once() {
        let polls = AtomicUsize::new(0);
        let call = async {
            polls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, Error>(7)
        };
        assert_eq!(bounded(Duration::from_secs(1), call).await.unwrap(), 7);
        assert_eq!(polls.load(Ordering::SeqCst), 1);
    }

    /// Answers once woken from outside; counts its polls.
    struct Remote<'a> {
        polls: &'a AtomicUsize,
        waker: &'a std::sync::Mutex<Option<std::task::Waker>>,
        answered: &'a std::sync::atomic::AtomicBool,
    }

    impl Future for Remote<'_> {
        type Output = Result<u8, Error>;

        fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
            self.polls.fetch_add(1, Ordering::SeqCst);
            if self.answered.load(Ordering::SeqCst) {
                return Poll::Ready(Ok(9));
            }
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_answer_is_polled_once_per_wake() {
        let polls = AtomicUsize::new(0);
        let waker = std::sync::Mutex::new(None::<std::task::Waker>);
        let answered = std::sync::atomic::AtomicBool::new(false);
        let call = Remote {
            polls: &polls,
            waker: &waker,
            answered: &answered,
        };
        let answer = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            answered.store(true, Ordering::SeqCst);
            waker.lock().unwrap().take().expect("polled").wake();
        };
        let (outcome, ()) = tokio::join!(bounded(Duration::from_secs(1), call), answer);
        assert_eq!(outcome.unwrap(), 9);
        // Once before the answer, once after its wake: never twice in a row.
        assert_eq!(polls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn no_answer_times_out_at_the_limit() {
        let start = tokio::time::Instant::now();
        let limit = Duration::from_millis(250);
        let outcome = bounded(limit, std::future::pending::<Result<(), Error>>()).await;
        assert!(matches!(outcome, Err(Error::Timeout(l)) if l == limit));
        assert_eq!(start.elapsed(), limit);
    }
}
