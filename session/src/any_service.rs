//! Sessions in any tower service over `http` types, axum or not: [`Session::load`] from the
//! request, and a failed load as a plain `http` response in the service's own body type.

use std::future::Future;

use http::{Request, Response, StatusCode};

use crate::data::SessionData;
use crate::extract::{Session, SessionRejection, extract};
use crate::failure;
use crate::request::Handle;

impl<T: SessionData> Session<T> {
    /// The request's session, for a service that is not an axum handler (a hyper or tonic
    /// service, another tower-based framework) behind a [`SessionLayer`](crate::SessionLayer).
    ///
    /// It does what the [`Session<T>`](struct@Session) extractor does: the first call of a
    /// request verifies the cookie and loads the session, once for every `Session<_>` of that
    /// request; field changes are recorded when the handle drops, and the layer saves those that
    /// changed (and sets the cookie) when the service's response comes back. Drop the handle
    /// before returning the response. A request that never calls it costs the layer nothing
    /// more.
    ///
    /// The layer serves any response body type that converts from a `&'static str`: axum's
    /// `Body`, `String`, `http_body_util::Full<Bytes>`... (the type of the layer's own error
    /// responses, with their generic bodies). A service with a body that does not (a boxed
    /// body, tonic's `Body`) maps its responses into one that does, for instance into axum's
    /// `Body`, which carries any `http_body::Body` (`response.map(axum::body::Body::new)`, with
    /// `tower::ServiceExt::map_response`, inside the layer).
    ///
    /// # Errors
    ///
    /// [`SessionRejection::MissingLayer`] when no layer wraps the service, or
    /// [`SessionRejection::Load`] when the store could not load the session; answer with
    /// [`SessionRejection::into_http_response`].
    ///
    /// # Examples
    ///
    /// A plain function service, no axum, behind the layer:
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{Request, Response};
    /// use tower::{Layer as _, ServiceExt as _};
    /// use typed_sessions::{Key, Session, SessionLayer};
    ///
    /// #[derive(Session, Default)]
    /// struct Visit {
    ///     views: u64,
    /// }
    ///
    /// async fn count(request: Request<String>) -> Result<Response<String>, Infallible> {
    ///     let mut visit = match Session::<Visit>::load(&request).await {
    ///         Ok(visit) => visit,
    ///         Err(rejection) => return Ok(rejection.into_http_response()),
    ///     };
    ///     visit.views += 1;
    ///     Ok(Response::new(format!("{} views", visit.views)))
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = SessionLayer::new(Key::generate()).layer(tower::service_fn(count));
    /// let response = app.oneshot(Request::new(String::new())).await.unwrap();
    /// assert_eq!(response.body(), "1 views");
    /// assert!(response.headers().contains_key(http::header::SET_COOKIE));
    /// # }
    /// ```
    pub fn load<B>(
        request: &Request<B>,
    ) -> impl Future<Output = Result<Self, SessionRejection>> + Send + '_ {
        // Only what loading reads is borrowed, so that the future is `Send` whatever `B` is.
        let handle = request.extensions().get::<Handle>();
        let (headers, path) = (request.headers(), request.uri().path());
        async move { extract(handle, headers, path).await }
    }

    /// The request's session only if the client presented a live one, as an axum handler
    /// extracts `Option<Session<T>>`: `None` without one (no cookie, a forged, expired or
    /// unknown one), and then nothing is written and no cookie set. `Some` works like
    /// [`load`](Self::load)'s session.
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load): a store failure is an error, never `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{Request, Response};
    /// use tower::{Layer as _, ServiceExt as _};
    /// use typed_sessions::{Key, Session, SessionLayer};
    ///
    /// #[derive(Session, Default)]
    /// struct Auth {
    ///     user: Option<String>,
    /// }
    ///
    /// async fn greet(request: Request<String>) -> Result<Response<String>, Infallible> {
    ///     let auth = match Session::<Auth>::load_existing(&request).await {
    ///         Ok(auth) => auth,
    ///         Err(rejection) => return Ok(rejection.into_http_response()),
    ///     };
    ///     let user = auth.as_ref().and_then(|auth| auth.user.clone());
    ///     Ok(Response::new(user.unwrap_or_else(|| "stranger".to_owned())))
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = SessionLayer::new(Key::generate()).layer(tower::service_fn(greet));
    /// let response = app.oneshot(Request::new(String::new())).await.unwrap();
    /// assert_eq!(response.body(), "stranger");
    /// assert!(!response.headers().contains_key(http::header::SET_COOKIE));
    /// # }
    /// ```
    pub fn load_existing<B>(
        request: &Request<B>,
    ) -> impl Future<Output = Result<Option<Self>, SessionRejection>> + Send + '_ {
        let load = Self::load(request);
        // A new session has no snapshot: dropping it records nothing.
        async move {
            load.await
                .map(|session| (!session.is_new()).then_some(session))
        }
    }
}

impl SessionRejection {
    /// The status the rejection answers with: 500, or 503 when the store is out of reach or
    /// too slow.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::SessionRejection;
    ///
    /// assert_eq!(SessionRejection::MissingLayer.status(), 500);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingLayer => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Load(error) => error.status(),
        }
    }

    /// The rejection as a plain `http` response in any body type that converts from a
    /// `&'static str`, for a service that is not an axum handler: its status and a short,
    /// generic body (what went wrong is logged, never sent). A layer with
    /// [`with_error_response`](crate::SessionLayer::with_error_response) replaces it with its
    /// rendering on the way out, where the body type is axum's.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::SessionRejection;
    ///
    /// let response: http::Response<String> = SessionRejection::MissingLayer.into_http_response();
    /// assert_eq!(response.status(), 500);
    /// assert_eq!(response.body(), "internal server error");
    /// ```
    pub fn into_http_response<B: From<&'static str>>(self) -> Response<B> {
        tracing::error!(error = %self, "session extraction failed");
        failure::generic(self.status())
    }
}
