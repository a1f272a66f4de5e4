//! The end of a request: write what changed to the store, and set or expire the cookie.

use std::sync::Arc;

use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};
use http::HeaderValue;
use http::header::{CACHE_CONTROL, SET_COOKIE, VARY};
use time::OffsetDateTime;

use crate::Error;
use crate::clock::unix_ms;
use crate::codec::MAC_LEN;
use crate::id::SessionId;
use crate::layer::Config;
use crate::state::{CookiePayload, Inner, RequestState};
use crate::store::Fields;
use crate::store::StoreKey;
use crate::store::{Created, Patch, Record, Updated};
use crate::store::{DynStore, bounded};

/// What the response does with the session cookie.
#[derive(Clone, Debug)]
pub(crate) enum CookieAction {
    /// Send this `Set-Cookie` value.
    Set(String),
    /// Expire the cookie.
    Expire,
}

/// How to re-issue the id cookie after a store write.
struct Reissue {
    /// The MAC of the cookie the client presented, when it can be sent again as it is.
    presented_mac: Option<[u8; MAC_LEN]>,
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
        reissue: Option<Reissue>,
    },
    Touch {
        key: StoreKey,
        expires: OffsetDateTime,
        id: SessionId,
        reissue: Option<Reissue>,
    },
    Reissue {
        id: SessionId,
        expires: OffsetDateTime,
    },
}

/// Where [`RequestState::settle`] left a response.
enum Settled {
    /// Nothing to save: the response goes as it is.
    Done(Response),
    /// The session's changes are to be saved into this response.
    Save(Response),
}

/// What a save decided before any store call.
enum Planned {
    /// Settled without the store (or failed before it).
    Done(Result<Option<CookieAction>, Error>),
    /// The store calls to make (a write with the time it was decided at).
    Store {
        remove: Option<SessionId>,
        write: Option<(Write, OffsetDateTime)>,
    },
}

/// How far [`RequestState::finish_now`] got.
// `Later` is large, but it is moved once, into the commit future that holds it anyway: boxing
// it would cost the allocation that the split into `Now` and `Later` saves elsewhere.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Finished {
    /// Committed: the response to send.
    Now(Response),
    /// The store has to be waited for: see [`RequestState::finish_pending`].
    Later(Pending),
}

/// A commit that has to wait for the store: the response and the store calls it waits for.
pub(crate) struct Pending {
    response: Response,
    remove: Option<SessionId>,
    write: Option<(Write, OffsetDateTime)>,
}

impl RequestState {
    /// Commits the session into `response` right away when that needs no store call (the
    /// cookie store; a store session that nothing changed), so that the commit needs no future;
    /// otherwise hands back what [`RequestState::finish_pending`] completes.
    pub(crate) fn finish_now(self: &Arc<Self>, response: Response) -> Finished {
        let response = match self.settle(response) {
            Settled::Done(response) => return Finished::Now(response),
            Settled::Save(response) => response,
        };
        // A `Session` moved into a task that outlives the handler still holds the state and
        // may save again: then the fields stay where they are. Nothing can clone the state
        // without holding it, so a count of one cannot change under us.
        let moment = if Arc::strong_count(self) == 1 {
            Moment::Last
        } else {
            Moment::During
        };
        match self.plan_save(moment) {
            Planned::Done(outcome) => Finished::Now(self.conclude(response, outcome)),
            Planned::Store { remove, write } => Finished::Later(Pending {
                response,
                remove,
                write,
            }),
        }
    }

    /// Completes a commit that [`RequestState::finish_now`] could not.
    pub(crate) async fn finish_pending(&self, pending: Pending) -> Response {
        let outcome = self.carry_out(pending.remove, pending.write).await;
        self.conclude(pending.response, outcome)
    }

    /// What every commit does before saving: `Vary: Cookie`, and no save outside the cookie's
    /// path or (unless configured) on a server error.
    fn settle(&self, mut response: Response) -> Settled {
        if !self.was_loaded() {
            return Settled::Done(response);
        }
        add_vary_cookie(&mut response);
        if self.lock().out_of_scope {
            return Settled::Done(response);
        }
        if response.status().is_server_error() && !self.config.save_on_server_error {
            tracing::debug!("server error response: session changes discarded");
            return Settled::Done(response);
        }
        Settled::Save(response)
    }

