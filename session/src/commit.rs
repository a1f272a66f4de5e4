//! The end of a request: what happens to the session after the handler answered and before the
//! response leaves. The service asks [`untouched`] first, then [`finish`], the one entry point for
//! a session that was loaded; together they read top to bottom in the order the decisions are
//! made:
//!
//! 1. no handler extracted the session → the response passes untouched (a load that failed is
//!    rendered as the application asked);
//! 2. the response depends on the session → `Vary: Cookie`;
//! 3. the request is outside the cookie's path → nothing is saved;
//! 4. a 5xx response → the request's data changes are discarded (unless configured otherwise),
//!    but what it ended stays ended: a destroyed session is removed, and a regenerated one
//!    loses its old id;
//! 5. a failure deferred from a handle → the request fails;
//! 6. what the request did to the session ([`Change`]), carried out by the backend:
//!    - destroyed, or a new session nobody wrote to → nothing stored (a destroyed stored
//!      session is removed), and a cookie the client holds is expired;
//!    - new → created; regenerated → moved to the new id in one store step that fails (409)
//!      when the session was removed meanwhile;
//!    - dirty → the changed fields written; refresh → the idle deadline moved;
//!    - reissue → the cookie re-signed with the newest key; unchanged → nothing at all;
//! 7. the cookie is set or expired, or a failed save becomes an error response (500; 503 when
//!    the store is out of reach; 409 when a concurrent request removed the session), with a
//!    generic body or the application's own; the detail goes to the log.
//!
//! The cookie store and a store session that nothing changed settle at once, without a future;
//! store writes are planned under the state's lock and carried out after it.
//!
//! From step 5 on, the commit runs in a `session.commit` span (`telemetry`), which names what
//! it did to the session and how that ended; steps 1 to 4 record nothing.

use std::sync::Arc;

use http::header::{CACHE_CONTROL, SET_COOKIE, VARY};
use http::{HeaderValue, Response};

use crate::Error;
use crate::backend::external::{self, Calls, Planned};
use crate::backend::{Moment, cookie};
use crate::config::Config;
use crate::cookies::CookieAction;
use crate::failure;
use crate::plain_http::without_secure;
use crate::request::RequestState;
use crate::state::{Change, SessionState};
use crate::telemetry::{Op, Traced};
use crate::transport;

/// How far [`finish`] got.
// `Later` is large, but it is moved once, into the commit future that holds it anyway: boxing
// it would cost the allocation that the split into `Now` and `Later` saves elsewhere.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Finished<B> {
    /// Committed: the response to send.
    Now(Response<B>),
    /// The store has to be waited for: see [`finish_pending`].
    Later(Pending<B>),
}

/// A commit that has to wait for the store: the response and the store calls it waits for.
pub(crate) struct Pending<B> {
    response: Response<B>,
    calls: Calls,
    traced: Traced,
}

/// Step 1, for a request whose handlers never loaded the session: nothing read it, so nothing
/// can have changed it. A load that failed answered through the extractor's rejection, which
/// the application may render its own way. This is the path of every route that never extracts
/// a session: one pointer check unless the application renders failures.
#[inline]
pub(crate) fn untouched<B>(state: &RequestState, response: Response<B>) -> Response<B>
where
    B: From<&'static str> + 'static,
{
    match &state.config().render_failure {
        None => response,
        Some(render) => match state.load_failure() {
            Some(status) if status == response.status() => failure::response(Some(render), status),
            _ => response,
        },
    }
}

/// Commits the loaded session into `response`: at once when that needs no store call,
/// otherwise up to the store calls that [`finish_pending`] makes.
pub(crate) fn finish<B>(state: &Arc<RequestState>, mut response: Response<B>) -> Finished<B>
where
    B: From<&'static str> + 'static,
{
    debug_assert!(
        state.was_loaded(),
        "an untouched session goes through `untouched`"
    );
    // 2. The response depends on the session: shared caches must not serve it to others.
    let config = state.config();
    add_vary(config, &mut response);
    // A `Session` moved into a task that outlives the handler still holds the state and may
    // save again: then the fields stay where they are. Nothing can clone the state without
    // holding it, so a count of one cannot change under us.
    let moment = if Arc::strong_count(state) == 1 {
        Moment::Last
    } else {
        Moment::During
    };
    let mut session = state.lock();
    // 3. The browser never sends the cookie back here: the session lived for this request.
    if session.is_out_of_scope() {
        return Finished::Now(response);
    }
    // 4. A server error discards the request's data changes; a logout still logs out.
    if response.status().is_server_error() && !config.save_on_server_error {
        if !session.keep_only_removals() {
            tracing::debug!("server error response: session changes discarded");
            return Finished::Now(response);
        }
        tracing::debug!("server error response: data changes discarded, removals kept");
    }
    let mut traced = config.telemetry.commit();
    let (saving, op) = traced.in_scope(|| save(config, &mut session, moment));
    traced.set_op(op);
    match saving {
        Saving::Settled(outcome) => {
            drop(session);
            config.telemetry.finish(traced, &outcome);
            Finished::Now(conclude(state, response, outcome))
        }
        Saving::Store(calls) => Finished::Later(Pending {
            response,
            calls,
            traced,
        }),
    }
}

