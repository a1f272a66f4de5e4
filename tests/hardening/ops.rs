//! Operations: key rotation across restarts, schema drift across deploys and session fixation,
//! end to end through a real `Router`, on the cookie store and on every store against its real
//! server (`scripts/test` starts them and exports their addresses).
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
    Applied, Created, Error, MemoryStore, Patch, Record, Session, SessionLayer, SessionStore,
    StoreKey,
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
    use typed_sessions::{Key, StoreKey};

    /// A master key (64 bytes of `byte`).
    pub fn master(byte: u8) -> [u8; 64] {
        [byte; 64]
    }

    pub fn key(master: &[u8]) -> Key {
        Key::from_bytes(master).unwrap()
    }

    fn derive(master: &[u8], label: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(master).unwrap();
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The public key id written into the cookies `master` signs.
    pub fn kid(master: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(&derive(master, "typed-sessions/v1/key-id")[..6])
    }

    fn tag(master: &[u8], name: &str, signed: &str) -> String {
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

    fn open_sealed(master: &[u8], value: &str) -> Option<Vec<u8>> {
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
fn unique(prefix: &str) -> String {
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
    async fn patch(&self, key: &StoreKey, patch: &Patch) -> Result<Applied, Error> {
        delegate!(self, s => s.patch(key, patch).await)
    }
    async fn remove(&self, key: &StoreKey) -> Result<(), Error> {
        delegate!(self, s => s.remove(key).await)
    }
    async fn touch(&self, key: &StoreKey, expires: OffsetDateTime) -> Result<Applied, Error> {
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
async fn start(place: &Place, routes: Router, key: &[u8], old: &[&[u8]], encrypt: bool) -> Router {
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
struct Browser {
    cookie: Option<String>,
}

impl Browser {
    async fn get(&mut self, app: &Router, path: &str) -> Reply {
        let reply = get_with(app, path, self.cookie.as_deref()).await;
        if let Some(cookie) = reply.cookie() {
            self.cookie = Some(cookie);
        } else if reply.expires() {
            self.cookie = None;
        }
        reply
    }

    fn cookie(&self) -> String {
        self.cookie
            .clone()
            .expect("the client holds a session cookie")
    }
}

/// Captures `WARN` and above on this thread (the tests run on a current-thread runtime).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
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
    fn take(&self) -> String {
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
struct Account {
    user: String,
    views: u64,
}

fn account_routes() -> Router {
    /// Logs in without regenerating: only the client-chosen-id defence is at work.
    async fn sign_in(Path(user): Path<String>, mut s: Session<Account>) {
        s.user = user;
        s.views += 1;
    }
    /// Logs in as an application should: a new id for the new privilege.
    async fn login(Path(user): Path<String>, mut s: Session<Account>) {
        s.regenerate();
        s.user = user;
    }
    async fn count(mut s: Session<Account>) {
        s.views += 1;
    }
    async fn logout(mut s: Session<Account>) {
        s.destroy();
    }
    async fn read(s: Session<Account>) -> Json<Value> {
        Json(json!({"new": s.is_new(), "user": s.user, "views": s.views}))
    }
    Router::new()
        .route("/sign_in/{user}", get(sign_in))
        .route("/login/{user}", get(login))
        .route("/count", get(count))
        .route("/logout", get(logout))
        .route("/read", get(read))
}

fn assert_reads(reply: &Reply, new: bool, user: &str, views: u64, what: &str) {
    assert_eq!(reply.status, 200, "{what}: {}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"new": new, "user": user, "views": views}),
        "{what}"
    );
}

// --- 1. key rotation across restarts ---

const KEY_A: u8 = 0xA1;
const KEY_B: u8 = 0xB2;

/// Key A issues cookies to c1 and c2; restarted with [B, A], both cookies work and c1's comes
/// back signed by B; restarted with [B], c1's re-signed cookie works and c2's A-signed one is a
/// fresh session, its data left in the store but out of reach.
async fn key_rotation(kind: Kind, encrypt: bool) {
    let place = Place::new(kind);
    let (a, b) = (wire::master(KEY_A), wire::master(KEY_B));

    // Deploy 1: key A.
    let app = start(&place, account_routes(), &a, &[], encrypt).await;
    let (mut c1, mut c2) = (Browser::default(), Browser::default());
    assert_eq!(c1.get(&app, "/sign_in/ann").await.status, 200);
    assert_eq!(c2.get(&app, "/sign_in/bob").await.status, 200);
    let (c1_a, c2_a) = (c1.cookie(), c2.cookie());
    for cookie in [&c1_a, &c2_a] {
        assert_eq!(wire::kid_of(cookie), wire::kid(&a));
        assert!(wire::verifies(&a, cookie), "signed by A: {cookie}");
    }
    let (c1_id, c2_id) = (wire::session_id(&c1_a, &a), wire::session_id(&c2_a, &a));
    drop(app);

    // Deploy 2: B signs, A still verifies.
    let app = start(&place, account_routes(), &b, &[&a], encrypt).await;
    // c2's A-signed cookie still works. This probe's response never reaches c2, whose jar
    // keeps the A-signed cookie: c2 is the client that does not come back in this deploy.
    let probe = get_with(&app, "/read", Some(&c2_a)).await;
    assert_reads(&probe, false, "bob", 1, "A-signed c2 under [B, A]");
    // c1 only reads, and still gets its cookie back signed by B.
    let reply = c1.get(&app, "/read").await;
    assert_reads(&reply, false, "ann", 1, "A-signed c1 under [B, A]");
    let resigned = reply
        .cookie()
        .expect("a cookie verified by an old key comes back re-signed, even on a read");
    assert_eq!(wire::kid_of(&resigned), wire::kid(&b), "{resigned}");
    assert!(wire::verifies(&b, &resigned), "signed by B: {resigned}");
    assert!(
        !wire::verifies(&a, &resigned),
        "not signed by A: {resigned}"
    );
    assert_eq!(
        wire::session_id(&resigned, &b),
        c1_id,
        "re-signing keeps the session"
    );
    drop(app);

    // Deploy 3: only B.
    let app = start(&place, account_routes(), &b, &[], encrypt).await;
    assert_reads(
        &c1.get(&app, "/read").await,
        false,
        "ann",
        1,
        "c1 under [B]",
    );
    assert_eq!(c1.get(&app, "/count").await.status, 200);
    assert_reads(
        &c1.get(&app, "/read").await,
        false,
        "ann",
        2,
        "c1 under [B]",
    );
    // c2 never came back under [B, A]: its A-signed cookie is now a fresh session.
    assert_eq!(c2.cookie(), c2_a, "c2 still holds the A-signed cookie");
    assert_reads(
        &c2.get(&app, "/read").await,
        true,
        "",
        0,
        "A-signed c2 under [B]",
    );
    if kind != Kind::Cookie {
        let record = place
            .record(&c2_id)
            .await
            .expect("c2's session stays in the store");
        assert_eq!(record.fields["user"], "bob");
    }
    // A write from c2 starts a new session: a new id, and the old record is left alone.
    assert_eq!(c2.get(&app, "/count").await.status, 200);
    let fresh = c2.cookie();
    assert!(wire::verifies(&b, &fresh));
    let fresh_id = wire::session_id(&fresh, &b);
    assert_ne!(fresh_id, c2_id);
    assert_reads(
        &c2.get(&app, "/read").await,
        false,
        "",
        1,
        "c2's new session",
    );
    if kind != Kind::Cookie {
        let old = place.record(&c2_id).await.expect("the old record");
        assert_eq!(old.fields["user"], "bob");
        assert_eq!(old.fields["views"], 1);
        assert!(place.record(&fresh_id).await.is_some());
    }
}

mod key_rotation_across_restarts {
    use super::{Kind, key_rotation};

    #[tokio::test]
    async fn cookie() {
        key_rotation(Kind::Cookie, false).await;
    }
    #[tokio::test]
    async fn cookie_encrypted() {
        key_rotation(Kind::Cookie, true).await;
    }
    #[cfg(feature = "redis")]
    #[tokio::test]
    async fn redis() {
        key_rotation(Kind::Redis, false).await;
    }
    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn postgres() {
        key_rotation(Kind::Postgres, false).await;
    }
    #[cfg(feature = "mysql")]
    #[tokio::test]
    async fn mariadb() {
        key_rotation(Kind::Mysql, false).await;
    }
    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn sqlite() {
        key_rotation(Kind::Sqlite, false).await;
    }
}

// --- 2. schema drift across deploys ---

/// The session as deploy 1 knows it.
#[derive(typed_sessions::Session, Default)]
struct ProfileV1 {
    views: u64,
    nick: String,
    legacy: String,
    level: u32,
}

fn default_theme() -> String {
    "light".to_owned()
}

/// Deploy 2: `legacy` removed, `nick` renamed with its old storage key as alias, `level` now a
/// `String`, `theme` added with a default.
#[derive(typed_sessions::Session, Default)]
struct ProfileV2 {
    views: u64,
    #[session(rename = "nick")]
    display_name: String,
    level: String,
    #[session(default = "default_theme")]
    theme: String,
}

fn v1_routes() -> Router {
    async fn seed(mut s: Session<ProfileV1>) {
        s.views = 3;
        s.nick = "ann".into();
        s.legacy = "keep-me".into();
        s.level = 7;
    }
    async fn read(s: Session<ProfileV1>) -> Json<Value> {
        Json(json!({
            "new": s.is_new(), "views": s.views, "nick": s.nick, "legacy": s.legacy,
            "level": s.level,
        }))
    }
    Router::new()
        .route("/seed", get(seed))
        .route("/read", get(read))
}

fn v2_routes() -> Router {
    async fn read(s: Session<ProfileV2>) -> Json<Value> {
        Json(json!({
            "new": s.is_new(), "views": s.views, "display_name": s.display_name,
            "level": s.level, "theme": s.theme,
        }))
    }
    async fn bump(mut s: Session<ProfileV2>) {
        s.views += 1;
    }
    async fn rename(mut s: Session<ProfileV2>) {
        s.display_name = "Ann B.".into();
    }
    async fn gold(mut s: Session<ProfileV2>) {
        s.level = "gold".into();
    }
    Router::new()
        .route("/read", get(read))
        .route("/bump", get(bump))
        .route("/rename", get(rename))
        .route("/gold", get(gold))
}

/// The fields as stored: the record of a store, the payload of the cookie store's cookie.
async fn stored_fields(place: &Place, kind: Kind, cookie: &str, master: &[u8]) -> Value {
    if kind == Kind::Cookie {
        return wire::payload(cookie, master)["d"].clone();
    }
    let id = wire::session_id(cookie, master);
    let record = place.record(&id).await.expect("a stored record");
    Value::Object(record.fields)
}

async fn schema_drift(kind: Kind) {
    let (logs, _guard) = Logs::capture();
    let place = Place::new(kind);
    let key = wire::master(0x5C);
    let mut client = Browser::default();

    // Deploy 1 writes every field.
    let app = start(&place, v1_routes(), &key, &[], false).await;
    assert_eq!(client.get(&app, "/seed").await.status, 200);
    let id = wire::session_id(&client.cookie(), &key);
    drop(app);
    let seeded = json!({"views": 3, "nick": "ann", "legacy": "keep-me", "level": 7});
    assert_eq!(
        stored_fields(&place, kind, &client.cookie(), &key).await,
        seeded
    );
    assert_eq!(logs.take(), "", "deploy 1 logs nothing");

    // Deploy 2 reads it: added field takes its default, the renamed field reads its old key,
    // the retyped field takes its default with a warning, the rest is intact.
    let app = start(&place, v2_routes(), &key, &[], false).await;
    let reply = client.get(&app, "/read").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"new": false, "views": 3, "display_name": "ann", "level": "", "theme": "light"})
    );
    let warnings = logs.take();
    assert!(
        warnings.contains("WARN")
            && warnings.contains("does not decode")
            && warnings.contains("level"),
        "a warning names the retyped field: {warnings:?}"
    );
    assert_eq!(
        warnings.lines().count(),
        1,
        "only the retyped field warns: {warnings}"
    );

    // Deploy 2 writes another field: the removed and the retyped fields stay as stored, the
    // added one is not written (it holds its default).
    assert_eq!(client.get(&app, "/bump").await.status, 200);
    let expected = json!({"views": 4, "nick": "ann", "legacy": "keep-me", "level": 7});
    assert_eq!(
        stored_fields(&place, kind, &client.cookie(), &key).await,
        expected,
        "a V2 write keeps what V2 does not know or cannot read"
    );
    // ...and writes through the alias to the old storage key.
    assert_eq!(client.get(&app, "/rename").await.status, 200);
    let expected = json!({"views": 4, "nick": "Ann B.", "legacy": "keep-me", "level": 7});
    assert_eq!(
        stored_fields(&place, kind, &client.cookie(), &key).await,
        expected
    );
    assert_eq!(wire::session_id(&client.cookie(), &key), id, "same session");
    drop(app);
    logs.take();

    // Rolled back to deploy 1: everything V2 did not know is still there.
    let app = start(&place, v1_routes(), &key, &[], false).await;
    let reply = client.get(&app, "/read").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"new": false, "views": 4, "nick": "Ann B.", "legacy": "keep-me", "level": 7})
    );
    assert_eq!(logs.take(), "", "V1 reads its own fields without warnings");
    drop(app);

    // Deploy 2 again stores the field as a string; deploy 1 then reads its default, with a
    // warning, and nothing else is lost.
    let app = start(&place, v2_routes(), &key, &[], false).await;
    assert_eq!(client.get(&app, "/gold").await.status, 200);
    drop(app);
    let app = start(&place, v1_routes(), &key, &[], false).await;
    let reply = client.get(&app, "/read").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"new": false, "views": 4, "nick": "Ann B.", "legacy": "keep-me", "level": 0})
    );
    let warnings = logs.take();
    assert!(
        warnings.contains("does not decode") && warnings.contains("level"),
        "{warnings:?}"
    );
    let expected = json!({"views": 4, "nick": "Ann B.", "legacy": "keep-me", "level": "gold"});
    assert_eq!(
        stored_fields(&place, kind, &client.cookie(), &key).await,
        expected
    );
}

