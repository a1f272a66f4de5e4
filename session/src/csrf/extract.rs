//! `CsrfToken`: the extractor that hands a handler the token to put in a form or a meta tag.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use axum_core::extract::FromRequestParts;
use http::Request;
use http::request::Parts;
use serde_json::Value;

use super::token::Secret;
use crate::extract::{SessionRejection, loaded};
use crate::request::{Handle, RequestState};
use crate::reserved::CSRF_SECRET;

/// The CSRF token of the current session, to put in a form or a meta tag.
///
/// [`value`](Self::value) (or `Display`) gives a token that [`CsrfLayer`](super::CsrfLayer)
/// accepts on the unsafe requests of this session, in the header `x-csrf-token` or the form
/// field `csrf_token`. Each call masks the session's secret afresh, so no two responses carry
/// the same bytes, and every token handed out stays valid until the session is regenerated or
/// destroyed.
///
/// The first token of a session creates its secret: a new visitor's session is then saved
/// (a cookie is set), like any session with a field. A handler that extracts `CsrfToken` but
/// never reads its value writes nothing.
///
/// It fails like [`Session<T>`](struct@crate::Session) does: 500 without a
/// [`SessionLayer`](crate::SessionLayer), the store's status when loading fails.
///
/// # Examples
///
/// ```
/// use axum::response::Html;
/// use typed_sessions::csrf::CsrfToken;
///
/// async fn form(token: CsrfToken) -> Html<String> {
///     Html(format!(
///         r#"<form method="post" action="/comment">
///              <input type="hidden" name="csrf_token" value="{token}">
///              <textarea name="text"></textarea>
///            </form>"#
///     ))
/// }
/// ```
pub struct CsrfToken {
    state: Arc<RequestState>,
}

impl CsrfToken {
    /// The request's token, for a service that is not an axum handler (a hyper service, another
    /// tower-based framework) behind [`SessionLayer`](crate::SessionLayer), as
    /// [`Session::load`](crate::Session::load) gives its session: the extractor's semantics,
    /// and the secret the first [`value`](Self::value) creates is saved with the response.
    ///
    /// # Errors
    ///
    /// As `Session::load`: [`SessionRejection::MissingLayer`] without a layer,
    /// [`SessionRejection::Load`] when the store could not load the session; answer with
    /// [`SessionRejection::into_http_response`].
    ///
    /// # Examples
    ///
    /// A plain function service behind both layers: it hands out the token on `GET`, and runs
    /// a `POST` only when the check found the token.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use axum::body::Body;
    /// use http::{Method, Request, Response};
    /// use tower::{Layer as _, ServiceExt as _};
    /// use typed_sessions::csrf::{CsrfLayer, CsrfToken};
    /// use typed_sessions::{Key, SessionLayer};
    ///
    /// async fn handle(request: Request<Body>) -> Result<Response<String>, Infallible> {
    ///     if request.method() == Method::POST {
    ///         return Ok(Response::new("posted".to_owned()));
    ///     }
    ///     match CsrfToken::load(&request).await {
    ///         Ok(token) => Ok(Response::new(token.value())),
    ///         Err(rejection) => Ok(rejection.into_http_response()),
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let checked = CsrfLayer::new().layer(tower::service_fn(handle));
    /// let app = SessionLayer::new(Key::generate()).layer(checked);
    /// let response = app.clone().oneshot(Request::new(String::new())).await.unwrap();
    /// assert_eq!(response.body().len(), 86, "a token");
    /// let post = Request::post("/").body(String::new()).unwrap();
    /// assert_eq!(app.oneshot(post).await.unwrap().status(), 403, "no session, no token");
    /// # }
    /// ```
    pub fn load<B>(
        request: &Request<B>,
    ) -> impl Future<Output = Result<Self, SessionRejection>> + Send + '_ {
        // Only what loading reads is borrowed, so that the future is `Send` whatever `B` is.
        let handle = request.extensions().get::<Handle>();
        let (headers, path) = (request.headers(), request.uri().path());
        async move {
            let state = loaded(handle, headers, path).await?;
            Ok(Self { state })
        }
    }

    /// A token for this session, masked afresh: base64url, 86 characters, safe in HTML
    /// attributes and headers as it is.
    ///
    /// Reads the session as it is now: after a [`regenerate`](crate::Session::regenerate) in
    /// the same handler it is a token of the new secret.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::csrf::CsrfToken;
    ///
    /// async fn meta(token: CsrfToken) -> String {
    ///     format!(r#"<meta name="csrf-token" content="{}">"#, token.value())
    /// }
    /// ```
    pub fn value(&self) -> String {
        let mut session = self.state.lock();
        let secret = match Secret::stored(session.fields()) {
            Some(secret) => secret,
            None => {
                let id = session.id_or_generate();
                let secret = Secret::derive(self.state.config().codec.keys().newest(), &id);
                session.set_field(CSRF_SECRET, secret.to_value(), || Ok(Value::Null));
                secret
            }
        };
        secret.mask()
    }
}

/// Writes [`value`](CsrfToken::value).
impl fmt::Display for CsrfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value())
    }
}

impl fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfToken(REDACTED)")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let state = loaded(parts.extensions.get(), &parts.headers, parts.uri.path()).await?;
        Ok(Self { state })
    }
}
