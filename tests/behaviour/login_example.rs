//! The login example's app (`examples/login/app/`) through its own `Router`, built as its
//! `main` builds it, on the memory store and, through the `SESSION_STORE_URL` path, on Redis
//! and PostgreSQL (with the features `redis` and `postgres`): remember me and plain logins,
//! the flash notices, logout, wrong passwords, and the CSRF check on every form. The devices
//! page's tests are in `login_example/devices.rs`, on the same helpers.

#[path = "../../examples/login/app/mod.rs"]
mod app;

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode, header};
use tower::ServiceExt as _;
use typed_sessions::Key;
use typed_sessions_tests::TestResponse;

/// The session cookie's name (the library's default).
const COOKIE: &str = "__Host-session";
/// The body of every CSRF refusal (the library's generic one).
const REFUSED: &str =
    "forbidden: this request could not be verified; reload the page and try again";

/// The app as `main` serves it, on the store `url` names (`None`: the memory store).
async fn serve(url: Option<&str>) -> Router {
    // One at a time: PostgreSQL can fail two `CREATE TABLE IF NOT EXISTS` of one new table run
    // at once (each test has its own runtime, so the lock is a runtime-agnostic tokio one).
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one = ONE_AT_A_TIME.lock().await;
    let key = Key::from_base64(&Key::generate_base64()).expect("a generated key reads back");
    let (layer, _) = app::store::with_store(app::session_layer(key), url)
        .await
        .unwrap_or_else(|message| panic!("{message}"));
    app::router(layer)
}

/// A client that keeps the session cookie as a browser does, and the last token it was given.
#[derive(Default)]
struct Client {
    cookie: Option<String>,
    token: Option<String>,
    /// The `User-Agent` it sends, if any.
    agent: Option<&'static str>,
}

impl Client {
    async fn send(
        &mut self,
        app: &Router,
        request: http::request::Builder,
        body: Body,
    ) -> TestResponse {
        let request = match &self.cookie {
            Some(value) => request.header(header::COOKIE, format!("{COOKIE}={value}")),
            None => request,
        };
        let request = match self.agent {
            Some(agent) => request.header(header::USER_AGENT, agent),
            None => request,
        };
        let response = app
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let response = TestResponse::read(response).await;
        if let Some(set) = response.cookie_named(COOKIE) {
            let value = set.split(';').next().unwrap().split_once('=').unwrap().1;
            self.cookie =
                (!value.is_empty() && !set.contains("Max-Age=0")).then(|| value.to_owned());
        }
        response
    }

    /// `GET /`, keeping the page's CSRF token.
    async fn home(&mut self, app: &Router) -> TestResponse {
        let page = self.send(app, Request::get("/"), Body::empty()).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        self.token = Some(token_in(&page.body));
        page
    }

