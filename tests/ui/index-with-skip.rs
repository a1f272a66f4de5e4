use typed_sessions::Session;

#[derive(Session, Default)]
struct Auth {
    #[session(skip, index)]
    user: Option<u64>,
}

fn main() {}
