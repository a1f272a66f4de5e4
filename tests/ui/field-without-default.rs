use typed_sessions::Session;

#[derive(serde::Serialize, serde::Deserialize)]
struct Theme {
    dark: bool,
}

#[derive(Session)]
struct Visits {
    views: u32,
    theme: Theme,
}

fn main() {}
