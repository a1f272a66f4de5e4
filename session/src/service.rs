//! `SessionService`: puts the lazy per-request state in, commits it on the way out.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum_core::response::Response;
use http::Request;
use tower_service::Service;

use crate::layer::Config;
use crate::state::{Handle, RequestState};

/// The service [`SessionLayer`](crate::SessionLayer) wraps around each route.
///
/// Per request it inserts one extension (the empty session state) and nothing else until a
/// handler extracts a session; if none does, the response passes through untouched.
pub struct SessionService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> SessionService<S> {
    pub(crate) fn new(inner: S, config: Arc<Config>) -> Self {
        Self { inner, config }
    }
}

impl<S: Clone> Clone for SessionService<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: self.config.clone(),
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

impl<S, B> Service<Request<B>> for SessionService<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let state = Arc::new(RequestState::new(self.config.clone()));
        request.extensions_mut().insert(Handle(state.clone()));
        ResponseFuture {
            stage: Stage::Inner {
                future: self.inner.call(request),
                state: Some(state),
            },
        }
    }
}

type CommitFuture = Pin<Box<dyn Future<Output = Response> + Send>>;

pin_project_lite::pin_project! {
    /// The response future of [`SessionService`]: the inner service's, then the commit.
    pub struct ResponseFuture<F> {
        #[pin]
        stage: Stage<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = StageProj]
    enum Stage<F> {
        Inner {
            #[pin]
            future: F,
            state: Option<Arc<RequestState>>,
        },
        Commit {
            future: CommitFuture,
        },
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut stage = self.project().stage;
        loop {
            match stage.as_mut().project() {
                StageProj::Inner { future, state } => {
                    let response = ready!(future.poll(cx))?;
                    let state = state.take().expect("polled after completion");
                    if !state.was_loaded() {
                        return Poll::Ready(Ok(response));
                    }
                    let future: CommitFuture =
                        Box::pin(async move { state.finish(response).await });
                    stage.set(Stage::Commit { future });
                }
                StageProj::Commit { future } => {
                    return future.as_mut().poll(cx).map(Ok);
                }
            }
        }
    }
}
