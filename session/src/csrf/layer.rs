//! `CsrfLayer`: the check in front of the handlers, and the service it wraps them in.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::BoxError;
use axum_core::body::Body;
use bytes::Bytes;
use http::{HeaderName, Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use super::form::{self, Unread};
use super::origin::{self, Refused};
use super::token::Secret;
use crate::extract::{SessionRejection, loaded};
use crate::failure;
use crate::telemetry::{self, Refusal};

/// The body of every refusal: it says what a user can do, and nothing about why.
const REFUSED_BODY: &str =
    "forbidden: this request could not be verified; reload the page and try again";

/// The body without a session layer around the check: a mistake in the application, which
/// the body says how to fix, as a missing layer does for a `Session<T>`.
const MISSING_LAYER_BODY: &str = "no session layer around the CSRF check: install \
     `SessionLayer` around `CsrfLayer` (with `Router::layer`, add it after the `CsrfLayer`)";

/// Checks every unsafe request (`POST`, `PUT`, `PATCH`, `DELETE`, anything but `GET`, `HEAD`,
/// `OPTIONS` and `TRACE`) for where it comes from and for the session's CSRF token, and
/// answers `403 Forbidden` instead of running the handler when either fails.
///
/// In order, for an unsafe request:
///
/// 1. **Fetch Metadata**: `Sec-Fetch-Site: cross-site` is refused unless its `Origin` is
///    [trusted](Self::with_trusted_origin). Without Fetch Metadata (older browsers), an
///    `Origin` must name the request's host (`Host`, or the URI's authority) or be trusted. A
///    request with neither header (not a browser) goes on to the token.
/// 2. **The session**: loaded as a handler's extraction would load it. A request without a
///    session, or whose session never handed out a token, is refused: there is no token it
///    could match.
/// 3. **The token**, from the header `x-csrf-token`, or else, for an
///    `application/x-www-form-urlencoded` body, from the form field `csrf_token`. The body is
///    read up to 64 KiB (`413` beyond) and handed to the handler intact. Any token
///    [`CsrfToken`](super::CsrfToken) gave out for the session is accepted, compared in
///    constant time.
///
/// A refusal is `403` with a short, generic body; why it was refused is logged (at `warn`,
/// never the token) and, with the feature `metrics`, counted in
/// `typed_sessions_csrf_rejections_total` by `reason`. Nothing is written: the handler does
/// not run.
///
/// Install it **inside** [`SessionLayer`](crate::SessionLayer), which it reads: with axum's
/// `Router::layer`, the layer added last is the outer one. Without a session layer around it,
/// every unsafe request answers 500, saying how to fix it. `Router::layer` wraps only the
/// routes added before it, so a route that must take posts from elsewhere (a payment
/// provider's webhook) is exempt when it is added after the `CsrfLayer`, or merged from a
/// `Router` of its own.
///
/// # Examples
///
/// ```
/// use axum::{routing::get, Router};
/// use typed_sessions::csrf::{CsrfLayer, CsrfToken};
/// use typed_sessions::{Key, SessionLayer};
///
/// async fn form(token: CsrfToken) -> String {
///     format!(r#"<input type="hidden" name="csrf_token" value="{token}">"#)
/// }
///
/// let app: Router = Router::new()
///     .route("/comment", get(form).post(|| async { "posted" }))
///     .layer(CsrfLayer::new())                       // inner: checks unsafe requests
///     .layer(SessionLayer::new(Key::generate()));    // outer: the session it checks against
/// # let _ = app;
/// ```
#[derive(Clone)]
#[must_use]
pub struct CsrfLayer {
    config: Arc<Config>,
}

#[derive(Clone)]
struct Config {
    header: HeaderName,
    field: String,
    trusted: Vec<String>,
    form_limit: usize,
}

impl CsrfLayer {
    /// The check with its defaults: header `x-csrf-token`, form field `csrf_token`, forms up to
    /// 64 KiB, no trusted origins.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = typed_sessions::csrf::CsrfLayer::new();
    /// # let _ = layer;
    /// ```
    pub fn new() -> Self {
        Self {
            config: Arc::new(Config {
                header: HeaderName::from_static("x-csrf-token"),
                field: "csrf_token".to_owned(),
                trusted: Vec::new(),
                form_limit: 64 * 1024,
            }),
        }
    }

    fn edit(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(Arc::make_mut(&mut self.config));
        self
    }

    /// The request header that carries the token (default `x-csrf-token`; Rails and Laravel
    /// read `x-csrf-token`, Django `x-csrftoken`).
    ///
    /// # Examples
    ///
    /// ```
    /// use http::HeaderName;
    /// use typed_sessions::csrf::CsrfLayer;
    ///
    /// let layer = CsrfLayer::new().with_header(HeaderName::from_static("x-csrftoken"));
    /// # let _ = layer;
    /// ```
    pub fn with_header(self, name: HeaderName) -> Self {
        self.edit(|c| c.header = name)
    }

    /// The form field that carries the token (default `csrf_token`; Rails names it
    /// `authenticity_token`, Django `csrfmiddlewaretoken`, Laravel `_token`).
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = typed_sessions::csrf::CsrfLayer::new().with_form_field("authenticity_token");
    /// # let _ = layer;
    /// ```
    pub fn with_form_field(self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.edit(|c| c.field = name)
    }

    /// The longest form body read for its token, in bytes (default 64 KiB). A longer form
    /// without the token in the header answers `413 Payload Too Large`.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = typed_sessions::csrf::CsrfLayer::new().with_form_limit(1024 * 1024);
    /// # let _ = layer;
    /// ```
    pub fn with_form_limit(self, bytes: usize) -> Self {
        self.edit(|c| c.form_limit = bytes)
    }

    /// An origin allowed to send unsafe requests from another site, written as browsers send
    /// it in `Origin`: `scheme://host[:port]`, no path (Django's `CSRF_TRUSTED_ORIGINS`). The
    /// token is still required. Also what makes a site behind a proxy that rewrites `Host`
    /// work for browsers without Fetch Metadata.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = typed_sessions::csrf::CsrfLayer::new()
    ///     .with_trusted_origin("https://checkout.example.com");
    /// # let _ = layer;
    /// ```
    pub fn with_trusted_origin(self, origin: impl Into<String>) -> Self {
        let origin = origin.into();
        self.edit(|c| c.trusted.push(origin))
    }
}

impl Default for CsrfLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for CsrfLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfLayer")
            .field("header", &self.config.header)
            .field("form_field", &self.config.field)
            .field("trusted_origins", &self.config.trusted)
            .field("form_limit", &self.config.form_limit)
            .finish()
    }
}

