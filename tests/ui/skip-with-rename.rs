use typed_sessions::Session;

#[derive(Session)]
struct Visits {
    views: u32,
    #[session(skip, rename = "s")]
    scratch: Vec<u8>,
}

fn main() {}
