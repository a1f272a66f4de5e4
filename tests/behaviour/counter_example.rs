//! The counter example, as the README shows it: a client that keeps its cookie counts up, a
//! client that tampers with it starts again at one.

#[path = "../../examples/common/counter.rs"]
mod counter;

use typed_sessions::{Key, SessionLayer};

use typed_sessions_tests::TestResponse;

#[tokio::test]
async fn counter_example_counts_and_refuses_a_tampered_cookie() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = counter::app(SessionLayer::new(Key::generate()));
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<axum::body::Body>();
    let get = |cookie: Option<String>| {
        let client = client.clone();
        async move {
            let mut request = http::Request::get(format!("http://{addr}/"));
            if let Some(cookie) = cookie {
                request = request.header(http::header::COOKIE, cookie);
            }
            let response = client
                .request(request.body(axum::body::Body::empty()).unwrap())
                .await
                .unwrap();
            TestResponse::read(response.map(axum::body::Body::new)).await
        }
    };

    // A default layer: the cookie is `__Host-session` (no other site can set that name).
    let first = get(None).await;
    assert_eq!(first.body, "1 views");
    let second = get(Some(first.replay_named("__Host-session"))).await;
    assert_eq!(second.body, "2 views");
    let third = get(Some(second.replay_named("__Host-session"))).await;
    assert_eq!(third.body, "3 views");

    let mut tampered = second.replay_named("__Host-session").into_bytes();
    let at = tampered.len() - 10;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let forged = get(Some(String::from_utf8(tampered).unwrap())).await;
    assert_eq!(forged.body, "1 views");
    server.abort();
}
