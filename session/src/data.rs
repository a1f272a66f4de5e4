//! The runtime side of `#[derive(Session)]`: the [`SessionData`] trait and the helpers that the
//! generated code calls through `__private`.

use serde_json::Value;

use crate::Error;

/// The stored form of a session: each storage key maps to that field's JSON encoding.
///
/// Keys that the current session type does not know are kept as they are, so that two struct
/// versions (or two session types sharing one session) never erase each other's fields.
pub type Fields = serde_json::Map<String, Value>;

/// A struct that can live in a session, field by field.
///
/// Implement it with `#[derive(Session)]`; writing it by hand is possible but rarely useful.
/// Every stored field is encoded as its own JSON value under its storage key, so that a change
/// to one field is written without touching the others.
///
/// # Example
///
/// ```
/// use typed_sessions::{Session, SessionData};
///
/// #[derive(Session, Default)]
/// #[session(namespace = "cart")]
/// struct Cart {
///     items: Vec<u32>,
///     #[session(rename = "c")]
///     coupon: Option<String>,
/// }
///
/// assert_eq!(Cart::KEYS, &["cart.items", "cart.c"]);
/// let cart = Cart::decode(&Default::default());
/// assert!(cart.items.is_empty());
/// ```
pub trait SessionData: Sized + Send + Sync + 'static {
    /// The storage keys of the stored fields, in declaration order, namespace included.
    const KEYS: &'static [&'static str];

    /// Builds the value from stored fields.
    ///
    /// A missing field takes its default; a field that fails to decode takes its default and
    /// logs a warning. Decoding never fails as a whole.
    fn decode(fields: &Fields) -> Self;

    /// Encodes every stored field, in the order of [`KEYS`](Self::KEYS).
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when a field's `Serialize` implementation fails.
    fn encode(&self) -> Result<Vec<Value>, Error>;

    /// Encodes the default value of the stored field at `index` in [`KEYS`](Self::KEYS).
    ///
    /// A field whose value encodes like its default is removed from the store rather than
    /// written, since decoding a missing field yields that same default.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the default value cannot be serialized.
    fn encode_default(index: usize) -> Result<Value, Error>;
}

/// Helpers for the code that `#[derive(Session)]` generates. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::Error;
    pub use crate::data::{Fields, SessionData};
    pub use serde_json::Value;

    use serde::{Serialize, de::DeserializeOwned};

    /// Decodes the field stored under `key`, or falls back to `default`.
    #[inline]
    pub fn decode_field<T: DeserializeOwned>(
        fields: &Fields,
        key: &'static str,
        default: fn() -> T,
    ) -> T {
        let Some(value) = fields.get(key) else {
            return default();
        };
        match T::deserialize(value) {
            Ok(decoded) => decoded,
            Err(error) => {
                tracing::warn!(
                    field = key,
                    %error,
                    "stored session field does not decode into `{}`; using its default",
                    ::core::any::type_name::<T>()
                );
                default()
            }
        }
    }

    /// Encodes one field.
    #[inline]
    pub fn encode_field<T: Serialize + ?Sized>(
        key: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        serde_json::to_value(value).map_err(|source| Error::Encode { key, source })
    }

    /// Names a field type that must be storable; used for spanned trait-bound errors.
    #[inline]
    pub const fn assert_field<T: Serialize + DeserializeOwned + Send + Sync + 'static>() {}

    /// Names a skipped field type that must have a default.
    #[inline]
    pub const fn assert_default<T: Default>() {}

    /// Called where an invalid `#[derive(Session)]` input still gets a stub impl.
    #[cold]
    pub fn invalid_derive() -> ! {
        ::core::panic!("`#[derive(Session)]` failed to compile; see the error above")
    }
}
