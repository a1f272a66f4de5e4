//! An external store: the cookie carries only the signed session id, and the session lives in
//! a [`SessionStore`](crate::store::SessionStore) under the id's digest. Loading is one store
//! `load`; saving is planned under the state's lock and carried out after it, so that no lock is
//! held across a store call.

use std::future::Future;

use http::HeaderMap;
use time::OffsetDateTime;

use crate::Error;
use crate::backend::{Limits, Moment};
use crate::clock::unix_ms;
use crate::codec::MAC_LEN;
use crate::config::Config;
use crate::cookies::CookieAction;
use crate::expiry::at;
use crate::id::SessionId;
use crate::lifetime;
use crate::state::{Change, SessionState};
use crate::store::{Created, DynStore, Patch, Record, Rekeyed, StoreKey, Updated};
use crate::telemetry::{Answer, Op};
use crate::transport;

/// How many authentic id cookies of one request are looked up in the store at most. Forged
/// cookies never reach the store (their MAC fails first), but an attacker can collect authentic
/// ones (his own sessions, logged out) and send thousands in one request: each lookup is a
/// store round trip, so their number is bounded. The `__Host-` cookie prefix, on by default,
/// keeps sibling subdomains from planting such cookies in a victim's browser.
const MAX_LOOKUPS: usize = 4;

/// How many fresh ids a regeneration draws at most to find one that the store can move the
/// session to in one step (see [`SessionStore::can_rekey`](crate::store::SessionStore::can_rekey)).
/// Redis Cluster accepts one id in 256 on average; after this many draws, a store that accepts
/// none is handed the last one and reports the failure itself.
const REKEY_DRAWS: usize = 1 << 16;

/// Adopts the first session that an authentic id cookie of the request names and the store
/// holds, live.
pub(crate) async fn load(
    config: &Config,
    store: &dyn DynStore,
    session: &mut SessionState,
    headers: &HeaderMap,
) -> Result<(), Error> {
    let authentic = transport::presented(config, headers, |v| config.codec.plausible(v))
        .filter_map(|value| config.codec.open_id(value));
    for opened in authentic.take(MAX_LOOKUPS) {
        let key = opened.value.id.store_key();
        let record = match call(config, Op::Load, store.load(&key)).await {
            Ok(Some(record)) => record,
            Ok(None) => continue,
            Err(Error::Corrupt(what)) => {
                tracing::warn!(%what, "corrupt session record; starting a new session");
                continue;
            }
            Err(error) => return Err(error),
        };
        // A lifetime stored in the record is cut to the layer's maximum: the record may have
        // been edited, or written under a higher maximum.
        let expiry = Limits::of(config, record.fields()).expiry;
        let absolute = expiry.absolute_deadline_ms(unix_ms(record.created()));
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
            session.remove_at_commit(opened.value.id);
            continue;
        }
        let created = record.created();
        let refresh = expiry.refresh_due(created, expires, now);
        session.adopt(
            opened.value.id,
            record.into_fields(),
            created,
            expires,
            refresh,
        );
        session.set_key(key, (!opened.stale).then_some(opened.value.mac));
        session.set_stale_cookie(opened.stale);
        return Ok(());
    }
    Ok(())
}

/// The store calls a save decided on, to make after the state's lock is released.
pub(crate) struct Calls {
    /// A stored session to delete first (destroyed, or found expired).
    remove: Option<SessionId>,
    /// What follows the removal.
    then: Then,
}

impl Calls {
    /// What the calls do to the session, as a commit's span and metrics name it: the write, or
    /// the removal when nothing is written (`None`: only a cookie, no store call).
    pub(crate) fn op(&self) -> Option<Op> {
        let write = match &self.then {
            Then::Write(Write::Create { .. }, ..) => Some(Op::Create),
            Then::Write(Write::Rekey { .. }, ..) => Some(Op::Rekey),
            Then::Write(Write::Patch { .. }, ..) => Some(Op::Patch),
            Then::Write(Write::Touch { .. }, ..) => Some(Op::Touch),
            Then::Write(Write::Reissue { .. }, ..) | Then::Cookie(_) => None,
        };
        write.or(self.remove.as_ref().map(|_| Op::Remove))
    }
}

// `Write` is large, but it is moved once, into the commit future that holds it anyway: boxing
// it would cost an allocation per write.
#[allow(clippy::large_enum_variant)]
enum Then {
    /// A write, with the time it was decided at and whether the cookie it sends is persistent
    /// (`Max-Age`/`Expires`).
    Write(Write, OffsetDateTime, bool),
    /// No write: only the cookie, decided with the plan.
    Cookie(Option<CookieAction>),
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
        old: StoreKey,
        new: StoreKey,
        patch: Patch,
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

/// What a save needs once planned.
// `Calls` is large, but it is moved once, into the commit future: see `Then`.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Planned {
    /// No store call: the cookie to send is known.
    Settled(Option<CookieAction>),
    /// Store calls to make first.
    Calls(Calls),
}

/// Decides the store calls for `change`, and sets the state as if they succeeded. The clock is
/// read only for a write (a read that changes nothing does not need the time).
pub(crate) fn plan(
    config: &Config,
    session: &mut SessionState,
    change: Change,
    moment: Moment,
) -> Planned {
    let remove = session.take_removal();
    let write = match change {
        // Nothing to store (a new session nobody wrote to, or a destroyed one).
        Change::Empty => {
            session.clear_changes();
            None
        }
        Change::Unchanged => None,
        _ => {
            let now = config.clock.now();
            let limits = Limits::of(config, session.fields());
            let write = write(config, session, change, moment, now, &limits);
            Some((write, now, limits.persistent))
        }
    };
    let then = match write {
        Some((write, now, persistent)) => Then::Write(write, now, persistent),
        // A client whose session ended with nothing stored has its cookie expired.
        None => {
            let cookie = session.presented_expired().then_some(CookieAction::Expire);
            if remove.is_none() {
                return Planned::Settled(cookie);
            }
            Then::Cookie(cookie)
        }
    };
    Planned::Calls(Calls { remove, then })
}

