use typed_sessions::Session;

#[derive(Session)]
struct Visits {
    #[session(default = "not a path!!")]
    views: u32,
}

fn main() {}
