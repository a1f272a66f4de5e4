//! `#[session(...)]` on the struct and on its fields, parsed with `parse_nested_meta`.
//!
//! Errors about one value (malformed, empty, duplicate, conflicting) are recorded and parsing
//! goes on; an unknown name ends its attribute, since its value cannot be skipped reliably.

use proc_macro2::TokenTree;
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Expr, ExprLit, ExprPath, Lit, LitStr, Path, Token};

use crate::ctxt::Ctxt;

/// `#[session(...)]` on the struct.
#[derive(Default)]
pub(crate) struct Container {
    /// `namespace = "cart"`: the prefix of every storage key, without its `.`.
    pub(crate) namespace: Option<LitStr>,
    /// `crate = "my_app::sessions"`: where the generated code finds typed-sessions, for a crate
    /// that re-exports it (default: `::typed_sessions`).
    pub(crate) krate: Option<Path>,
}

/// `#[session(...)]` on a field.
#[derive(Default)]
pub(crate) struct Field {
    /// `rename = "u"`: the storage key, before the namespace.
    pub(crate) rename: Option<LitStr>,
    /// `default = "path::to::fn"`, parsed into the path it names.
    pub(crate) default: Option<ExprPath>,
    /// `skip`: the word itself, kept for its span.
    pub(crate) skip: Option<Path>,
    /// `flash`: the word itself, kept for its span.
    pub(crate) flash: Option<Path>,
    /// `index`: the word itself, kept for its span.
    pub(crate) index: Option<Path>,
}

/// Parses the struct's `#[session(...)]` attributes.
pub(crate) fn container(cx: &Ctxt, attrs: &[Attribute]) -> Container {
    let mut container = Container::default();
    let mut seen = Seen::default();
    for attr in session_attrs(attrs) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("namespace") {
                let first = seen.first(cx, &meta.path, "namespace");
                let lit = string_value(cx, &meta, "namespace", "\"cart\"")?;
                if first {
                    container.namespace = lit;
                }
                Ok(())
            } else if meta.path.is_ident("crate") {
                let first = seen.first(cx, &meta.path, "crate");
                let path = string_value(cx, &meta, "crate", "\"my_app::sessions\"")?
                    .and_then(|lit| crate_path(cx, &lit));
                if first {
                    container.krate = path;
                }
                Ok(())
            } else {
                Err(unknown(&meta, "expected one of `namespace`, `crate`"))
            }
        });
        if let Err(error) = parsed {
            cx.syn_error(error);
        }
    }
    container
}

/// Parses a field's `#[session(...)]` attributes.
pub(crate) fn field(cx: &Ctxt, attrs: &[Attribute]) -> Field {
    let mut field = Field::default();
    let mut seen = Seen::default();
    for attr in session_attrs(attrs) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let first = seen.first(cx, &meta.path, "rename");
                let lit = string_value(cx, &meta, "rename", "\"name\"")?;
                if field.skip.is_some() {
                    conflict(cx, &meta.path, "rename", "skip");
                } else if first {
                    field.rename = lit;
                }
            } else if meta.path.is_ident("default") {
                let first = seen.first(cx, &meta.path, "default");
                let path = string_value(cx, &meta, "default", "\"crate::default_views\"")?
                    .and_then(|lit| function_path(cx, &lit));
                if field.skip.is_some() {
                    conflict(cx, &meta.path, "default", "skip");
                } else if field.flash.is_some() {
                    flash_default(cx, &meta.path);
                } else if first {
                    field.default = path;
                }
            } else if meta.path.is_ident("skip") {
                let first = seen.first(cx, &meta.path, "skip");
                if !(meta.input.is_empty() || meta.input.peek(Token![,])) {
                    skip_value(&meta)?;
                    cx.syn_error(meta.error("`skip` takes no value; write `#[session(skip)]`"));
                } else if seen.has("rename") {
                    conflict(cx, &meta.path, "skip", "rename");
                } else if seen.has("default") {
                    conflict(cx, &meta.path, "skip", "default");
                } else if seen.has("flash") {
                    conflict(cx, &meta.path, "skip", "flash");
                } else if seen.has("index") {
                    conflict(cx, &meta.path, "skip", "index");
                } else if first {
                    field.skip = Some(meta.path.clone());
                }
            } else if meta.path.is_ident("flash") {
                let first = seen.first(cx, &meta.path, "flash");
                if !(meta.input.is_empty() || meta.input.peek(Token![,])) {
                    skip_value(&meta)?;
                    cx.syn_error(meta.error("`flash` takes no value; write `#[session(flash)]`"));
                } else if seen.has("skip") {
                    conflict(cx, &meta.path, "flash", "skip");
                } else if seen.has("default") {
                    flash_default(cx, &meta.path);
                } else if first {
                    field.flash = Some(meta.path.clone());
                }
            } else if meta.path.is_ident("index") {
                let first = seen.first(cx, &meta.path, "index");
                if !(meta.input.is_empty() || meta.input.peek(Token![,])) {
                    skip_value(&meta)?;
                    cx.syn_error(meta.error("`index` takes no value; write `#[session(index)]`"));
                } else if seen.has("skip") {
                    conflict(cx, &meta.path, "index", "skip");
                } else if first {
                    field.index = Some(meta.path.clone());
                }
            } else {
                return Err(unknown(
                    &meta,
                    "expected one of `rename`, `default`, `skip`, `flash`, `index`",
                ));
            }
            Ok(())
        });
        if let Err(error) = parsed {
            cx.syn_error(error);
        }
    }
    field
}

