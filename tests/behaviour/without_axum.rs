//! Sessions without axum: the layer around a plain function service on hyper's own types,
//! served over real TCP by hyper, its handler loading the session with `Session::load`; the
//! CSRF check around one, handing out its token with `CsrfToken::load`.
//!
//! hyper's `service_fn` makes a hyper `Service`, which no tower layer can wrap; the function is
//! made a tower service with `tower::service_fn` instead, and hyper-util serves the wrapped one.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::body::Body;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tower::{Layer as _, Service};
use typed_sessions::csrf::{CsrfLayer, CsrfToken};
use typed_sessions::{MemoryStore, Session, SessionLayer};

use super::csrf_support::REFUSED;
use typed_sessions_tests::{AnyStore, Faults, SpyStore, layer, test_key};

#[derive(Session, Default)]
struct Visits {
    count: u64,
}

/// `/incr` counts a visit, `/read` reads the count, `/none` never touches the session, `/peek`
/// reads the count of an existing session only (`-` without one).
async fn handle(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    if path == "/none" {
        return Ok(Response::new(Full::from("none")));
    }
    if path == "/peek" {
        let body = match Session::<Visits>::load_existing(&request).await {
            Ok(Some(visits)) => visits.count.to_string(),
            Ok(None) => "-".to_owned(),
            Err(rejection) => return Ok(rejection.into_http_response()),
        };
        return Ok(Response::new(Full::from(body)));
    }
    let mut visits = match Session::<Visits>::load(&request).await {
        Ok(visits) => visits,
        Err(rejection) => return Ok(rejection.into_http_response()),
    };
    if path == "/incr" {
        visits.count += 1;
    }
    Ok(Response::new(Full::from(visits.count.to_string())))
}

/// `GET /token` answers the session's CSRF token; any other request echoes `ran:<its body>`.
/// It takes the body `CsrfService` hands on, axum's, whatever the server's.
async fn checked(request: Request<Body>) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.uri().path() == "/token" {
        return Ok(match CsrfToken::load(&request).await {
            Ok(token) => Response::new(Full::from(token.value())),
            Err(rejection) => rejection.into_http_response(),
        });
    }
    let body = request.into_body().collect().await.unwrap().to_bytes();
    let echo = format!("ran:{}", String::from_utf8(body.to_vec()).unwrap());
    Ok(Response::new(Full::from(echo)))
}

/// Serves `handle` behind `layer` on a free loopback port.
async fn serve(layer: SessionLayer) -> SocketAddr {
    serve_service(layer.layer(tower::service_fn(handle))).await
}

/// Serves `service` on a free loopback port, one hyper connection per client.
async fn serve_service<S>(service: S) -> SocketAddr
where
    S: Service<Request<Incoming>, Response = Response<Full<Bytes>>, Error = Infallible>,
    S: Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                    .unwrap();
            });
        }
    });
    addr
}

/// A client over real TCP that keeps the session cookie it is given, as a browser would.
struct CookieClient {
    http: Client<HttpConnector, Full<Bytes>>,
    addr: SocketAddr,
    cookie: Option<String>,
}

/// What came back: the status, the body and the `Set-Cookie` headers.
struct Answer {
    status: StatusCode,
    body: String,
    set_cookies: Vec<String>,
}

impl CookieClient {
    fn new(addr: SocketAddr) -> Self {
        Self {
            http: Client::builder(TokioExecutor::new()).build_http(),
            addr,
            cookie: None,
        }
    }

    async fn get(&mut self, path: &str) -> Answer {
        self.send(Method::GET, path, &[], "").await
    }

    /// A `POST` of `body` with the extra `headers`.
    async fn post(&mut self, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        self.send(Method::POST, path, headers, body).await
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr));
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = Full::from(body.to_owned());
        let response = self
            .http
            .request(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let set_cookies: Vec<String> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|value| value.to_str().unwrap().to_owned())
            .collect();
        if let Some(set) = set_cookies.last() {
            self.cookie = Some(set.split(';').next().unwrap().to_owned());
        }
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            body: String::from_utf8(body.to_vec()).unwrap(),
            set_cookies,
        }
    }
}