per_backend!(schema_drift_across_deploys, schema_drift);

// --- 4. session fixation ---

/// The attacker's candidate cookies for a session id of its choice. Unsigned, signed with a key
/// the app does not have, or in the shape of the other cookie kind.
fn forged_cookies(kind: Kind, id: &str, app_key: &[u8]) -> Vec<String> {
    let stranger = wire::master(0xEE);
    let now = OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let payload = json!({"i": id, "c": now, "s": now, "d": {"user": "mallory"}}).to_string();
    let payload = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        payload.as_bytes(),
    );
    let kid = wire::kid(app_key);
    let mut forged = vec![
        id.to_owned(),
        format!("1.{kid}.{id}"),
        format!("1.{kid}.{id}.{}", "A".repeat(43)),
        wire::sign(&stranger, "1", id),
        format!("2.{kid}.{payload}.{}", "A".repeat(43)),
        wire::sign(&stranger, "2", &payload),
    ];
    // The other kind of cookie, really signed with the app's key and carrying the chosen id:
    // an id cookie is not a cookie-store cookie, and a cookie-store cookie is not an id cookie.
    if kind == Kind::Cookie {
        forged.push(wire::sign(app_key, "1", id));
    } else {
        forged.push(wire::sign(app_key, "2", &payload));
    }
    forged
}

