//! The apps hostile inputs are sent to: real `Router`s with a `SessionLayer` on each target,
//! served by `tower::ServiceExt::oneshot` on a current-thread runtime. The layers read a clock
//! that never moves and keys that never change, so the cookie values committed as fuzz seeds
//! stay valid.

use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderValue, Request, StatusCode};
use http_body_util::BodyExt;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tokio::runtime::Runtime;
use tower::ServiceExt;
use typed_sessions::{
    MemoryStore, Session, SessionData, SessionLayer,
    clock::ManualClock,
    store::{Fields, Record},
};

use super::probe::Probe;
use super::record::{RecordStore, Write};
use crate::wire;

/// The time on every layer's clock.
pub const NOW: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);
/// The layers' idle timeout (the default).
pub const IDLE: Duration = Duration::days(1);
/// The layers' absolute timeout (the default).
pub const ABSOLUTE: Duration = Duration::days(14);
/// The session cookie's name (the default).
pub use crate::wire::NAME;
/// The key that signs.
pub const CURRENT: [u8; 32] = [0xC1; 32];
/// An older key that still verifies (key rotation).
pub const OLD: [u8; 32] = [0x01; 32];
/// A key no layer of the fixture is configured with.
pub const FOREIGN: [u8; 32] = [0xF0; 32];
/// The keys the layers verify with.
pub const CONFIGURED: [&[u8]; 2] = [&CURRENT, &OLD];
/// Longer cookie values are refused unread (documented in `session/src/codec.rs`).
pub const MAX_VALUE_LEN: usize = 4096;
/// What an input is aimed at: where the session lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// In a signed cookie.
    Signed,
    /// In an encrypted cookie.
    Sealed,
    /// In a `MemoryStore`; the cookie holds the signed id.
    Memory,
    /// In a store that answers every id with the genuine record.
    AnyId,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 4] = [
        Target::Signed,
        Target::Sealed,
        Target::Memory,
        Target::AnyId,
    ];

    /// The targets a real app has: the signed cookie, the encrypted cookie, a real store.
    pub const REAL: [Target; 3] = [Target::Signed, Target::Sealed, Target::Memory];

    /// The backend the low two bits of `bits` name.
    pub fn from_bits(bits: u8) -> Self {
        Self::ALL[usize::from(bits & 3)]
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The next backend, whose cookies this one must not confuse with its own.
    pub fn next(self) -> Self {
        Self::ALL[(self.index() + 1) % 4]
    }
}

/// What the handler saw.
#[derive(Clone, Debug)]
pub struct Seen {
    /// Whether the session was new.
    pub is_new: bool,
    /// Whether the session had an id.
    pub has_id: bool,
    /// The session's value.
    pub probe: Probe,
}

/// The response, and what the handler saw.
#[derive(Debug)]
pub struct Outcome {
    /// The response's status.
    pub status: StatusCode,
    /// The response's body (invalid UTF-8 replaced).
    pub body: String,
    /// What the handler saw, if it ran.
    pub seen: Option<Seen>,
    /// The response's `Set-Cookie` values.
    pub set_cookies: Vec<String>,
    /// The writes the record store saw (on the any-id target).
    pub writes: Vec<Write>,
    /// What the library logged at `WARN` and above while answering: the detail of an error
    /// response, whose body is generic.
    pub log: String,
}

impl Outcome {
    /// Whether the handler saw a stored session.
    pub fn found(&self) -> bool {
        self.seen.as_ref().is_some_and(|seen| !seen.is_new)
    }
}

type Slot = Arc<Mutex<Option<Seen>>>;

fn see(slot: &Slot, session: &Session<Probe>) {
    *slot.lock().unwrap() = Some(Seen {
        is_new: session.is_new(),
        has_id: session.id().is_some(),
        probe: (**session).clone(),
    });
}

/// `/read` reports the session; `/write` reports it and counts a view; `/genuine` makes it
/// `Probe::genuine()`.
fn routes(slot: &Slot) -> Router {
    let read = {
        let slot = slot.clone();
        move |session: Session<Probe>| {
            see(&slot, &session);
            async {}
        }
    };
    let write = {
        let slot = slot.clone();
        move |mut session: Session<Probe>| {
            see(&slot, &session);
            session.views = session.views.wrapping_add(1);
            async {}
        }
    };
    let genuine = |mut session: Session<Probe>| {
        *session = Probe::genuine();
        async {}
    };
    Router::new()
        .route("/read", get(read))
        .route("/write", get(write))
        .route("/genuine", get(genuine))
}

