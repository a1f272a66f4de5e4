//! Prints a fresh session key in base64, for `SESSION_KEY` (or wherever your secrets live):
//!
//! ```sh
//! export SESSION_KEY="$(cargo run -q --example keygen)"
//! ```
//!
//! 64 bytes from the operating system's CSPRNG, read back with `Key::from_base64`.

fn main() {
    println!("{}", typed_sessions::Key::generate_base64());
}