/// A client-chosen id is never adopted: a forged cookie naming it leads, once the session is
/// written, to a session with a new id, and nothing is ever stored under the chosen one.
async fn fixation_chosen_id(kind: Kind) {
    let place = Place::new(kind);
    let key = wire::master(0xF1);
    let app = start(&place, account_routes(), &key, &[], false).await;
    for (n, forged) in forged_cookies(kind, &wire::chosen_id('M'), &key)
        .iter()
        .enumerate()
    {
        let chosen = wire::chosen_id('M');
        let read = get_with(&app, "/read", Some(forged)).await;
        assert_reads(&read, true, "", 0, &format!("forged cookie {n}: {forged}"));
        let reply = get_with(&app, "/sign_in/victim", Some(forged)).await;
        assert_eq!(reply.status, 200, "forged cookie {n}: {}", reply.body);
        let issued = reply.cookie().expect("a new session cookie");
        let issued_id = wire::session_id(&issued, &key);
        assert_ne!(issued_id, chosen, "forged cookie {n} had its id adopted");
        assert_eq!(issued_id.len(), 43);
        if kind != Kind::Cookie {
            assert!(
                place.record(&chosen).await.is_none(),
                "forged cookie {n}: a record under the attacker's id"
            );
            let record = place.record(&issued_id).await.expect("the new session");
            assert_eq!(record.fields["user"], "victim");
        }
        // The forged cookie still reads nothing of the victim's session.
        let after = get_with(&app, "/read", Some(forged)).await;
        assert_reads(
            &after,
            true,
            "",
            0,
            &format!("forged cookie {n} after login"),
        );
    }
}

