//! The reference session and handlers most behaviour tests use.

use axum::Router;
use axum::routing::get;

/// The session the reference handlers use.
#[derive(typed_sessions::Session, Default, Clone, Debug, PartialEq)]
pub struct Msg {
    /// Set to `"hello"` by `/set`.
    pub message: String,
    /// Counted up by `/count`.
    pub count: u64,
}

pub mod handlers {
    //! The reference handlers: one never touches the session, one reads it, one writes a
    //! message, one counts, one says whether the session is new, one destroys it.
    use super::Msg;
    use typed_sessions::Session;

    /// Never touches the session.
    pub async fn none() -> &'static str {
        "greetings"
    }

    /// Returns `message`.
    pub async fn read(session: Session<Msg>) -> String {
        session.message.clone()
    }

    /// Sets `message` to `"hello"`.
    pub async fn set_hello(mut session: Session<Msg>) {
        session.message = "hello".into();
    }

    /// Increments `count` and returns it.
    pub async fn count(mut session: Session<Msg>) -> String {
        session.count += 1;
        session.count.to_string()
    }

    /// Returns whether the session is new.
    pub async fn is_new(session: Session<Msg>) -> String {
        session.is_new().to_string()
    }

    /// Destroys the session.
    pub async fn destroy(mut session: Session<Msg>) {
        session.destroy();
    }
}

/// A router with the reference handlers: `/none`, `/read`, `/set`, `/count`, `/is_new`,
/// `/destroy`.
pub fn reference_routes() -> Router {
    Router::new()
        .route("/none", get(handlers::none))
        .route("/read", get(handlers::read))
        .route("/set", get(handlers::set_hello))
        .route("/count", get(handlers::count))
        .route("/is_new", get(handlers::is_new))
        .route("/destroy", get(handlers::destroy))
}
