use typed_sessions::Session;

#[derive(Session)]
#[session(namespace = "")]
struct Cart {
    items: Vec<u32>,
}

fn main() {}
