use typed_sessions::Session;

#[derive(Session)]
struct Visits {
    #[session(rename = "v", flatten)]
    views: u32,
}

fn main() {}
