//! `#[derive(Session)]` for typed-sessions.
//!
//! The phases live in their own modules: `ast` models the input, `attr` parses
//! `#[session(...)]`, `valid` checks across fields, `expand` writes the impl and `fallback`
//! writes a stub impl next to the errors when the input is invalid; `lints` gives both impls
//! their attributes.

mod ast;
mod attr;
mod ctxt;
mod expand;
mod fallback;
mod lints;
mod valid;

#[cfg(test)]
mod tests;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `typed_sessions::SessionData` for a struct with named fields: each field is stored
/// as its own JSON value under its storage key, so that a change to one field is saved without
/// the others.
///
/// Every field must be `Send + Sync + 'static`; a stored field must also be
/// `Serialize + DeserializeOwned`, and `Default` unless it names a `default` function; a skipped
/// field must be `Default`. A field type that falls short is reported at the field, in these
/// terms. Generic structs, enums, tuple structs, unit structs and unions are refused.
///
/// Attributes:
///
/// - on the struct, `#[session(namespace = "cart")]`: storage keys become `cart.<key>`, so that
///   several session types can share one session without clashing;
/// - on the struct, `#[session(crate = "my_app::sessions")]`: the path the generated code
///   names typed-sessions by (default: `::typed_sessions`), for a crate that re-exports it, as
///   `#[serde(crate = "...")]` does;
/// - on a field, `#[session(rename = "u")]`: the storage key (default: the field's name); keeps
///   reading an old key after a field is renamed;
/// - on a field, `#[session(default = "path::to::fn")]`: a `fn() -> FieldType` used when the
///   field is missing or no longer decodes (default: `Default::default`);
/// - on a field, `#[session(skip)]`: never stored; `Default::default()` on every request.
///
/// A missing field takes its default; a field that fails to decode takes its default and logs a
/// warning; stored keys the struct does not know are kept. See `typed_sessions::SessionData`
/// for a complete example.
#[proc_macro_derive(Session, attributes(session))]
pub fn derive_session(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}
