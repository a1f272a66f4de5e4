//! The end of a request: write what changed to the store, and set or expire the cookie.

use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};
use http::HeaderValue;
use http::header::{CACHE_CONTROL, SET_COOKIE, VARY};
use time::OffsetDateTime;

use crate::Error;
use crate::clock::unix_ms;
use crate::data::Fields;
use crate::id::{SessionId, StoreKey};
use crate::layer::Config;
use crate::record::{Applied, Created, Patch, Record};
use crate::state::{CookiePayload, Inner, RequestState};
use crate::store::{DynStore, bounded};

/// What the response does with the session cookie.
#[derive(Clone, Debug)]
pub(crate) enum CookieAction {
    /// Send this `Set-Cookie` value.
    Set(String),
    /// Expire the cookie.
    Expire,
}

/// A store write decided under the lock and carried out after it.
enum Write {
    Create {
        id: SessionId,
        record: Record,
    },
    Rekey {
        id: SessionId,
        record: Record,
        old: StoreKey,
    },
    Patch {
        key: StoreKey,
        patch: Patch,
        id: SessionId,
        reissue: bool,
    },
    Touch {
        key: StoreKey,
        expires: OffsetDateTime,
        id: SessionId,
        reissue: bool,
    },
    Reissue {
        id: SessionId,
        expires: OffsetDateTime,
    },
}

impl RequestState {
    /// Commits the session into `response`, unless nothing extracted it.
    pub(crate) async fn finish(&self, mut response: Response) -> Response {
        if !self.was_loaded() {
            return response;
        }
        add_vary_cookie(&mut response);
        let config = &*self.config;
        if self.lock().out_of_scope {
            return response;
        }
        if response.status().is_server_error() && !config.save_on_server_error {
            tracing::debug!("server error response: session changes discarded");
            return response;
        }
        let action = match self.persist().await {
            Ok(action) => action.or_else(|| self.lock().pending_cookie.take()),
            Err(error) => {
                tracing::error!(%error, "failed to save the session");
                let expire = matches!(error, Error::RemovedConcurrently);
                let mut response = (error.status(), error.to_string()).into_response();
                add_vary_cookie(&mut response);
                if expire {
                    apply(config, &mut response, &CookieAction::Expire);
                }
                return response;
            }
        };
        if let Some(action) = action {
            apply(config, &mut response, &action);
        }
        response
    }

    /// Writes the request's changes to the store and settles the cookie. Safe to call more than
    /// once: each call writes only what changed since the last.
    pub(crate) async fn persist(&self) -> Result<Option<CookieAction>, Error> {
        let config = &*self.config;
        let now = config.clock.now();
        let Some(store) = &config.store else {
            let mut inner = self.lock();
            return settle_cookie_store(config, &mut inner, now);
        };
        let (remove, write) = {
            let mut inner = self.lock();
            if let Some(error) = inner.error.take() {
                return Err(error);
            }
            plan(config, &mut inner, now)
        };
        if let Some(old) = remove {
            bounded(config.store_timeout, store.remove(&old.store_key())).await?;
        }
        let Some(write) = write else {
            return Ok(self.lock().presented_expired());
        };
        execute(config, &**store, write).await
    }
}

impl Inner {
    /// For a session that ends up with nothing stored: expire the client's cookie if it has one.
    fn presented_expired(&mut self) -> Option<CookieAction> {
        if self.is_new && std::mem::take(&mut self.presented) {
            Some(CookieAction::Expire)
        } else {
            None
        }
    }
}

/// Decides the store write for an external store, and resets the state as if it succeeded.
fn plan(
    config: &Config,
    inner: &mut Inner,
    now: OffsetDateTime,
) -> (Option<SessionId>, Option<Write>) {
    let remove = inner.remove.take();
    let write = if inner.is_new {
        if inner.fields.is_empty() {
            inner.changed.clear();
            None
        } else {
            let id = inner.id.get_or_insert_with(SessionId::generate).clone();
            let record = Record {
                fields: inner.fields.clone(),
                created: now,
                expires: config.expiry.deadline(now, now),
            };
            inner.saved(now, record.expires);
            Some(Write::Create { id, record })
        }
    } else {
        let id = inner.id.clone().expect("a stored session has an id");
        let expires = config.expiry.deadline(inner.created, now);
        // A persistent cookie follows the session's expiry; any cookie signed by an old key is
        // re-signed.
        let reissue = config.cookie.persistent || inner.stale_cookie;
        if let Some(old) = inner.rekey_from.take() {
            let record = Record {
                fields: inner.fields.clone(),
                created: inner.created,
                expires,
            };
            inner.saved(inner.created, expires);
            Some(Write::Rekey {
                id,
                record,
                old: old.store_key(),
            })
        } else if !inner.changed.is_empty() {
            let patch = take_patch(inner, expires);
            inner.saved(inner.created, expires);
            Some(Write::Patch {
                key: id.store_key(),
                patch,
                id,
                reissue,
            })
        } else if inner.refresh {
            inner.saved(inner.created, expires);
            Some(Write::Touch {
                key: id.store_key(),
                expires,
                id,
                reissue,
            })
        } else if std::mem::take(&mut inner.stale_cookie) {
            Some(Write::Reissue {
                id,
                expires: inner.expires,
            })
        } else {
            None
        }
    };
    (remove, write)
}

fn take_patch(inner: &mut Inner, expires: OffsetDateTime) -> Patch {
    let mut changed = Fields::new();
    let mut removed = Vec::new();
    for key in std::mem::take(&mut inner.changed) {
        match inner.fields.get(key) {
            Some(value) => {
                changed.insert(key.to_owned(), value.clone());
            }
            None => removed.push(key.to_owned()),
        }
    }
    Patch {
        changed,
        removed,
        expires,
    }
}

