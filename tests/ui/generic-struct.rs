use typed_sessions::Session;

#[derive(Session)]
struct Cart<T> {
    items: Vec<T>,
}

fn main() {}
