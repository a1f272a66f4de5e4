//! The demo users and the password check.
//!
//! A real app keeps password hashes (argon2, scrypt) in its database; the demo keeps its two
//! users in the source, so that it runs with no set-up. What carries over is the check: the
//! password is compared in constant time, and an unknown user costs the same work as a wrong
//! password, so neither the timing nor the answer says which names exist. Passwords are never
//! logged or echoed.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The demo users: name and password. The README lists them.
const USERS: &[(&str, &str)] = &[("ann", "ann-password"), ("bob", "bob-password")];

/// What an unknown user's password is compared with, so that the work is the same.
const NOBODY: &str = "no user has this password";

/// The user `name` if `password` is theirs.
pub(crate) fn check(name: &str, password: &str) -> Option<&'static str> {
    let found = USERS.iter().find(|(user, _)| *user == name);
    let expected = found.map_or(NOBODY, |(_, password)| password);
    // Digests of equal length: the comparison's time says nothing about the password's length
    // or the position of its first wrong byte.
    let matches: bool = Sha256::digest(password.as_bytes())
        .ct_eq(&Sha256::digest(expected.as_bytes()))
        .into();
    found.filter(|_| matches).map(|(user, _)| *user)
}
