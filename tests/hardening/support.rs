//! What the operations tests share: the cookie's wire format written out independently, the
//! places sessions live (the cookie store and every store against its real server, which
//! `scripts/test` starts and whose addresses it exports), apps, clients and log capture.
//!
//! A restart is a new `Router`, a new `SessionLayer` and a new store client on the same server
//! and the same key prefix or table, with the old ones dropped. The memory store cannot survive a
//! real restart, so where it takes part the "restarted" app shares the old app's instance.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tower::ServiceExt;
use typed_sessions::{
    Error, MemoryStore, Session, SessionLayer,
    store::{Created, Patch, Record, SessionStore, StoreKey, Updated},
};

// --- the cookie's wire format, written out independently of the library ---

/// Reads and writes cookie values the way the library's documented wire format says, so that
/// the tests can check which key signed a cookie, read the id it carries, and forge values.
pub(crate) mod wire {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    use aes_gcm::{Aes256Gcm, Nonce};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{Hmac, Mac};
    use serde_json::Value;
    use sha2::{Digest, Sha256};
    use typed_sessions::{Key, store::StoreKey};

    /// A master key (64 bytes of `byte`).
    pub fn master(byte: u8) -> [u8; 64] {
        [byte; 64]
    }

    pub fn key(master: &[u8]) -> Key {
        Key::from_bytes(master).unwrap()
    }

    pub(crate) fn derive(master: &[u8], label: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(master).unwrap();
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The public key id written into the cookies `master` signs.
    pub fn kid(master: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(&derive(master, "typed-sessions/v1/key-id")[..6])
    }

    pub(crate) fn tag(master: &[u8], name: &str, signed: &str) -> String {
        let key = derive(master, "typed-sessions/v1/signing");
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
        mac.update(format!("{name}={signed}").as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// `<version>.<kid>.<payload>.<mac>` signed by `master` for cookie `session`.
    pub fn sign(master: &[u8], version: &str, payload: &str) -> String {
        let signed = format!("{version}.{}.{payload}", kid(master));
        let tag = tag(master, "session", &signed);
        format!("{signed}.{tag}")
    }

    /// The key id a cookie value names (second dot-separated part).
    pub fn kid_of(value: &str) -> &str {
        value
            .split('.')
            .nth(1)
            .expect("a cookie value with a key id")
    }

    /// Whether `value` (signed or sealed) is authentic under `master` for cookie `session`.
    pub fn verifies(master: &[u8], value: &str) -> bool {
        if value.starts_with("3.") {
            return open_sealed(master, value).is_some();
        }
        let Some((signed, mac)) = value.rsplit_once('.') else {
            return false;
        };
        kid_of(value) == kid(master) && tag(master, "session", signed) == mac
    }

    pub(crate) fn open_sealed(master: &[u8], value: &str) -> Option<Vec<u8>> {
        let (header, body) = value.rsplit_once('.')?;
        let body = URL_SAFE_NO_PAD.decode(body).ok()?;
        let (nonce, sealed) = body.split_at(12);
        let key = derive(master, "typed-sessions/v1/encryption");
        let aad = format!("session={header}");
        Aes256Gcm::new((&key).into())
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: aad.as_bytes(),
                },
            )
            .ok()
    }

    /// The JSON payload of a cookie-store cookie (`2.` signed, or `3.` sealed by `master`).
    pub fn payload(value: &str, master: &[u8]) -> Value {
        let bytes = if value.starts_with("3.") {
            open_sealed(master, value).expect("a sealed value that opens")
        } else {
            let part = value.split('.').nth(2).expect("a signed value");
            URL_SAFE_NO_PAD.decode(part).expect("base64url payload")
        };
        serde_json::from_slice(&bytes).expect("a JSON payload")
    }

    /// The session id a cookie value carries: `1.<kid>.<id>.<mac>` for a store, the payload's
    /// `i` for the cookie store.
    pub fn session_id(value: &str, master: &[u8]) -> String {
        if value.starts_with("1.") {
            value.split('.').nth(2).unwrap().to_owned()
        } else {
            payload(value, master)["i"].as_str().unwrap().to_owned()
        }
    }

    /// The key a store keeps the session with id `id` under.
    pub fn store_key(id: &str) -> StoreKey {
        let hex: String = Sha256::digest(id.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        StoreKey::from_digest_hex(hex).unwrap()
    }

    /// A well-formed session id (43 base64url characters) that no generator produced.
    pub fn chosen_id(tag: char) -> String {
        std::iter::repeat_n(tag, 43).collect()
    }
}

// --- where the sessions live ---

/// The address of a test server.
///
/// # Panics
///
/// When `var` is not set: these tests never pass silently without their server.
#[cfg_attr(
    not(any(feature = "redis", feature = "postgres", feature = "mysql")),
    allow(dead_code)
)]
pub(crate) fn env_url(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: run the hardening tests through `scripts/test`, which starts \
             Redis, PostgreSQL and MariaDB on free ports and exports their addresses"
        )
    })
}

