use typed_sessions::Session;

#[derive(Session, Default)]
struct Auth {
    #[session(index)]
    roles: Vec<String>,
}

fn main() {}
