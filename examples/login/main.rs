//! Log in, see who you are, log out.
//!
//! ```sh
//! cargo run --example login              # listens on 127.0.0.1:3000 (PORT overrides)
//! curl -c jar -b jar -d user=ann http://127.0.0.1:3000/login
//! curl -c jar -b jar http://127.0.0.1:3000/          # logged in as ann (1 pages seen)
//! curl -c jar -b jar -X POST http://127.0.0.1:3000/logout
//! ```
//!
//! Sessions live in a [`MemoryStore`]: the cookie carries only a signed id, and logging out
//! removes the record, so a copied cookie is dead afterwards.

#[path = "../common/serve.rs"]
mod serve;

use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use typed_sessions::{Key, MemoryStore, Session, SessionLayer};

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

#[tokio::main]
async fn main() {
    let layer = SessionLayer::new(Key::generate()).with_store(MemoryStore::new());
    let app = Router::new()
        .route("/", get(home))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .layer(layer);

    serve::serve(app).await;
}
