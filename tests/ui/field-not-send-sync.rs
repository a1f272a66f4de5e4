use std::cell::Cell;

use typed_sessions::Session;

#[derive(Session)]
struct Visits {
    views: u32,
    last: Cell<u32>,
}

fn main() {}
