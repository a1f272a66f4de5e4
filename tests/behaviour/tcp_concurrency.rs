//! A concurrency test over real TCP with a real HTTP client: 100 requests on one session, each
//! changing a different field, all from the same loaded state.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Barrier;
use typed_sessions::{Session, clock::Clock};

use typed_sessions_tests::{AnyStore, Backend, Place, on_backends, test_key};

const FIELDS: usize = 100;

/// Declares `Hundred`, a session with one `u32` field per `name = index` pair, with `set(i)`
/// (field `i` becomes `i + 1`) and `dump()` (every field in order).
macro_rules! hundred {
    ($($field:ident = $index:literal),* $(,)?) => {
        #[derive(typed_sessions::Session, Default, Debug)]
        struct Hundred {
            /// Set when the session is created, so that it exists before the 100 requests.
            init: bool,
            $($field: u32,)*
        }

        impl Hundred {
            fn set(&mut self, i: usize) -> bool {
                match i {
                    $($index => self.$field = $index + 1,)*
                    _ => return false,
                }
                true
            }

            fn dump(&self) -> Vec<u32> {
                vec![$(self.$field),*]
            }
        }
    };
}

hundred!(
    f0 = 0,
    f1 = 1,
    f2 = 2,
    f3 = 3,
    f4 = 4,
    f5 = 5,
    f6 = 6,
    f7 = 7,
    f8 = 8,
    f9 = 9,
    f10 = 10,
    f11 = 11,
    f12 = 12,
    f13 = 13,
    f14 = 14,
    f15 = 15,
    f16 = 16,
    f17 = 17,
    f18 = 18,
    f19 = 19,
    f20 = 20,
    f21 = 21,
    f22 = 22,
    f23 = 23,
    f24 = 24,
    f25 = 25,
    f26 = 26,
    f27 = 27,
    f28 = 28,
    f29 = 29,
    f30 = 30,
    f31 = 31,
    f32 = 32,
    f33 = 33,
    f34 = 34,
    f35 = 35,
    f36 = 36,
    f37 = 37,
    f38 = 38,
    f39 = 39,
    f40 = 40,
    f41 = 41,
    f42 = 42,
    f43 = 43,
    f44 = 44,
    f45 = 45,
    f46 = 46,
    f47 = 47,
    f48 = 48,
    f49 = 49,
    f50 = 50,
    f51 = 51,
    f52 = 52,
    f53 = 53,
    f54 = 54,
    f55 = 55,
    f56 = 56,
    f57 = 57,
    f58 = 58,
    f59 = 59,
    f60 = 60,
    f61 = 61,
    f62 = 62,
    f63 = 63,
    f64 = 64,
    f65 = 65,
    f66 = 66,
    f67 = 67,
    f68 = 68,
    f69 = 69,
    f70 = 70,
    f71 = 71,
    f72 = 72,
    f73 = 73,
    f74 = 74,
    f75 = 75,
    f76 = 76,
    f77 = 77,
    f78 = 78,
    f79 = 79,
    f80 = 80,
    f81 = 81,
    f82 = 82,
    f83 = 83,
    f84 = 84,
    f85 = 85,
    f86 = 86,
    f87 = 87,
    f88 = 88,
    f89 = 89,
    f90 = 90,
    f91 = 91,
    f92 = 92,
    f93 = 93,
    f94 = 94,
    f95 = 95,
    f96 = 96,
    f97 = 97,
    f98 = 98,
    f99 = 99,
);

fn app(barrier: Arc<Barrier>, store: AnyStore) -> Router {
    async fn init(mut session: Session<Hundred>) -> &'static str {
        session.init = true;
        "created"
    }
    async fn dump(session: Session<Hundred>) -> String {
        let values: Vec<String> = session.dump().iter().map(u32::to_string).collect();
        format!("{};{}", session.init, values.join(","))
    }
    let set = move |Path(i): Path<usize>, mut session: Session<Hundred>| {
        let barrier = barrier.clone();
        async move {
            // Every request has loaded the session before any of them writes.
            if tokio::time::timeout(Duration::from_secs(20), barrier.wait())
                .await
                .is_err()
            {
                return StatusCode::GATEWAY_TIMEOUT;
            }
            if session.set(i) {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            }
        }
    };
    Router::new()
        .route("/init", get(init))
        .route("/set/{i}", get(set))
        .route("/dump", get(dump))
        .layer(typed_sessions_tests::layer(test_key()).with_store(store))
}

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

