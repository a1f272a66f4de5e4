//! A crate that re-exports typed-sessions under a path of its own derives with
//! `#[session(crate = "...")]`, and its users need not depend on typed-sessions by name.

mod framework {
    pub mod sessions {
        pub use typed_sessions::{__private, Session, SessionData};
    }
}

use framework::sessions::Session;

#[derive(Session, Default)]
#[session(crate = "framework::sessions", namespace = "app")]
struct Visit {
    views: u64,
    #[session(rename = "u")]
    user: Option<String>,
    #[session(skip)]
    scratch: Vec<u8>,
}

fn keys<T: framework::sessions::SessionData>() -> &'static [&'static str] {
    T::KEYS
}

fn main() {
    assert_eq!(keys::<Visit>(), ["app.views", "app.u"]);
    let visit = Visit::default();
    let _ = (visit.views, visit.user, visit.scratch);
}