/// A name no other test (or test process) uses.
pub(crate) fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}_{n}", std::process::id())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Cookie,
    Memory,
    #[cfg(feature = "redis")]
    Redis,
    #[cfg(feature = "postgres")]
    Postgres,
    #[cfg(feature = "mysql")]
    Mysql,
    #[cfg(feature = "sqlite")]
    Sqlite,
}

/// Where one test's sessions live, across the restarts of its app: a key prefix, a table or a
/// database file of its own.
pub(crate) struct Place {
    kind: Kind,
    memory: MemoryStore,
    /// The Redis key prefix, the SQL table or the SQLite file.
    #[cfg_attr(
        not(any(
            feature = "redis",
            feature = "postgres",
            feature = "mysql",
            feature = "sqlite"
        )),
        allow(dead_code)
    )]
    name: String,
}

impl Place {
    pub(crate) fn new(kind: Kind) -> Self {
        let name = match kind {
            #[cfg(feature = "sqlite")]
            Kind::Sqlite => std::env::temp_dir()
                .join(format!("{}.db", unique("ts-hardening-")))
                .display()
                .to_string(),
            _ => unique("hardening_"),
        };
        Self {
            kind,
            memory: MemoryStore::new(),
            name,
        }
    }

    /// What a (re)started app opens: a new client on the same place; `None` for the cookie
    /// store.
    pub(crate) async fn connect(&self) -> Option<Store> {
        Some(match self.kind {
            Kind::Cookie => return None,
            Kind::Memory => Store::Memory(self.memory.clone()),
            #[cfg(feature = "redis")]
            Kind::Redis => Store::Redis(
                typed_sessions::RedisStore::connect(&env_url("TS_REDIS_URL"))
                    .await
                    .expect("connect to the test Redis")
                    .with_prefix(format!("{}:", self.name)),
            ),
            #[cfg(feature = "postgres")]
            Kind::Postgres => {
                let store = typed_sessions::PostgresStore::connect(&env_url("TS_POSTGRES_URL"))
                    .await
                    .expect("connect to the test PostgreSQL")
                    .with_table_name(&self.name)
                    .expect("a valid table name");
                store.migrate().await.expect("create the table");
                Store::Postgres(store)
            }
            #[cfg(feature = "mysql")]
            Kind::Mysql => {
                let store = typed_sessions::MySqlStore::connect(&env_url("TS_MYSQL_URL"))
                    .await
                    .expect("connect to the test MariaDB")
                    .with_table_name(&self.name)
                    .expect("a valid table name");
                store.migrate().await.expect("create the table");
                Store::Mysql(store)
            }
            #[cfg(feature = "sqlite")]
            Kind::Sqlite => {
                let url = format!("sqlite://{}", self.name);
                let store = typed_sessions::SqliteStore::connect(&url)
                    .await
                    .expect("open the SQLite file");
                store.migrate().await.expect("create the table");
                Store::Sqlite(store)
            }
        })
    }

    /// The stored record of session `id`, read through a client of its own.
    pub(crate) async fn record(&self, id: &str) -> Option<Record> {
        let store = self.connect().await.expect("a store");
        store.load(&wire::store_key(id)).await.expect("load")
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        #[cfg(feature = "sqlite")]
        if self.kind == Kind::Sqlite {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.name));
            }
        }
    }
}

/// Any store, so that one layer type serves every backend.
pub(crate) enum Store {
    Memory(MemoryStore),
    #[cfg(feature = "redis")]
    Redis(typed_sessions::RedisStore),
    #[cfg(feature = "postgres")]
    Postgres(typed_sessions::PostgresStore),
    #[cfg(feature = "mysql")]
    Mysql(typed_sessions::MySqlStore),
    #[cfg(feature = "sqlite")]
    Sqlite(typed_sessions::SqliteStore),
}

macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Store::Memory($store) => $call,
            #[cfg(feature = "redis")]
            Store::Redis($store) => $call,
            #[cfg(feature = "postgres")]
            Store::Postgres($store) => $call,
            #[cfg(feature = "mysql")]
            Store::Mysql($store) => $call,
            #[cfg(feature = "sqlite")]
            Store::Sqlite($store) => $call,
        }
    };
}

impl SessionStore for Store {
    async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        delegate!(self, s => s.load(key).await)
    }
    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, Error> {
        delegate!(self, s => s.create(key, record).await)
    }
    async fn patch(&self, key: &StoreKey, patch: &Patch) -> Result<Updated, Error> {
        delegate!(self, s => s.patch(key, patch).await)
    }
    async fn remove(&self, key: &StoreKey) -> Result<(), Error> {
        delegate!(self, s => s.remove(key).await)
    }
    async fn touch(&self, key: &StoreKey, expires: OffsetDateTime) -> Result<Updated, Error> {
        delegate!(self, s => s.touch(key, expires).await)
    }
}

