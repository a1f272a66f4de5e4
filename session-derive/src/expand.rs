//! The generated `SessionData` impl. Tokens only: every check happened before.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{DeriveInput, LitStr, Path};

use crate::ast::{Field, Input, crate_at};
use crate::ctxt::Ctxt;
use crate::{fallback, lints, valid};

/// Expands `#[derive(Session)]` on `node`: the impl, or the errors and a stub impl.
pub(crate) fn derive(node: &DeriveInput) -> TokenStream {
    match parse(node) {
        Ok(input) => impl_session(&input),
        Err(errors) => fallback::expand(node, &errors),
    }
}

/// Models and checks `node`, collecting every error.
fn parse(node: &DeriveInput) -> Result<Input<'_>, Vec<syn::Error>> {
    let cx = Ctxt::new();
    let input = Input::from_syn(&cx, node);
    if let Some(input) = &input {
        valid::check(&cx, input);
    }
    let errors = cx.finish();
    match input {
        Some(input) if errors.is_empty() => Ok(input),
        // `from_syn` returns `None` only after reporting why.
        _ => Err(errors),
    }
}

/// The impl for a valid input.
fn impl_session(input: &Input<'_>) -> TokenStream {
    let ident = &input.original.ident;
    let path = &input.krate;
    let krate = crate_at(path, Span::call_site());
    // Mixed-site names, so that a user's `default = "..."` path can never resolve to them.
    let fields = Ident::new("__fields", Span::mixed_site());
    let index = Ident::new("__index", Span::mixed_site());

    let stored: Vec<&Field<'_>> = input.stored().collect();
    let keys: Vec<LitStr> = stored.iter().map(|field| key(field)).collect();
    let encodes = stored.iter().map(|field| encode(field, path));
    let indices = (0..stored.len()).map(Literal::usize_unsuffixed);
    let encode_defaults = stored.iter().map(|field| encode_default(field, path));
    let out_of_range = format!(
        "index {{}} is out of range for `{ident}::KEYS`, which has {} keys",
        stored.len()
    );
    // Every body that uses the field types first asserts their bounds at the field, so that
    // rustc reports an unmet bound once, there, rather than once per use.
    let assert_all = input.fields.iter().map(|field| assertion(field, path));
    let assert_stored: Vec<TokenStream> =
        stored.iter().map(|field| assertion(field, path)).collect();
    let inits = input.fields.iter().map(|field| init(field, &fields, path));
    let bind_defaults = stored.iter().map(|field| bind_default(field));
    let flash = flash_const(&stored);
    let index_items = index_items(&stored, path);
    let attrs = lints::impl_attrs(input.original);

    quote! {
        const _: () = {
            #attrs
            impl #krate::SessionData for #ident {
                const KEYS: &'static [&'static str] = &[#(#keys),*];
                #flash
                #index_items

                fn decode(#fields: &#krate::__private::Fields) -> Self {
                    #(#assert_all)*
                    #(#bind_defaults)*
                    Self { #(#inits,)* }
                }

                fn encode(
                    &self,
                ) -> ::core::result::Result<
                    ::std::vec::Vec<#krate::__private::Value>,
                    #krate::__private::Error,
                > {
                    #(#assert_stored)*
                    ::core::result::Result::Ok(::std::vec::Vec::from([#(#encodes?,)*]))
                }

                fn encode_default(
                    #index: usize,
                ) -> ::core::result::Result<
                    #krate::__private::Value,
                    #krate::__private::Error,
                > {
                    #(#assert_stored)*
                    match #index {
                        #(#indices => #encode_defaults,)*
                        _ => ::core::unreachable!(#out_of_range, #index),
                    }
                }
            }
        };
    }
}

/// `const FLASH` listing the flash fields' indices in `KEYS`; nothing without flash fields
/// (the trait's default, none).
fn flash_const(stored: &[&Field<'_>]) -> TokenStream {
    let flash: Vec<Literal> = stored
        .iter()
        .enumerate()
        .filter(|(_, field)| field.is_flash())
        .map(|(index, _)| Literal::usize_unsuffixed(index))
        .collect();
    if flash.is_empty() {
        return TokenStream::new();
    }
    quote!(const FLASH: &'static [usize] = &[#(#flash),*];)
}

/// `const INDEX` and `index_value` for the `#[session(index)]` field; nothing without one (the
/// trait's defaults: no index).
fn index_items(stored: &[&Field<'_>], krate: &Path) -> TokenStream {
    let Some((position, field)) = stored
        .iter()
        .enumerate()
        .find(|(_, field)| field.is_index())
    else {
        return TokenStream::new();
    };
    let position = Literal::usize_unsuffixed(position);
    let ty = field.ty;
    let member = field.ident;
    let krate_at_ty = crate_at(krate, ty.span());
    let bytes = quote_spanned! {ty.span()=>
        #krate_at_ty::__private::assert_index::<#ty>();
        #krate_at_ty::__private::index_bytes::<#ty>(&self.#member)
    };
    quote! {
        const INDEX: ::core::option::Option<usize> = ::core::option::Option::Some(#position);

        fn index_value(&self) -> ::core::option::Option<::std::vec::Vec<u8>> {
            #bytes
        }
    }
}

/// The field's storage key as a string literal, spanned where it was written.
fn key(field: &Field<'_>) -> LitStr {
    LitStr::new(&field.key, field.key_span())
}

/// For a field with `default = "..."`, binds the user's function as a `fn() -> T`.
///
/// `decode` and `encode_default` both bind it with these same tokens, so a function of the
/// wrong type makes two identical errors, which rustc reports once.
fn bind_default(field: &Field<'_>) -> TokenStream {
    let Some(path) = &field.attrs.default else {
        return TokenStream::new();
    };
    let ty = field.ty;
    let name = default_name(field);
    quote_spanned!(ty.span()=> let #name: fn() -> #ty = #path;)
}

/// The local that [`bind_default`] binds; mixed-site, so the user's path cannot name it.
fn default_name(field: &Field<'_>) -> Ident {
    Ident::new(
        &format!("__default_{}", field.ident.unraw()),
        Span::mixed_site(),
    )
}

/// The `fn() -> T` that gives a stored field its default.
fn default_fn(field: &Field<'_>) -> TokenStream {
    match &field.attrs.default {
        Some(_) => default_name(field).into_token_stream(),
        None => {
            let ty = field.ty;
            quote_spanned!(ty.span()=> <#ty as ::core::default::Default>::default)
        }
    }
}

/// Encodes a stored field of `self`.
fn encode(field: &Field<'_>, krate: &Path) -> TokenStream {
    let ty = field.ty;
    let krate = crate_at(krate, ty.span());
    let member = field.ident;
    let key = key(field);
    quote_spanned!(ty.span()=> #krate::__private::encode_field::<#ty>(#key, &self.#member))
}

/// Encodes the default of a stored field.
fn encode_default(field: &Field<'_>, krate: &Path) -> TokenStream {
    let ty = field.ty;
    let krate = crate_at(krate, ty.span());
    let key = key(field);
    let bind = bind_default(field);
    let default = default_fn(field);
    quote_spanned! {ty.span()=>
        {
            #bind
            #krate::__private::encode_field::<#ty>(#key, &#default())
        }
    }
}

/// The field's initializer in `decode`.
fn init(field: &Field<'_>, fields: &Ident, krate: &Path) -> TokenStream {
    let member = field.ident;
    let ty = field.ty;
    let krate = crate_at(krate, ty.span());
    if field.is_skipped() {
        let default = quote_spanned!(ty.span()=> <#ty as ::core::default::Default>::default());
        return quote!(#member: #default);
    }
    let key = key(field);
    let default = default_fn(field);
    let decode = quote_spanned! {ty.span()=>
        #krate::__private::decode_field::<#ty>(#fields, #key, #default)
    };
    quote!(#member: #decode)
}

/// The bounds the field's type must meet, checked where the type is written.
///
/// Each helper's bounds are traits of `__private` that word an unmet bound for a session
/// field, and imply the bounds that the generated bodies then use, so that rustc does not
/// report those again.
fn assertion(field: &Field<'_>, krate: &Path) -> TokenStream {
    let ty = field.ty;
    let krate = crate_at(krate, ty.span());
    let helper = if field.is_skipped() {
        "assert_skipped"
    } else if field.is_flash() {
        "assert_flash"
    } else if field.attrs.default.is_some() {
        "assert_stored"
    } else {
        "assert_stored_default"
    };
    let helper = Ident::new(helper, ty.span());
    quote_spanned!(ty.span()=> #krate::__private::#helper::<#ty>();)
}
