use typed_sessions::Session;

#[derive(Session)]
enum Cart {
    Empty,
    Full { items: Vec<u32> },
}

fn main() {}
