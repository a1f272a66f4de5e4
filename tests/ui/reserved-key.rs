use typed_sessions::Session;

#[derive(Session)]
struct Login {
    #[session(rename = "$lifetime")]
    remember: Option<u64>,
}

fn main() {}
