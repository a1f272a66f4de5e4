//! The attributes on the generated impls, for the lints a user may deny.
//!
//! The derive's own paths are absolute and spanned at the derive, so lints leave them alone as
//! macro code. But an impl also repeats the user's tokens at the user's spans: the field types,
//! the `default` paths, the field and struct names. Lints judge those as the user's code, inside
//! an impl that the user cannot put an attribute on; an `#[allow(...)]` on the struct or a field
//! does not reach it.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Attribute, Data, DeriveInput};

/// `#[automatically_derived]`, and an `#[allow(...)]` for what the user's tokens trip inside
/// the impl.
///
/// - `unused_qualifications`: a qualified field type or `default` path, such as
///   `std::string::String` or `"defaults::theme"`, where the last name is also in scope;
/// - `clippy::absolute_paths`, `clippy::std_instead_of_core`, `clippy::std_instead_of_alloc`:
///   the same paths;
/// - `clippy::type_complexity`: a long field type, in the `fn() -> T` that binds a `default`;
/// - `deprecated`: a deprecated struct, field, field type or `default` function. Only when the
///   struct or a field says that it knows (`#[deprecated]`, or `deprecated` in an `allow` or
///   `expect`), as serde does: an `allow` always on would be an error under `forbid(deprecated)`.
///
/// The others are always on, as serde's and thiserror's are: a crate that forbids one of them
/// cannot use this derive, nor serde's.
pub(crate) fn impl_attrs(node: &DeriveInput) -> TokenStream {
    let deprecated = knows_deprecated(node).then(|| quote!(deprecated,));
    quote! {
        #[automatically_derived]
        #[allow(
            unused_qualifications,
            #deprecated
            clippy::absolute_paths,
            clippy::std_instead_of_core,
            clippy::std_instead_of_alloc,
            clippy::type_complexity,
        )]
    }
}

/// Whether the struct or one of its fields is `#[deprecated]` or allows or expects `deprecated`.
fn knows_deprecated(node: &DeriveInput) -> bool {
    let fields = match &node.data {
        Data::Struct(data) => data.fields.iter().collect(),
        Data::Enum(_) | Data::Union(_) => Vec::new(),
    };
    node.attrs
        .iter()
        .chain(fields.into_iter().flat_map(|field| &field.attrs))
        .any(mentions_deprecated)
}

/// `#[deprecated...]`, or `#[allow(...)]` or `#[expect(...)]` naming `deprecated`.
fn mentions_deprecated(attr: &Attribute) -> bool {
    let path = attr.path();
    if path.is_ident("deprecated") {
        return true;
    }
    if !path.is_ident("allow") && !path.is_ident("expect") {
        return false;
    }
    let mut found = false;
    // A malformed list is rustc's to report; whatever was read before the error still counts.
    let _ = attr.parse_nested_meta(|meta| {
        found |= meta.path.is_ident("deprecated");
        // Skips a `reason = "..."`.
        if meta.input.peek(syn::Token![=]) {
            meta.value()?.parse::<syn::Expr>()?;
        }
        Ok(())
    });
    found
}
