use typed_sessions::Session;

#[derive(Session)]
struct Visits {
    #[session(rename = 5)]
    views: u32,
}

fn main() {}
