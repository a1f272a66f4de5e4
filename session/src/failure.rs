//! What a client sees when a session cannot be loaded or saved: a short, generic body per
//! status, or the application's own rendering. The detail (a store's address, a database's
//! message) goes to the log only.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use axum_core::response::Response;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};

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

/// The response for a session failure answering `status`, in any response body type: the
/// application's rendering where the body is axum's (the type it renders in), otherwise a
/// generic one.
pub(crate) fn response<B>(render: Option<&Render>, status: StatusCode) -> http::Response<B>
where
    B: From<&'static str> + 'static,
{
    if let Some(Render(render)) = render {
        match same_type(render(status)) {
            Ok(rendered) => return rendered,
            Err(_) => tracing::debug!(
                "the response body is not axum's: the generic error response replaces the \
                 application's rendering"
            ),
        }
    }
    generic(status)
}

/// The generic response for `status`: a short plain-text body.
pub(crate) fn generic<B: From<&'static str>>(status: StatusCode) -> http::Response<B> {
    plain(status, generic_body(status))
}

/// A response of `status` with the plain-text `body`, in any body type that converts from it.
pub(crate) fn plain<B: From<&'static str>>(
    status: StatusCode,
    body: &'static str,
) -> http::Response<B> {
    let mut response = http::Response::new(B::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// `value` as a `T`, if `T` is its type (a check the compiler settles per instantiation).
fn same_type<T: 'static, U: 'static>(value: U) -> Result<T, U> {
    let mut value = Some(value);
    match (&mut value as &mut dyn Any).downcast_mut::<Option<T>>() {
        Some(same) => Ok(same.take().expect("just put there")),
        None => Err(value.expect("not taken")),
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
    use axum_core::response::IntoResponse;

    use super::*;

    #[test]
    fn bodies_are_generic_and_the_application_can_render_its_own() {
        for status in [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::CONFLICT,
        ] {
            let generic: Response = response(None, status);
            assert_eq!(generic.status(), status);
            let other: http::Response<String> = response(None, status);
            assert_eq!(other.body(), generic_body(status));
        }
        let render =
            Render::new(|status| (StatusCode::IM_A_TEAPOT, status.to_string()).into_response());
        let rendered: Response = response(Some(&render), StatusCode::CONFLICT);
        assert_eq!(rendered.status(), StatusCode::IM_A_TEAPOT);
        // Another body type cannot carry the rendering: the generic response stands in.
        let other: http::Response<String> = response(Some(&render), StatusCode::CONFLICT);
        assert_eq!(other.status(), StatusCode::CONFLICT);
        assert_eq!(other.body(), generic_body(StatusCode::CONFLICT));
    }
}
