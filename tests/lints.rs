//! `#[derive(Session)]` under the lints a strict user denies: the generated impls trip none of
//! them, not even where they repeat the user's own tokens (field types, `default` paths, the
//! struct's and fields' names) that the user silenced where they wrote them.
//!
//! `cargo test` checks rustc's lints; `cargo clippy --all-targets` checks clippy's.
#![deny(
    warnings,
    future_incompatible,
    let_underscore,
    nonstandard_style,
    rust_2018_idioms,
    unused,
    deprecated,
    deprecated_in_future,
    elided_lifetimes_in_paths,
    explicit_outlives_requirements,
    keyword_idents,
    macro_use_extern_crate,
    meta_variable_misuse,
    missing_copy_implementations,
    missing_debug_implementations,
    missing_docs,
    non_ascii_idents,
    redundant_lifetimes,
    single_use_lifetimes,
    trivial_casts,
    trivial_numeric_casts,
    unit_bindings,
    unnameable_types,
    unreachable_pub,
    unsafe_code,
    unused_import_braces,
    unused_lifetimes,
    unused_qualifications,
    unused_results,
    variant_size_differences
)]
#![deny(clippy::all, clippy::pedantic, clippy::nursery)]
// The restriction lints that name something the generated code does (paths, `?`,
// `unreachable!`, bindings, literals); the whole group also fires on this file's own code.
#![deny(
    clippy::absolute_paths,
    clippy::arithmetic_side_effects,
    clippy::as_conversions,
    clippy::default_numeric_fallback,
    clippy::indexing_slicing,
    clippy::min_ident_chars,
    clippy::missing_docs_in_private_items,
    clippy::pattern_type_mismatch,
    clippy::question_mark_used,
    clippy::redundant_type_annotations,
    clippy::shadow_reuse,
    clippy::shadow_same,
    clippy::shadow_unrelated,
    clippy::std_instead_of_alloc,
    clippy::std_instead_of_core,
    clippy::unreachable
)]

extern crate alloc;

use serde_json::{Value, json};
use typed_sessions::store::Fields;

/// Turns a JSON object into stored fields.
fn stored(value: Value) -> Fields {
    match value {
        Value::Object(map) => map,
        other => panic!("expected a JSON object, got {other}"),
    }
}

/// Sessions whose own tokens trip lints, silenced on the struct or the field as a strict user
/// would; the impl repeats those tokens where those attributes do not reach.
///
/// Without the derive's `#[allow(...)]`, `cargo test` fails here on `unused_qualifications` and
/// `deprecated`, and `cargo clippy` also on `clippy::absolute_paths`,
/// `clippy::std_instead_of_core`, `clippy::std_instead_of_alloc` and `clippy::type_complexity`.
mod silenced {
    use alloc::collections::BTreeMap;

    use typed_sessions::{Session, SessionData};

    use super::{json, stored};

    /// `default` functions.
    mod defaults {
        /// The theme of a new session.
        pub(super) fn theme() -> String {
            "light".to_owned()
        }

        /// A limit that no longer has a use.
        #[deprecated = "limits are gone"]
        pub(super) const fn old_limit() -> u8 {
            3
        }

        /// A long type, made by a `default` function.
        pub(super) const fn nested() -> super::Nested {
            super::Nested::new()
        }
    }

    use defaults::theme;

    /// A type from before.
    #[deprecated = "use `u8`"]
    #[derive(Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    struct OldCount(u8);

    /// The long type of `Strict::nested`, named for this file's own code.
    type Nested = BTreeMap<
        String,
        Vec<(
            Option<Vec<u8>>,
            BTreeMap<String, (u8, u16, Vec<Option<String>>)>,
        )>,
    >;

