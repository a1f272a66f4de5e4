//! What a client sees when a session cannot be loaded or saved: a short, generic body per
//! status, or the application's own rendering. The detail (a store's address, a database's
//! message) goes to the log only.

use std::fmt;
use std::sync::Arc;

use axum_core::response::{IntoResponse, Response};
use http::StatusCode;

/// The application's rendering of a failed session, by status.
#[derive(Clone)]
pub(crate) struct Render(Arc<dyn Fn(StatusCode) -> Response + Send + Sync>);

impl Render {
    pub(crate) fn new(render: impl Fn(StatusCode) -> Response + Send + Sync + 'static) -> Self {
        Self(Arc::new(render))
    }
}

impl fmt::Debug for Render {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Render(..)")
    }
}

/// The response for a session failure answering `status`: the application's, or a generic one.
pub(crate) fn response(render: Option<&Render>, status: StatusCode) -> Response {
    match render {
        Some(Render(render)) => render(status),
        None => (status, generic_body(status)).into_response(),
    }
}

/// A body that says what the client can do, and nothing about the server.
pub(crate) fn generic_body(status: StatusCode) -> &'static str {
    match status {
        StatusCode::SERVICE_UNAVAILABLE => "service unavailable: try again shortly",
        StatusCode::CONFLICT => "the session changed during this request: try again",
        _ => "internal server error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_generic_and_the_application_can_render_its_own() {
        for status in [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::CONFLICT,
        ] {
            assert_eq!(response(None, status).status(), status);
        }
        let render =
            Render::new(|status| (StatusCode::IM_A_TEAPOT, status.to_string()).into_response());
        assert_eq!(
            response(Some(&render), StatusCode::CONFLICT).status(),
            StatusCode::IM_A_TEAPOT
        );
    }
}
