//! Storage keys the layer manages itself, beside the fields of the application's structs.
//!
//! Each starts with `$`, which `#[derive(Session)]` refuses in a storage key, so no session
//! type can read or overwrite one. Being ordinary fields of the record, they need no schema
//! change in any store, ride the per-field patch, and travel inside the cookie store's MAC.

/// The session's CSRF secret (see `csrf`): dropped by `regenerate()`, so that tokens rotate.
pub(crate) const CSRF_SECRET: &str = "$csrf";

/// The session's own lifetime, when a handler chose one (see `lifetime`).
pub(crate) const LIFETIME: &str = "$lifetime";

/// The keyed digest of the session's `#[session(index)]` value (see `devices`).
pub(crate) const INDEX: &str = "$index";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reserved_key_starts_with_the_prefix() {
        for key in [CSRF_SECRET, LIFETIME, INDEX] {
            assert!(key.starts_with('$'), "the derive refuses `$`: {key}");
        }
    }
}
