use typed_sessions::Session;

#[derive(Session)]
struct Marker;

fn main() {}
