use typed_sessions::Session;

#[derive(Session, Default)]
struct Notices {
    #[session(flash)]
    unread: u32,
}

fn main() {}
