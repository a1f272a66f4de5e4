use typed_sessions::Session;

#[derive(Session)]
struct Visits {
    #[session(rename)]
    views: u32,
}

fn main() {}