/// One `#[tokio::test]` per backend, each gated on the feature its store needs.
macro_rules! per_backend {
    ($name:ident, $body:ident) => {
        mod $name {
            use super::Kind;

            #[tokio::test]
            async fn cookie() {
                super::$body(Kind::Cookie).await;
            }
            #[tokio::test]
            async fn memory() {
                super::$body(Kind::Memory).await;
            }
            #[cfg(feature = "redis")]
            #[tokio::test]
            async fn redis() {
                super::$body(Kind::Redis).await;
            }
            #[cfg(feature = "postgres")]
            #[tokio::test]
            async fn postgres() {
                super::$body(Kind::Postgres).await;
            }
            #[cfg(feature = "mysql")]
            #[tokio::test]
            async fn mariadb() {
                super::$body(Kind::Mysql).await;
            }
            #[cfg(feature = "sqlite")]
            #[tokio::test]
            async fn sqlite() {
                super::$body(Kind::Sqlite).await;
            }
        }
    };
}

// --- apps and clients ---

/// (Re)starts an app: `routes` behind a new layer signing with `key`, verifying `old` too, on a
/// new client of `place`.
pub(crate) async fn start(
    place: &Place,
    routes: Router,
    key: &[u8],
    old: &[&[u8]],
    encrypt: bool,
) -> Router {
    let mut layer = SessionLayer::new(wire::key(key)).with_encryption(encrypt);
    for old in old {
        layer = layer.with_old_key(wire::key(old));
    }
    if let Some(store) = place.connect().await {
        layer = layer.with_store(store);
    }
    routes.layer(layer)
}

/// A response, read whole.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    /// The `Set-Cookie` values for the session cookie.
    pub(crate) set: Vec<String>,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    /// The new value of the session cookie, if the response set one (an expiry is not one).
    pub(crate) fn cookie(&self) -> Option<String> {
        assert!(
            self.set.len() <= 1,
            "several session cookies: {:?}",
            self.set
        );
        let set = self.set.first()?;
        let value = set.split(';').next()?.strip_prefix("session=")?;
        (!value.is_empty()).then(|| value.to_owned())
    }

    /// Whether the response expires the session cookie.
    pub(crate) fn expires(&self) -> bool {
        self.set
            .iter()
            .any(|c| c.starts_with("session=;") && c.contains("Max-Age=0"))
    }
}

/// `GET path` with `cookie` as the session cookie's value.
pub(crate) async fn get_with(app: &Router, path: &str, cookie: Option<&str>) -> Reply {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, format!("session={cookie}"));
    }
    send(app, request.body(Body::empty()).unwrap()).await
}

pub(crate) async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let set = parts
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .filter(|v| v.starts_with("session="))
        .collect();
    let bytes = body.collect().await.unwrap().to_bytes();
    Reply {
        status: parts.status,
        set,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A client that keeps the session cookie as a browser does.
#[derive(Default)]
pub(crate) struct Browser {
    pub(crate) cookie: Option<String>,
}

impl Browser {
    pub(crate) async fn get(&mut self, app: &Router, path: &str) -> Reply {
        let reply = get_with(app, path, self.cookie.as_deref()).await;
        if let Some(cookie) = reply.cookie() {
            self.cookie = Some(cookie);
        } else if reply.expires() {
            self.cookie = None;
        }
        reply
    }

    pub(crate) fn cookie(&self) -> String {
        self.cookie
            .clone()
            .expect("the client holds a session cookie")
    }
}

/// Captures `WARN` and above on this thread (the tests run on a current-thread runtime).
#[derive(Clone, Default)]
pub(crate) struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub(crate) fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Self::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .finish();
        (logs.clone(), tracing::subscriber::set_default(subscriber))
    }

    /// The lines the library logged so far (the store drivers' own logs are left out), and
    /// forgets everything.
    pub(crate) fn take(&self) -> String {
        let text =
            String::from_utf8_lossy(&std::mem::take(&mut *self.0.lock().unwrap())).into_owned();
        let ours: Vec<&str> = text
            .lines()
            .filter(|line| line.contains("typed_sessions"))
            .collect();
        ours.join("\n")
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

// --- an account session: key rotation and fixation ---

#[derive(typed_sessions::Session, Default)]
pub(crate) struct Account {
    user: String,
    views: u64,
}

pub(crate) fn account_routes() -> Router {
    /// Logs in without regenerating: only the client-chosen-id defence is at work.
    pub(crate) async fn sign_in(Path(user): Path<String>, mut s: Session<Account>) {
        s.user = user;
        s.views += 1;
    }
    /// Logs in as an application should: a new id for the new privilege.
    pub(crate) async fn login(Path(user): Path<String>, mut s: Session<Account>) {
        s.regenerate();
        s.user = user;
    }
    pub(crate) async fn count(mut s: Session<Account>) {
        s.views += 1;
    }
    pub(crate) async fn logout(mut s: Session<Account>) {
        s.destroy();
    }
    pub(crate) async fn read(s: Session<Account>) -> Json<Value> {
        Json(json!({"new": s.is_new(), "user": s.user, "views": s.views}))
    }
    Router::new()
        .route("/sign_in/{user}", get(sign_in))
        .route("/login/{user}", get(login))
        .route("/count", get(count))
        .route("/logout", get(logout))
        .route("/read", get(read))
}

pub(crate) fn assert_reads(reply: &Reply, new: bool, user: &str, views: u64, what: &str) {
    assert_eq!(reply.status, 200, "{what}: {}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"new": new, "user": user, "views": views}),
        "{what}"
    );
}
