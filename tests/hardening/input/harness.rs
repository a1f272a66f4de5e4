//! The apps the properties drive — a real `Router` with `SessionLayer` on the signed cookie,
//! the encrypted cookie and a `MemoryStore`, on a clock that never moves — the session type
//! they read, an independent writer of the cookie wire format, and what must hold.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderValue, Request, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tokio::runtime::Runtime;
use tower::ServiceExt;
use typed_sessions::{
    Error, Key, MemoryStore, Session, SessionLayer,
    clock::ManualClock,
    store::{Created, Fields, Patch, Record, SessionStore, StoreKey, Updated},
};

// --- the session type, and what decoding promises ---

pub fn default_theme() -> String {
    "light".to_owned()
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Kind {
    #[default]
    Plain,
    Tuple(u8, u8),
    Named {
        x: i64,
    },
}

#[derive(Session, Clone, Debug, PartialEq)]
pub struct Probe {
    pub views: u64,
    #[session(rename = "u")]
    pub user: Option<String>,
    pub tags: Vec<String>,
    #[session(default = "default_theme")]
    pub theme: String,
    pub ratio: f64,
    pub flag: bool,
    pub letter: char,
    pub scores: BTreeMap<String, u8>,
    pub kind: Kind,
    pub pair: (u8, String),
    pub bytes: [u8; 4],
    pub any: Value,
    #[session(skip)]
    pub scratch: Vec<u8>,
}

#[derive(Session, Clone, Debug, PartialEq)]
#[session(namespace = "cart")]
pub struct Cart {
    pub items: Vec<u32>,
    #[session(rename = "c")]
    pub coupon: Option<String>,
    #[session(default = "Cart::default_limit")]
    pub limit: u8,
}

impl Cart {
    fn default_limit() -> u8 {
        10
    }
}

/// The stored value if it deserializes into `T`, else the default: the derive's promise.
pub fn field<T: DeserializeOwned>(fields: &Fields, key: &str, default: impl FnOnce() -> T) -> T {
    fields
        .get(key)
        .and_then(|value| T::deserialize(value).ok())
        .unwrap_or_else(default)
}

impl Probe {
    pub fn expected(fields: &Fields) -> Self {
        Self {
            views: field(fields, "views", u64::default),
            user: field(fields, "u", Option::default),
            tags: field(fields, "tags", Vec::default),
            theme: field(fields, "theme", default_theme),
            ratio: field(fields, "ratio", f64::default),
            flag: field(fields, "flag", bool::default),
            letter: field(fields, "letter", char::default),
            scores: field(fields, "scores", BTreeMap::default),
            kind: field(fields, "kind", Kind::default),
            pair: field(fields, "pair", <(u8, String)>::default),
            bytes: field(fields, "bytes", <[u8; 4]>::default),
            any: field(fields, "any", Value::default),
            scratch: Vec::new(),
        }
    }

    pub fn default_session() -> Self {
        Self::expected(&Fields::new())
    }

    /// What every genuine cookie of these tests carries.
    pub fn genuine() -> Self {
        Self {
            views: 42,
            user: Some("genuine".to_owned()),
            tags: vec!["a".to_owned(), "b".to_owned()],
            theme: "dark".to_owned(),
            ..Self::default_session()
        }
    }
}

impl Cart {
    pub fn expected(fields: &Fields) -> Self {
        Self {
            items: field(fields, "cart.items", Vec::default),
            coupon: field(fields, "cart.c", Option::default),
            limit: field(fields, "cart.limit", Cart::default_limit),
        }
    }
}

// --- the cookie wire format, written independently of the library ---

/// As documented in `session/src/codec.rs`: keys derived from the master key with HMAC-SHA256,
/// `<version>.<kid>.<payload>.<mac>` signed over `session=` and the rest, or
/// `3.<kid>.<nonce|ciphertext|tag>` sealed with `session=3.<kid>` as associated data.
pub mod wire {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    use aes_gcm::{Aes256Gcm, Nonce};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    fn derive(master: &[u8], label: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(master).unwrap();
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    pub fn kid(master: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(&derive(master, "typed-sessions/v1/key-id")[..6])
    }

    pub fn signed(master: &[u8], version: &str, payload: &str) -> String {
        let signed = format!("{version}.{}.{payload}", kid(master));
        let key = derive(master, "typed-sessions/v1/signing");
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
        mac.update(format!("session={signed}").as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signed}.{tag}")
    }

    pub fn signed_data(master: &[u8], plaintext: &[u8]) -> String {
        signed(master, "2", &URL_SAFE_NO_PAD.encode(plaintext))
    }

    pub fn sealed(master: &[u8], plaintext: &[u8]) -> String {
        let header = format!("3.{}", kid(master));
        let key = derive(master, "typed-sessions/v1/encryption");
        let nonce = [7u8; 12];
        let aad = format!("session={header}");
        let sealed = Aes256Gcm::new((&key).into())
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .unwrap();
        format!(
            "{header}.{}",
            URL_SAFE_NO_PAD.encode([&nonce[..], &sealed].concat())
        )
    }
}

// --- the apps ---

/// The time on every layer's clock.
pub const NOW: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);
pub const ABSOLUTE: Duration = Duration::days(14);
pub const CURRENT: [u8; 32] = [0xC1; 32];
pub const OLD: [u8; 32] = [0x01; 32];
pub const FOREIGN: [u8; 32] = [0xF0; 32];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Signed,
    Sealed,
    Memory,
}

