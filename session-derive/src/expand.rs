//! The generated `SessionData` impl. Tokens only: every check happened before.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, LitStr};

use crate::ast::{Field, Input};
use crate::ctxt::Ctxt;
use crate::{fallback, valid};

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
    // Mixed-site names, so that a user's `default = "..."` path can never resolve to them.
    let fields = Ident::new("__fields", Span::mixed_site());
    let index = Ident::new("__index", Span::mixed_site());

    let stored: Vec<&Field<'_>> = input.stored().collect();
    let keys: Vec<LitStr> = stored.iter().map(|field| key(field)).collect();
    let members = stored.iter().map(|field| field.ident);
    let indices = (0..stored.len()).map(Literal::usize_unsuffixed);
    let defaults: Vec<TokenStream> = stored.iter().map(|field| default_fn(field)).collect();
    let assertions = input.fields.iter().map(assertion);
    let inits = input.fields.iter().map(|field| init(field, &fields));
    let out_of_range = format!(
        "index {{}} is out of range for `{ident}::KEYS`, which has {} keys",
        stored.len()
    );

    quote! {
        const _: () = {
            #[automatically_derived]
            impl ::typed_sessions::SessionData for #ident {
                const KEYS: &'static [&'static str] = &[#(#keys),*];

                fn decode(#fields: &::typed_sessions::__private::Fields) -> Self {
                    Self { #(#inits,)* }
                }

                fn encode(
                    &self,
                ) -> ::core::result::Result<
                    ::std::vec::Vec<::typed_sessions::__private::Value>,
                    ::typed_sessions::__private::Error,
                > {
                    ::core::result::Result::Ok(::std::vec::Vec::from([
                        #(::typed_sessions::__private::encode_field(#keys, &self.#members)?,)*
                    ]))
                }

                fn encode_default(
                    #index: usize,
                ) -> ::core::result::Result<
                    ::typed_sessions::__private::Value,
                    ::typed_sessions::__private::Error,
                > {
                    match #index {
                        #(#indices => ::typed_sessions::__private::encode_field(#keys, &#defaults()),)*
                        _ => ::core::unreachable!(#out_of_range, #index),
                    }
                }
            }

            #(#assertions)*
        };
    }
}

/// The field's storage key as a string literal, spanned where it was written.
fn key(field: &Field<'_>) -> LitStr {
    LitStr::new(&field.key, field.key_span())
}

/// The `fn() -> T` that gives a stored field its default.
fn default_fn(field: &Field<'_>) -> TokenStream {
    match &field.attrs.default {
        Some(path) => quote!(#path),
        None => {
            let ty = field.ty;
            quote_spanned!(ty.span()=> <#ty as ::core::default::Default>::default)
        }
    }
}

/// The field's initializer in `decode`.
fn init(field: &Field<'_>, fields: &Ident) -> TokenStream {
    let member = field.ident;
    let ty = field.ty;
    if field.is_skipped() {
        let default = quote_spanned!(ty.span()=> <#ty as ::core::default::Default>::default());
        return quote!(#member: #default);
    }
    let key = key(field);
    let default = default_fn(field);
    quote!(#member: ::typed_sessions::__private::decode_field::<#ty>(#fields, #key, #default))
}

/// The bound the field's type must meet, checked where the type is written.
fn assertion(field: &Field<'_>) -> TokenStream {
    let ty = field.ty;
    if field.is_skipped() {
        quote_spanned!(ty.span()=> ::typed_sessions::__private::assert_default::<#ty>();)
    } else {
        quote_spanned!(ty.span()=> ::typed_sessions::__private::assert_field::<#ty>();)
    }
}
