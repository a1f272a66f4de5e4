//! The login example's app (`examples/login/app/`), served as its `main` serves it on the memory
//! store, used in headless Chromium as a person would, through its forms:
//!
//! - log in: the welcome notice shows once and is gone on reload; the session cookie is
//!   `HttpOnly` (hidden from `document.cookie`), `Secure`, and gets a new value at login;
//! - log out: the notice, the login form again, and a copy of the old cookie is dead;
//! - "remember me" survives quitting and relaunching Chromium with the same profile
//!   (`--user-data-dir`): a persistent cookie; a plain login does not: its cookie has no
//!   `Max-Age`, and Chromium drops such cookies when it starts without session restore (the
//!   default for a new profile, and what the flags in `main.rs` keep), though the server still
//!   holds the session;
//! - a form posted without its CSRF token (removed from the page by a script), or from a page
//!   on another site (even with a stolen token), is refused with the generic 403 body, and the
//!   user stays logged in;
//! - two browsers (two Chromium profiles) logged in as the same user: the second sees both on
//!   its devices page, this one marked, and logs the other out there; the first is logged out
//!   at its next page load, the second stays logged in.

#[path = "../../examples/login/app/mod.rs"]
mod app;

use std::time::{Duration, Instant};

use fantoccini::cookies::Cookie;
use fantoccini::error::CmdError;
use fantoccini::{Client, Locator};
use serde_json::json;
use typed_sessions::Key;

use super::{App, Driver, TempDir, TestResult, quit, run};

/// How long to wait for a page to show the expected text.
const PAGE_TIMEOUT: Duration = Duration::from_secs(20);
/// The session cookie's name (the library's default).
const COOKIE: &str = "__Host-session";
/// The body of every CSRF refusal (the library's generic one, sent with 403).
const REFUSED: &str =
    "forbidden: this request could not be verified; reload the page and try again";
/// What the page says to a visitor who is not logged in.
const NOT_LOGGED_IN: &str = "Not logged in.";

/// The app as the example's `main` serves it, on the memory store, with a `SESSION_KEY` made
/// by the `keygen` example.
async fn serve() -> App {
    let key = Key::from_base64(&Key::generate_base64()).expect("a generated key reads back");
    let (layer, _) = app::store::with_store(app::session_layer(key), None)
        .await
        .unwrap_or_else(|message| panic!("{message}"));
    App::start(app::router(layer)).await
}

/// The text of the first element `css` matches, if any.
async fn text(client: &Client, css: &str) -> Option<String> {
    let element = client.find(Locator::Css(css)).await.ok()?;
    element.text().await.ok()
}

