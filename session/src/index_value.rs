//! The types a session can be indexed by (`#[session(index)]`, see `devices`), and the bytes
//! each gives the keyed digest.

#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot index sessions: `#[session(index)]` needs a string, an integer, or an `Option` of one",
    label = "the store indexes this field's value",
    note = "index by the user's id (a `String`, an integer, or an `Option` of one), or implement `typed_sessions::devices::IndexValue` for `{Self}`"
)]
/// A type whose values can index sessions: `#[session(index)]` accepts a field of this type.
///
/// Implemented for `String`, `str`, the integer types, and `Option<T>` of those (`None`: the
/// session is not indexed, as before login). The bytes are tagged by kind, so that the string
/// `"7"` and the integer `7` index different sessions, while `7u32` and `7i64` index the same.
///
/// # Examples
///
/// A user id type of the application's own, indexed as the string it wraps:
///
/// ```
/// use typed_sessions::devices::IndexValue;
///
/// struct UserId(String);
///
/// impl IndexValue for UserId {
///     fn index_bytes(&self) -> Option<Vec<u8>> {
///         self.0.index_bytes()
///     }
/// }
///
/// assert_eq!(UserId("ann".into()).index_bytes(), "ann".index_bytes());
/// ```
pub trait IndexValue {
    /// The bytes whose keyed digest the store indexes, or `None` for a session that is not
    /// indexed.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::devices::IndexValue;
    ///
    /// assert_eq!(7u32.index_bytes(), 7i64.index_bytes());
    /// assert_ne!("7".index_bytes(), 7u8.index_bytes());
    /// assert_eq!(None::<String>.index_bytes(), None);
    /// ```
    fn index_bytes(&self) -> Option<Vec<u8>>;
}

/// The tagged bytes of a string.
fn text(value: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(2 + value.len());
    bytes.extend_from_slice(b"s:");
    bytes.extend_from_slice(value.as_bytes());
    Some(bytes)
}

impl IndexValue for str {
    fn index_bytes(&self) -> Option<Vec<u8>> {
        text(self)
    }
}

impl IndexValue for String {
    fn index_bytes(&self) -> Option<Vec<u8>> {
        text(self)
    }
}

impl<T: IndexValue + ?Sized> IndexValue for &T {
    fn index_bytes(&self) -> Option<Vec<u8>> {
        (**self).index_bytes()
    }
}

impl<T: IndexValue> IndexValue for Option<T> {
    fn index_bytes(&self) -> Option<Vec<u8>> {
        self.as_ref().and_then(IndexValue::index_bytes)
    }
}

macro_rules! integers {
    ($($ty:ty),*) => {$(
        impl IndexValue for $ty {
            fn index_bytes(&self) -> Option<Vec<u8>> {
                Some(format!("i:{self}").into_bytes())
            }
        }
    )*};
}

integers!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_tagged_and_integers_compare_by_value() {
        assert_eq!("ann".index_bytes(), Some(b"s:ann".to_vec()));
        assert_eq!(String::from("ann").index_bytes(), "ann".index_bytes());
        assert_eq!((-3i8).index_bytes(), Some(b"i:-3".to_vec()));
        assert_eq!(Some(9u64).index_bytes(), 9usize.index_bytes());
        assert_ne!("9".index_bytes(), 9u64.index_bytes());
        assert_eq!(None::<u64>.index_bytes(), None);
    }
}