pub const BACKENDS: [Backend; 3] = [Backend::Signed, Backend::Sealed, Backend::Memory];

/// What the handler saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub is_new: bool,
    pub has_id: bool,
    pub probe: Probe,
}

pub type Slot = Arc<Mutex<Option<Seen>>>;

#[derive(Debug)]
pub struct Outcome {
    pub status: StatusCode,
    pub seen: Option<Seen>,
    pub set_cookie: bool,
}

/// `/read` reports the session, `/write` reports it and counts a view, `/genuine` makes it
/// `Probe::genuine()`.
pub fn routes(slot: &Slot) -> Router {
    fn see(slot: &Slot, session: &Session<Probe>) {
        *slot.lock().unwrap() = Some(Seen {
            is_new: session.is_new(),
            has_id: session.id().is_some(),
            probe: (**session).clone(),
        });
    }
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

pub fn key(master: &[u8]) -> Key {
    Key::from_bytes(master).unwrap()
}

/// A layer signing with `newest` (verifying `OLD` too when `newest` is `CURRENT`).
pub fn layer(newest: &[u8], backend: Backend, memory: &MemoryStore) -> SessionLayer {
    let mut layer = SessionLayer::new(key(newest)).with_clock(ManualClock::new(NOW));
    if newest == CURRENT {
        layer = layer.with_old_key(key(&OLD));
    }
    match backend {
        Backend::Signed => layer,
        Backend::Sealed => layer.with_encryption(true),
        Backend::Memory => layer.with_store(memory.clone()),
    }
}

pub struct Client {
    pub router: Router,
    pub slot: Slot,
}

impl Client {
    pub fn new(layer: SessionLayer) -> Self {
        let slot = Slot::default();
        Self {
            router: routes(&slot).layer(layer),
            slot,
        }
    }

    pub fn send(&self, rt: &Runtime, path: &str, headers: &[Vec<u8>]) -> Outcome {
        let mut request = Request::get(path);
        for header in headers {
            let value = HeaderValue::from_bytes(header).expect("strategies make valid headers");
            request = request.header(COOKIE, value);
        }
        let request = request.body(Body::empty()).unwrap();
        *self.slot.lock().unwrap() = None;
        let response = rt.block_on(self.router.clone().oneshot(request)).unwrap();
        Outcome {
            status: response.status(),
            seen: self.slot.lock().unwrap().take(),
            set_cookie: response.headers().contains_key(SET_COOKIE),
        }
    }

    /// The value of the session cookie `/genuine` issues.
    pub fn issue(&self, rt: &Runtime) -> String {
        let response = rt
            .block_on(
                self.router
                    .clone()
                    .oneshot(Request::get("/genuine").body(Body::empty()).unwrap()),
            )
            .unwrap();
        let cookie = response.headers()[SET_COOKIE].to_str().unwrap();
        let pair = cookie.split(';').next().unwrap();
        pair.strip_prefix("session=").unwrap().to_owned()
    }
}

pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// An app on one backend, and cookie values for it: issued with the current key, with the old
/// key (which still verifies), and by the same kind of layer with a key it does not know.
pub struct App {
    pub backend: Backend,
    pub rt: Runtime,
    pub client: Client,
    pub genuine: String,
    pub stale: String,
    pub foreign: String,
}

impl App {
    pub fn new(backend: Backend) -> Self {
        let rt = runtime();
        let memory = MemoryStore::new().with_clock(ManualClock::new(NOW));
        let client = Client::new(layer(&CURRENT, backend, &memory));
        let genuine = client.issue(&rt);
        let stale = Client::new(layer(&OLD, backend, &memory)).issue(&rt);
        let outsider = MemoryStore::new().with_clock(ManualClock::new(NOW));
        let foreign = Client::new(layer(&FOREIGN, backend, &outsider)).issue(&rt);
        let app = Self {
            backend,
            rt,
            client,
            genuine,
            stale,
            foreign,
        };
        // The controls: what the properties below rely on.
        for (value, found) in [
            (&app.genuine, true),
            (&app.stale, true),
            (&app.foreign, false),
        ] {
            let outcome = app.read(&[format!("session={value}").into_bytes()]);
            let seen = outcome.seen.unwrap();
            assert_eq!(!seen.is_new, found, "{backend:?} control {value}");
        }
        app
    }

    pub fn send(&self, path: &str, headers: &[Vec<u8>]) -> Outcome {
        self.client.send(&self.rt, path, headers)
    }

    pub fn read(&self, headers: &[Vec<u8>]) -> Outcome {
        self.send("/read", headers)
    }
}

// --- what must hold ---

pub fn show(headers: &[Vec<u8>]) -> String {
    let text = format!(
        "{:?}",
        headers
            .iter()
            .map(|h| String::from_utf8_lossy(h))
            .collect::<Vec<_>>()
    );
    if text.chars().count() > 400 {
        let head: String = text.chars().take(400).collect();
        format!("{head}… ({} bytes)", text.len())
    } else {
        text
    }
}

/// A 2xx response whose handler saw a new, default session without an id.
pub fn assert_new_default(
    backend: Backend,
    headers: &[Vec<u8>],
    outcome: &Outcome,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        outcome.status,
        StatusCode::OK,
        "{:?} {}",
        backend,
        show(headers)
    );
    let seen = outcome.seen.as_ref().expect("the handler ran");
    prop_assert!(
        seen.is_new && !seen.has_id,
        "{:?}: a session that no configured key signed was found: {}",
        backend,
        show(headers)
    );
    prop_assert_eq!(&seen.probe, &Probe::default_session());
    Ok(())
}

