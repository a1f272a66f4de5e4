use typed_sessions::Session;

struct Connection;

#[derive(Session)]
struct Visits {
    views: u32,
    #[session(skip)]
    connection: Connection,
}

fn main() {}