/// Completes a commit that [`finish`] could not: makes its store calls, then concludes.
pub(crate) async fn finish_pending<B>(state: &RequestState, pending: Pending<B>) -> Response<B>
where
    B: From<&'static str> + 'static,
{
    let config = state.config();
    // Built in place in each arm, not moved into the span's future: see `RequestState`.
    let outcome = if pending.traced.is_on() {
        let calls = external::carry_out(config, pending.calls);
        pending.traced.instrumented(calls).await
    } else {
        external::carry_out(config, pending.calls).await
    };
    config.telemetry.finish(pending.traced, &outcome);
    conclude(state, pending.response, outcome)
}

/// An explicit `Session::save`: writes the changes so far and settles the cookie the response
/// will carry. Safe to call more than once: each call writes only what changed since the last.
pub(crate) async fn persist(state: &RequestState) -> Result<Option<CookieAction>, Error> {
    let config = state.config();
    let mut traced = config.telemetry.commit();
    let (saving, op) = traced.in_scope(|| save(config, &mut state.lock(), Moment::During));
    traced.set_op(op);
    let outcome = match saving {
        Saving::Settled(outcome) => outcome,
        Saving::Store(calls) if traced.is_on() => {
            traced
                .instrumented(external::carry_out(config, calls))
                .await
        }
        Saving::Store(calls) => external::carry_out(config, calls).await,
    };
    config.telemetry.finish(traced, &outcome);
    outcome
}

/// Where a save stands once decided under the lock.
// `Store` is large, but it is moved once, into the pending commit: see `Finished`.
#[allow(clippy::large_enum_variant)]
enum Saving {
    /// Done, or failed, without a store call.
    Settled(Result<Option<CookieAction>, Error>),
    /// Store calls to make after the lock is released.
    Store(Calls),
}

/// Steps 5 and 6: a deferred failure, or what the change needs from the backend; with what
/// the save does to the session, for telemetry.
fn save(config: &Config, session: &mut SessionState, moment: Moment) -> (Saving, Option<Op>) {
    // 5. An encoding failure or a failed explicit save, kept by a handle: the request fails.
    if let Some(error) = session.take_error() {
        return (Saving::Settled(Err(error)), None);
    }
    // 6. What the request did, carried out where the session lives.
    let change: Change = session.change();
    match config.store {
        // The cookie is the store: the new cookie is the write.
        None => {
            let saved = cookie::save(config, session, change);
            let op = cookie::op(change, &saved);
            (Saving::Settled(saved), op)
        }
        Some(_) => match external::plan(config, session, change, moment) {
            Planned::Settled(cookie) => (Saving::Settled(Ok(cookie)), None),
            Planned::Calls(calls) => {
                let op = calls.op();
                (Saving::Store(calls), op)
            }
        },
    }
}

/// Step 7: sets the cookie the save settled on, or turns a failed save into an error response.
fn conclude<B>(
    state: &RequestState,
    mut response: Response<B>,
    outcome: Result<Option<CookieAction>, Error>,
) -> Response<B>
where
    B: From<&'static str> + 'static,
{
    let config = state.config();
    let action = match outcome {
        Ok(action) => action.or_else(|| state.lock().take_pending_cookie()),
        Err(error) => {
            tracing::error!(%error, "failed to save the session");
            let expire = matches!(error, Error::RemovedConcurrently);
            let mut response = failure::response(config.render_failure.as_ref(), error.status());
            add_vary(config, &mut response);
            if expire {
                apply(state, &mut response, CookieAction::Expire);
            }
            return response;
        }
    };
    if let Some(action) = action {
        apply(state, &mut response, action);
    }
    response
}

/// Puts the cookie into the response (and its token into the transport header, if any), with
/// `Cache-Control: no-cache="set-cookie"` unless the handler chose its own caching.
fn apply<B>(state: &RequestState, response: &mut Response<B>, action: CookieAction)
where
    B: From<&'static str> + 'static,
{
    let config = state.config();
    let (header, issued) = match action {
        CookieAction::Set(header) => (header, true),
        CookieAction::Expire => (config.cookie.expire(config.codec.name()), false),
    };
    let header = if state.plain_http() {
        without_secure(header)
    } else {
        header
    };
    if issued {
        config.telemetry.cookie_issued(header.len());
    } else {
        config.telemetry.cookie_expired();
    }
    match HeaderValue::try_from(header) {
        Ok(value) => {
            let headers = response.headers_mut();
            if let Some(name) = &config.token_header {
                let set = value.to_str().ok().filter(|_| issued);
                transport::mirror(name, headers, set);
            }
            headers.append(SET_COOKIE, value);
            if !headers.contains_key(CACHE_CONTROL) {
                let no_cache = transport::no_cache(config.token_header.as_ref());
                headers.insert(CACHE_CONTROL, no_cache);
            }
        }
        Err(error) => {
            tracing::error!(%error, "session cookie is not a valid header value");
            *response = failure::response(
                config.render_failure.as_ref(),
                http::StatusCode::INTERNAL_SERVER_ERROR,
            );
        }
    }
}

/// Responses that depend on the session must not be served from a shared cache to others:
/// `Vary: cookie`, and the transport header's name when there is one.
fn add_vary<B>(config: &Config, response: &mut Response<B>) {
    if let Some(name) = &config.token_header {
        transport::add_vary(name, response.headers_mut());
    }
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
