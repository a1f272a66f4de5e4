//! The per-request session state: created empty by the service, loaded on first extraction,
//! changed by `Session<T>` handles, committed by the service.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::OnceCell;

use crate::Error;
use crate::clock::{from_unix_ms, unix_ms};
use crate::codec::MAC_LEN;
use crate::cookies;
use crate::expiry::at;
use crate::id::SessionId;
use crate::layer::Config;
use crate::store::StoreKey;
use crate::store::{DynStore, bounded};
use crate::store::{Fields, nesting_exceeds};

/// What the service puts into the request's extensions.
#[derive(Clone)]
pub(crate) struct Handle(pub(crate) Arc<RequestState>);

pub(crate) struct RequestState {
    pub(crate) config: Arc<Config>,
    loaded: OnceCell<()>,
    inner: Mutex<Inner>,
}

/// The session as this request sees it.
pub(crate) struct Inner {
    /// The request lies outside the cookie's path: the session is ephemeral.
    pub(crate) out_of_scope: bool,
    /// The session's id: the loaded one, a regenerated one, or none yet for a new session.
    /// Change it with [`Inner::set_id`], which forgets what was derived from the old one.
    pub(crate) id: Option<SessionId>,
    /// The store key of `id`, once computed (it costs a SHA-256).
    pub(crate) key: Option<StoreKey>,
    /// The MAC of the id cookie the client presented for `id`, when the newest key verified it:
    /// re-issuing that cookie then needs no new MAC (the value would be the same bytes).
    pub(crate) presented_mac: Option<[u8; MAC_LEN]>,
    /// Every stored field, including those no session type of this request knows.
    pub(crate) fields: Fields,
    /// Storage keys written with a new value (present in `fields`) or removed (absent).
    pub(crate) changed: BTreeSet<&'static str>,
    pub(crate) created: OffsetDateTime,
    /// The deadline the session had when loaded (or last saved).
    pub(crate) expires: OffsetDateTime,
    /// No stored session backs this one (nothing loaded, or destroyed).
    pub(crate) is_new: bool,
    /// The client holds a session cookie that should be expired if nothing replaces it.
    pub(crate) presented: bool,
    /// A stored session to delete (destroyed).
    pub(crate) remove: Option<SessionId>,
    /// A stored session moving to `id` (regenerated).
    pub(crate) rekey_from: Option<SessionId>,
    /// The cookie verified with an older key or in the other mode: re-issue it.
    pub(crate) stale_cookie: bool,
    /// The idle deadline is due to move.
    pub(crate) refresh: bool,
    /// Bumped by `destroy`, so that handles from before it cannot write into the new session.
    pub(crate) epoch: u64,
    /// A failure deferred from a place that cannot return one (a `Drop`).
    pub(crate) error: Option<Error>,
    /// The cookie an explicit `save` settled on, sent unless a later save changes it.
    pub(crate) pending_cookie: Option<crate::commit::CookieAction>,
}

/// The cookie store's payload, inside the MAC.
#[derive(Serialize, Deserialize)]
pub(crate) struct CookiePayload<S, F> {
    /// Session id.
    pub(crate) i: S,
    /// Created, Unix milliseconds.
    pub(crate) c: i64,
    /// Last seen, Unix milliseconds.
    pub(crate) s: i64,
    /// Fields.
    pub(crate) d: F,
}

/// The deepest nesting a field may have: serde_json refuses to parse past 128 levels, and the
/// cookie payload wraps fields in two more.
const MAX_NESTING: usize = 100;

impl Inner {
    fn fresh(now: OffsetDateTime) -> Self {
        Self {
            out_of_scope: false,
            id: None,
            key: None,
            presented_mac: None,
            fields: Fields::new(),
            changed: BTreeSet::new(),
            created: now,
            expires: now,
            is_new: true,
            presented: false,
            remove: None,
            rekey_from: None,
            stale_cookie: false,
            refresh: false,
            epoch: 0,
            error: None,
            pending_cookie: None,
        }
    }

