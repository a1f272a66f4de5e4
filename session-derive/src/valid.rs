//! Checks that need the whole input: generics, and storage keys across fields.

use std::collections::HashMap;

use crate::ast::{Field, Input};
use crate::ctxt::Ctxt;

/// Reports everything that makes `input` impossible to expand.
pub(crate) fn check(cx: &Ctxt, input: &Input<'_>) {
    check_generics(cx, input);
    check_keys(cx, input);
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

/// Two stored fields under one key would overwrite each other in the store, and a key of the
/// runtime's own would be overwritten by it.
fn check_keys(cx: &Ctxt, input: &Input<'_>) {
    let mut owners: HashMap<&str, &Field<'_>> = HashMap::new();
    for field in input.stored() {
        // The runtime keeps its own fields (a CSRF secret) under keys starting with `$`.
        if field.key.starts_with('$') {
            cx.syn_error(syn::Error::new(
                field.key_span(),
                format!(
                    "session key `{}` starts with `$`, which is reserved for the fields the \
                     session layer keeps itself; choose another `rename` or `namespace`",
                    field.key
                ),
            ));
        }
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
