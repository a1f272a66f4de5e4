use serde::{Deserialize, Serialize};
use typed_sessions::Session;

#[derive(Serialize, Deserialize, Default)]
struct Notice {
    text: String,
}

#[derive(Session, Default)]
struct Notices {
    #[session(flash)]
    notice: Notice,
}

fn main() {}