    /// Qualified paths in field types and in a `default` path; a deprecated field, field type
    /// and `default` function; a long field type with a `default` function.
    #[derive(Session, Debug, PartialEq)]
    #[session(namespace = "strict")]
    #[allow(
        unused_qualifications,
        clippy::absolute_paths,
        clippy::std_instead_of_core,
        clippy::std_instead_of_alloc,
        clippy::type_complexity,
        clippy::option_option,
        reason = "the user's own field types, silenced where they are written"
    )]
    struct Strict {
        /// A plain field.
        views: u32,
        /// A renamed field with a qualified type.
        #[session(rename = "u")]
        user: std::option::Option<std::string::String>,
        /// A `default` named through its module, though its name is in scope.
        #[session(default = "defaults::theme")]
        theme: ::std::string::String,
        /// A field that is never stored.
        #[session(skip)]
        scratch: std::vec::Vec<u8>,
        /// A field on its way out.
        #[deprecated = "read `views`"]
        old_views: u32,
        /// A field with a deprecated `default` function; the `allow` that the user puts on the
        /// field tells the derive to put one on the impl, where the function is called.
        #[allow(deprecated, reason = "kept to read old sessions")]
        #[session(default = "defaults::old_limit")]
        limit: u8,
        /// A field of a deprecated type.
        #[allow(deprecated, reason = "kept to read old sessions")]
        count: OldCount,
        /// A long type written out.
        #[session(default = "defaults::nested")]
        nested: std::collections::BTreeMap<
            String,
            Vec<(
                Option<Vec<u8>>,
                std::collections::BTreeMap<String, (u8, u16, Vec<Option<String>>)>,
            )>,
        >,
        /// An alias of a long type, with `Option<Option<_>>`.
        alias: Option<Option<Nested>>,
        /// A flash field with a qualified type.
        #[session(flash)]
        notice: std::option::Option<std::string::String>,
    }

    /// A whole session type on its way out.
    #[deprecated = "use `Strict`"]
    #[derive(Session, Debug)]
    struct Retired {
        /// Its one field.
        views: u32,
    }

    #[test]
    fn the_strict_session_keeps_its_keys_and_defaults() {
        assert_eq!(
            Strict::KEYS,
            &[
                "strict.views",
                "strict.u",
                "strict.theme",
                "strict.old_views",
                "strict.limit",
                "strict.count",
                "strict.nested",
                "strict.alias",
                "strict.notice",
            ]
        );
        assert_eq!(Strict::FLASH, &[8]);
        let decoded = Strict::decode(&stored(json!({
            "strict.views": 2_u32,
            "strict.old_views": 5_u32,
            "strict.count": 7_u8,
        })));
        #[allow(deprecated, reason = "the deprecated field is still stored")]
        let expected = Strict {
            views: 2,
            user: None,
            theme: theme(),
            scratch: Vec::new(),
            old_views: 5,
            limit: 3,
            count: OldCount(7),
            nested: Nested::new(),
            alias: None,
            notice: None,
        };
        assert_eq!(decoded, expected);
        assert_eq!(
            Strict::encode_default(4).ok(),
            Some(json!(3_u8)),
            "the deprecated `default` function"
        );
    }

    #[test]
    fn a_deprecated_session_still_decodes() {
        #[allow(deprecated, reason = "the type under test")]
        let views = Retired::decode(&stored(json!({ "views": 4_u32 }))).views;
        assert_eq!(views, 4);
    }
}

/// Sessions with nothing to silence, in a module that forbids `deprecated`: the derive allows
/// `deprecated` only when the struct or a field mentions it, since an `allow` under `forbid` is
/// an error.
mod plain {
    #![forbid(deprecated)]

    use typed_sessions::{Session, SessionData};

    use super::{json, stored};

    /// The count of a new session.
    const fn one() -> u32 {
        1
    }

    /// Every attribute, with plain types.
    #[derive(Session, Debug, PartialEq, Eq)]
    #[session(namespace = "plain")]
    struct Plain {
        /// A plain field.
        count: u32,
        /// A field with a `default` function.
        #[session(default = "one")]
        start: u32,
        /// A renamed field.
        #[session(rename = "n")]
        name: Option<String>,
        /// A field that is never stored.
        #[session(skip)]
        cache: Vec<u8>,
        /// A field whose name starts with an underscore.
        _private: u8,
    }

    /// No fields at all.
    #[derive(Session, Debug, PartialEq, Eq)]
    struct Nothing {}

    #[test]
    fn plain_sessions_round_trip() {
        assert_eq!(
            Plain::KEYS,
            &["plain.count", "plain.start", "plain.n", "plain._private"]
        );
        let plain = Plain {
            count: 2,
            start: 3,
            name: Some("ann".to_owned()),
            cache: vec![9],
            _private: 4,
        };
        let fields = Plain::KEYS
            .iter()
            .map(|key| (*key).to_owned())
            .zip(plain.encode().unwrap_or_default())
            .collect();
        let decoded = Plain::decode(&fields);
        assert_eq!(
            decoded,
            Plain {
                cache: Vec::new(),
                ..plain
            }
        );
        assert_eq!(Plain::decode(&stored(json!({}))).start, 1);
        assert!(Nothing::KEYS.is_empty());
        assert_eq!(Nothing::decode(&fields), Nothing {});
    }
}