per_backend!(fixation_forged_id_is_never_adopted, fixation_chosen_id);

/// A cookie the app's key really signed, for an id its store does not know (obtained from
/// another instance with the same key, whose session was then removed, or from an instance
/// with a store of its own): not adopted either.
async fn fixation_signed_unknown_id(kind: Kind) {
    if kind == Kind::Cookie {
        return; // the cookie is the store: an authentic cookie is a known session
    }
    let key = wire::master(0xF2);
    let place = Place::new(kind);
    let elsewhere = Place::new(kind);
    let app = start(&place, account_routes(), &key, &[], false).await;
    let sibling = start(&place, account_routes(), &key, &[], false).await;
    let other = start(&elsewhere, account_routes(), &key, &[], false).await;

    // An id the sibling instance issued, then removed (log out).
    let mut attacker = Browser::default();
    assert_eq!(attacker.get(&sibling, "/sign_in/mallory").await.status, 200);
    let removed = attacker.cookie();
    assert_eq!(attacker.get(&sibling, "/logout").await.status, 200);
    // An id that lives only in another instance's store.
    let foreign = get_with(&other, "/sign_in/mallory", None)
        .await
        .cookie()
        .unwrap();

    for (what, cookie) in [("removed", removed), ("foreign", foreign)] {
        assert!(wire::verifies(&key, &cookie), "{what}: authentic");
        let chosen = wire::session_id(&cookie, &key);
        assert!(place.record(&chosen).await.is_none(), "{what}: not stored");
        let read = get_with(&app, "/read", Some(&cookie)).await;
        assert_reads(&read, true, "", 0, what);
        let reply = get_with(&app, "/sign_in/victim", Some(&cookie)).await;
        assert_eq!(reply.status, 200, "{what}: {}", reply.body);
        let issued_id = wire::session_id(&reply.cookie().expect("a new cookie"), &key);
        assert_ne!(issued_id, chosen, "{what}: the known id was adopted");
        assert!(
            place.record(&chosen).await.is_none(),
            "{what}: a record under the attacker's id"
        );
        assert_eq!(
            place.record(&issued_id).await.unwrap().fields["user"],
            "victim"
        );
        let after = get_with(&app, "/read", Some(&cookie)).await;
        assert_reads(&after, true, "", 0, &format!("{what} after login"));
    }
}

