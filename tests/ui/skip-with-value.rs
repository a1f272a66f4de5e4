use typed_sessions::Session;

#[derive(Session)]
struct Visits {
    views: u32,
    #[session(skip = true)]
    scratch: Vec<u8>,
}

fn main() {}
