//! An account session, for the tests that log users in and out: key rotation and fixation.

use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use typed_sessions::Session;

use crate::response::TestResponse;

/// Who is logged in, and how many times they counted.
#[derive(typed_sessions::Session, Default)]
pub struct Account {
    user: String,
    views: u64,
}

/// `/sign_in/{user}` (logs in without a new id, counting a view), `/login/{user}` (logs in
/// with a new id), `/count`, `/logout`, `/read` (`{"new", "user", "views"}`).
pub fn account_routes() -> Router {
    /// Logs in without regenerating: only the client-chosen-id defence is at work.
    async fn sign_in(Path(user): Path<String>, mut s: Session<Account>) {
        s.user = user;
        s.views += 1;
    }
    /// Logs in as an application should: a new id for the new privilege.
    async fn login(Path(user): Path<String>, mut s: Session<Account>) {
        s.regenerate();
        s.user = user;
    }
    async fn count(mut s: Session<Account>) {
        s.views += 1;
    }
    async fn logout(mut s: Session<Account>) {
        s.destroy();
    }
    async fn read(s: Session<Account>) -> Json<Value> {
        Json(json!({"new": s.is_new(), "user": s.user, "views": s.views}))
    }
    Router::new()
        .route("/sign_in/{user}", get(sign_in))
        .route("/login/{user}", get(login))
        .route("/count", get(count))
        .route("/logout", get(logout))
        .route("/read", get(read))
}

/// Asserts that `/read` answered 200 with this account session.
pub fn assert_reads(response: &TestResponse, new: bool, user: &str, views: u64, what: &str) {
    assert_eq!(response.status, 200, "{what}: {}", response.body);
    assert_eq!(
        response.json(),
        json!({"new": new, "user": user, "views": views}),
        "{what}"
    );
}
