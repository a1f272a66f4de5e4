//! The derive input as this macro sees it: a struct with named fields and their attributes,
//! borrowing the syn nodes so that every error can point at the user's tokens.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Fields, Ident, Path, Type, parse_quote};

use crate::attr;
use crate::ctxt::Ctxt;

/// A struct with named fields that `#[derive(Session)]` was applied to.
pub(crate) struct Input<'a> {
    /// The whole item, for its name and generics.
    pub(crate) original: &'a DeriveInput,
    /// Every field, skipped or not, in declaration order.
    pub(crate) fields: Vec<Field<'a>>,
    /// `#[session(namespace = "...")]`, where it was written.
    pub(crate) namespace: Option<syn::LitStr>,
    /// Where the generated code finds typed-sessions: `#[session(crate = "...")]`, else
    /// `::typed_sessions`.
    pub(crate) krate: Path,
}

/// One named field.
pub(crate) struct Field<'a> {
    /// The field's name, as written (possibly a raw identifier).
    pub(crate) ident: &'a Ident,
    /// The field's type.
    pub(crate) ty: &'a Type,
    /// The field's `#[session(...)]`.
    pub(crate) attrs: attr::Field,
    /// The storage key, namespace included; meaningless for a skipped field.
    pub(crate) key: String,
}

impl<'a> Input<'a> {
    /// Models `node`, or reports why it cannot be a session and returns `None`.
    pub(crate) fn from_syn(cx: &Ctxt, node: &'a DeriveInput) -> Option<Self> {
        let attrs = attr::container(cx, &node.attrs);
        let ident = &node.ident;
        let named = match &node.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => named,
                Fields::Unnamed(unnamed) => {
                    cx.error_spanned_by(unnamed, unsupported("tuple structs"));
                    return None;
                }
                Fields::Unit => {
                    let struct_token = data.struct_token;
                    cx.error_spanned_by(quote!(#struct_token #ident), unsupported("unit structs"));
                    return None;
                }
            },
            Data::Enum(data) => {
                let enum_token = data.enum_token;
                cx.error_spanned_by(quote!(#enum_token #ident), unsupported("enums"));
                return None;
            }
            Data::Union(data) => {
                let union_token = data.union_token;
                cx.error_spanned_by(quote!(#union_token #ident), unsupported("unions"));
                return None;
            }
        };
        let namespace = attrs.namespace.clone();
        let prefix = match &attrs.namespace {
            Some(namespace) => format!("{}.", namespace.value()),
            None => String::new(),
        };
        let fields = named
            .named
            .iter()
            .filter_map(|field| {
                // Named fields always have an ident; `filter_map` only satisfies the type.
                let ident = field.ident.as_ref()?;
                let attrs = attr::field(cx, &field.attrs);
                let name = match &attrs.rename {
                    Some(rename) => rename.value(),
                    None => ident.unraw().to_string(),
                };
                Some(Field {
                    ident,
                    ty: &field.ty,
                    attrs,
                    key: format!("{prefix}{name}"),
                })
            })
            .collect();
        Some(Self {
            original: node,
            namespace,
            fields,
            krate: attrs.krate.unwrap_or_else(default_crate),
        })
    }

    /// The fields that are stored, in the order of `KEYS`.
    pub(crate) fn stored(&self) -> impl Iterator<Item = &Field<'a>> {
        self.fields.iter().filter(|field| !field.is_skipped())
    }
}

impl Field<'_> {
    /// Whether the field is `#[session(skip)]`.
    pub(crate) fn is_skipped(&self) -> bool {
        self.attrs.skip.is_some()
    }

    /// Whether the field is `#[session(index)]`.
    pub(crate) fn is_index(&self) -> bool {
        self.attrs.index.is_some()
    }

    /// Whether the field is `#[session(flash)]`.
    pub(crate) fn is_flash(&self) -> bool {
        self.attrs.flash.is_some()
    }

    /// Where the storage key was written: the `rename` string, else the field's name.
    pub(crate) fn key_span(&self) -> Span {
        match &self.attrs.rename {
            Some(rename) => rename.span(),
            None => self.ident.span(),
        }
    }
}

/// Where typed-sessions is when no `#[session(crate = "...")]` says otherwise.
pub(crate) fn default_crate() -> Path {
    parse_quote!(::typed_sessions)
}

/// The path to typed-sessions, every token at `span`: where the generated code names it, as
/// if it were written there (an unmet bound is reported at the field, whatever the path).
pub(crate) fn crate_at(path: &Path, span: Span) -> TokenStream {
    path.to_token_stream()
        .into_iter()
        .map(|mut token| {
            token.set_span(span);
            token
        })
        .collect()
}

/// The error for an item that is not a struct with named fields.
fn unsupported(what: &str) -> String {
    format!("`#[derive(Session)]` only supports structs with named fields, not {what}")
}