/// Counts persist in both kinds of session: in the cookie, and in a store.
#[tokio::test]
async fn a_hyper_service_behind_the_layer_keeps_its_count() {
    for layer in [
        layer(test_key()),
        layer(test_key()).with_store(MemoryStore::new()),
    ] {
        let mut client = CookieClient::new(serve(layer).await);
        for expected in 1..=3 {
            let answer = client.get("/incr").await;
            assert_eq!(answer.status, StatusCode::OK);
            assert_eq!(answer.body, expected.to_string());
            assert_eq!(answer.set_cookies.len(), 1, "a change sets the cookie");
        }
        let read = client.get("/read").await;
        assert_eq!((read.status, read.body.as_str()), (StatusCode::OK, "3"));
        assert!(read.set_cookies.is_empty(), "a read sets no cookie");
        let none = client.get("/none").await;
        assert_eq!(none.body, "none");
        assert!(
            none.set_cookies.is_empty(),
            "an untouched request sets none"
        );
        assert_eq!(client.get("/incr").await.body, "4");

        assert_eq!(client.get("/peek").await.body, "4");

        // Another client has a session of its own, and none until it gets one.
        let mut other = CookieClient::new(client.addr);
        let peek = other.get("/peek").await;
        assert_eq!(peek.body, "-");
        assert!(peek.set_cookies.is_empty(), "no session started");
        assert_eq!(other.get("/read").await.body, "0");
    }
}

/// The responses of a session touched by the handler depend on the cookie; the others do not.
#[tokio::test]
async fn only_responses_that_use_the_session_vary_on_the_cookie() {
    let addr = serve(layer(test_key())).await;
    let http: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let vary = |path: &'static str| {
        let http = http.clone();
        async move {
            let request = Request::get(format!("http://{addr}{path}"))
                .body(Full::default())
                .unwrap();
            let response = http.request(request).await.unwrap();
            response.headers().get(header::VARY).cloned()
        }
    };
    assert_eq!(
        vary("/read").await,
        Some(HeaderValue::from_static("cookie"))
    );
    assert_eq!(vary("/none").await, None);
}

/// A store that fails answers the generic 503 on load and 500 on save, in the service's own
/// body type, and sets no cookie.
#[tokio::test]
async fn store_failures_answer_the_generic_error_in_any_body_type() {
    let spy = SpyStore::new(AnyStore::Memory(MemoryStore::new()));
    let mut client = CookieClient::new(serve(layer(test_key()).with_store(spy.clone())).await);
    assert_eq!(client.get("/incr").await.body, "1");

    spy.set_faults(Faults {
        unavailable: vec!["load"],
        ..Faults::default()
    });
    let unavailable = client.get("/incr").await;
    assert_eq!(unavailable.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(unavailable.body, "service unavailable: try again shortly");
    assert!(unavailable.set_cookies.is_empty());
    let untouched = client.get("/none").await;
    assert_eq!(
        (untouched.status, untouched.body.as_str()),
        (StatusCode::OK, "none")
    );

    spy.set_faults(Faults {
        fail: vec!["patch"],
        ..Faults::default()
    });
    let failed = client.get("/incr").await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(failed.body, "internal server error");
    assert!(failed.set_cookies.is_empty());

    spy.set_faults(Faults::default());
    assert_eq!(
        client.get("/read").await.body,
        "1",
        "the failed change was not kept"
    );
}

/// The CSRF check around a plain function service on hyper's `Incoming` bodies, in the cookie
/// and in a store: a `POST` without a session or without its token is refused with 403 in the
/// service's own body type, before the service runs; one with the token that
/// `CsrfToken::load` handed out, in the header or a form field, reaches it with its body
/// intact.
#[tokio::test]
async fn the_csrf_check_guards_a_hyper_service_with_the_token_it_handed_out() {
    for layer in [
        layer(test_key()),
        layer(test_key()).with_store(MemoryStore::new()),
    ] {
        let checked = CsrfLayer::new().layer(tower::service_fn(checked));
        let mut client = CookieClient::new(serve_service(layer.layer(checked)).await);
        let form = [("content-type", "application/x-www-form-urlencoded")];
        let assert_refused = |answer: Answer| {
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
            assert_eq!(answer.body, REFUSED, "not the service's echo");
            assert!(answer.set_cookies.is_empty());
        };

        assert_refused(client.post("/comment", &form, "text=hi").await);

        let issued = client.get("/token").await;
        assert_eq!(issued.status, StatusCode::OK);
        assert_eq!(issued.set_cookies.len(), 1, "the secret is saved");
        let token = issued.body;
        assert_eq!(token.len(), 86, "{token}");

        assert_refused(client.post("/comment", &form, "text=hi").await);
        assert_refused(client.post("/comment", &[], "text=hi").await);
        let wrong = [("x-csrf-token", "nonsense")];
        assert_refused(client.post("/comment", &wrong, r#"{"json":true}"#).await);
        let wrong_form = format!("text=hi&csrf_token={}", &token[1..]);
        assert_refused(client.post("/comment", &form, &wrong_form).await);

        let header = [("x-csrf-token", token.as_str())];
        let answer = client.post("/comment", &header, r#"{"json":true}"#).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.body, r#"ran:{"json":true}"#);

        let body = format!("text=hello+world%21&csrf_token={token}&tags=a");
        let answer = client.post("/comment", &form, &body).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.body, format!("ran:{body}"), "the form, intact");
    }
}
