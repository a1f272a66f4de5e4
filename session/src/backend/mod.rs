//! Where a session lives between requests: in the cookie itself ([`cookie`]), or in an external
//! store that the cookie names by id ([`external`]). Each backend loads the session a request
//! presents and carries out what the end of the request decided.

pub(crate) mod cookie;
pub(crate) mod external;

use http::HeaderMap;

use time::OffsetDateTime;

use crate::Error;
use crate::config::Config;
use crate::expiry::Expiry;
use crate::lifetime::Lifetime;
use crate::state::SessionState;
use crate::store::Fields;

/// Loads the session the request presents; called once per request, on first extraction.
pub(crate) async fn load(
    config: &Config,
    headers: &HeaderMap,
    path: &str,
) -> Result<SessionState, Error> {
    // The browser sends the cookie only inside its path: outside it, the session is ephemeral.
    if !config.cookie.covers(path) {
        return Ok(SessionState::out_of_scope());
    }
    let mut session = SessionState::default();
    match &config.store {
        None => cookie::load(config, &mut session, headers),
        Some(store) => external::load(config, &**store, &mut session, headers).await?,
    }
    Ok(session)
}

/// When a save happens: the one at the end of the request, with no handle left that could save
/// again, may take the fields out of the state instead of copying them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Moment {
    /// An explicit `Session::save`: the request goes on with the state.
    During,
    /// The commit at the end of the request, when nothing else holds the state.
    Last,
}

/// The limits of the session holding `fields`: the layer's, or the session's own
/// [`Lifetime`] within the layer's maximum.
#[derive(Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) expiry: Expiry,
    /// Whether its cookie carries `Max-Age`/`Expires`.
    pub(crate) persistent: bool,
}

impl Limits {
    pub(crate) fn of(config: &Config, fields: &Fields) -> Self {
        let lifetime = Lifetime::stored(fields);
        Self {
            expiry: config.expiry.for_session(lifetime.as_ref()),
            persistent: lifetime.map_or(config.cookie.persistent, |l| l.is_persistent()),
        }
    }

    /// The expiry a cookie carries for a session that expires at `expires`: none for a
    /// browser-session cookie.
    pub(crate) fn cookie_expiry(&self, expires: OffsetDateTime) -> Option<OffsetDateTime> {
        self.persistent.then_some(expires)
    }
}
