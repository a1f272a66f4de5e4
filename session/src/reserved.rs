//! Storage keys the layer manages itself, beside the fields of the application's structs.
//!
//! Each starts with `$`, which `#[derive(Session)]` refuses in a storage key, so no session
//! type can read or overwrite one. Being ordinary fields of the record, they need no schema
//! change in any store, ride the per-field patch, and travel inside the cookie store's MAC.

/// The session's CSRF secret (see `csrf`): dropped by `regenerate()`, so that tokens rotate.
pub(crate) const CSRF_SECRET: &str = "$csrf";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reserved_key_starts_with_the_prefix() {
        assert!(CSRF_SECRET.starts_with('$'), "the derive refuses `$`");
    }
}
