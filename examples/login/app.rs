//! The login app: a form to log in, who is logged in and a page counter, a button to log out.
//!
//! Shared by the `login` example's `main` and the browser test (`tests/browser`), which includes
//! this file with `#[path]` so that it drives exactly the code the example serves.

use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use typed_sessions::{Session, SessionLayer};

#[derive(Session, Default)]
struct Auth {
    #[session(rename = "u")]
    user: Option<String>,
    /// Pages seen while logged in.
    pages: u64,
}

#[derive(Deserialize)]
struct Login {
    user: String,
}

/// The app's routes behind `layer`: `GET /`, `POST /login` (form field `user`), `POST /logout`.
pub(crate) fn app(layer: SessionLayer) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .layer(layer)
}

async fn home(mut auth: Session<Auth>) -> Html<String> {
    let Some(user) = auth.user.clone() else {
        return Html(
            "<p>not logged in</p>\
             <form method=post action=/login><input name=user><button>log in</button></form>"
                .into(),
        );
    };
    auth.pages += 1;
    Html(format!(
        "<p>logged in as {user} ({} pages seen)</p>\
         <form method=post action=/logout><button>log out</button></form>",
        auth.pages
    ))
}

async fn login(mut auth: Session<Auth>, Form(login): Form<Login>) -> impl IntoResponse {
    let user = login.user.trim();
    if user.is_empty() || user.len() > 64 || !user.chars().all(char::is_alphanumeric) {
        return Redirect::to("/").into_response();
    }
    // A new id on every privilege change: a session id planted before login is worthless.
    auth.regenerate();
    auth.user = Some(user.to_owned());
    auth.pages = 0;
    Redirect::to("/").into_response()
}

async fn logout(mut auth: Session<Auth>) -> Redirect {
    auth.destroy();
    Redirect::to("/")
}