    /// `POST path` with the urlencoded `fields`, and the last token unless `with_token` is
    /// false.
    async fn post(
        &mut self,
        app: &Router,
        path: &str,
        fields: &[(&str, &str)],
        with_token: bool,
    ) -> TestResponse {
        let mut pairs: Vec<(&str, &str)> = fields.to_vec();
        if with_token {
            pairs.push((
                "csrf_token",
                self.token.as_deref().expect("a page was loaded"),
            ));
        }
        let body = pairs
            .iter()
            .map(|(name, value)| format!("{name}={}", urlencode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let request =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        self.send(app, request, Body::from(body)).await
    }

    async fn log_in(
        &mut self,
        app: &Router,
        user: &str,
        password: &str,
        remember: bool,
    ) -> TestResponse {
        self.home(app).await;
        let mut fields = vec![("user", user), ("password", password)];
        if remember {
            fields.push(("remember", "yes"));
        }
        self.post(app, "/login", &fields, true).await
    }
}

fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The CSRF token of the page's forms (every form carries the same session's token).
fn token_in(page: &str) -> String {
    const FIELD: &str = r#"name="csrf_token" value=""#;
    let at = page
        .find(FIELD)
        .unwrap_or_else(|| panic!("no CSRF token in the page:\n{page}"))
        + FIELD.len();
    page[at..].split('"').next().unwrap().to_owned()
}

/// The text of the element with `id` (`<p id="...">text</p>`), if the page has it.
fn text_of(page: &str, id: &str) -> Option<String> {
    let open = format!(r#"id="{id}""#);
    let start = page.find(&open)?;
    let text = &page[start..];
    let text = &text[text.find('>')? + 1..];
    Some(text[..text.find('<')?].to_owned())
}

fn expect_redirect_home(response: &TestResponse) {
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(response.headers[header::LOCATION], "/");
}

/// `response` (to a logout) sends `client` home, which shows the logout notice and the login
/// form.
async fn expect_logged_out(client: &mut Client, app: &Router, response: &TestResponse) {
    expect_redirect_home(response);
    let page = client.home(app).await;
    assert_eq!(
        text_of(&page.body, "notice").as_deref(),
        Some(app::notice::LOGGED_OUT)
    );
    assert_eq!(
        text_of(&page.body, "who").as_deref(),
        Some("Not logged in.")
    );
}

/// Remember me: a persistent cookie for 30 days under a new id; a welcome notice shown once.
async fn remember_me_keeps_a_persistent_cookie_and_flashes_once(store: Option<&str>) {
    let app = serve(store).await;
    let mut client = Client::default();
    let page = client.home(&app).await;
    assert_eq!(
        text_of(&page.body, "who").as_deref(),
        Some("Not logged in.")
    );
    assert!(text_of(&page.body, "notice").is_none(), "{}", page.body);
    let before = client
        .cookie
        .clone()
        .expect("the form's token started a session");

    let response = client.log_in(&app, "ann", "ann-password", true).await;
    expect_redirect_home(&response);
    let set = response.cookie_named(COOKIE).expect("a cookie at login");
    assert!(
        set.contains("Max-Age=2592000"),
        "a 30-day persistent cookie: {set}"
    );
    assert_ne!(
        client.cookie.as_deref(),
        Some(before.as_str()),
        "a new id at login"
    );

    let page = client.home(&app).await;
    assert_eq!(
        text_of(&page.body, "notice").as_deref(),
        Some(&*app::notice::welcome("ann"))
    );
    assert_eq!(
        text_of(&page.body, "who").as_deref(),
        Some("Logged in as ann, remembered on this browser for 30 days.")
    );
    let page = client.home(&app).await;
    assert!(
        text_of(&page.body, "notice").is_none(),
        "the notice again:\n{}",
        page.body
    );
    assert!(page.body.contains("Logged in as ann"), "{}", page.body);
}

/// A plain login: a browser-session cookie (no `Max-Age`, no `Expires`).
async fn a_plain_login_keeps_a_browser_session_cookie(store: Option<&str>) {
    let app = serve(store).await;
    let mut client = Client::default();
    let response = client.log_in(&app, "bob", "bob-password", false).await;
    expect_redirect_home(&response);
    let set = response.cookie_named(COOKIE).expect("a cookie at login");
    assert!(
        !set.contains("Max-Age") && !set.contains("Expires"),
        "a browser-session cookie: {set}"
    );
    let page = client.home(&app).await;
    assert_eq!(
        text_of(&page.body, "who").as_deref(),
        Some("Logged in as bob, until the browser closes.")
    );
}

/// Logging out flashes a notice once, and the old cookie is dead.
async fn logout_flashes_a_notice_and_the_old_cookie_is_dead(store: Option<&str>) {
    let app = serve(store).await;
    let mut client = Client::default();
    client.log_in(&app, "ann", "ann-password", true).await;
    client.home(&app).await;
    let logged_in = client.cookie.clone().unwrap();

    let response = client.post(&app, "/logout", &[], true).await;
    expect_logged_out(&mut client, &app, &response).await;
    let page = client.home(&app).await;
    assert!(text_of(&page.body, "notice").is_none(), "{}", page.body);

    let mut copy = Client {
        cookie: Some(logged_in),
        ..Client::default()
    };
    let page = copy.home(&app).await;
    assert_eq!(
        text_of(&page.body, "who").as_deref(),
        Some("Not logged in.")
    );
}

/// A wrong password or an unknown user logs nobody in, and says so once, the same way.
async fn a_wrong_password_or_unknown_user_is_refused(store: Option<&str>) {
    let app = serve(store).await;
    for (user, password) in [
        ("ann", "bob-password"),
        ("ann", ""),
        ("eve", "eve-password"),
    ] {
        let mut client = Client::default();
        let response = client.log_in(&app, user, password, true).await;
        expect_redirect_home(&response);
        let page = client.home(&app).await;
        assert_eq!(
            text_of(&page.body, "notice").as_deref(),
            Some(app::notice::REFUSED),
            "{user}"
        );
        assert_eq!(
            text_of(&page.body, "who").as_deref(),
            Some("Not logged in.")
        );
        assert!(
            !page.body.contains(password) || password.is_empty(),
            "the password echoed"
        );
    }
}

/// Every form needs its session's token: without it, with the token from before login, or from
/// another site, a post is refused with the generic 403 and changes nothing.
async fn a_form_without_its_token_is_refused(store: Option<&str>) {
    let app = serve(store).await;
    let mut client = Client::default();
    client.home(&app).await;
    let login = [("user", "ann"), ("password", "ann-password")];
    let refused = client.post(&app, "/login", &login, false).await;
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (StatusCode::FORBIDDEN, REFUSED)
    );
    assert!(
        refused.cookie_named(COOKIE).is_none(),
        "a refusal writes nothing"
    );
    let page = client.home(&app).await;
    assert_eq!(
        text_of(&page.body, "who").as_deref(),
        Some("Not logged in.")
    );

    let before_login = client.token.clone();
    client.log_in(&app, "ann", "ann-password", false).await;
    client.home(&app).await;
    // The token from before login belongs to the old id: refused.
    let fresh = client.token.replace(before_login.unwrap());
    let refused = client.post(&app, "/logout", &[], true).await;
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (StatusCode::FORBIDDEN, REFUSED)
    );
    client.token = fresh;
    // No token at all.
    let refused = client.post(&app, "/logout", &[], false).await;
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (StatusCode::FORBIDDEN, REFUSED)
    );
    // Another site's form, with a valid token even.
    let cross_site = Request::post("/logout")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .header(header::ORIGIN, "https://evil.example");
    let body = format!("csrf_token={}", client.token.clone().unwrap());
    let refused = client.send(&app, cross_site, Body::from(body)).await;
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (StatusCode::FORBIDDEN, REFUSED)
    );

    let page = client.home(&app).await;
    assert!(
        page.body.contains("Logged in as ann"),
        "still logged in:\n{}",
        page.body
    );
}

