use typed_sessions::{Session, SessionData};

#[derive(Session)]
struct Visits {
    #[session(rename = 5)]
    views: u32,
}

fn keys<T: SessionData>() -> &'static [&'static str] {
    T::KEYS
}

fn main() {
    let _ = keys::<Visits>();
    let _ = Visits::decode(&Default::default()).views;
}
