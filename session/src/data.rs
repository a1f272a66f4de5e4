//! The runtime side of `#[derive(Session)]`: the [`SessionData`] trait and the helpers that the
//! generated code calls through `__private`.

use serde_json::Value;

use crate::Error;
use crate::store::Fields;

/// A struct that can live in a session, field by field.
///
/// Implement it with `#[derive(Session)]`; writing it by hand is possible but rarely useful.
/// Every stored field is encoded as its own JSON value under its storage key, so that a change
/// to one field is written without touching the others.
///
/// # Examples
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

    /// The indices in [`KEYS`](Self::KEYS) of the flash fields (`#[session(flash)]`): each is
    /// removed from the session by the first request that extracts this type and does not set
    /// it again (see [`flash`](crate::flash)). None by default.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::{Session, SessionData};
    ///
    /// #[derive(Session, Default)]
    /// struct Page {
    ///     views: u64,
    ///     #[session(flash)]
    ///     notice: Option<String>,
    /// }
    ///
    /// assert_eq!(Page::FLASH, &[1]);
    /// ```
    const FLASH: &'static [usize] = &[];

    /// The index in [`KEYS`](Self::KEYS) of the field the store indexes (`#[session(index)]`),
    /// so that every session of one value (a user's devices) can be listed and revoked: see
    /// [`devices`](crate::devices). None by default.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::{Session, SessionData};
    ///
    /// #[derive(Session, Default)]
    /// struct Auth {
    ///     #[session(index)]
    ///     user: Option<u64>,
    ///     device: String,
    /// }
    ///
    /// assert_eq!(Auth::INDEX, Some(0));
    /// assert_eq!(Auth { user: Some(7), device: "phone".into() }.index_value(), Some(b"i:7".to_vec()));
    /// ```
    const INDEX: Option<usize> = None;

    /// The bytes of the indexed field's value ([`IndexValue`](crate::devices::IndexValue)), or
    /// `None` when the session is not indexed (the field is `None`, or the type has no index).
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::{Session, SessionData};
    ///
    /// #[derive(Session, Default)]
    /// struct Auth {
    ///     #[session(index)]
    ///     user: Option<String>,
    /// }
    ///
    /// assert_eq!(Auth { user: None }.index_value(), None); // not logged in: not indexed
    /// assert_eq!(Auth { user: Some("ann".into()) }.index_value(), Some(b"s:ann".to_vec()));
    /// ```
    fn index_value(&self) -> Option<Vec<u8>> {
        None
    }

    /// Builds the value from stored fields.
    ///
    /// A missing field takes its default; a field that fails to decode takes its default and
    /// logs a warning. Decoding never fails as a whole.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::store::Fields;
    /// use typed_sessions::{Session, SessionData};
    ///
    /// #[derive(Session, Default)]
    /// struct Visit {
    ///     views: u64,
    ///     user: Option<String>,
    /// }
    ///
    /// let mut fields = Fields::new();
    /// fields.insert("views".into(), 3.into());
    /// fields.insert("user".into(), 42.into()); // not a string: the default instead
    /// let visit = Visit::decode(&fields);
    /// assert_eq!((visit.views, visit.user), (3, None));
    /// ```
    fn decode(fields: &Fields) -> Self;

    /// Encodes every stored field, in the order of [`KEYS`](Self::KEYS).
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when a field's `Serialize` implementation fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::{Session, SessionData};
    ///
    /// #[derive(Session, Default)]
    /// struct Visit {
    ///     views: u64,
    ///     user: Option<String>,
    /// }
    ///
    /// let visit = Visit { views: 2, user: Some("ann".into()) };
    /// assert_eq!(visit.encode()?, [serde_json::json!(2), serde_json::json!("ann")]);
    /// # Ok::<(), typed_sessions::Error>(())
    /// ```
    fn encode(&self) -> Result<Vec<Value>, Error>;

    /// Encodes the default value of the stored field at `index` in [`KEYS`](Self::KEYS).
    ///
    /// A field whose value encodes like its default is removed from the store rather than
    /// written, since decoding a missing field yields that same default.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the default value cannot be serialized.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::{Session, SessionData};
    ///
    /// #[derive(Session, Default)]
    /// struct Visit {
    ///     views: u64,
    ///     user: Option<String>,
    /// }
    ///
    /// assert_eq!(Visit::encode_default(0)?, serde_json::json!(0));
    /// assert_eq!(Visit::encode_default(1)?, serde_json::Value::Null);
    /// # Ok::<(), typed_sessions::Error>(())
    /// ```
    fn encode_default(index: usize) -> Result<Value, Error>;
}