/// One test per store from one body: the memory store, and the stores of the features on.
macro_rules! on_app_stores {
    ($($body:ident),* $(,)?) => {$(
        mod $body {
            #[tokio::test]
            async fn memory() {
                super::$body(None).await;
            }

            #[cfg(feature = "redis")]
            #[tokio::test]
            async fn redis() {
                super::$body(Some(&typed_sessions_tests::env_url("TS_REDIS_URL"))).await;
            }

            #[cfg(feature = "postgres")]
            #[tokio::test]
            async fn postgres() {
                super::$body(Some(&typed_sessions_tests::env_url("TS_POSTGRES_URL"))).await;
            }
        }
    )*};
}

on_app_stores!(
    remember_me_keeps_a_persistent_cookie_and_flashes_once,
    a_plain_login_keeps_a_browser_session_cookie,
    logout_flashes_a_notice_and_the_old_cookie_is_dead,
    a_wrong_password_or_unknown_user_is_refused,
    a_form_without_its_token_is_refused,
);

mod devices;

#[tokio::test]
async fn a_store_url_of_another_kind_is_refused_without_repeating_it() {
    let key = Key::generate();
    let error = app::store::with_store(app::session_layer(key), Some("mysql://me:secret@db/x"))
        .await
        .expect_err("refused");
    assert!(
        error.contains("SESSION_STORE_URL") && !error.contains("secret"),
        "{error}"
    );
}

#[test]
fn every_value_in_a_page_is_escaped() {
    assert_eq!(
        app::pages::escape(r#"<script>"a" & 'b'</script>"#),
        "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
    );
}
