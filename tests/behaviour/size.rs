//! SIZE — large sessions.

use axum::Router;
use axum::body::Body;
use axum::routing::post;
use http::Request;
use typed_sessions::{Session, store::SessionStore};

use typed_sessions_tests::wire::store_key_of;
use typed_sessions_tests::*;

/// `POST /put` stores the request body as `message`; `GET /read` answers it.
fn put_routes() -> Router {
    async fn put(mut session: Session<Msg>, body: String) -> &'static str {
        session.message = body;
        "stored"
    }
    reference_routes().route("/put", post(put))
}

async fn put(app: &TestApp, message: &str, cookie: Option<&str>) -> TestResponse {
    let mut builder = Request::builder().method("POST").uri("/put");
    if let Some(cookie) = cookie {
        builder = builder.header(http::header::COOKIE, cookie);
    }
    app.send(builder.body(Body::from(message.to_owned())).unwrap())
        .await
}

/// `len` characters that JSON leaves unescaped, not all alike.
fn text(len: usize) -> String {
    let alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_";
    (0..len)
        .map(|i| alphabet[(i * 7 + i / 13) % alphabet.len()] as char)
        .collect()
}

#[tokio::test]
async fn size_01_cookie_overflow_is_detected_before_sending() {
    let app = TestApp::new(Backend::Cookie, put_routes());
    let small = put(&app, "small", None).await;
    assert_eq!(small.status, 200);
    let previous = small.replay();

    for cookie in [None, Some(previous.as_str())] {
        let (logs, _capture) = Logs::capture();
        let big = put(&app, &text(5000), cookie).await;
        assert_eq!(big.status, 500);
        assert_eq!(big.body, "internal server error", "generic for the client");
        let logged = logs.take();
        assert!(
            logged.contains("session cookie too large"),
            "a clear error in the log: {logged}"
        );
        assert!(big.set_cookies().is_empty(), "{:?}", big.set_cookies());
    }
    // The previous cookie is intact.
    let read = app.get("/read", Some(&previous)).await;
    assert_eq!(read.body, "small");
}

#[tokio::test]
async fn size_02_near_limit_session_round_trips() {
    let app = TestApp::new(Backend::Cookie, put_routes());
    let header_len = |r: &TestResponse| r.session_cookie().map(|c| c.len());

    // The header grows linearly with the message: aim at about 3 900 bytes.
    let at_1000 = header_len(&put(&app, &text(1000), None).await).unwrap();
    let at_2000 = header_len(&put(&app, &text(2000), None).await).unwrap();
    let per_char = (at_2000 - at_1000) as f64 / 1000.0;
    let len = 1000 + ((3900 - at_1000) as f64 / per_char) as usize;
    let message = text(len);
    let r1 = put(&app, &message, None).await;
    assert_eq!(r1.status, 200);
    let size = header_len(&r1).unwrap();
    assert!((3800..=4096).contains(&size), "Set-Cookie is {size} bytes");
    let r2 = app.get("/read", Some(&r1.replay())).await;
    assert_eq!(r2.status, 200);
    assert_eq!(r2.body, message);

    // The largest message that fits still round-trips; one more character does not fit.
    let (mut fits, mut too_big) = (len, 5000);
    while too_big - fits > 1 {
        let mid = (fits + too_big) / 2;
        if put(&app, &text(mid), None).await.status == 200 {
            fits = mid;
        } else {
            too_big = mid;
        }
    }
    let largest = put(&app, &text(fits), None).await;
    let size = header_len(&largest).unwrap();
    assert!((4090..=4096).contains(&size), "Set-Cookie is {size} bytes");
    let back = app.get("/read", Some(&largest.replay())).await;
    assert_eq!(back.body, text(fits));
    let over = put(&app, &text(too_big), None).await;
    assert_eq!(over.status, 500);
    assert!(over.set_cookies().is_empty());
}

#[tokio::test]
async fn size_03_large_session_in_an_external_store() {
    let app = TestApp::new(Backend::Memory, put_routes());
    let message = text(1 << 20);
    let r1 = put(&app, &message, None).await;
    assert_eq!(r1.status, 200);
    let value = r1.session_value();
    assert!(value.len() < 200, "cookie value is {} bytes", value.len());
    let calls = app.spy().take_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let Call::Create(_, record) = &calls[0] else {
        panic!("{calls:?}")
    };
    assert_eq!(record.fields()["message"].as_str(), Some(message.as_str()));
    let stored = app
        .spy()
        .inner
        .load(&store_key_of(&r1.replay()))
        .await
        .unwrap()
        .expect("a record");
    assert_eq!(
        stored.fields()["message"].as_str().map(str::len),
        Some(1 << 20)
    );

    let r2 = app.get("/read", Some(&r1.replay())).await;
    assert_eq!(r2.status, 200);
    assert_eq!(r2.body.len(), 1 << 20);
    assert!(r2.body == message);
}

/// A cookie that fits in one mode is re-issued in the other (a few bytes longer) when the
/// layer's mode changes; when that no longer fits, the re-issue is skipped and the cookie the
/// client holds keeps working, instead of every request failing.
#[tokio::test]
async fn re_issue_that_no_longer_fits_is_skipped_not_fatal() {
    use axum::extract::Path;
    use axum::routing::get;
    use http::StatusCode;

    async fn fill(Path(len): Path<usize>, mut session: Session<Msg>) -> String {
        session.message = "x".repeat(len);
        "ok".into()
    }
    let routes = || reference_routes().route("/fill/{len}", get(fill));
    let encrypted = TestApp::with(Backend::Cookie, routes(), |l| l.with_encryption(true));
    // The longest message whose encrypted cookie still fits.
    let (mut low, mut high) = (1usize, 4096usize);
    while low < high {
        let mid = (low + high).div_ceil(2);
        if encrypted.get(&format!("/fill/{mid}"), None).await.status == 200 {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    let full = encrypted.get(&format!("/fill/{low}"), None).await;
    assert_eq!(full.status, 200);
    let cookie = full.replay();

    let signed = encrypted.sibling(routes(), test_key(), |l| l);
    let read = signed.get("/read", Some(&cookie)).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body.len(), low, "the session is read");
    assert!(
        read.set_cookies().is_empty(),
        "a re-issue that does not fit is skipped"
    );
    let again = signed.get("/read", Some(&cookie)).await;
    assert_eq!((again.status, again.body.len()), (StatusCode::OK, low));
}