per_backend!(
    fixation_signed_unknown_id_is_never_adopted,
    fixation_signed_unknown_id
);

/// The classic fixation: the attacker plants its own valid session cookie on the victim, who
/// logs in (`regenerate()`). The planted id is dead afterwards: it reads an empty session and
/// the store holds nothing under it. On the cookie store, a copied cookie cannot be revoked
/// (README, "Revocation"): it keeps reading the pre-login data it carries, never the login.
async fn fixation_regenerate(kind: Kind) {
    let place = Place::new(kind);
    let key = wire::master(0xF3);
    let app = start(&place, account_routes(), &key, &[], false).await;

    let mut attacker = Browser::default();
    assert_eq!(attacker.get(&app, "/count").await.status, 200);
    let planted = attacker.cookie();
    let planted_id = wire::session_id(&planted, &key);
    if kind != Kind::Cookie {
        assert!(place.record(&planted_id).await.is_some());
    }

    let mut victim = Browser {
        cookie: Some(planted.clone()),
    };
    let login = victim.get(&app, "/login/victim").await;
    assert_eq!(login.status, 200, "{}", login.body);
    let victim_id = wire::session_id(&victim.cookie(), &key);
    assert_ne!(victim_id, planted_id, "regenerate() gives a new id");
    assert_reads(
        &victim.get(&app, "/read").await,
        false,
        "victim",
        1,
        "the victim keeps the session's data under the new id",
    );

    let seen = get_with(&app, "/read", Some(&planted)).await;
    if kind == Kind::Cookie {
        assert_reads(&seen, false, "", 1, "copied cookie-store cookie");
    } else {
        assert_reads(&seen, true, "", 0, "the planted id after regenerate()");
        assert!(
            place.record(&planted_id).await.is_none(),
            "the store still has the old id's record"
        );
        assert_eq!(
            place.record(&victim_id).await.unwrap().fields["user"],
            "victim"
        );
        // A write through the dead cookie does not bring the old id back.
        let write = get_with(&app, "/count", Some(&planted)).await;
        assert_eq!(write.status, 200, "{}", write.body);
        let revived = wire::session_id(&write.cookie().unwrap(), &key);
        assert_ne!(revived, planted_id);
        assert!(place.record(&planted_id).await.is_none());
    }
}

per_backend!(fixation_regenerate_kills_the_old_id, fixation_regenerate);
