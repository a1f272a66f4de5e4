use typed_sessions::Session;

#[derive(Session)]
struct Visits {
    #[session(rename = "v")]
    #[session(rename = "w")]
    views: u32,
}

fn main() {}
