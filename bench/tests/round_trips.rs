//! Store round trips per request, counted by a store wrapper (no timing: these run in CI).
//!
//! A route that does not extract the session makes none; a read makes one (`load`); a change
//! makes two (`load`, then `patch` with the changed fields); a read moves the idle deadline
//! (`touch`) only once it would move by half the idle timeout, not on every request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use time::OffsetDateTime;
use typed_sessions::{
    Error, MemoryStore, SessionLayer,
    clock::ManualClock,
    store::{Created, Patch, Record, Rekeyed, SessionStore, StoreKey, Updated},
};
use typed_sessions_bench::{Client, Route, Row, Scenario, runtime, typed_app, typed_key};

/// Store calls by kind.
#[derive(Default)]
struct Calls {
    load: AtomicU32,
    create: AtomicU32,
    patch: AtomicU32,
    remove: AtomicU32,
    touch: AtomicU32,
    rekey: AtomicU32,
}

/// A memory store that counts the calls it gets.
#[derive(Clone)]
struct Counting {
    inner: MemoryStore,
    calls: Arc<Calls>,
}

/// Calls of one request, as `(kind, count)` for the kinds that were called.
type Trips = Vec<(&'static str, u32)>;

impl Counting {
    fn new(clock: &ManualClock) -> Self {
        Self {
            inner: MemoryStore::new().with_clock(clock.clone()),
            calls: Arc::default(),
        }
    }

    /// The calls made since the last `take`.
    fn take(&self) -> Trips {
        let calls = &self.calls;
        [
            ("load", &calls.load),
            ("create", &calls.create),
            ("patch", &calls.patch),
            ("remove", &calls.remove),
            ("touch", &calls.touch),
            ("rekey", &calls.rekey),
        ]
        .into_iter()
        .map(|(kind, count)| (kind, count.swap(0, Ordering::SeqCst)))
        .filter(|(_, count)| *count > 0)
        .collect()
    }
}

impl SessionStore for Counting {
    async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        self.calls.load.fetch_add(1, Ordering::SeqCst);
        self.inner.load(key).await
    }

    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, Error> {
        self.calls.create.fetch_add(1, Ordering::SeqCst);
        self.inner.create(key, record).await
    }

    async fn patch(&self, key: &StoreKey, patch: &Patch) -> Result<Updated, Error> {
        self.calls.patch.fetch_add(1, Ordering::SeqCst);
        self.inner.patch(key, patch).await
    }

    async fn remove(&self, key: &StoreKey) -> Result<(), Error> {
        self.calls.remove.fetch_add(1, Ordering::SeqCst);
        self.inner.remove(key).await
    }

    async fn touch(&self, key: &StoreKey, expires: OffsetDateTime) -> Result<Updated, Error> {
        self.calls.touch.fetch_add(1, Ordering::SeqCst);
        self.inner.touch(key, expires).await
    }

    async fn rekey(&self, old: &StoreKey, new: &StoreKey, patch: &Patch) -> Result<Rekeyed, Error> {
        self.calls.rekey.fetch_add(1, Ordering::SeqCst);
        self.inner.rekey(old, new, patch).await
    }

    fn can_rekey(&self, old: &StoreKey, new: &StoreKey) -> bool {
        self.inner.can_rekey(old, new)
    }
}

const IDLE: Duration = Duration::from_secs(60);

/// The app over a counting store with a manual clock and a 60 s idle timeout.
fn app() -> (axum::Router, Counting, ManualClock) {
    let clock = ManualClock::starting_now();
    let store = Counting::new(&clock);
    let layer = SessionLayer::new(typed_key())
        .with_store(store.clone())
        .with_clock(clock.clone())
        .with_idle_timeout(IDLE);
    (typed_app(layer), store, clock)
}

#[test]
fn untouched_read_and_changed_sessions() {
    let runtime = runtime();
    let (app, store, _clock) = app();
    let mut client = runtime.block_on(Client::with_app(app, Row::TsMemory, Scenario::Existing));
    assert_eq!(
        store.take(),
        [("create", 1)],
        "the client's first `/incr` made its session"
    );
    for _ in 0..3 {
        runtime.block_on(client.request(Route::None));
        assert_eq!(store.take(), [], "untouched: no store call");
        runtime.block_on(client.request(Route::Read));
        assert_eq!(store.take(), [("load", 1)], "read: one load");
        runtime.block_on(client.request(Route::Incr));
        assert_eq!(
            store.take(),
            [("load", 1), ("patch", 1)],
            "change: load and patch"
        );
    }
}

#[test]
fn new_visitors() {
    let runtime = runtime();
    let (app, store, _clock) = app();
    let mut client = runtime.block_on(Client::with_app(app, Row::TsMemory, Scenario::Fresh));
    for _ in 0..3 {
        runtime.block_on(client.request(Route::None));
        assert_eq!(store.take(), [], "untouched: no store call");
        runtime.block_on(client.request(Route::Read));
        assert_eq!(
            store.take(),
            [],
            "a new session that is only read is not stored"
        );
        runtime.block_on(client.request(Route::Incr));
        assert_eq!(
            store.take(),
            [("create", 1)],
            "a new session written: one create"
        );
    }
}

#[test]
fn idle_refresh_is_throttled() {
    let runtime = runtime();
    let (app, store, clock) = app();
    let mut client = runtime.block_on(Client::with_app(app, Row::TsMemory, Scenario::Existing));
    store.take();
    // Within half the idle timeout of the last save, reading moves nothing.
    for _ in 0..5 {
        clock.advance(Duration::from_secs(5));
        runtime.block_on(client.request(Route::Read));
        assert_eq!(store.take(), [("load", 1)]);
    }
    // 30 s after the save the deadline would move by half the idle timeout: one touch.
    clock.advance(Duration::from_secs(5));
    runtime.block_on(client.request(Route::Read));
    assert_eq!(store.take(), [("load", 1), ("touch", 1)]);
    // And then none again until the next 30 s have passed.
    for _ in 0..5 {
        clock.advance(Duration::from_secs(5));
        runtime.block_on(client.request(Route::Read));
        assert_eq!(store.take(), [("load", 1)]);
    }
    clock.advance(Duration::from_secs(5));
    runtime.block_on(client.request(Route::Read));
    assert_eq!(store.take(), [("load", 1), ("touch", 1)]);
    // A change moves the deadline with its patch: no touch besides.
    clock.advance(Duration::from_secs(40));
    runtime.block_on(client.request(Route::Incr));
    assert_eq!(store.take(), [("load", 1), ("patch", 1)]);
}
