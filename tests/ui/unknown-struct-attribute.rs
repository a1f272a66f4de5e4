use typed_sessions::Session;

#[derive(Session)]
#[session(prefix = "cart")]
struct Cart {
    items: Vec<u32>,
}

fn main() {}
