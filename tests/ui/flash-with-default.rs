use typed_sessions::Session;

fn no_notice() -> Option<String> {
    None
}

#[derive(Session, Default)]
struct Notices {
    #[session(flash, default = "no_notice")]
    notice: Option<String>,
}

fn main() {}