/// The attributes that belong to this derive.
fn session_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|attr| attr.path().is_ident("session"))
}

/// The names already given to one struct or field, across all its `#[session(...)]`.
#[derive(Default)]
struct Seen(Vec<&'static str>);

impl Seen {
    /// Records `name`, reporting it at `path` if it was given before.
    fn first(&mut self, cx: &Ctxt, path: &Path, name: &'static str) -> bool {
        if self.has(name) {
            cx.error_spanned_by(path, format!("duplicate session attribute `{name}`"));
            false
        } else {
            self.0.push(name);
            true
        }
    }

    /// Whether `name` was given before.
    fn has(&self, name: &str) -> bool {
        self.0.contains(&name)
    }
}

/// Parses `= "..."`.
///
/// `Ok(None)` when a value was there but is not a non-empty string literal (already reported);
/// `Err` when there is no value at all, which leaves nothing sensible to parse after it.
fn string_value(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    name: &str,
    example: &str,
) -> syn::Result<Option<LitStr>> {
    if !meta.input.peek(Token![=]) {
        return Err(meta.error(format!(
            "session attribute `{name}` needs a value, like `{name} = {example}`"
        )));
    }
    let value: Expr = meta.value()?.parse()?;
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) if lit.value().is_empty() => {
            cx.error_spanned_by(
                &lit,
                format!("session attribute `{name}` must not be empty"),
            );
            Ok(None)
        }
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(Some(lit)),
        other => {
            cx.error_spanned_by(
                &other,
                format!(
                    "session attribute `{name}` expects a string literal, like `{name} = {example}`"
                ),
            );
            Ok(None)
        }
    }
}

/// Parses the string of `default = "..."` as the path of a function.
fn function_path(cx: &Ctxt, lit: &LitStr) -> Option<ExprPath> {
    match lit.parse::<ExprPath>() {
        Ok(path) => Some(path),
        Err(_) => {
            cx.error_spanned_by(
                lit,
                "session attribute `default` expects the path of a function `fn() -> T` \
                 in a string, like `default = \"crate::default_views\"`",
            );
            None
        }
    }
}

/// Parses the string of `crate = "..."` as the path typed-sessions is reachable at.
fn crate_path(cx: &Ctxt, lit: &LitStr) -> Option<Path> {
    match lit.parse::<Path>() {
        Ok(path) => Some(path),
        Err(_) => {
            cx.error_spanned_by(
                lit,
                "session attribute `crate` expects the path typed-sessions is re-exported at, \
                 in a string, like `crate = \"my_app::sessions\"`",
            );
            None
        }
    }
}

/// Consumes whatever follows a word that takes no value, so the error can cover it.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else {
        meta.input.parse::<TokenTree>()?;
    }
    Ok(())
}

/// Reports `name`, written after `other`, as incompatible with it.
fn conflict(cx: &Ctxt, path: &Path, name: &str, other: &str) {
    cx.error_spanned_by(
        path,
        format!(
            "session attribute `{name}` cannot be combined with `{other}`: a skipped field is \
             never stored and always starts from `Default::default()`"
        ),
    );
}

/// Reports `default` and `flash` on one field, at the later of the two.
fn flash_default(cx: &Ctxt, path: &Path) {
    cx.error_spanned_by(
        path,
        "session attributes `flash` and `default` cannot be combined: a consumed flash field \
         goes back to its empty value, `Default::default()`",
    );
}

/// The error for a name this derive does not know.
fn unknown(meta: &ParseNestedMeta<'_>, expected: &str) -> syn::Error {
    syn::Error::new_spanned(
        &meta.path,
        format!(
            "unknown session attribute `{}`; {expected}",
            path_name(&meta.path)
        ),
    )
}

/// A path as the user wrote it, without the spaces `to_string` puts between tokens.
fn path_name(path: &Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}
