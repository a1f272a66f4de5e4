use typed_sessions::Session;

#[derive(Session, Default)]
struct Forms {
    #[session(rename = "$csrf")]
    token: Option<String>,
}

fn main() {}