    fn adopt(
        &mut self,
        config: &Config,
        id: SessionId,
        fields: Fields,
        created: OffsetDateTime,
        expires: OffsetDateTime,
        now: OffsetDateTime,
    ) {
        self.set_id(Some(id));
        self.fields = fields;
        self.created = created;
        self.expires = expires;
        self.is_new = false;
        self.presented = true;
        self.refresh = config.expiry.refresh_due(created, expires, now);
    }

    /// Records a field's new encoding; a value equal to the field's default is stored as absent.
    pub(crate) fn set_field(
        &mut self,
        key: &'static str,
        value: Value,
        default: impl FnOnce() -> Result<Value, Error>,
    ) {
        if nesting_exceeds(&value, MAX_NESTING) {
            self.error.get_or_insert(Error::TooDeep {
                key,
                limit: MAX_NESTING,
            });
            return;
        }
        match default() {
            Ok(default) if default == value => {
                self.fields.remove(key);
            }
            // Replacing in place keeps the stored key: no new `String` per write.
            Ok(_) => match self.fields.get_mut(key) {
                Some(slot) => *slot = value,
                None => {
                    self.fields.insert(key.to_owned(), value);
                }
            },
            Err(error) => {
                self.error.get_or_insert(error);
                return;
            }
        }
        self.changed.insert(key);
    }

    pub(crate) fn destroy(&mut self) {
        let stored = self
            .rekey_from
            .take()
            .or_else(|| if self.is_new { None } else { self.id.clone() });
        if stored.is_some() {
            self.remove = stored;
        }
        self.set_id(None);
        self.fields.clear();
        self.changed.clear();
        self.is_new = true;
        self.stale_cookie = false;
        self.refresh = false;
        self.epoch += 1;
    }

    pub(crate) fn regenerate(&mut self) {
        let old = self.set_id(Some(SessionId::generate()));
        if !self.is_new && self.rekey_from.is_none() {
            self.rekey_from = old;
        }
    }

    /// Replaces the id, forgetting what was derived from the old one; returns the old one.
    pub(crate) fn set_id(&mut self, id: Option<SessionId>) -> Option<SessionId> {
        self.key = None;
        self.presented_mac = None;
        std::mem::replace(&mut self.id, id)
    }

    /// The id, minting one for a session that has none yet.
    pub(crate) fn id_or_generate(&mut self) -> SessionId {
        match &self.id {
            Some(id) => id.clone(),
            None => {
                let id = SessionId::generate();
                self.set_id(Some(id.clone()));
                id
            }
        }
    }

    /// The store key of the session's id, computed once per id.
    ///
    /// # Panics
    ///
    /// If the session has no id.
    pub(crate) fn store_key(&mut self) -> StoreKey {
        let id = self.id.as_ref().expect("a stored session has an id");
        self.key.get_or_insert_with(|| id.store_key()).clone()
    }
}

impl RequestState {
    pub(crate) fn new(config: Arc<Config>) -> Self {
        Self {
            config,
            loaded: OnceCell::new(),
            inner: Mutex::new(Inner::fresh(OffsetDateTime::UNIX_EPOCH)),
        }
    }