/// The write for a session that `change` says needs one.
fn write(
    config: &Config,
    session: &mut SessionState,
    change: Change,
    moment: Moment,
    now: OffsetDateTime,
    limits: &Limits,
) -> Write {
    let last = moment == Moment::Last;
    if change == Change::New {
        let id = session.id_or_generate();
        let record = Record::new(
            session.fields_for_save(last),
            now,
            limits.expiry.deadline(now, now),
        );
        session.saved(now, record.expires());
        return Write::Create { id, record };
    }
    let id = session.id().cloned().expect("a stored session has an id");
    let created = session.created();
    let expires = limits.expiry.deadline(created, now);
    // A persistent cookie follows the session's expiry; any cookie signed by an old key is
    // re-signed; a changed lifetime changes the cookie's (a persistent one becomes a
    // browser-session one, or the other way round).
    let reissue =
        (limits.persistent || session.is_stale_cookie() || session.is_changed(lifetime::KEY))
            .then_some(Reissue {
                presented_mac: session.presented_mac(),
            });
    match change {
        // The stored session moves to the new id with this request's changes, in one step that
        // fails if it was removed meanwhile: what others wrote since the load moves with it.
        Change::Regenerated => {
            let old = session
                .take_rekey()
                .expect("a regenerated session has an old id")
                .store_key();
            let store = config.store.as_deref().expect("planned with a store");
            let new = session.draw_id_until(REKEY_DRAWS, |new| store.can_rekey(&old, new));
            let id = session.id().cloned().expect("drawn above");
            let (changed, removed) = session.take_changes();
            let patch =
                Patch::new(changed, removed, expires).with_loaded_index(session.stored_index());
            session.saved(created, expires);
            Write::Rekey {
                id,
                old,
                new,
                patch,
            }
        }
        Change::Dirty => {
            let (changed, removed) = session.take_changes();
            let patch =
                Patch::new(changed, removed, expires).with_loaded_index(session.stored_index());
            session.saved(created, expires);
            Write::Patch {
                key: session.store_key(),
                patch,
                id,
                reissue,
            }
        }
        Change::Refresh => {
            session.saved(created, expires);
            Write::Touch {
                key: session.store_key(),
                expires,
                id,
                reissue,
            }
        }
        // Only a cookie signed by an old key is left to deal with.
        _ => {
            session.set_stale_cookie(false);
            Write::Reissue {
                id,
                expires: session.expires(),
            }
        }
    }
}

/// Makes the store calls a plan decided on; returns the cookie to send.
pub(crate) async fn carry_out(
    config: &Config,
    calls: Calls,
) -> Result<Option<CookieAction>, Error> {
    let store = config.store.as_deref().expect("planned with a store");
    if let Some(old) = calls.remove {
        call(config, Op::Remove, store.remove(&old.store_key())).await?;
    }
    match calls.then {
        Then::Cookie(cookie) => Ok(cookie),
        Then::Write(write, now, persistent) => execute(config, store, write, now, persistent).await,
    }
}

async fn execute(
    config: &Config,
    store: &dyn DynStore,
    write: Write,
    now: OffsetDateTime,
    persistent: bool,
) -> Result<Option<CookieAction>, Error> {
    let cookie = |id: &SessionId, expires, mac: Option<&[u8; MAC_LEN]>| {
        id_cookie(config, id, mac, now, persistent.then_some(expires)).map(Some)
    };
    match write {
        Write::Create { id, record } => {
            let id = create(config, store, id, &record).await?;
            cookie(&id, record.expires(), None)
        }
        Write::Rekey {
            id,
            old,
            new,
            patch,
        } => match call(config, Op::Rekey, store.rekey(&old, &new, &patch)).await? {
            Rekeyed::Applied => cookie(&id, patch.expires(), None),
            // Logged out (or expired) while this request ran: it stays so.
            Rekeyed::Missing => Err(Error::RemovedConcurrently),
            // A 256-bit id drawn twice: only a store that misreports can answer this.
            Rekeyed::Taken => Err(Error::store(
                "the store reports the session's fresh id as taken",
            )),
        },
        Write::Patch {
            key,
            patch,
            id,
            reissue,
        } => match (
            call(config, Op::Patch, store.patch(&key, &patch)).await?,
            reissue,
        ) {
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
            match (
                call(config, Op::Touch, store.touch(&key, expires)).await?,
                reissue,
            ) {
                (Updated::Applied, Some(reissue)) => {
                    cookie(&id, expires, reissue.presented_mac.as_ref())
                }
                (Updated::Applied | Updated::Missing, _) => Ok(None),
            }
        }
        Write::Reissue { id, expires } => cookie(&id, expires, None),
    }
}

/// One store call, bounded by the layer's store timeout, counted and timed. A plain function,
/// not an `async fn`: a wrapper future would hold `call` twice, and the request's future with it.
fn call<'a, T: Answer + 'a, F: Future<Output = Result<T, Error>> + 'a>(
    config: &'a Config,
    op: Op,
    call: F,
) -> impl Future<Output = Result<T, Error>> + 'a {
    config.telemetry.store_call(config.store_timeout, op, call)
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
        match call(config, Op::Create, store.create(&id.store_key(), record)).await? {
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
    expires: Option<OffsetDateTime>,
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