/// Waits until the element `css` reads `expected`; fails with the page instead.
async fn expect_text(client: &Client, css: &str, expected: &str) -> TestResult {
    let deadline = Instant::now() + PAGE_TIMEOUT;
    loop {
        let seen = text(client, css).await;
        if seen.as_deref() == Some(expected) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let url = client.current_url().await.map(|u| u.to_string());
            let source = client.source().await.unwrap_or_default();
            panic!("expected {css} to read {expected:?}, it reads {seen:?} ({url:?}):\n{source}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for the page to say who is logged in (`expected`), then checks its notice.
async fn expect_home(client: &Client, who: &str, notice: Option<&str>) -> TestResult {
    expect_text(client, "#who", who).await?;
    let seen = text(client, "#notice").await;
    assert_eq!(seen.as_deref(), notice, "the notice, beside {who:?}");
    Ok(())
}

fn logged_in_as(user: &str, remembered: bool) -> String {
    let how = if remembered {
        "remembered on this browser for 30 days"
    } else {
        "until the browser closes"
    };
    format!("Logged in as {user}, {how}.")
}

/// Logs in through the form on the home page, as a person would, and sees the welcome notice.
async fn log_in(client: &Client, app: &App, user: &str, remember: bool) -> TestResult {
    client.goto(&app.url("/")).await?;
    expect_home(client, NOT_LOGGED_IN, None).await?;
    let form = "form[action='/login']";
    client
        .find(Locator::Css(&format!("{form} input[name=user]")))
        .await?
        .send_keys(user)
        .await?;
    client
        .find(Locator::Css(&format!("{form} input[name=password]")))
        .await?
        .send_keys(&format!("{user}-password"))
        .await?;
    if remember {
        client
            .find(Locator::Css(&format!("{form} input[name=remember]")))
            .await?
            .click()
            .await?;
    }
    client
        .find(Locator::Css(&format!("{form} button")))
        .await?
        .click()
        .await?;
    let welcome = app::notice::welcome(user);
    expect_home(client, &logged_in_as(user, remember), Some(&welcome)).await
}

/// Clicks the logout button.
async fn click_log_out(client: &Client) -> TestResult {
    client
        .find(Locator::Css("form[action='/logout'] button"))
        .await?
        .click()
        .await?;
    Ok(())
}

/// The session cookie as WebDriver sees it (all cookies, `HttpOnly` ones included), if any.
async fn session_cookie(client: &Client) -> Result<Option<Cookie<'static>>, CmdError> {
    match client.get_named_cookie(COOKIE).await {
        Ok(cookie) => Ok(Some(cookie)),
        Err(e) if e.is_no_such_cookie() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The session cookie's value, which must be there with the library's default attributes and
/// be persistent or not.
async fn expect_session_cookie(client: &Client, persistent: bool) -> Result<String, CmdError> {
    let cookie = session_cookie(client).await?;
    let cookie = cookie.unwrap_or_else(|| panic!("the browser holds no {COOKIE:?} cookie"));
    assert!(!cookie.value().is_empty(), "empty session cookie");
    assert_eq!(cookie.http_only(), Some(true), "HttpOnly: {cookie:?}");
    assert_eq!(cookie.secure(), Some(true), "Secure: {cookie:?}");
    assert_eq!(cookie.path(), Some("/"), "Path: {cookie:?}");
    assert_eq!(
        cookie.expires_datetime().is_some(),
        persistent,
        "expected a {} cookie: {cookie:?}",
        if persistent {
            "persistent"
        } else {
            "browser-session"
        }
    );
    Ok(cookie.value().to_owned())
}

/// Replaces the session cookie the browser holds with `value`, as a thief with a copy of it
/// would: deleted through WebDriver (a script cannot overwrite an `HttpOnly` cookie), put back
/// by a script (chromedriver's add-cookie rejects the host `localhost`).
async fn put_back_cookie(client: &Client, value: &str) -> TestResult {
    client.delete_cookie(COOKIE).await?;
    client
        .execute(
            "document.cookie = arguments[0] + '=' + arguments[1] + '; path=/; Secure';",
            vec![json!(COOKIE), json!(value)],
        )
        .await?;
    let held = session_cookie(client).await?.map(|c| c.value().to_owned());
    assert_eq!(held.as_deref(), Some(value), "the cookie put back");
    Ok(())
}

/// `document.cookie`, as the page's own scripts see it.
async fn document_cookie(client: &Client) -> Result<String, CmdError> {
    let value = client.execute("return document.cookie;", vec![]).await?;
    Ok(value
        .as_str()
        .expect("document.cookie is a string")
        .to_owned())
}

#[tokio::test]
async fn log_in_see_the_notice_once_and_log_out() -> TestResult {
    run(async {
        let app = serve().await;
        // The profile before the driver, so that a failing test kills Chromium before it removes
        // the profile.
        let profile = TempDir::new("profile");
        let driver = Driver::start().await;
        let client = driver.browser(&profile).await;

        // The login form's CSRF token starts a session: a browser-session cookie.
        client.goto(&app.url("/")).await?;
        expect_home(&client, NOT_LOGGED_IN, None).await?;
        let before = expect_session_cookie(&client, false).await?;

        log_in(&client, &app, "ann", false).await?;
        let value = expect_session_cookie(&client, false).await?;
        assert_ne!(value, before, "the session id did not change at login");

        // The notice is gone on reload and on later visits; the login stays, under one id.
        client.refresh().await?;
        expect_home(&client, &logged_in_as("ann", false), None).await?;
        client.goto("about:blank").await?;
        client.goto(&app.url("/?from=address-bar")).await?;
        expect_home(&client, &logged_in_as("ann", false), None).await?;
        assert_eq!(expect_session_cookie(&client, false).await?, value);

        // HttpOnly: the page's scripts cannot read the session cookie, though they can read and
        // write cookies (a script-set cookie shows up in document.cookie).
        let seen = document_cookie(&client).await?;
        assert!(
            !seen.contains(&format!("{COOKIE}=")) && !seen.contains(&value),
            "document.cookie exposes the session cookie: {seen:?}"
        );
        client
            .execute("document.cookie = 'probe=1; path=/; SameSite=Lax';", vec![])
            .await?;
        assert_eq!(document_cookie(&client).await?, "probe=1");

        // Log out: the notice once, the login form, a new cookie.
        click_log_out(&client).await?;
        expect_home(&client, NOT_LOGGED_IN, Some(app::notice::LOGGED_OUT)).await?;
        client.refresh().await?;
        expect_home(&client, NOT_LOGGED_IN, None).await?;
        assert_ne!(expect_session_cookie(&client, false).await?, value);

        // The session is gone on the server: the old cookie, put back, is worthless.
        put_back_cookie(&client, &value).await?;
        client.goto(&app.url("/")).await?;
        expect_home(&client, NOT_LOGGED_IN, None).await?;

        quit(client, &profile).await
    })
    .await
}

/// Logs in (remembered or not), quits Chromium, relaunches it on the same profile, opens the
/// app again.
async fn across_browser_restart(remember: bool) -> TestResult {
    let app = serve().await;
    let profile = TempDir::new("profile");
    let driver = Driver::start().await;

    let client = driver.browser(&profile).await;
    log_in(&client, &app, "bob", remember).await?;
    let value = expect_session_cookie(&client, remember).await?;
    quit(client, &profile).await?;

    let client = driver.browser(&profile).await;
    client.goto(&app.url("/")).await?;
    if remember {
        expect_home(&client, &logged_in_as("bob", true), None).await?;
        assert_eq!(expect_session_cookie(&client, true).await?, value);
    } else {
        expect_home(&client, NOT_LOGGED_IN, None).await?;
        let now = session_cookie(&client).await?.map(|c| c.value().to_owned());
        assert_ne!(
            now.as_deref(),
            Some(value.as_str()),
            "the browser-session cookie survived the browser restart"
        );
        // The server still holds the session: only the browser forgot it.
        put_back_cookie(&client, &value).await?;
        client.goto(&app.url("/")).await?;
        expect_home(&client, &logged_in_as("bob", false), None).await?;
    }
    quit(client, &profile).await
}

#[tokio::test]
async fn remember_me_survives_a_browser_restart() -> TestResult {
    run(across_browser_restart(true)).await
}

#[tokio::test]
async fn a_plain_login_ends_with_the_browser() -> TestResult {
    run(across_browser_restart(false)).await
}

/// A page on another site (`127.0.0.1` is another site than `localhost`) with a form that posts
/// to the app's logout, carrying `token`.
async fn foreign_page(app: &App, token: &str) -> App {
    let page = format!(
        r#"<!doctype html><form method="post" action="{}">
<input type="hidden" name="csrf_token" value="{token}"><button>Win a prize</button></form>"#,
        app.url("/logout")
    );
    let router = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { axum::response::Html(page) }),
    );
    App::start(router).await
}

#[tokio::test]
async fn a_form_posted_without_its_token_is_refused() -> TestResult {
    run(async {
        let app = serve().await;
        let profile = TempDir::new("profile");
        let driver = Driver::start().await;
        let client = driver.browser(&profile).await;
        log_in(&client, &app, "ann", false).await?;

        // A script removes the logout form's token: the post is refused, the user stays.
        client
            .execute(
                "document.querySelector(\"form[action='/logout'] input[name=csrf_token]\").remove();",
                vec![],
            )
            .await?;
        click_log_out(&client).await?;
        expect_text(&client, "body", REFUSED).await?;
        client.goto(&app.url("/")).await?;
        expect_home(&client, &logged_in_as("ann", false), None).await?;

        // Another site's page posts to the app, even with a token stolen from the app's page.
        let token = client
            .find(Locator::Css("input[name=csrf_token]"))
            .await?
            .attr("value")
            .await?
            .expect("the page's token");
        let foreign = foreign_page(&app, &token).await;
        client
            .goto(&format!("http://127.0.0.1:{}/", foreign.addr.port()))
            .await?;
        client.find(Locator::Css("button")).await?.click().await?;
        expect_text(&client, "body", REFUSED).await?;
        client.goto(&app.url("/")).await?;
        expect_home(&client, &logged_in_as("ann", false), None).await?;

        quit(client, &profile).await
    })
    .await
}

/// The devices page's rows: how many, and how many are marked "this device".
async fn device_rows(client: &Client) -> Result<(usize, usize), CmdError> {
    let all = client.find_all(Locator::Css("tr.device")).await?;
    let current = client.find_all(Locator::Css("tr.device.current")).await?;
    Ok((all.len(), current.len()))
}

#[tokio::test]
async fn a_second_browser_logs_the_first_out_from_the_devices_page() -> TestResult {
    run(async {
        let app = serve().await;
        let first_profile = TempDir::new("first-profile");
        let second_profile = TempDir::new("second-profile");
        let driver = Driver::start().await;
        let first = driver.browser(&first_profile).await;
        let second = driver.browser(&second_profile).await;

        log_in(&first, &app, "ann", true).await?;
        log_in(&second, &app, "ann", false).await?;

        // The second browser follows the home page's link: both logins, itself marked, each
        // labelled with its browser's name (its User-Agent).
        second
            .find(Locator::Css("#devices-link"))
            .await?
            .click()
            .await?;
        expect_text(&second, "#who", "The browsers ann is logged in on.").await?;
        assert_eq!(device_rows(&second).await?, (2, 1));
        for label in second.find_all(Locator::Css("tr.device td.label")).await? {
            let label = label.text().await?;
            assert!(label.contains("Chrome"), "a label: {label:?}");
        }
        let mark = text(&second, "tr.device.current td.mark").await;
        assert_eq!(mark.as_deref(), Some("this device"));

        second
            .find(Locator::Css(
                "form[action='/devices/log-out-others'] button",
            ))
            .await?
            .click()
            .await?;
        expect_text(&second, "#notice", &app::notice::others_logged_out(1)).await?;
        assert_eq!(device_rows(&second).await?, (1, 1));

        // The first browser still shows its page; its next page load finds it logged out, though
        // the server no longer holds its session.
        expect_text(&first, "#who", &logged_in_as("ann", true)).await?;
        first.refresh().await?;
        expect_home(&first, NOT_LOGGED_IN, None).await?;

        // The second stays logged in.
        second.goto(&app.url("/")).await?;
        expect_home(&second, &logged_in_as("ann", false), None).await?;

        quit(first, &first_profile).await?;
        quit(second, &second_profile).await
    })
    .await
}