impl<S> Layer<S> for CsrfLayer {
    type Service = CsrfService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CsrfService {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The service [`CsrfLayer`] wraps around each route, or around any tower `Service` over
/// `http` types, as [`SessionService`](crate::service::SessionService) does.
///
/// It takes requests with any body (`http_body::Body<Data = Bytes>`: axum's `Body`, hyper's
/// `Incoming`, `http_body_util::Full<Bytes>`...), and hands the service it wraps axum's
/// [`Body`](axum_core::body::Body), which carries any body: the request's own, boxed unless it
/// already is axum's (an axum application pays nothing), or the bytes of a form it read for the
/// token. No other type could carry both (hyper's `Incoming` cannot be built from bytes), and
/// it is the body an axum `Router` turns every request into. A service that is not an axum
/// handler takes `Request<axum::body::Body>` (from the `axum` or `axum-core` crate), or is
/// generic over its body, and gets its token with [`CsrfToken::load`](super::CsrfToken::load).
///
/// Its refusals are written in the wrapped service's response body type: any that converts
/// from a `&'static str` (axum's `Body`, `String`, `http_body_util::Full<Bytes>`), as for the
/// session layer.
///
/// # Examples
///
/// ```
/// use axum::{routing::post, Router};
/// use tower::Layer as _;
/// use typed_sessions::csrf::{CsrfLayer, CsrfService};
///
/// let router: Router = Router::new().route("/", post(|| async { "posted" }));
/// let checked: CsrfService<Router> = CsrfLayer::new().layer(router);
/// # let _ = checked;
/// ```
#[derive(Clone)]
pub struct CsrfService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S: fmt::Debug> fmt::Debug for CsrfService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, B, ResBody> Service<Request<B>> for CsrfService<S>
where
    S: Service<Request<Body>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    ResBody: From<&'static str> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let request = request.map(Body::new);
        if request.method().is_safe() {
            // Straight through, with no allocation: the check never runs on safe methods.
            return ResponseFuture {
                kind: Kind::Passed {
                    future: self.inner.call(request),
                },
            };
        }
        // The clone that was made ready goes with this request; a fresh clone stays behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = self.config.clone();
        ResponseFuture {
            kind: Kind::Checked {
                future: Box::pin(async move {
                    match verify(&config, request).await {
                        Ok(request) => inner.call(request).await,
                        Err(refused) => Ok(refused),
                    }
                }),
            },
        }
    }
}

type CheckedFuture<B, E> = Pin<Box<dyn Future<Output = Result<Response<B>, E>> + Send>>;

