//! `#[session(index)]` on a string, an integer, and an `Option` of either.

use typed_sessions::{Session, SessionData};

#[derive(Session, Default)]
struct ByOptionalId {
    #[session(index)]
    user: Option<u64>,
    device: String,
}

#[derive(Session, Default)]
struct ByName {
    label: String,
    #[session(index, rename = "u")]
    user: String,
}

fn main() {
    assert_eq!(ByOptionalId::INDEX, Some(0));
    assert_eq!(ByName::INDEX, Some(1));
    assert_eq!(ByOptionalId::default().index_value(), None);
    let named = ByName { label: String::new(), user: "ann".into() };
    assert_eq!(named.index_value(), Some(b"s:ann".to_vec()));
}
