//! The service that [`SessionLayer`](crate::SessionLayer) wraps around a router or route, and
//! its response future: plumbing that an application names only to spell out its types.
//!
//! Per request the service puts the lazy session state into the request and, on the way out,
//! hands it to the commit (`commit.rs`), which writes what changed.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use axum_core::body::Body;
use http::{Request, Response};
use tower_service::Service;

use crate::commit::{self, Finished};
use crate::config::Config;
use crate::request::{Handle, RequestState};

/// The service [`SessionLayer`](crate::SessionLayer) wraps around each route, or around any
/// tower `Service` over `http` types: any request body, and any response body that converts
/// from a `&'static str` (axum's `Body`, `String`, `http_body_util::Full<Bytes>`), the type its
/// own error responses are written in. A service that is not an axum handler reads its session
/// with [`Session::load`](crate::Session::load).
///
/// Per request it inserts one extension (the empty session state) and nothing else until a
/// handler extracts a session; if none does, the response passes through untouched.
///
/// # Examples
///
/// Installing the layer around the whole router (instead of with `Router::layer`, which
/// wraps every route) gives this service, which serves as any tower `Service`:
///
/// ```
/// use axum::{routing::get, Router};
/// use tower::Layer as _;
/// use typed_sessions::service::SessionService;
/// use typed_sessions::{Key, SessionLayer};
///
/// let router: Router = Router::new().route("/", get(|| async { "hi" }));
/// let app: SessionService<Router> = SessionLayer::new(Key::generate()).layer(router);
/// # let _ = app;
/// ```
pub struct SessionService<S> {
    inner: S,
    config: Arc<Config>,
    pool: Arc<Pool>,
}

impl<S> SessionService<S> {
    pub(crate) fn new(inner: S, config: Arc<Config>) -> Self {
        Self {
            inner,
            config,
            pool: Arc::new(Pool::default()),
        }
    }
}

impl<S: Clone> Clone for SessionService<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: self.config.clone(),
            pool: self.pool.clone(),
        }
    }
}

/// How many finished request states a service keeps for reuse.
const POOL_CAPACITY: usize = 64;

/// Request states of finished requests, reset and kept for the next ones, so that a request
/// allocates no state of its own in the steady state: on a route that never extracts the
/// session the layer allocates nothing but the box of its request extension.
///
/// A state goes back only when nothing else holds it (a `Session` moved into a detached task
/// keeps it out), so a reused state is never shared with an earlier request.
#[derive(Default)]
struct Pool {
    free: Mutex<Vec<Arc<RequestState>>>,
}

impl Pool {
    fn take(&self, config: &Arc<Config>) -> Arc<RequestState> {
        let reused = match self.free.lock() {
            Ok(mut free) => free.pop(),
            Err(_) => None,
        };
        reused.unwrap_or_else(|| Arc::new(RequestState::new(config.clone())))
    }

    fn give_back(&self, mut state: Arc<RequestState>) {
        let Some(exclusive) = Arc::get_mut(&mut state) else {
            return;
        };
        exclusive.reset();
        if let Ok(mut free) = self.free.lock()
            && free.len() < POOL_CAPACITY
        {
            free.push(state);
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionService")
            .field("inner", &self.inner)
            .field("cookie_name", &self.config.codec.name())
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<&'static str> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let state = self.pool.take(&self.config);
        request.extensions_mut().insert(Handle(state.clone()));
        ResponseFuture {
            stage: Stage::Inner {
                future: self.inner.call(request),
                state: Some(state),
            },
            pool: self.pool.clone(),
        }
    }
}

type CommitFuture<B> = Pin<Box<dyn Future<Output = Response<B>> + Send>>;

pin_project_lite::pin_project! {
    /// The response future of [`SessionService`]: the inner service's, then the commit.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{body::Body, http::Request, routing::get, Router};
    /// use tower::{Layer as _, Service as _};
    /// use typed_sessions::service::ResponseFuture;
    /// use typed_sessions::{Key, SessionLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let router: Router = Router::new().route("/", get(|| async { "hi" }));
    /// let mut app = SessionLayer::new(Key::generate()).layer(router);
    /// let future: ResponseFuture<_> = app.call(Request::get("/").body(Body::empty()).unwrap());
    /// assert_eq!(future.await.unwrap().status(), 200);
    /// # }
    /// ```
    pub struct ResponseFuture<F, B = Body> {
        #[pin]
        stage: Stage<F, B>,
        pool: Arc<Pool>,
    }
}

pin_project_lite::pin_project! {
    #[project = StageProj]
    enum Stage<F, B> {
        Inner {
            #[pin]
            future: F,
            state: Option<Arc<RequestState>>,
        },
        Commit {
            future: CommitFuture<B>,
        },
    }
}

impl<F, E, B> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: From<&'static str> + Send + 'static,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut stage = this.stage;
        loop {
            match stage.as_mut().project() {
                StageProj::Inner { future, state } => {
                    let response = ready!(future.poll(cx))?;
                    let state = state.take().expect("polled after completion");
                    if !state.was_loaded() {
                        let response = commit::untouched(&state, response);
                        this.pool.give_back(state);
                        return Poll::Ready(Ok(response));
                    }
                    let pending = match commit::finish(&state, response) {
                        Finished::Now(response) => {
                            this.pool.give_back(state);
                            return Poll::Ready(Ok(response));
                        }
                        Finished::Later(pending) => pending,
                    };
                    let pool = this.pool.clone();
                    let future: CommitFuture<B> = Box::pin(async move {
                        let response = commit::finish_pending(&state, pending).await;
                        pool.give_back(state);
                        response
                    });
                    stage.set(Stage::Commit { future });
                }
                StageProj::Commit { future } => {
                    return future.as_mut().poll(cx).map(Ok);
                }
            }
        }
    }
}
