//! `#[derive(Session)]` for typed-sessions.
//!
//! The phases live in their own modules: [`ast`] models the input, [`attr`] parses
//! `#[session(...)]`, [`valid`] checks across fields, [`expand`] writes the impl and [`fallback`]
//! writes a stub impl next to the errors when the input is invalid.

mod ast;
mod attr;
mod ctxt;
mod expand;
mod fallback;
mod valid;

#[cfg(test)]
mod tests;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `typed_sessions::SessionData` for a struct with named fields.
///
/// See the `typed_sessions::SessionData` docs for the `#[session(...)]` attributes.
#[proc_macro_derive(Session, attributes(session))]
pub fn derive_session(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}
