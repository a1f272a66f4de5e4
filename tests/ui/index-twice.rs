use typed_sessions::Session;

#[derive(Session, Default)]
struct Auth {
    #[session(index)]
    user: Option<u64>,
    #[session(index)]
    email: Option<String>,
}

fn main() {}
