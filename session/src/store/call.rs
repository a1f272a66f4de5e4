//! How the layer calls a store: through an object-safe view (so the layer is not generic over
//! its store), each call bounded by the layer's store timeout.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use time::OffsetDateTime;

use crate::Error;
use crate::store::{Created, IndexDigest, Patch, Record, Rekeyed, SessionStore, StoreKey, Updated};

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
    ) -> BoxFuture<'a, Result<Updated, Error>>;
    fn remove<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<(), Error>>;
    fn touch<'a>(
        &'a self,
        key: &'a StoreKey,
        expires: OffsetDateTime,
    ) -> BoxFuture<'a, Result<Updated, Error>>;
    fn rekey<'a>(
        &'a self,
        old: &'a StoreKey,
        new: &'a StoreKey,
        patch: &'a Patch,
    ) -> BoxFuture<'a, Result<Rekeyed, Error>>;
    fn can_rekey(&self, old: &StoreKey, new: &StoreKey) -> bool;
    fn list_indexed<'a>(
        &'a self,
        index: &'a IndexDigest,
    ) -> BoxFuture<'a, Result<Vec<(StoreKey, Record)>, Error>>;
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
    ) -> BoxFuture<'a, Result<Updated, Error>> {
        Box::pin(SessionStore::patch(self, key, patch))
    }
    fn remove<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(SessionStore::remove(self, key))
    }
    fn touch<'a>(
        &'a self,
        key: &'a StoreKey,
        expires: OffsetDateTime,
    ) -> BoxFuture<'a, Result<Updated, Error>> {
        Box::pin(SessionStore::touch(self, key, expires))
    }
    fn rekey<'a>(
        &'a self,
        old: &'a StoreKey,
        new: &'a StoreKey,
        patch: &'a Patch,
    ) -> BoxFuture<'a, Result<Rekeyed, Error>> {
        Box::pin(SessionStore::rekey(self, old, new, patch))
    }
    fn can_rekey(&self, old: &StoreKey, new: &StoreKey) -> bool {
        SessionStore::can_rekey(self, old, new)
    }
    fn list_indexed<'a>(
        &'a self,
        index: &'a IndexDigest,
    ) -> BoxFuture<'a, Result<Vec<(StoreKey, Record)>, Error>> {
        Box::pin(SessionStore::list_indexed(self, index))
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