    /// Sets the cookie the save settled on, or turns a failed save into an error response.
    fn conclude(
        &self,
        mut response: Response,
        outcome: Result<Option<CookieAction>, Error>,
    ) -> Response {
        let config = &*self.config;
        let action = match outcome {
            Ok(action) => action.or_else(|| self.lock().pending_cookie.take()),
            Err(error) => {
                tracing::error!(%error, "failed to save the session");
                let expire = matches!(error, Error::RemovedConcurrently);
                let mut response = (error.status(), error.to_string()).into_response();
                add_vary_cookie(&mut response);
                if expire {
                    apply(config, &mut response, CookieAction::Expire);
                }
                return response;
            }
        };
        if let Some(action) = action {
            apply(config, &mut response, action);
        }
        response
    }

    /// Writes the request's changes to the store and settles the cookie. Safe to call more than
    /// once: each call writes only what changed since the last.
    pub(crate) async fn persist(&self) -> Result<Option<CookieAction>, Error> {
        match self.plan_save(Moment::During) {
            Planned::Done(outcome) => outcome,
            Planned::Store { remove, write } => self.carry_out(remove, write).await,
        }
    }

    /// Decides what a save writes, and settles it when no store call is needed.
    fn plan_save(&self, moment: Moment) -> Planned {
        let config = &*self.config;
        let mut inner = self.lock();
        if config.store.is_none() {
            return Planned::Done(settle_cookie_store(config, &mut inner));
        }
        if let Some(error) = inner.error.take() {
            return Planned::Done(Err(error));
        }
        match plan(config, &mut inner, moment) {
            (None, None) => Planned::Done(Ok(inner.presented_expired())),
            (remove, write) => Planned::Store { remove, write },
        }
    }

    /// Makes the store calls a plan decided on.
    async fn carry_out(
        &self,
        remove: Option<SessionId>,
        write: Option<(Write, OffsetDateTime)>,
    ) -> Result<Option<CookieAction>, Error> {
        let config = &*self.config;
        let store = config.store.as_deref().expect("planned with a store");
        if let Some(old) = remove {
            bounded(config.store_timeout, store.remove(&old.store_key())).await?;
        }
        let Some((write, now)) = write else {
            return Ok(self.lock().presented_expired());
        };
        execute(config, store, write, now).await
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

/// When a save happens: the one at the end of the request, with no handle left that could save
/// again, may take the fields out of the state instead of copying them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Moment {
    /// An explicit `Session::save`: the request goes on with the state.
    During,
    /// The commit at the end of the request, when nothing else holds the state.
    Last,
}

/// Decides the store write for an external store, and resets the state as if it succeeded.
/// The clock is read only for a write (a read that changes nothing does not need the time).
fn plan(
    config: &Config,
    inner: &mut Inner,
    moment: Moment,
) -> (Option<SessionId>, Option<(Write, OffsetDateTime)>) {
    let fields = |inner: &mut Inner| match moment {
        Moment::During => inner.fields.clone(),
        Moment::Last => std::mem::take(&mut inner.fields),
    };
    let remove = inner.remove.take();
    let untouched = inner.rekey_from.is_none()
        && inner.changed.is_empty()
        && !inner.refresh
        && !inner.stale_cookie;
    if inner.is_new && inner.fields.is_empty() {
        inner.changed.clear();
        return (remove, None);
    }
    if !inner.is_new && untouched {
        return (remove, None);
    }
    let now = config.clock.now();
    let write = if inner.is_new {
        let id = inner.id_or_generate();
        let record = Record::new(fields(inner), now, config.expiry.deadline(now, now));
        inner.saved(now, record.expires());
        Write::Create { id, record }
    } else {
        let id = inner.id.clone().expect("a stored session has an id");
        let expires = config.expiry.deadline(inner.created, now);
        // A persistent cookie follows the session's expiry; any cookie signed by an old key is
        // re-signed.
        let reissue = (config.cookie.persistent || inner.stale_cookie).then_some(Reissue {
            presented_mac: inner.presented_mac,
        });
        if let Some(old) = inner.rekey_from.take() {
            let record = Record::new(fields(inner), inner.created, expires);
            inner.saved(inner.created, expires);
            Write::Rekey {
                id,
                record,
                old: old.store_key(),
            }
        } else if !inner.changed.is_empty() {
            let patch = take_patch(inner, expires);
            inner.saved(inner.created, expires);
            Write::Patch {
                key: inner.store_key(),
                patch,
                id,
                reissue,
            }
        } else if inner.refresh {
            inner.saved(inner.created, expires);
            Write::Touch {
                key: inner.store_key(),
                expires,
                id,
                reissue,
            }
        } else {
            // Only a cookie signed by an old key is left to deal with.
            inner.stale_cookie = false;
            Write::Reissue {
                id,
                expires: inner.expires,
            }
        }
    };
    (remove, Some((write, now)))
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
    Patch::new(changed, removed, expires)
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
    now: OffsetDateTime,
) -> Result<Option<CookieAction>, Error> {
    let limit = config.store_timeout;
    let cookie = |id: &SessionId, expires, mac: Option<&[u8; MAC_LEN]>| {
        id_cookie(config, id, mac, now, expires).map(Some)
    };
    match write {
        Write::Create { id, record } => {
            let id = create(config, store, id, &record).await?;
            cookie(&id, record.expires(), None)
        }
        Write::Rekey { id, record, old } => {
            let id = create(config, store, id, &record).await?;
            bounded(limit, store.remove(&old)).await?;
            cookie(&id, record.expires(), None)
        }
        Write::Patch {
            key,
            patch,
            id,
            reissue,
        } => match (bounded(limit, store.patch(&key, &patch)).await?, reissue) {
            (Updated::Missing, _) => Err(Error::RemovedConcurrently),
            (Updated::Applied, Some(reissue)) => {
                cookie(&id, patch.expires(), reissue.presented_mac.as_ref())
            }
            (Updated::Applied, None) => Ok(None),
        },
        Write::Touch {
            key,
            expires,
            id,
            reissue,
        } => {
            // A session removed meanwhile stays removed; this request only read it.
            match (bounded(limit, store.touch(&key, expires)).await?, reissue) {
                (Updated::Applied, Some(reissue)) => {
                    cookie(&id, expires, reissue.presented_mac.as_ref())
                }
                (Updated::Applied | Updated::Missing, _) => Ok(None),
            }
        }
        Write::Reissue { id, expires } => cookie(&id, expires, None),
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
            Created::Stored => return Ok(id),
            Created::AlreadyExists => id = SessionId::generate(),
        }
    }
    Err(Error::store(
        "the store reports every fresh session id as taken",
    ))
}

