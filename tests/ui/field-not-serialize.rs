use typed_sessions::Session;

#[derive(Default, serde::Deserialize)]
struct Connection {}

#[derive(Session)]
struct Visits {
    views: u32,
    connection: Connection,
}

fn main() {}
