//! A flood of new sessions against a full memory store must not log out the users whose
//! clients came back: the store evicts sessions never presented back first (security review,
//! item 1).
//!
//! Through a real `Router` and `SessionLayer`: users log in and are active, then, a minute
//! later, cookieless requests to a route that writes the session create one new session each,
//! as many as the store holds. Before the store kept new sessions apart, every user was evicted
//! (a new session expires a full idle timeout from now; a user's expiry only moves every half
//! idle timeout, so users were always closer to expiry).

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::routing::get;
use http::{Request, Response, header};
use http_body_util::BodyExt;
use tower::ServiceExt;
use typed_sessions::clock::ManualClock;
use typed_sessions::store::{Fields, Record, SessionStore, StoreKey};
use typed_sessions::{Key, MemoryStore, Session, SessionLayer};

const USERS: usize = 100;

#[derive(Session, Default)]
struct Account {
    user: Option<String>,
    visits: u64,
}

fn app(store: &MemoryStore, clock: &ManualClock) -> Router {
    async fn log_in(mut account: Session<Account>, Path(name): Path<String>) {
        account.user = Some(name);
    }
    async fn who(account: Session<Account>) -> String {
        account.user.clone().unwrap_or_default()
    }
    async fn visit(mut account: Session<Account>) {
        account.visits += 1;
    }
    async fn visits(account: Session<Account>) -> String {
        account.visits.to_string()
    }
    let layer = SessionLayer::new(Key::generate())
        .with_clock(clock.clone())
        .with_store(store.clone());
    Router::new()
        .route("/login/{name}", get(log_in))
        .route("/who", get(who))
        .route("/visit", get(visit))
        .route("/visits", get(visits))
        .layer(layer)
}

/// `GET path`, with the `name=value` cookie pair if any.
async fn get_with(app: &Router, path: &str, cookie: Option<&str>) -> Response<Body> {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    response
}

/// The `name=value` pair of the response's `Set-Cookie`, if it sets one.
fn set_cookie(response: &Response<Body>) -> Option<String> {
    let value = response
        .headers()
        .get(header::SET_COOKIE)?
        .to_str()
        .unwrap();
    Some(value.split(';').next().unwrap().to_owned())
}

async fn text(response: Response<Body>) -> String {
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

/// Who the cookie's session says is logged in, taking a new cookie if the reply sets one.
async fn who(app: &Router, cookie: &mut String) -> String {
    let response = get_with(app, "/who", Some(cookie)).await;
    if let Some(renewed) = set_cookie(&response) {
        *cookie = renewed;
    }
    text(response).await
}

/// Logs `USERS` users in, has them active ten minutes later, then a minute later sends `flood`
/// cookieless requests that each create a session; returns how many users are still logged in.
async fn users_left_after_a_flood(capacity: usize, flood: usize) -> usize {
    let clock = ManualClock::starting_now();
    let store = MemoryStore::new()
        .with_capacity(capacity)
        .with_clock(clock.clone());
    let app = app(&store, &clock);
    let mut cookies = Vec::new();
    for n in 0..USERS {
        let response = get_with(&app, &format!("/login/user{n}"), None).await;
        cookies.push(set_cookie(&response).expect("a session"));
    }
    clock.advance(Duration::from_secs(600));
    for (n, cookie) in cookies.iter_mut().enumerate() {
        assert_eq!(who(&app, cookie).await, format!("user{n}"), "active");
    }
    clock.advance(Duration::from_secs(60));
    let started = Instant::now();
    let mut last = None;
    for n in 0..flood {
        let response = get_with(&app, "/visit", None).await;
        last = Some(set_cookie(&response).unwrap_or_else(|| panic!("request {n}: no session")));
    }
    eprintln!(
        "{flood} session-creating requests in {:?}",
        started.elapsed()
    );
    assert_eq!(store.len(), capacity, "full, never past capacity");
    // The flood's newest session is kept: the flood evicts its own oldest.
    let newest = get_with(&app, "/visits", last.as_deref()).await;
    assert_eq!(text(newest).await, "1", "the newest session");
    let mut left = 0;
    for (n, cookie) in cookies.iter_mut().enumerate() {
        left += usize::from(who(&app, cookie).await == format!("user{n}"));
    }
    eprintln!("{left} of {USERS} users still logged in");
    left
}

/// The case: capacity 1,000, 100 users, 1,000 cookieless session-creating requests.
/// Before the fix: 0 of 100 users left.
#[tokio::test]
async fn a_flood_of_new_sessions_leaves_every_user_logged_in() {
    let _one_at_a_time = crate::ONE_AT_A_TIME.lock().await;
    let left = users_left_after_a_flood(1_000, 1_000).await;
    assert_eq!(left, USERS);
}

/// The same at the default capacity, straight on the store (100,000 requests through the
/// router take too long in a debug build): 100 sessions created and presented back, then
/// 100,000 new ones that expire later.
#[tokio::test]
async fn a_flood_at_the_default_capacity_leaves_every_user_logged_in() {
    let _one_at_a_time = crate::ONE_AT_A_TIME.lock().await;
    let clock = ManualClock::starting_now();
    let store = MemoryStore::new().with_clock(clock.clone());
    let ttl = time::Duration::days(1);
    // The store's map hashes a key's first 16 digits: spread them.
    let key = |n: usize| {
        let spread = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        StoreKey::from_digest_hex(format!("{spread:016x}{n:048x}")).unwrap()
    };
    let record = |clock: &ManualClock| Record::new(Fields::new(), clock.now(), clock.now() + ttl);
    for n in 0..USERS {
        store.create(&key(n), &record(&clock)).await.unwrap();
    }
    clock.advance(Duration::from_secs(600));
    for n in 0..USERS {
        assert!(store.load(&key(n)).await.unwrap().is_some(), "active");
    }
    clock.advance(Duration::from_secs(60));
    for n in USERS..USERS + MemoryStore::DEFAULT_CAPACITY {
        store.create(&key(n), &record(&clock)).await.unwrap();
    }
    assert_eq!(store.len(), MemoryStore::DEFAULT_CAPACITY);
    let mut left = 0;
    for n in 0..USERS {
        left += usize::from(store.load(&key(n)).await.unwrap().is_some());
    }
    eprintln!("{left} of {USERS} users still stored");
    assert_eq!(left, USERS);
}
