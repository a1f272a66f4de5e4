//! An in-process client: requests go straight into the `Router`, no sockets.

use std::convert::Infallible;

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Request};
use http_body_util::BodyExt;
use tower::{Service, ServiceExt};

use crate::{Route, Row, Scenario};

/// The cookie the "existing" client of a row without sessions (the baseline, the floor) sends:
/// those set none, but a returning visitor's request carries one, and parsing the request
/// includes it. Its length is that of a typed-sessions id cookie.
pub const BASELINE_COOKIE: &str = "__Host-session=1.AAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// One browser: it sends its cookie (if it keeps one) and takes every `Set-Cookie` it gets.
///
/// It talks to a `Router`, or to any service that answers like one (a layer around a whole
/// router, say).
pub struct Client<S = Router> {
    app: S,
    keeps_cookie: bool,
    cookie: Option<HeaderValue>,
}

impl Client {
    /// A client of `row`'s app; for [`Scenario::Existing`] it first starts a session with one
    /// `GET /incr`.
    ///
    /// # Panics
    ///
    /// If the app answers that first request with an error.
    pub async fn new(row: Row, scenario: Scenario) -> Self {
        Self::with_app(crate::app(row).await, row, scenario).await
    }
}

/// Requests a measurement sends before it starts counting (see [`Client::warm_up`]).
pub const WARM_UP: u32 = 16;

impl<S> Client<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
{
    /// A client of `app`, which serves the routes of `row` (possibly with another store or
    /// layer).
    ///
    /// # Panics
    ///
    /// If the app answers that first request with an error.
    pub async fn with_app(app: S, row: Row, scenario: Scenario) -> Self {
        let mut client = Self {
            app,
            keeps_cookie: scenario == Scenario::Existing,
            cookie: None,
        };
        if client.keeps_cookie && !row.has_sessions() {
            client.cookie = Some(HeaderValue::from_static(BASELINE_COOKIE));
        } else if client.keeps_cookie {
            client.request(Route::Incr).await;
            assert!(
                client.cookie.is_some(),
                "{row}: the first `GET /incr` set no cookie"
            );
        }
        client
    }

    /// Sends [`WARM_UP`] requests to `route`, so that first-use costs (lazy statics, allocator
    /// pools, a store's first growth) stay out of what is measured next.
    pub async fn warm_up(&mut self, route: Route) {
        for _ in 0..WARM_UP {
            self.request(route).await;
        }
    }

    /// The cookie the client sends, as `name=value`.
    pub fn cookie(&self) -> Option<&HeaderValue> {
        self.cookie.as_ref()
    }

    /// Sends `GET route` and reads the whole response; returns its body length.
    ///
    /// # Panics
    ///
    /// If the response is not a success.
    pub async fn request(&mut self, route: Route) -> usize {
        let mut request = Request::get(route.path());
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie.clone());
        }
        let request = request.body(Body::empty()).expect("a valid request");
        let ready = match self.app.ready().await {
            Ok(ready) => ready,
            Err(never) => match never {},
        };
        let response = match ready.call(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        assert!(
            response.status().is_success(),
            "GET {route} answered {}",
            response.status()
        );
        if self.keeps_cookie {
            self.take_cookie(response.headers());
        }
        let body = response
            .into_body()
            .collect()
            .await
            .expect("an in-memory body");
        body.to_bytes().len()
    }

    fn take_cookie(&mut self, headers: &HeaderMap) {
        keep_cookie(&mut self.cookie, headers);
    }
}

/// Keeps in `cookie` the `name=value` of each `Set-Cookie` in `headers` (each library sets one
/// cookie); an empty value is how both expire theirs.
pub fn keep_cookie(cookie: &mut Option<HeaderValue>, headers: &HeaderMap) {
    for set_cookie in headers.get_all(SET_COOKIE) {
        let bytes = set_cookie.as_bytes();
        let pair = &bytes[..bytes.iter().position(|&b| b == b';').unwrap_or(bytes.len())];
        *cookie = if pair.ends_with(b"=") {
            None
        } else {
            HeaderValue::from_bytes(pair).ok()
        };
    }
}
