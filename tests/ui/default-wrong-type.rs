use typed_sessions::Session;

fn default_views() -> String {
    String::new()
}

#[derive(Session)]
struct Visits {
    #[session(default = "default_views")]
    views: u32,
}

fn main() {}