impl Inner {
    /// The state once a save went through.
    fn saved(&mut self, created: OffsetDateTime, expires: OffsetDateTime) {
        self.changed.clear();
        self.is_new = false;
        self.presented = true;
        self.created = created;
        self.expires = expires;
        self.refresh = false;
        self.stale_cookie = false;
        self.rekey_from = None;
    }
}

async fn execute(
    config: &Config,
    store: &dyn DynStore,
    write: Write,
) -> Result<Option<CookieAction>, Error> {
    let limit = config.store_timeout;
    match write {
        Write::Create { id, record } => {
            let id = create(config, store, id, &record).await?;
            id_cookie(config, &id, record.expires).map(Some)
        }
        Write::Rekey { id, record, old } => {
            let id = create(config, store, id, &record).await?;
            bounded(limit, store.remove(&old)).await?;
            id_cookie(config, &id, record.expires).map(Some)
        }
        Write::Patch {
            key,
            patch,
            id,
            reissue,
        } => match bounded(limit, store.patch(&key, &patch)).await? {
            Applied::Missing => Err(Error::RemovedConcurrently),
            Applied::Applied if reissue => id_cookie(config, &id, patch.expires).map(Some),
            Applied::Applied => Ok(None),
        },
        Write::Touch {
            key,
            expires,
            id,
            reissue,
        } => {
            // A session removed meanwhile stays removed; this request only read it.
            match bounded(limit, store.touch(&key, expires)).await? {
                Applied::Applied if reissue => id_cookie(config, &id, expires).map(Some),
                Applied::Applied | Applied::Missing => Ok(None),
            }
        }
        Write::Reissue { id, expires } => id_cookie(config, &id, expires).map(Some),
    }
}

/// Creates `record` under `id`, or under a fresh id in the (astronomically unlikely) event
/// that `id` is taken. Returns the id used.
async fn create(
    config: &Config,
    store: &dyn DynStore,
    id: SessionId,
    record: &Record,
) -> Result<SessionId, Error> {
    let mut id = id;
    for _ in 0..3 {
        match bounded(config.store_timeout, store.create(&id.store_key(), record)).await? {
            Created::Created => return Ok(id),
            Created::AlreadyExists => id = SessionId::generate(),
        }
    }
    Err(Error::store(
        "the store reports every fresh session id as taken",
    ))
}

fn id_cookie(
    config: &Config,
    id: &SessionId,
    expires: OffsetDateTime,
) -> Result<CookieAction, Error> {
    let value = config.codec.seal_id(id);
    let now = config.clock.now();
    config
        .cookie
        .set(config.codec.name(), value, now, expires)
        .map(CookieAction::Set)
}

/// The cookie store: the cookie is the store.
fn settle_cookie_store(
    config: &Config,
    inner: &mut Inner,
    now: OffsetDateTime,
) -> Result<Option<CookieAction>, Error> {
    if let Some(error) = inner.error.take() {
        return Err(error);
    }
    inner.remove = None;
    let rekeyed = inner.rekey_from.take().is_some();
    let changed = !std::mem::take(&mut inner.changed).is_empty();
    if inner.fields.is_empty() {
        // Nothing left to keep: a cookie the client holds goes (including one whose session
        // was just emptied), and a new session costs nothing.
        let emptied = changed && !inner.is_new;
        inner.is_new = true;
        return Ok(
            (emptied || std::mem::take(&mut inner.presented)).then_some(CookieAction::Expire)
        );
    }
    if !(inner.is_new || changed || rekeyed || inner.stale_cookie || inner.refresh) {
        return Ok(None);
    }
    let id = inner.id.get_or_insert_with(SessionId::generate).clone();
    let created = if inner.is_new { now } else { inner.created };
    let payload = CookiePayload {
        i: id.as_str(),
        c: unix_ms(created),
        s: unix_ms(now),
        d: &inner.fields,
    };
    let json = serde_json::to_vec(&payload).map_err(|source| Error::Encode {
        key: "<session>",
        source,
    })?;
    let expires = config.expiry.deadline(created, now);
    let header = config.cookie.set(
        config.codec.name(),
        config.codec.seal_data(&json),
        now,
        expires,
    )?;
    inner.saved(created, expires);
    Ok(Some(CookieAction::Set(header)))
}

fn apply(config: &Config, response: &mut Response, action: &CookieAction) {
    let header = match action {
        CookieAction::Set(header) => header.clone(),
        CookieAction::Expire => config.cookie.expire(config.codec.name()),
    };
    match HeaderValue::try_from(header) {
        Ok(value) => {
            let headers = response.headers_mut();
            headers.append(SET_COOKIE, value);
            if !headers.contains_key(CACHE_CONTROL) {
                headers.insert(
                    CACHE_CONTROL,
                    HeaderValue::from_static("no-cache=\"set-cookie\""),
                );
            }
        }
        Err(error) => {
            tracing::error!(%error, "session cookie is not a valid header value");
            *response = (
                http::StatusCode::INTERNAL_SERVER_ERROR,
                "session cookie is not a valid header value",
            )
                .into_response();
        }
    }
}

/// Responses that depend on the session must not be served from a shared cache to others.
fn add_vary_cookie(response: &mut Response<Body>) {
    let headers = response.headers_mut();
    let already = headers.get_all(VARY).iter().any(|value| {
        value.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|v| v.trim().eq_ignore_ascii_case("cookie") || v.trim() == "*")
        })
    });
    if !already {
        headers.append(VARY, HeaderValue::from_static("cookie"));
    }
}
