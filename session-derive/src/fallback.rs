//! What an invalid input expands to: its errors, and a stub impl so that uses of the type as a
//! `SessionData` do not add errors of their own.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{DeriveInput, parse_quote};

use crate::ast::{crate_at, default_crate};
use crate::attr;
use crate::ctxt::Ctxt;
use crate::lints;

/// The `compile_error!`s for `errors`, and a `SessionData` impl whose methods never return.
pub(crate) fn expand(node: &DeriveInput, errors: &[syn::Error]) -> TokenStream {
    let errors = errors.iter().map(syn::Error::to_compile_error);
    let ident = &node.ident;
    // The `crate = "..."` path if it parsed, so that the stub is found where the real impl
    // would be; its errors, if any, are among `errors` already.
    let krate = attr::container(&Ctxt::new(), &node.attrs)
        .krate
        .unwrap_or_else(default_crate);
    let krate = crate_at(&krate, Span::call_site());
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
            impl #impl_generics #krate::SessionData for #ident #ty_generics #where_clause {
                const KEYS: &'static [&'static str] = &[];

                fn decode(_: &#krate::__private::Fields) -> Self {
                    #krate::__private::invalid_derive()
                }

                fn encode(
                    &self,
                ) -> ::core::result::Result<
                    ::std::vec::Vec<#krate::__private::Value>,
                    #krate::__private::Error,
                > {
                    #krate::__private::invalid_derive()
                }

                fn encode_default(
                    _: usize,
                ) -> ::core::result::Result<
                    #krate::__private::Value,
                    #krate::__private::Error,
                > {
                    #krate::__private::invalid_derive()
                }
            }
        };
    }
}
