use typed_sessions::Session;

#[derive(Session)]
struct Login {
    user: Option<String>,
    #[session(rename = "user")]
    user_id: Option<u64>,
}

fn main() {}
