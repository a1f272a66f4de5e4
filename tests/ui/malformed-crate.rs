use typed_sessions::Session;

#[derive(Session)]
#[session(crate = 1)]
struct Visits {
    views: u32,
}

fn main() {}