/// `GET path` with `cookie`; the status, the session `Set-Cookie` pair if any, and the body.
async fn get_once(
    client: &HttpClient,
    addr: SocketAddr,
    path: &str,
    cookie: Option<&str>,
) -> (StatusCode, Option<String>, String) {
    let mut request = Request::get(format!("http://{addr}{path}"));
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = client
        .request(request.body(Empty::new()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let set_cookie = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("session="))
        .map(|v| v.split(';').next().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        set_cookie,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

/// 100 concurrent requests over TCP on one session, each changing a different field, against
/// one store: afterwards all 100 changes are there.
async fn hundred_disjoint_fields_over_tcp(backend: Backend) {
    let store = Place::with_clock(backend, Clock::system())
        .connect()
        .expect("a store backend");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, app(Arc::new(Barrier::new(FIELDS)), store))
            .await
            .unwrap();
    });
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();

    let (status, cookie, body) = get_once(&client, addr, "/init", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "created");
    let cookie = cookie.expect("a session cookie");

    let requests = (0..FIELDS).map(|i| {
        let client = client.clone();
        let cookie = cookie.clone();
        tokio::spawn(async move {
            let path = format!("/set/{i}");
            get_once(&client, addr, &path, Some(&cookie)).await
        })
    });
    let requests: Vec<_> = requests.collect();
    for (i, request) in requests.into_iter().enumerate() {
        let (status, set_cookie, _) = request.await.unwrap();
        assert_eq!(status, StatusCode::OK, "request {i}");
        if let Some(set_cookie) = set_cookie {
            assert_eq!(set_cookie, cookie, "request {i} moved the session");
        }
    }

    let (status, _, body) = get_once(&client, addr, "/dump", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let (init, values) = body.split_once(';').unwrap();
    assert_eq!(init, "true", "the session was lost");
    let values: Vec<u32> = values.split(',').map(|v| v.parse().unwrap()).collect();
    assert_eq!(values.len(), FIELDS);
    for (i, value) in values.iter().enumerate() {
        assert_eq!(*value, i as u32 + 1, "field f{i} lost its change");
    }
    server.abort();
}

on_backends!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    concurrency_100_disjoint_fields_over_tcp,
    [Memory],
    hundred_disjoint_fields_over_tcp
);

#[derive(typed_sessions::Session, Default)]
struct Visits {
    n: u32,
}

/// The layer installed around the whole router rather than with `Router::layer` (the placement
/// the README recommends for the lowest cost), served by `axum::serve`: sessions work the same.
#[tokio::test]
async fn layer_around_the_whole_router_over_tcp() {
    use tower::Layer as _;

    async fn incr(mut visits: Session<Visits>) -> String {
        visits.n += 1;
        visits.n.to_string()
    }
    let router = Router::new()
        .route("/incr", get(incr))
        .route("/none", get(|| async { "none" }));
    let app = typed_sessions_tests::layer(test_key()).layer(router);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            axum::ServiceExt::<axum::extract::Request>::into_make_service(app),
        )
        .await
        .unwrap();
    });
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let (status, cookie, body) = get_once(&client, addr, "/incr", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "1"));
    let cookie = cookie.expect("a new session sets its cookie");
    let (_, _, body) = get_once(&client, addr, "/incr", Some(&cookie)).await;
    assert_eq!(body, "2");
    let (status, set_cookie, body) = get_once(&client, addr, "/none", Some(&cookie)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "none"));
    assert_eq!(
        set_cookie, None,
        "a route that does not extract the session sets nothing"
    );
    server.abort();
}
