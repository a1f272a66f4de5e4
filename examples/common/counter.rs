//! The seed's counter: `GET /` counts the visits of a client that keeps its cookie.

use axum::{Router, routing::get};
use typed_sessions::{Session, SessionLayer};

#[derive(Session, Default)]
struct Visit {
    views: u64,
}

async fn count(mut visit: Session<Visit>) -> String {
    visit.views += 1;
    format!("{} views", visit.views)
}

/// The counter behind `layer`.
pub(crate) fn app(layer: SessionLayer) -> Router {
    Router::new().route("/", get(count)).layer(layer)
}
