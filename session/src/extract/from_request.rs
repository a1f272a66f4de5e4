//! How a handler gets its `Session<T>`: the axum extractors (`Session<T>` and
//! `Option<Session<T>>`), the load they share with `Session::load` and the CSRF layer, and
//! [`SessionRejection`], what a failed extraction answers.

use std::sync::Arc;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::HeaderMap;
use http::request::Parts;

use super::Session;
use crate::Error;
use crate::data::SessionData;
use crate::failure;
use crate::request::{Handle, RequestState};

impl<T, S> FromRequestParts<S> for Session<T>
where
    T: SessionData,
    S: Send + Sync,
{
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let handle = parts.extensions.get::<Handle>();
        extract(handle, &parts.headers, parts.uri.path()).await
    }
}

/// The request's session as a `Session<T>`, whoever asks (the extractor, `Session::load`).
/// An indexed `T` other than the one the layer indexes by fails before anything is loaded (see
/// `index_owner`), as a misconfigured layer does.
pub(crate) async fn extract<T: SessionData>(
    handle: Option<&Handle>,
    headers: &HeaderMap,
    path: &str,
) -> Result<Session<T>, SessionRejection> {
    if let Some(Handle(state)) = handle
        && let Err(error) = state.config().index_owner.claim::<T>()
    {
        state.note_load_failure(error.status());
        return Err(SessionRejection::Load(error));
    }
    let state = loaded(handle, headers, path).await?;
    Ok(Session::from_loaded(state))
}

/// The request's state with its session loaded, whoever asks (a `Session<T>`, the CSRF layer).
pub(crate) async fn loaded(
    handle: Option<&Handle>,
    headers: &HeaderMap,
    path: &str,
) -> Result<Arc<RequestState>, SessionRejection> {
    let Handle(state) = handle.cloned().ok_or(SessionRejection::MissingLayer)?;
    if let Err(error) = state.ensure_loaded(headers, path).await {
        state.note_load_failure(error.status());
        return Err(SessionRejection::Load(error));
    }
    Ok(state)
}

/// `Option<Session<T>>`: the session only if the client presented a live one, so that a route
/// can read a session without starting one.
///
/// `None` when the request carries no valid session: no cookie, a forged or tampered one, an
/// expired one, or an id the store does not know. `Some` holds the loaded session, and works
/// like a plain `Session<T>`: writes through it are saved, and `regenerate()` and `destroy()`
/// do what they always do. A `None` writes nothing to the store and sets no cookie.
///
/// A failure is never `None`: a store that fails to load answers its error response (500, or
/// 503 when the store is out of reach), and a missing layer answers 500, as for `Session<T>`.
///
/// # Examples
///
/// ```
/// use typed_sessions::Session;
///
/// #[derive(Session, Default)]
/// struct Auth {
///     user: Option<String>,
/// }
///
/// async fn greet(auth: Option<Session<Auth>>) -> String {
///     match auth.as_ref().and_then(|auth| auth.user.as_deref()) {
///         Some(user) => format!("hello, {user}"),
///         None => "hello, stranger".to_owned(), // and no session was started
///     }
/// }
/// ```
impl<T, S> OptionalFromRequestParts<S> for Session<T>
where
    T: SessionData,
    S: Send + Sync,
{
    type Rejection = SessionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let session = <Self as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        // A new session has no snapshot: dropping it records nothing.
        Ok((!session.is_new()).then_some(session))
    }
}

/// Why a [`Session<T>`] could not be extracted; answers as an error response.
///
/// A failed load answers its status (500, or 503 when the store is out of reach) with a short,
/// generic body, or the application's own rendering
/// ([`SessionLayer::with_error_response`](crate::SessionLayer::with_error_response)); what went
/// wrong is logged, never sent to the client. A missing layer is a mistake in the application
/// itself, and its body says how to fix it.
///
/// # Examples
///
/// ```
/// use axum::response::IntoResponse;
/// use typed_sessions::SessionRejection;
///
/// let response = SessionRejection::MissingLayer.into_response();
/// assert_eq!(response.status(), 500);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionRejection {
    /// No [`SessionLayer`](crate::SessionLayer) wraps the route.
    #[error(
        "no session layer on this route: is `SessionLayer` installed (`Router::layer`) around it?"
    )]
    MissingLayer,
    /// The session could not be loaded (store failure or outage), or the layer cannot serve it
    /// (a misconfigured layer, a second session type with an index field).
    #[error("could not load the session: {0}")]
    Load(#[source] Error),
}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        let status = self.status();
        tracing::error!(error = %self, "session extraction failed");
        match self {
            Self::MissingLayer => (status, self.to_string()).into_response(),
            Self::Load(_) => failure::response(None, status),
        }
    }
}