/// The stored fields of `probe`.
pub fn fields_of(probe: &Probe) -> Fields {
    let values = probe.encode().expect("the probe encodes");
    Probe::KEYS
        .iter()
        .map(|key| (*key).to_owned())
        .zip(values)
        .collect()
}

/// The record of the genuine session, live at `NOW`.
pub fn genuine_record() -> Record {
    Record::new(
        fields_of(&Probe::genuine()),
        NOW - Duration::hours(1),
        NOW + Duration::hours(1),
    )
}

/// A layer signing with `newest` (and, for `CURRENT`, verifying `OLD` too) on `backend`.
fn layer(backend: Target, newest: &[u8], memory: &MemoryStore, any: &RecordStore) -> SessionLayer {
    let clock = ManualClock::new(NOW);
    let mut layer = crate::layer(wire::key(newest)).with_clock(clock);
    if newest == CURRENT {
        layer = layer.with_old_key(wire::key(&OLD));
    }
    match backend {
        Target::Signed => layer.with_encryption(false),
        Target::Sealed => layer.with_encryption(true),
        Target::Memory => layer.with_store(memory.clone()),
        Target::AnyId => layer.with_store(any.clone()),
    }
}

/// The `Cookie` header values among `headers` that are valid header values; the others are
/// not sent.
pub fn valid_headers<'h>(headers: impl IntoIterator<Item = &'h [u8]>) -> Vec<&'h [u8]> {
    headers
        .into_iter()
        .filter(|header| HeaderValue::from_bytes(header).is_ok())
        .collect()
}

/// One app: a router, what its handler saw, and the log of its record store, if any.
pub struct App {
    router: Router,
    slot: Slot,
    store: Option<RecordStore>,
}

impl App {
    fn new(layer: SessionLayer, store: Option<RecordStore>) -> Self {
        let slot = Slot::default();
        Self {
            router: routes(&slot).layer(layer),
            slot,
            store,
        }
    }

    /// Sends `GET path` with one `Cookie` header per entry of `headers` (valid ones only).
    pub fn send(&self, rt: &Runtime, path: &str, headers: &[&[u8]]) -> Outcome {
        let mut request = Request::get(path);
        for header in headers {
            if let Ok(value) = HeaderValue::from_bytes(header) {
                request = request.header(COOKIE, value);
            }
        }
        let request = request.body(Body::empty()).expect("a valid request");
        *self.slot.lock().unwrap() = None;
        let (logs, capture) = crate::Logs::capture();
        let (status, set_cookies, body) = rt.block_on(async {
            let response = self
                .router
                .clone()
                .oneshot(request)
                .await
                .expect("infallible");
            let status = response.status();
            let set_cookies = response
                .headers()
                .get_all(SET_COOKIE)
                .iter()
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
                .collect();
            let body = response.into_body().collect().await.expect("a body");
            (status, set_cookies, body.to_bytes())
        });
        drop(capture);
        Outcome {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
            seen: self.slot.lock().unwrap().take(),
            set_cookies,
            writes: self
                .store
                .as_ref()
                .map(RecordStore::take_writes)
                .unwrap_or_default(),
            log: logs.take(),
        }
    }

    /// The value of the session cookie `/genuine` issues.
    fn issue(&self, rt: &Runtime) -> String {
        let outcome = self.send(rt, "/genuine", &[]);
        let prefix = format!("{NAME}=");
        let cookie = outcome
            .set_cookies
            .iter()
            .find_map(|cookie| cookie.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("fixture: no session cookie issued: {outcome:?}"));
        cookie.split(';').next().unwrap_or_default().to_owned()
    }
}

/// A current-thread runtime with the timer the layer's store timeout needs.
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime")
}

/// One app per backend, and the cookies they issued.
pub struct Fixture {
    rt: Runtime,
    apps: Vec<App>,
    genuine: Vec<String>,
    stale: Vec<String>,
    foreign: Vec<String>,
}