/// Helpers for the code that `#[derive(Session)]` generates. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::Error;
    pub use crate::data::SessionData;
    pub use crate::store::Fields;
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
            Err(_) => {
                // Not serde's message: it quotes the stored value, which may be a secret.
                tracing::warn!(
                    field = key,
                    found = kind(value),
                    "stored session field does not decode into `{}`; using its default",
                    ::core::any::type_name::<T>()
                );
                default()
            }
        }
    }

    /// What kind of JSON `value` is, without what it holds.
    fn kind(value: &Value) -> &'static str {
        match value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
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

    // The traits below name each bound a field's type must meet. The derive asserts them at
    // the field's type, so that an unmet bound is reported there once, in the session's words,
    // and rustc then leaves out the errors that the same bound causes in the generated bodies.
    // `do_not_recommend` on each blanket impl makes rustc report the unmet bound as the
    // trait's own, with its message, rather than as the bound of the impl (serde's, listing
    // every type that implements it).

    /// A stored field's type: each stored field is its own JSON value in the session.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be stored in a session field: it must implement `Serialize` and `Deserialize`",
        label = "each stored field is saved as its own JSON value",
        note = "derive them with `#[derive(serde::Serialize, serde::Deserialize)]`, or keep the field out of the session with `#[session(skip)]`"
    )]
    pub trait StoredField: Serialize + DeserializeOwned {}

    #[diagnostic::do_not_recommend]
    impl<T: Serialize + DeserializeOwned> StoredField for T {}

    /// A stored field's type when the field names no `default` function.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be a session field without a `default` function: it must implement `Default`",
        label = "a field missing from the session, or that no longer decodes, takes its default",
        note = "derive it with `#[derive(Default)]`, or name a function that makes one with `#[session(default = \"path::to::fn\")]`"
    )]
    pub trait DefaultField: Default {}

    #[diagnostic::do_not_recommend]
    impl<T: Default> DefaultField for T {}

    /// A skipped field's type: never stored, so rebuilt with `Default::default()`.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be a skipped session field: it must implement `Default`",
        label = "a skipped field is never stored, so every request starts it from its default",
        note = "derive it with `#[derive(Default)]`, or implement `Default` for `{Self}`"
    )]
    pub trait SkippedField: Default {}

    #[diagnostic::do_not_recommend]
    impl<T: Default> SkippedField for T {}

    /// Any field's type, stored or skipped: a session type is `Send + Sync + 'static`.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be a session field: it must be `Send` and `Sync`",
        label = "a session is shared between requests, which may run on other threads"
    )]
    pub trait SharedField: Send + Sync + 'static {}

    #[diagnostic::do_not_recommend]
    impl<T: Send + Sync + 'static> SharedField for T {}

    /// Names the type of a stored field with a `default` function.
    #[inline]
    pub const fn assert_stored<T: StoredField + SharedField>() {}

    /// Names the type of a stored field that defaults to `Default::default()`.
    #[inline]
    pub const fn assert_stored_default<T: StoredField + DefaultField + SharedField>() {}

    /// Names the type of a flash field: stored, with an empty value as its default.
    #[inline]
    pub const fn assert_flash<T: StoredField + crate::flash::FlashValue + SharedField>() {}

    /// Names the type of an indexed field.
    #[inline]
    pub const fn assert_index<T: crate::index_value::IndexValue>() {}

    /// The bytes of an indexed field's value.
    #[inline]
    pub fn index_bytes<T: crate::index_value::IndexValue>(value: &T) -> Option<Vec<u8>> {
        value.index_bytes()
    }

    /// Names the type of a skipped field.
    #[inline]
    pub const fn assert_skipped<T: SkippedField + SharedField>() {}

    /// Called where an invalid `#[derive(Session)]` input still gets a stub impl.
    #[cold]
    pub fn invalid_derive() -> ! {
        ::core::panic!("`#[derive(Session)]` failed to compile; see the error above")
    }
}
