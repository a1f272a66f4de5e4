//! The cookie store: the session's fields travel in the cookie, signed or encrypted, with its
//! id and times inside the MAC. The cookie is the store, so saving is issuing a new cookie.

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::backend::Limits;
use crate::clock::{from_unix_ms, unix_ms};
use crate::config::Config;
use crate::cookies::CookieAction;
use crate::expiry::at;
use crate::id::SessionId;
use crate::state::{Change, SessionState};
use crate::store::Fields;
use crate::telemetry::Op;
use crate::transport;

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

/// Adopts the first authentic, live session cookie the request carries.
pub(crate) fn load(config: &Config, session: &mut SessionState, headers: &http::HeaderMap) {
    for value in transport::presented(config, headers, |v| config.codec.plausible(v)) {
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
                session.mark_presented();
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
            session.mark_presented();
            continue;
        };
        // The lifetime travels inside the MAC: a client cannot change it, and the layer's
        // maximum still bounds it.
        let expiry = Limits::of(config, &payload.d).expiry;
        let expires = expiry.deadline_ms(payload.c, payload.s);
        let now = config.clock.now();
        if expires <= unix_ms(now) {
            tracing::debug!("session cookie expired");
            continue;
        }
        let expires = at(expires);
        let refresh = expiry.refresh_due(created, expires, now);
        session.adopt(id, payload.d, created, expires, refresh);
        session.set_stale_cookie(opened.stale);
        return;
    }
}

/// Saves the session as a new cookie (or expires the cookie when nothing is left to keep).
pub(crate) fn save(
    config: &Config,
    session: &mut SessionState,
    change: Change,
) -> Result<Option<CookieAction>, Error> {
    // Nothing to remove: the old cookie is replaced or expired.
    session.take_removal();
    if session.fields().is_empty() {
        // Nothing left to keep: a cookie the client holds goes (including one whose session
        // was just emptied), and a new session costs nothing.
        return Ok(session.end_empty().then_some(CookieAction::Expire));
    }
    if change == Change::Unchanged {
        return Ok(None);
    }
    let now = config.clock.now();
    let created = if session.is_new() {
        now
    } else {
        session.created()
    };
    let id = session.id_or_generate();
    let payload = CookiePayload {
        i: id.as_str(),
        c: unix_ms(created),
        s: unix_ms(now),
        d: session.fields(),
    };
    let json = serde_json::to_vec(&payload).map_err(|source| Error::Encode {
        key: "<session>",
        source,
    })?;
    let limits = Limits::of(config, session.fields());
    let expires = limits.expiry.deadline(created, now);
    let codec = &config.codec;
    let header = match config.cookie.set(
        codec.name(),
        codec.data_len(json.len()),
        |out| codec.write_data(out, &json),
        now,
        limits.cookie_expiry(expires),
    ) {
        Ok(header) => header,
        // Only re-issuing what the client already holds (a new key or mode, an idle refresh):
        // a re-issue that no longer fits (another mode can be a few bytes longer) is skipped,
        // and the cookie the client holds stays valid, rather than failing every request.
        Err(error @ Error::CookieTooLarge { .. })
            if matches!(change, Change::Refresh | Change::Reissue) =>
        {
            tracing::warn!(%error, "session cookie not re-issued: it would no longer fit");
            session.keep_presented_cookie();
            return Ok(None);
        }
        Err(error) => return Err(error),
    };
    session.saved(created, expires);
    Ok(Some(CookieAction::Set(header)))
}

/// What a save did to the session, as a commit's span and metrics name it (`None`: nothing).
pub(crate) fn op(change: Change, saved: &Result<Option<CookieAction>, Error>) -> Option<Op> {
    match (saved, change) {
        (Ok(None), _) | (_, Change::Unchanged) => None,
        (Ok(Some(CookieAction::Expire)), _) | (_, Change::Empty) => Some(Op::Remove),
        (_, Change::New) => Some(Op::Create),
        (_, Change::Regenerated) => Some(Op::Rekey),
        (_, Change::Dirty) => Some(Op::Patch),
        // A new cookie with the same fields moves the idle deadline, as a touch does.
        (_, Change::Refresh | Change::Reissue) => Some(Op::Touch),
    }
}