/// A 2xx response whose handler saw the genuine session.
pub fn assert_genuine(
    backend: Backend,
    headers: &[Vec<u8>],
    outcome: &Outcome,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        outcome.status,
        StatusCode::OK,
        "{:?} {}",
        backend,
        show(headers)
    );
    let seen = outcome.seen.as_ref().expect("the handler ran");
    prop_assert!(
        !seen.is_new && seen.has_id,
        "{:?}: the genuine session was not found in {}",
        backend,
        show(headers)
    );
    prop_assert_eq!(&seen.probe, &Probe::genuine());
    Ok(())
}

pub fn run<S: Strategy>(
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    if let Err(error) = TestRunner::new(config).run(&strategy, test) {
        panic!("{error}");
    }
}

// --- a store that returns what the test puts in it ---

/// A store write, as `RecordStore` saw it.
#[derive(Clone, Debug)]
pub enum Write {
    Create(Fields),
    Patch(Patch),
    Remove,
    Touch,
}

/// Answers every `load` with the record it holds, whatever the key; logs the writes.
#[derive(Clone, Default)]
pub struct RecordStore {
    pub record: Arc<Mutex<Option<Record>>>,
    pub writes: Arc<Mutex<Vec<Write>>>,
}

impl RecordStore {
    pub fn log(&self, write: Write) {
        self.writes.lock().unwrap().push(write);
    }

    pub fn take_writes(&self) -> Vec<Write> {
        std::mem::take(&mut *self.writes.lock().unwrap())
    }
}

impl SessionStore for RecordStore {
    async fn load(&self, _key: &StoreKey) -> Result<Option<Record>, Error> {
        Ok(self.record.lock().unwrap().clone())
    }
    async fn create(&self, _key: &StoreKey, record: &Record) -> Result<Created, Error> {
        self.log(Write::Create(record.fields().clone()));
        Ok(Created::Stored)
    }
    async fn patch(&self, _key: &StoreKey, patch: &Patch) -> Result<Updated, Error> {
        self.log(Write::Patch(patch.clone()));
        Ok(Updated::Applied)
    }
    async fn remove(&self, _key: &StoreKey) -> Result<(), Error> {
        self.log(Write::Remove);
        Ok(())
    }
    async fn touch(&self, _key: &StoreKey, _expires: OffsetDateTime) -> Result<Updated, Error> {
        self.log(Write::Touch);
        Ok(Updated::Applied)
    }
}