    /// Makes the state of a finished request as good as new, for the next request.
    pub(crate) fn reset(&mut self) {
        // Without a load nothing can have touched `inner`: no `Session` exists before one.
        if self.loaded.initialized() {
            self.loaded = OnceCell::new();
            *self.inner.get_mut().unwrap_or_else(PoisonError::into_inner) =
                Inner::fresh(OffsetDateTime::UNIX_EPOCH);
        }
        self.inner.clear_poison();
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether any handler extracted the session in this request.
    pub(crate) fn was_loaded(&self) -> bool {
        self.loaded.initialized()
    }

    /// Loads the session once per request, however many handles are extracted.
    pub(crate) async fn ensure_loaded(&self, headers: &HeaderMap, path: &str) -> Result<(), Error> {
        self.loaded
            .get_or_try_init(|| async {
                let inner = self.load(headers, path).await?;
                *self.lock() = inner;
                Ok::<(), Error>(())
            })
            .await?;
        Ok(())
    }

    async fn load(&self, headers: &HeaderMap, path: &str) -> Result<Inner, Error> {
        let config = &*self.config;
        // A new session's times are set when it is first saved; until then nothing reads them,
        // and a request without a session cookie does not read the clock.
        let mut inner = Inner::fresh(OffsetDateTime::UNIX_EPOCH);
        if !config.cookie.covers(path) {
            inner.out_of_scope = true;
            return Ok(inner);
        }
        match &config.store {
            None => load_from_cookie(config, &mut inner, headers),
            Some(store) => load_from_store(config, &**store, &mut inner, headers).await?,
        }
        Ok(inner)
    }
}

fn load_from_cookie(config: &Config, inner: &mut Inner, headers: &HeaderMap) {
    for value in cookies::values(headers, config.codec.name(), |v| config.codec.plausible(v)) {
        let Some(opened) = config.codec.open_data(value) else {
            continue;
        };
        // The id is base64url, never escaped in JSON, so it is borrowed rather than copied.
        let payload = match serde_json::from_slice::<CookiePayload<&str, Fields>>(&opened.value) {
            Ok(payload) => payload,
            Err(error) => {
                // Authentic but unreadable: written by an incompatible version. Start afresh
                // and make the client drop it.
                tracing::warn!(%error, "authentic session cookie does not decode; starting a new session");
                inner.presented = true;
                continue;
            }
        };
        let (Some(id), Some(created), Some(_)) = (
            SessionId::parse(payload.i),
            from_unix_ms(payload.c),
            from_unix_ms(payload.s),
        ) else {
            tracing::warn!(
                "authentic session cookie has a malformed header; starting a new session"
            );
            inner.presented = true;
            continue;
        };
        let expires = config.expiry.deadline_ms(payload.c, payload.s);
        let now = config.clock.now();
        if expires <= unix_ms(now) {
            tracing::debug!("session cookie expired");
            continue;
        }
        inner.adopt(config, id, payload.d, created, at(expires), now);
        inner.stale_cookie = opened.stale;
        return;
    }
}

async fn load_from_store(
    config: &Config,
    store: &dyn DynStore,
    inner: &mut Inner,
    headers: &HeaderMap,
) -> Result<(), Error> {
    for value in cookies::values(headers, config.codec.name(), |v| config.codec.plausible(v)) {
        let Some(opened) = config.codec.open_id(value) else {
            continue;
        };
        let key = opened.value.id.store_key();
        let record = match bounded(config.store_timeout, store.load(&key)).await {
            Ok(Some(record)) => record,
            Ok(None) => continue,
            Err(Error::Corrupt(what)) => {
                tracing::warn!(%what, "corrupt session record; starting a new session");
                continue;
            }
            Err(error) => return Err(error),
        };
        let absolute = config
            .expiry
            .absolute_deadline_ms(unix_ms(record.created()));
        let expires = if unix_ms(record.expires()) <= absolute {
            record.expires()
        } else {
            at(absolute)
        };
        let now = config.clock.now();
        if expires <= now {
            // The store still has it (its own expiry lags, or the absolute timeout shrank):
            // delete it when the request commits.
            tracing::debug!("stored session expired");
            inner.remove = Some(opened.value.id);
            continue;
        }
        let created = record.created();
        inner.adopt(
            config,
            opened.value.id,
            record.into_fields(),
            created,
            expires,
            now,
        );
        inner.key = Some(key);
        inner.presented_mac = (!opened.stale).then_some(opened.value.mac);
        inner.stale_cookie = opened.stale;
        return Ok(());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(depth: usize) -> Value {
        (0..depth).fold(json!(1), |inner, _| json!([inner]))
    }

    #[test]
    fn too_deep_fields_are_refused_before_saving() {
        let mut inner = Inner::fresh(OffsetDateTime::UNIX_EPOCH);
        inner.set_field("deep", nested(MAX_NESTING + 1), || Ok(Value::Null));
        assert!(matches!(
            inner.error,
            Some(Error::TooDeep { key: "deep", .. })
        ));
        assert!(inner.changed.is_empty());
    }
}
