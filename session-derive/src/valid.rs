//! Checks that need the whole input: generics, and storage keys across fields.

use std::collections::HashMap;

use crate::ast::{Field, Input};
use crate::ctxt::Ctxt;

/// Reports everything that makes `input` impossible to expand.
pub(crate) fn check(cx: &Ctxt, input: &Input<'_>) {
    check_generics(cx, input);
    check_keys(cx, input);
    check_reserved(cx, input);
    check_index(cx, input);
}

/// The store indexes one value per session: a second `#[session(index)]` field is refused.
fn check_index(cx: &Ctxt, input: &Input<'_>) {
    let mut indexed = input.stored().filter(|field| field.is_index());
    let Some(first) = indexed.next() else {
        return;
    };
    for field in indexed {
        let span = field
            .attrs
            .index
            .as_ref()
            .map_or_else(|| field.key_span(), syn::spanned::Spanned::span);
        cx.syn_error(syn::Error::new(
            span,
            format!(
                "only one field of a session can be `#[session(index)]`, and `{}` already is: \
                 the store indexes one value per session",
                first.ident
            ),
        ));
    }
}

/// Storage keys starting with `$` hold the library's own data beside the fields (a session's
/// lifetime, its CSRF secret): a field stored under one would overwrite it.
fn check_reserved(cx: &Ctxt, input: &Input<'_>) {
    let reserved = |key: &str| key.starts_with('$');
    if let Some(namespace) = &input.namespace
        && reserved(&namespace.value())
    {
        cx.syn_error(syn::Error::new(
            namespace.span(),
            "session namespaces must not start with `$`: keys starting with `$` are reserved \
             for typed-sessions' own data",
        ));
        return;
    }
    for field in input.stored().filter(|field| reserved(&field.key)) {
        cx.syn_error(syn::Error::new(
            field.key_span(),
            format!(
                "session key `{}` must not start with `$`: keys starting with `$` are reserved \
                 for typed-sessions' own data; choose another `#[session(rename = \"...\")]`",
                field.key
            ),
        ));
    }
}

/// A session type is stored under fixed keys and must be `'static`, so generic parameters would
/// only move the errors into the generated impl.
fn check_generics(cx: &Ctxt, input: &Input<'_>) {
    let generics = &input.original.generics;
    if !generics.params.is_empty() {
        cx.error_spanned_by(
            generics,
            "`#[derive(Session)]` does not support generic parameters; wrap the generic data in \
             a concrete struct",
        );
    }
}

/// Two stored fields under one key would overwrite each other in the store.
fn check_keys(cx: &Ctxt, input: &Input<'_>) {
    let mut owners: HashMap<&str, &Field<'_>> = HashMap::new();
    for field in input.stored() {
        if let Some(owner) = owners.get(field.key.as_str()) {
            cx.syn_error(syn::Error::new(
                field.key_span(),
                format!(
                    "duplicate session key `{}`, already used by field `{}`; give one of them a \
                     different `#[session(rename = \"...\")]`",
                    field.key, owner.ident
                ),
            ));
        } else {
            owners.insert(&field.key, field);
        }
    }
}
