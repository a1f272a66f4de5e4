//! What an invalid input expands to: its errors, and a stub impl so that uses of the type as a
//! `SessionData` do not add errors of their own.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{DeriveInput, parse_quote};

use crate::lints;

/// The `compile_error!`s for `errors`, and a `SessionData` impl whose methods never return.
pub(crate) fn expand(node: &DeriveInput, errors: &[syn::Error]) -> TokenStream {
    let errors = errors.iter().map(syn::Error::to_compile_error);
    let ident = &node.ident;
    let mut generics = node.generics.clone();
    let (_, ty_generics, _) = node.generics.split_for_impl();
    // The stub must not fail the trait's `Send + Sync + 'static` supertraits itself. Behind a
    // `for<'__session>` the bound is not checked where it is written, only where it is used.
    generics
        .make_where_clause()
        .predicates
        .push(parse_quote!(for<'__session> #ident #ty_generics: ::core::marker::Send + ::core::marker::Sync + 'static));
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    let attrs = lints::impl_attrs(node);
    quote! {
        #(#errors)*

        const _: () = {
            #attrs
            impl #impl_generics ::typed_sessions::SessionData for #ident #ty_generics #where_clause {
                const KEYS: &'static [&'static str] = &[];

                fn decode(_: &::typed_sessions::__private::Fields) -> Self {
                    ::typed_sessions::__private::invalid_derive()
                }

                fn encode(
                    &self,
                ) -> ::core::result::Result<
                    ::std::vec::Vec<::typed_sessions::__private::Value>,
                    ::typed_sessions::__private::Error,
                > {
                    ::typed_sessions::__private::invalid_derive()
                }

                fn encode_default(
                    _: usize,
                ) -> ::core::result::Result<
                    ::typed_sessions::__private::Value,
                    ::typed_sessions::__private::Error,
                > {
                    ::typed_sessions::__private::invalid_derive()
                }
            }
        };
    }
}