/// The id cookie for `id`; `presented_mac` is the MAC of the client's cookie for this id when
/// the newest key verified it, so that the same value is sent again without a new MAC.
fn id_cookie(
    config: &Config,
    id: &SessionId,
    presented_mac: Option<&[u8; MAC_LEN]>,
    now: OffsetDateTime,
    expires: OffsetDateTime,
) -> Result<CookieAction, Error> {
    let codec = &config.codec;
    config
        .cookie
        .set(
            codec.name(),
            codec.id_len(),
            |out| codec.write_id(out, id, presented_mac),
            now,
            expires,
        )
        .map(CookieAction::Set)
}

/// The cookie store: the cookie is the store.
fn settle_cookie_store(config: &Config, inner: &mut Inner) -> Result<Option<CookieAction>, Error> {
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
    let now = config.clock.now();
    let id = inner.id_or_generate();
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
    let codec = &config.codec;
    let header = match config.cookie.set(
        codec.name(),
        codec.data_len(json.len()),
        |out| codec.write_data(out, &json),
        now,
        expires,
    ) {
        Ok(header) => header,
        // Only re-issuing what the client already holds (a new key or mode, an idle refresh):
        // a re-issue that no longer fits (another mode can be a few bytes longer) is skipped,
        // and the cookie the client holds stays valid, rather than failing every request.
        Err(error @ Error::CookieTooLarge { .. }) if !(inner.is_new || changed || rekeyed) => {
            tracing::warn!(%error, "session cookie not re-issued: it would no longer fit");
            inner.stale_cookie = false;
            inner.refresh = false;
            return Ok(None);
        }
        Err(error) => return Err(error),
    };
    inner.saved(created, expires);
    Ok(Some(CookieAction::Set(header)))
}

fn apply(config: &Config, response: &mut Response, action: CookieAction) {
    let header = match action {
        CookieAction::Set(header) => header,
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