pin_project_lite::pin_project! {
    /// The response future of [`CsrfService`]: the inner service's own for a safe method, the
    /// check and then the inner service's for an unsafe one.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{body::Body, http::Request, routing::get, Router};
    /// use tower::{Layer as _, Service as _};
    /// use typed_sessions::csrf::{CsrfLayer, ResponseFuture};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let router: Router = Router::new().route("/", get(|| async { "hi" }));
    /// let mut app = CsrfLayer::new().layer(router);
    /// let future: ResponseFuture<_, _, _> = app.call(Request::get("/").body(Body::empty()).unwrap());
    /// assert_eq!(future.await.unwrap().status(), 200);
    /// # }
    /// ```
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        kind: Kind<F, B, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    enum Kind<F, B, E> {
        Passed {
            #[pin]
            future: F,
        },
        Checked {
            future: CheckedFuture<B, E>,
        },
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Passed { future } => future.poll(cx),
            KindProj::Checked { future } => future.as_mut().poll(cx),
        }
    }
}

impl<F, B, E> fmt::Debug for ResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

/// Why an unsafe request was refused, for the log.
enum Reason {
    Origin(Refused),
    /// No session, or one that never handed out a token.
    NoSecret,
    NoToken,
    WrongToken,
    Body(Unread),
}

impl Reason {
    /// The reason as the metric names it.
    fn refusal(&self) -> Refusal {
        match self {
            Self::Origin(_) => Refusal::CrossSite,
            Self::NoSecret => Refusal::NoSession,
            Self::NoToken => Refusal::NoToken,
            Self::WrongToken => Refusal::WrongToken,
            Self::Body(_) => Refusal::Body,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Origin(Refused::CrossSite) => {
                f.write_str("a cross-site request (Sec-Fetch-Site)")
            }
            Self::Origin(Refused::ForeignOrigin) => f.write_str("an Origin of another host"),
            Self::NoSecret => f.write_str("no session, or one that was never given a token"),
            Self::NoToken => f.write_str("no token in the header or the form"),
            Self::WrongToken => f.write_str("a token that does not match the session's"),
            Self::Body(Unread::TooLarge) => f.write_str("a form longer than the limit"),
            Self::Body(Unread::Failed(error)) => write!(f, "the body failed: {error}"),
        }
    }
}

/// The request, if it may go on (its body, if read, put back), or the response refusing it.
async fn verify<B>(config: &Config, request: Request<Body>) -> Result<Request<Body>, Response<B>>
where
    B: From<&'static str>,
{
    origin::check(request.headers(), request.uri(), &config.trusted)
        .map_err(|why| refuse(&request, Reason::Origin(why)))?;
    let state = loaded(
        request.extensions().get(),
        request.headers(),
        request.uri().path(),
    )
    .await
    .map_err(unloaded)?;
    let Some(secret) = Secret::stored(state.lock().fields()) else {
        return Err(refuse(&request, Reason::NoSecret));
    };
    if let Some(token) = request.headers().get(&config.header) {
        let token = token.to_str().unwrap_or_default();
        return if secret.accepts(token) {
            Ok(request)
        } else {
            Err(refuse(&request, Reason::WrongToken))
        };
    }
    if !form::is_form(request.headers()) {
        return Err(refuse(&request, Reason::NoToken));
    }
    let (parts, body) = request.into_parts();
    let body = match form::read(body, config.form_limit).await {
        Ok(body) => body,
        Err(unread) => {
            return Err(refuse(
                &Request::from_parts(parts, ()),
                Reason::Body(unread),
            ));
        }
    };
    let reason = match form::field(&body, &config.field) {
        Some(token) if secret.accepts(&token) => None,
        Some(_) => Some(Reason::WrongToken),
        None => Some(Reason::NoToken),
    };
    let request = Request::from_parts(parts, Body::from(body));
    match reason {
        None => Ok(request),
        Some(reason) => Err(refuse(&request, reason)),
    }
}

/// The response when the session could not be loaded: the store's error, or no session layer.
fn unloaded<B: From<&'static str>>(rejection: SessionRejection) -> Response<B> {
    match rejection {
        SessionRejection::MissingLayer => {
            tracing::error!(error = %rejection, "the CSRF check has no session to check against");
            failure::plain(StatusCode::INTERNAL_SERVER_ERROR, MISSING_LAYER_BODY)
        }
        rejection => rejection.into_http_response(),
    }
}

/// Logs why `request` was refused and counts it, and answers with a generic body.
fn refuse<B, ResBody>(request: &Request<B>, reason: Reason) -> Response<ResBody>
where
    ResBody: From<&'static str>,
{
    let (status, body) = match reason {
        Reason::Body(Unread::TooLarge) => (StatusCode::PAYLOAD_TOO_LARGE, "payload too large"),
        Reason::Body(Unread::Failed(_)) => (StatusCode::BAD_REQUEST, "bad request"),
        _ => (StatusCode::FORBIDDEN, REFUSED_BODY),
    };
    tracing::warn!(
        method = %request.method(),
        path = request.uri().path(),
        %reason,
        "CSRF check refused the request"
    );
    telemetry::csrf_refused(reason.refusal());
    failure::plain(status, body)
}
