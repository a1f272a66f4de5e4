use typed_sessions::Session;

#[derive(Session)]
struct Counter(u32, String);

fn main() {}
