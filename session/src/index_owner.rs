//! The one session type whose `#[session(index)]` field a layer indexes sessions by.
//!
//! A record has one index field ([`INDEX_FIELD`](crate::store::INDEX_FIELD)), and the layer
//! brings it up to date with whichever session type a request extracts. Two indexed types on
//! one layer would each overwrite the other's digest, so that a session drops out of one type's
//! device list as soon as a request extracts the other: "log this user out everywhere" would
//! then miss it. The layer lets the first indexed type it meets own the index, and refuses the
//! others loudly instead.

use std::any::{TypeId, type_name};
use std::sync::OnceLock;

use crate::Error;
use crate::data::SessionData;

/// The indexed session type of a layer, set by the first request that extracts an indexed
/// type, or the first [`SessionLayer::devices`](crate::SessionLayer::devices), whichever comes
/// first. Shared by the clones of the layer, and by the layers built from it, which write the
/// same records.
#[derive(Default)]
pub(crate) struct IndexOwner(OnceLock<Owner>);

struct Owner {
    id: TypeId,
    name: &'static str,
}

impl IndexOwner {
    /// Lets `T` use the index: always when `T` has no index field, otherwise when `T` owns it
    /// (or owns it from now on, being the first).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming both types, when another indexed type owns the index.
    pub(crate) fn claim<T: SessionData>(&self) -> Result<(), Error> {
        if T::INDEX.is_none() {
            return Ok(());
        }
        let owner = self.0.get_or_init(|| Owner {
            id: TypeId::of::<T>(),
            name: type_name::<T>(),
        });
        if owner.id == TypeId::of::<T>() {
            return Ok(());
        }
        let (first, other) = (owner.name, type_name::<T>());
        Err(Error::Config(format!(
            "session types `{first}` and `{other}` both have a `#[session(index)]` field, but a \
             layer indexes sessions by one type: `{first}` came first and owns the index, so \
             `{other}` is refused rather than overwrite it and hide sessions from `{first}`'s \
             device list; keep `#[session(index)]` on one session type per layer"
        )))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::store::Fields;

    /// A session type for these tests: `Kind<0>` has no index field, `Kind<1>` and `Kind<2>`
    /// are two indexed types.
    struct Kind<const N: u8>;

    impl<const N: u8> SessionData for Kind<N> {
        const KEYS: &'static [&'static str] = &["user"];
        const INDEX: Option<usize> = if N == 0 { None } else { Some(0) };

        fn decode(_: &Fields) -> Self {
            Self
        }

        fn encode(&self) -> Result<Vec<Value>, Error> {
            Ok(vec![Value::Null])
        }

        fn encode_default(_: usize) -> Result<Value, Error> {
            Ok(Value::Null)
        }
    }

    #[test]
    fn the_first_indexed_type_owns_the_index_and_another_is_refused_naming_both() {
        let owner = IndexOwner::default();
        owner.claim::<Kind<0>>().unwrap();
        owner.claim::<Kind<1>>().unwrap();
        owner.claim::<Kind<1>>().unwrap();
        owner.claim::<Kind<0>>().unwrap();
        let error = owner.claim::<Kind<2>>().unwrap_err().to_string();
        assert!(
            error.contains("Kind<1>") && error.contains("Kind<2>"),
            "{error}"
        );
        owner.claim::<Kind<1>>().unwrap();
    }
}
