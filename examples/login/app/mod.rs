//! The login app: a login form with "remember me", a flash notice after logging in and out,
//! every form protected by a CSRF token.
//!
//! - `GET /`: the notice, if any (shown once), then the login form, or who is logged in and
//!   the logout button.
//! - `POST /login` (`user`, `password`, `remember`, `csrf_token`): checks the demo user's
//!   password, gives the session a new id, and keeps it for 30 days in a persistent cookie if
//!   "remember me" was ticked, else in a cookie that ends with the browser.
//! - `POST /logout` (`csrf_token`): ends the session (a copy of its cookie is dead) and starts
//!   a new one that only carries the notice.
//!
//! - `GET /devices`: "your devices", the user's live sessions (one per browser they logged in
//!   from): the browser's label, when it logged in, when it expires, "this device" marked, a
//!   "log out" button on each and "log out other devices" (see [`devices`]).
//! - `POST /devices/log-out` (`device`, `csrf_token`) and `POST /devices/log-out-others`
//!   (`csrf_token`): end one of those sessions, or all but this one; the browsers they belonged
//!   to are logged out at their next request.
//!
//! Every `POST` goes through [`CsrfLayer`]: without the session's token, or from another site,
//! it is refused with `403` before the handler runs.
//!
//! Shared by the `login` example's `main` and the tests (`tests/behaviour/login_example.rs`,
//! `tests/browser`), which include this module with `#[path]` so that they drive exactly the
//! code the example serves.

mod devices;
pub(crate) mod pages;
pub(crate) mod store;
mod users;

use std::time::Duration;

use axum::http::{HeaderMap, header};
use axum::response::{Html, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use typed_sessions::csrf::{CsrfLayer, CsrfToken};
use typed_sessions::lifetime::Lifetime;
use typed_sessions::{Key, Session, SessionLayer};

/// How long "remember me" keeps a login.
pub(crate) const REMEMBER_FOR: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// The notices the app flashes.
pub(crate) mod notice {
    /// After logging out.
    pub(crate) const LOGGED_OUT: &str = "You have been logged out.";
    /// After a wrong user name or password.
    pub(crate) const REFUSED: &str = "Wrong user name or password.";
    /// After logging out one other device.
    pub(crate) const DEVICE_LOGGED_OUT: &str = "That device has been logged out.";
    /// After a "log out" of a device that is not one of the user's live sessions (already
    /// logged out, or another user's).
    pub(crate) const NO_SUCH_DEVICE: &str = "No such device: nothing was logged out.";

    /// After "log out other devices" ended `count` sessions.
    pub(crate) fn others_logged_out(count: usize) -> String {
        match count {
            1 => "1 other device has been logged out.".to_owned(),
            n => format!("{n} other devices have been logged out."),
        }
    }

    /// After logging in as `user`.
    pub(crate) fn welcome(user: &str) -> String {
        format!("Welcome, {user}: you are logged in.")
    }
}

/// How many characters of the `User-Agent` header a device label keeps.
const LABEL_CHARS: usize = 120;

#[derive(Session, Default)]
struct Auth {
    /// The logged-in user; indexed, so that the devices page can list the user's sessions.
    #[session(rename = "u", index)]
    user: Option<String>,
    /// The browser the user logged in from, as its `User-Agent` header names it (shortened):
    /// the label of the session on the devices page.
    #[session(rename = "d")]
    device: Option<String>,
    /// Set by one request, shown by the next page, then gone.
    #[session(flash)]
    notice: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    user: String,
    password: String,
    /// The checkbox: present when ticked.
    remember: Option<String>,
}

/// The session layer as the app configures it, on no store yet: cookies that end with the
/// browser unless a login is remembered, and no session (remembered or not) older than
/// [`REMEMBER_FOR`], whatever a cookie or a stored record claims.
pub(crate) fn session_layer(key: Key) -> SessionLayer {
    SessionLayer::new(key)
        .with_browser_session(true)
        .with_max_lifetime(REMEMBER_FOR)
}

/// The app's routes behind `layer` (from [`session_layer`], with a store), with the CSRF check
/// inside it.
pub(crate) fn router(layer: SessionLayer) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/devices", get(devices::list))
        .route("/devices/log-out", post(devices::log_out_one))
        .route("/devices/log-out-others", post(devices::log_out_others))
        .layer(CsrfLayer::new())
        .layer(layer)
}

async fn home(auth: Session<Auth>, token: CsrfToken) -> Html<String> {
    let visitor = auth.user.as_deref().map(|user| pages::Visitor {
        user,
        remembered: auth.lifetime().is_some_and(|l| l.is_persistent()),
    });
    Html(pages::home(visitor, auth.notice.as_deref(), &token.value()))
}

async fn login(
    mut auth: Session<Auth>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Redirect {
    let Some(user) = users::check(form.user.trim(), &form.password) else {
        auth.notice = Some(notice::REFUSED.to_owned());
        return Redirect::to("/");
    };
    // A new id on every privilege change: an id planted before login is worthless, and so are
    // the CSRF tokens handed out before it.
    auth.regenerate();
    auth.user = Some(user.to_owned());
    auth.device = Some(device_label(&headers));
    auth.set_lifetime(if form.remember.is_some() {
        Lifetime::remember_for(REMEMBER_FOR)
    } else {
        Lifetime::browser_session()
    });
    auth.notice = Some(notice::welcome(user));
    Redirect::to("/")
}

async fn logout(mut auth: Session<Auth>) -> Redirect {
    // The record is removed (a copied cookie is dead); the notice starts a new session.
    auth.destroy();
    auth.notice = Some(notice::LOGGED_OUT.to_owned());
    Redirect::to("/")
}

/// The label of the browser that sent `headers`: its `User-Agent`, shortened to
/// [`LABEL_CHARS`] characters (the page escapes it: it is whatever the client sent).
fn device_label(headers: &HeaderMap) -> String {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|agent| !agent.is_empty());
    match agent {
        Some(agent) => agent.chars().take(LABEL_CHARS).collect(),
        None => "an unnamed browser".to_owned(),
    }
}