impl Fixture {
    /// The fixture, built on first use and shared by every later call (the fuzz targets').
    pub fn get() -> &'static Fixture {
        static FIXTURE: OnceLock<Fixture> = OnceLock::new();
        FIXTURE.get_or_init(Fixture::new)
    }

    /// A fixture of its own (a test's: no other test's writes reach its stores).
    pub fn new() -> Self {
        let rt = runtime();
        let (mut apps, mut genuine, mut stale, mut foreign) = (vec![], vec![], vec![], vec![]);
        for backend in Target::ALL {
            let memory = MemoryStore::new().with_clock(ManualClock::new(NOW));
            let any = RecordStore::default();
            any.set(Some(genuine_record()));
            let app = App::new(layer(backend, &CURRENT, &memory, &any), Some(any.clone()));
            let old = App::new(layer(backend, &OLD, &memory, &any), None);
            let outsider = App::new(
                layer(
                    backend,
                    &FOREIGN,
                    &MemoryStore::new().with_clock(ManualClock::new(NOW)),
                    &any,
                ),
                None,
            );
            genuine.push(app.issue(&rt));
            stale.push(old.issue(&rt));
            foreign.push(outsider.issue(&rt));
            apps.push(app);
        }
        let fixture = Self {
            rt,
            apps,
            genuine,
            stale,
            foreign,
        };
        fixture.check();
        fixture
    }

    /// The fixture's own cookies behave as documented, or every input would be a false alarm.
    fn check(&self) {
        for backend in Target::ALL {
            for (what, value, found) in [
                ("genuine", self.genuine(backend), true),
                ("stale", self.stale(backend), true),
                ("foreign", self.foreign(backend), false),
            ] {
                let header = format!("{NAME}={value}");
                let outcome = self.send(backend, "/read", &[header.as_bytes()]);
                let seen = outcome.seen.as_ref().expect("the handler ran");
                assert_eq!(
                    !seen.is_new, found,
                    "fixture: {backend:?} {what}: {outcome:?}"
                );
                if found {
                    assert_eq!(seen.probe, Probe::genuine(), "fixture: {backend:?} {what}");
                }
            }
        }
    }

    /// The value of a session cookie `backend` issued with the current key.
    pub fn genuine(&self, backend: Target) -> &str {
        &self.genuine[backend.index()]
    }

    /// The value of a session cookie `backend` issued with the old key, which still verifies.
    pub fn stale(&self, backend: Target) -> &str {
        &self.stale[backend.index()]
    }

    /// The value of a session cookie `backend` issued with a key it is not configured with.
    pub fn foreign(&self, backend: Target) -> &str {
        &self.foreign[backend.index()]
    }

    /// Sends `GET path` to `backend`'s app.
    pub fn send(&self, backend: Target, path: &str, headers: &[&[u8]]) -> Outcome {
        self.apps[backend.index()].send(&self.rt, path, headers)
    }
}

/// An app on a `RecordStore` whose record each input sets, and two id cookies for it.
pub struct RecordFixture {
    rt: Runtime,
    app: App,
    store: RecordStore,
    /// An id cookie signed with the current key.
    pub current: String,
    /// An id cookie signed with the old key (re-issued when read).
    pub stale: String,
}

impl RecordFixture {
    /// The fixture, built on first use and shared by every later call (the fuzz targets').
    pub fn get() -> &'static RecordFixture {
        static FIXTURE: OnceLock<RecordFixture> = OnceLock::new();
        FIXTURE.get_or_init(RecordFixture::new)
    }

    /// A fixture of its own.
    pub fn new() -> Self {
        let rt = runtime();
        let store = RecordStore::default();
        let memory = MemoryStore::new();
        let app = App::new(
            layer(Target::AnyId, &CURRENT, &memory, &store),
            Some(store.clone()),
        );
        let old = App::new(layer(Target::AnyId, &OLD, &memory, &store), None);
        let current = app.issue(&rt);
        let stale = old.issue(&rt);
        store.take_writes();
        Self {
            rt,
            app,
            store,
            current,
            stale,
        }
    }

    /// Sends `GET path` with the current or stale cookie, the store holding `record`.
    pub fn send(&self, record: Record, stale: bool, path: &str) -> Outcome {
        self.store.set(Some(record));
        let value = if stale { &self.stale } else { &self.current };
        let header = format!("{NAME}={value}");
        self.app.send(&self.rt, path, &[header.as_bytes()])
    }
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}

impl Default for RecordFixture {
    fn default() -> Self {
        Self::new()
    }
}
