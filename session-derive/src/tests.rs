//! Parser and validation tests, run in-process on `expand::derive` without a compiler.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{DeriveInput, ImplItem, Item, LitStr, parse_quote};

use crate::expand;

/// The messages of the `compile_error!`s that `derive` emits for `input`, in order.
fn errors(input: &DeriveInput) -> Vec<String> {
    compile_errors(&expand::derive(input))
        .into_iter()
        .map(|(message, _)| message)
        .collect()
}

/// The messages and 1-based line and 0-based column where each error points, for `source`.
fn located_errors(source: &str) -> Vec<(String, usize, usize)> {
    let input: DeriveInput = syn::parse_str(source).expect("test input parses");
    compile_errors(&expand::derive(&input))
        .into_iter()
        .map(|(message, span)| {
            let start = span.start();
            (message, start.line, start.column)
        })
        .collect()
}

/// Every `compile_error!` at the top of `output`, with the span it starts at.
fn compile_errors(output: &TokenStream) -> Vec<(String, proc_macro2::Span)> {
    let file: syn::File = syn::parse2(output.clone()).expect("derive output parses");
    file.items
        .iter()
        .filter_map(|item| match item {
            Item::Macro(item) => {
                let name = item.mac.path.segments.last()?;
                assert_eq!(name.ident, "compile_error");
                let message: LitStr = item.mac.parse_body().expect("a string message");
                Some((message.value(), name.ident.span()))
            }
            _ => None,
        })
        .collect()
}

/// The one `impl` in the `const _: () = { ... };` that `derive` emits for `input`.
fn session_impl(input: &DeriveInput) -> syn::ItemImpl {
    let file: syn::File = syn::parse2(expand::derive(input)).expect("derive output parses");
    let impls: Vec<syn::ItemImpl> = file
        .items
        .into_iter()
        .filter_map(|item| match item {
            Item::Const(item) => match *item.expr {
                syn::Expr::Block(block) => Some(block.block.stmts),
                _ => None,
            },
            _ => None,
        })
        .flatten()
        .filter_map(|stmt| match stmt {
            syn::Stmt::Item(Item::Impl(item)) => Some(item),
            _ => None,
        })
        .collect();
    assert_eq!(impls.len(), 1, "one impl in `const _`");
    impls.into_iter().next().expect("one impl")
}

/// The value of `KEYS` in the impl for `input`, as tokens.
fn keys(input: &DeriveInput) -> String {
    session_impl(input)
        .items
        .iter()
        .find_map(|item| match item {
            ImplItem::Const(item) if item.ident == "KEYS" => {
                Some(item.expr.to_token_stream().to_string())
            }
            _ => None,
        })
        .expect("a `KEYS` constant")
}

/// Asserts that `input` expands to exactly the errors `expected`.
#[track_caller]
fn assert_errors(input: DeriveInput, expected: &[&str]) {
    assert_eq!(errors(&input), expected);
}

#[test]
fn valid_struct_expands_without_errors() {
    let input: DeriveInput = parse_quote! {
        #[session(namespace = "cart")]
        struct Cart {
            items: Vec<u32>,
            #[session(rename = "c")]
            coupon: Option<String>,
            #[session(default = "crate::limit")]
            limit: u8,
            #[session(skip)]
            cache: Vec<u8>,
        }
    };
    assert_errors(input.clone(), &[]);
    assert_eq!(
        keys(&input),
        quote!(&["cart.items", "cart.c", "cart.limit"]).to_string()
    );
    let imp = session_impl(&input);
    assert_eq!(
        imp.trait_
            .expect("a trait impl")
            .1
            .to_token_stream()
            .to_string(),
        quote!(::typed_sessions::SessionData).to_string()
    );
}

#[test]
fn keys_use_the_field_name_without_raw_prefix() {
    let input: DeriveInput = parse_quote! {
        struct Keywords {
            r#type: String,
            #[session(skip)]
            r#match: u8,
            plain: u8,
        }
    };
    assert_eq!(keys(&input), quote!(&["type", "plain"]).to_string());
}

#[test]
fn struct_without_fields_has_no_keys() {
    let input: DeriveInput = parse_quote!(
        struct Empty {}
    );
    assert_eq!(keys(&input), quote!(&[]).to_string());
}

#[test]
fn rejects_everything_but_structs_with_named_fields() {
    assert_errors(
        parse_quote!(
            enum Cart {
                Empty,
            }
        ),
        &["`#[derive(Session)]` only supports structs with named fields, not enums"],
    );
    assert_errors(
        parse_quote!(
            struct Counter(u32);
        ),
        &["`#[derive(Session)]` only supports structs with named fields, not tuple structs"],
    );
    assert_errors(
        parse_quote!(
            struct Marker;
        ),
        &["`#[derive(Session)]` only supports structs with named fields, not unit structs"],
    );
    assert_errors(
        parse_quote!(
            union Bits {
                int: u32,
            }
        ),
        &["`#[derive(Session)]` only supports structs with named fields, not unions"],
    );
}

#[test]
fn rejects_every_kind_of_generic_parameter() {
    let message = "`#[derive(Session)]` does not support generic parameters; wrap the generic \
                   data in a concrete struct";
    assert_errors(
        parse_quote!(
            struct Cart<T> {
                items: Vec<T>,
            }
        ),
        &[message],
    );
    assert_errors(
        parse_quote!(
            struct Cart<'a> {
                name: &'a str,
            }
        ),
        &[message],
    );
    assert_errors(
        parse_quote!(
            struct Cart<const N: usize> {
                items: [u8; N],
            }
        ),
        &[message],
    );
}

#[test]
fn a_where_clause_without_parameters_is_not_generic() {
    assert_errors(
        parse_quote!(
            struct Cart
            where
                u8: Copy,
            {
                items: Vec<u32>,
            }
        ),
        &[],
    );
}

#[test]
fn rejects_unknown_attributes_listing_the_valid_ones() {
    assert_errors(
        parse_quote! {
            struct Visits {
                #[session(flatten)]
                views: u32,
            }
        },
        &[
            "unknown session attribute `flatten`; expected one of `rename`, `default`, `skip`, \
             `flash`, `index`",
        ],
    );
    assert_errors(
        parse_quote! {
            struct Visits {
                #[session(serde::rename = "v")]
                views: u32,
            }
        },
        &[
            "unknown session attribute `serde::rename`; expected one of `rename`, `default`, \
             `skip`, `flash`, `index`",
        ],
    );
    assert_errors(
        parse_quote! {
            #[session(prefix = "cart")]
            struct Cart {}
        },
        &["unknown session attribute `prefix`; expected one of `namespace`, `crate`"],
    );
    assert_errors(
        parse_quote! {
            #[session(rename = "cart")]
            struct Cart {
                #[session(namespace = "cart")]
                items: Vec<u32>,
            }
        },
        &[
            "unknown session attribute `rename`; expected one of `namespace`, `crate`",
            "unknown session attribute `namespace`; expected one of `rename`, `default`, `skip`, \
             `flash`, `index`",
        ],
    );
}

#[test]
fn rejects_duplicate_attributes() {
    let message = "duplicate session attribute `rename`";
    assert_errors(
        parse_quote! {
            struct Visits {
                #[session(rename = "v", rename = "w")]
                views: u32,
            }
        },
        &[message],
    );
    assert_errors(
        parse_quote! {
            struct Visits {
                #[session(rename = "v")]
                #[session(rename = "w")]
                views: u32,
            }
        },
        &[message],
    );
    assert_errors(
        parse_quote! {
            struct Visits {
                #[session(skip, skip)]
                views: u32,
            }
        },
        &["duplicate session attribute `skip`"],
    );
    assert_errors(
        parse_quote! {
            #[session(namespace = "a")]
            #[session(namespace = "b")]
            struct Visits {}
        },
        &["duplicate session attribute `namespace`"],
    );
}

#[test]
fn rejects_malformed_values() {
    assert_errors(
        parse_quote! {
            struct Visits {
                #[session(rename = 5)]
                views: u32,
            }
        },
        &["session attribute `rename` expects a string literal, like `rename = \"name\"`"],
    );
    assert_errors(
        parse_quote! {
            struct Visits {
                #[session(default = crate::views)]
                views: u32,
            }
        },
        &[
            "session attribute `default` expects a string literal, like \
             `default = \"crate::default_views\"`",
        ],
    );
    assert_errors(
        parse_quote! {
            struct Visits {
                #[session(default = "not a path!!")]
                views: u32,
            }
        },
        &[
            "session attribute `default` expects the path of a function `fn() -> T` in a \
             string, like `default = \"crate::default_views\"`",
        ],
    );
    assert_errors(
        parse_quote! {
            struct Visits {
                #[session(skip = true)]
                views: u32,
            }
        },
        &["`skip` takes no value; write `#[session(skip)]`"],
    );
    assert_errors(
        parse_quote! {
            struct Visits {
                #[session(skip(always))]
                views: u32,
            }
        },
        &["`skip` takes no value; write `#[session(skip)]`"],
    );
    assert_errors(
        parse_quote! {
            #[session(namespace = cart)]
            struct Cart {}
        },
        &["session attribute `namespace` expects a string literal, like `namespace = \"cart\"`"],
    );
}

#[test]
fn accepts_any_path_as_default() {
    assert_errors(
        parse_quote! {
            struct Visits {
                #[session(default = "Self::start")]
                a: u32,
                #[session(default = "<Vec<u8>>::new")]
                b: Vec<u8>,
                #[session(default = "::std::vec::Vec::new")]
                c: Vec<u8>,
            }
        },
        &[],
    );
}

#[test]
fn rejects_missing_values() {
    assert_errors(
        parse_quote! {
            struct Visits {
                #[session(rename)]
                views: u32,
            }
        },
        &["session attribute `rename` needs a value, like `rename = \"name\"`"],
    );
    assert_errors(
        parse_quote! {
            #[session(namespace)]
            struct Cart {}
        },
        &["session attribute `namespace` needs a value, like `namespace = \"cart\"`"],
    );
}

#[test]
fn rejects_empty_names() {
    assert_errors(
        parse_quote! {
            struct Visits {
                #[session(rename = "")]
                views: u32,
            }
        },
        &["session attribute `rename` must not be empty"],
    );
    assert_errors(
        parse_quote! {
            #[session(namespace = "")]
            struct Cart {}
        },
        &["session attribute `namespace` must not be empty"],
    );
}

#[test]
fn rejects_skip_with_stored_field_attributes_in_either_order() {
    let tail = "a skipped field is never stored and always starts from `Default::default()`";
    assert_errors(
        parse_quote! {
            struct Visits {
                #[session(skip, rename = "v")]
                views: u32,
            }
        },
        &[&format!(
            "session attribute `rename` cannot be combined with `skip`: {tail}"
        )],
    );
    assert_errors(
        parse_quote! {
            struct Visits {
                #[session(default = "crate::views")]
                #[session(skip)]
                views: u32,
            }
        },
        &[&format!(
            "session attribute `skip` cannot be combined with `default`: {tail}"
        )],
    );
    assert_errors(
        parse_quote! {
            struct Visits {
                #[session(skip, default = "crate::views")]
                views: u32,
            }
        },
        &[&format!(
            "session attribute `default` cannot be combined with `skip`: {tail}"
        )],
    );
}

#[test]
fn rejects_keys_and_namespaces_reserved_for_the_library() {
    assert_errors(
        parse_quote! {
            struct Login {
                #[session(rename = "$lifetime")]
                remember: bool,
                user: Option<String>,
            }
        },
        &[
            "session key `$lifetime` must not start with `$`: keys starting with `$` are \
             reserved for typed-sessions' own data; choose another `#[session(rename = \"...\")]`",
        ],
    );
    assert_errors(
        parse_quote! {
            #[session(namespace = "$meta")]
            struct Login {
                user: Option<String>,
            }
        },
        &[
            "session namespaces must not start with `$`: keys starting with `$` are reserved for \
             typed-sessions' own data",
        ],
    );
    assert!(
        errors(&parse_quote! {
            struct Price {
                #[session(rename = "us$")]
                dollars: u64,
            }
        })
        .is_empty()
    );
}

#[test]
fn flash_fields_are_listed_and_asserted() {
    let input: DeriveInput = parse_quote! {
        struct Page {
            views: u64,
            #[session(skip)]
            cache: Vec<u8>,
            #[session(flash)]
            notice: Option<String>,
            #[session(flash, rename = "m")]
            messages: Vec<String>,
        }
    };
    let output = expand::derive(&input).to_string();
    let flash = quote!(
        const FLASH: &'static [usize] = &[1, 2];
    )
    .to_string();
    assert!(output.contains(&flash), "{output}");
    let assertion = quote!(::typed_sessions::__private::assert_flash::<Option<String> >(););
    assert!(output.contains(&assertion.to_string()), "{output}");
    let plain: DeriveInput = parse_quote! {
        struct Visits {
            views: u64,
        }
    };
    let output = expand::derive(&plain).to_string();
    assert!(!output.contains("FLASH"), "the trait's default: {output}");
}

#[test]
fn rejects_flash_with_skip_default_or_a_value() {
    let tail = "a skipped field is never stored and always starts from `Default::default()`";
    let with_default = "session attributes `flash` and `default` cannot be combined: a consumed \
                        flash field goes back to its empty value, `Default::default()`";
    for (input, expected) in [
        (
            parse_quote! { struct S { #[session(flash, skip)] n: Option<u8> } },
            format!("session attribute `skip` cannot be combined with `flash`: {tail}"),
        ),
        (
            parse_quote! { struct S { #[session(skip, flash)] n: Option<u8> } },
            format!("session attribute `flash` cannot be combined with `skip`: {tail}"),
        ),
        (
            parse_quote! { struct S { #[session(flash, default = "f")] n: Option<u8> } },
            with_default.to_owned(),
        ),
        (
            parse_quote! { struct S { #[session(default = "f", flash)] n: Option<u8> } },
            with_default.to_owned(),
        ),
        (
            parse_quote! { struct S { #[session(flash = true)] n: Option<u8> } },
            "`flash` takes no value; write `#[session(flash)]`".to_owned(),
        ),
    ] {
        assert_errors(input, &[&expected]);
    }
}

#[test]
fn rejects_two_fields_with_one_key() {
    assert_errors(
        parse_quote! {
            struct Login {
                user: Option<String>,
                #[session(rename = "user")]
                user_id: Option<u64>,
            }
        },
        &[
            "duplicate session key `user`, already used by field `user`; give one of them a \
             different `#[session(rename = \"...\")]`",
        ],
    );
    assert_errors(
        parse_quote! {
            #[session(namespace = "cart")]
            struct Cart {
                #[session(rename = "items")]
                list: Vec<u32>,
                items: Vec<u32>,
            }
        },
        &[
            "duplicate session key `cart.items`, already used by field `list`; give one of them \
             a different `#[session(rename = \"...\")]`",
        ],
    );
}

#[test]
fn skipped_fields_do_not_take_a_key() {
    let input: DeriveInput = parse_quote! {
        struct Login {
            #[session(skip)]
            user: Option<String>,
            #[session(rename = "user")]
            user_id: Option<u64>,
        }
    };
    assert_errors(input.clone(), &[]);
    assert_eq!(keys(&input), quote!(&["user"]).to_string());
}

#[test]
fn reports_every_error_at_once() {
    assert_errors(
        parse_quote! {
            #[session(prefix = "x")]
            enum Cart {
                Empty,
            }
        },
        &[
            "unknown session attribute `prefix`; expected one of `namespace`, `crate`",
            "`#[derive(Session)]` only supports structs with named fields, not enums",
        ],
    );
    assert_errors(
        parse_quote! {
            struct Visits<T> {
                #[session(rename = 1)]
                a: T,
                #[session(bogus)]
                b: u8,
                #[session(rename = "c")]
                c: u8,
                #[session(rename = "c")]
                d: u8,
            }
        },
        &[
            "session attribute `rename` expects a string literal, like `rename = \"name\"`",
            "unknown session attribute `bogus`; expected one of `rename`, `default`, `skip`, \
             `flash`, `index`",
            "`#[derive(Session)]` does not support generic parameters; wrap the generic data \
             in a concrete struct",
            "duplicate session key `c`, already used by field `c`; give one of them a different \
             `#[session(rename = \"...\")]`",
        ],
    );
}

#[test]
fn errors_point_at_the_offending_tokens() {
    let source = r#"
        struct Visits<T> {
            #[session(rename = "v")]
            #[session(rename = "w")]
            views: u32,
            #[session(flatten)]
            other: T,
            #[session(rename = "v")]
            copy: u8,
            v: u8,
            #[session(skip = true)]
            cache: u8,
        }
    "#;
    assert_eq!(
        located_errors(source),
        [
            ("duplicate session attribute `rename`", 4, 22),
            (
                "unknown session attribute `flatten`; expected one of `rename`, `default`, `skip`, \
                 `flash`, `index`",
                6,
                22,
            ),
            ("`skip` takes no value; write `#[session(skip)]`", 11, 22),
            (
                "`#[derive(Session)]` does not support generic parameters; wrap the generic data \
                 in a concrete struct",
                2,
                21,
            ),
            (
                "duplicate session key `v`, already used by field `views`; give one of them a \
                 different `#[session(rename = \"...\")]`",
                8,
                31,
            ),
            (
                "duplicate session key `v`, already used by field `views`; give one of them a \
                 different `#[session(rename = \"...\")]`",
                10,
                12,
            ),
        ]
        .map(|(message, line, column)| (message.to_owned(), line, column))
    );
}

#[test]
fn shape_errors_point_at_the_item() {
    let errors = located_errors("enum Cart { Empty }");
    assert_eq!(errors.len(), 1);
    // `enum` starts the error.
    assert_eq!((errors[0].1, errors[0].2), (1, 0));
}

#[test]
fn invalid_input_still_gets_a_stub_impl() {
    let input: DeriveInput = parse_quote! {
        struct Visits {
            #[session(rename = 5)]
            views: u32,
        }
    };
    let output = expand::derive(&input).to_string();
    assert_eq!(errors(&input).len(), 1);
    assert!(output.contains(&quote!(impl ::typed_sessions::SessionData for Visits).to_string()));
    assert!(output.contains(&quote!(::typed_sessions::__private::invalid_derive()).to_string()));
    assert_eq!(keys(&input), quote!(&[]).to_string());

    let generic: DeriveInput = parse_quote!(
        struct Cart<'a, T: Clone> {
            items: &'a [T],
        }
    );
    let imp = session_impl(&generic);
    assert_eq!(
        imp.generics.to_token_stream().to_string(),
        quote!(<'a, T: Clone>).to_string()
    );
    assert_eq!(
        imp.self_ty.to_token_stream().to_string(),
        quote!(Cart<'a, T>).to_string()
    );
}

/// The attributes on the impl for `input`, as token strings.
fn impl_attrs(input: &DeriveInput) -> Vec<String> {
    session_impl(input)
        .attrs
        .iter()
        .map(|attr| attr.to_token_stream().to_string())
        .collect()
}

/// Whether the impl for `input` allows `deprecated`.
fn allows_deprecated(input: &DeriveInput) -> bool {
    let mut found = false;
    for attr in session_impl(input).attrs {
        if attr.path().is_ident("allow") {
            attr.parse_nested_meta(|meta| {
                found |= meta.path.is_ident("deprecated");
                Ok(())
            })
            .expect("an allow list");
        }
    }
    found
}

#[test]
fn impls_are_marked_derived_and_allow_what_the_users_tokens_trip() {
    let valid: DeriveInput = parse_quote! {
        struct Visits {
            views: std::primitive::u32,
        }
    };
    let invalid: DeriveInput = parse_quote! {
        struct Visits {
            #[session(rename = 5)]
            views: u32,
        }
    };
    let expected = [
        quote!(#[automatically_derived]).to_string(),
        quote! {
            #[allow(
                unused_qualifications,
                clippy::absolute_paths,
                clippy::std_instead_of_core,
                clippy::std_instead_of_alloc,
                clippy::type_complexity,
            )]
        }
        .to_string(),
    ];
    assert_eq!(impl_attrs(&valid), expected);
    assert_eq!(impl_attrs(&invalid), expected, "the stub impl too");
}

#[test]
fn allows_deprecated_only_when_the_struct_or_a_field_mentions_it() {
    let plain: DeriveInput = parse_quote! {
        #[allow(dead_code)]
        struct Visits {
            #[allow(unused, reason = "kept")]
            views: u32,
        }
    };
    assert!(!allows_deprecated(&plain));

    let mentions: [DeriveInput; 6] = [
        parse_quote! {
            #[deprecated]
            struct Visits { views: u32 }
        },
        parse_quote! {
            #[allow(dead_code, deprecated)]
            struct Visits { views: u32 }
        },
        parse_quote! {
            struct Visits {
                #[deprecated = "read `count`"]
                views: u32,
            }
        },
        parse_quote! {
            struct Visits {
                #[allow(deprecated, reason = "kept to read old sessions")]
                views: Old,
            }
        },
        parse_quote! {
            struct Visits {
                #[expect(deprecated)]
                #[session(skip)]
                views: Old,
            }
        },
        // Invalid input: the stub impl names the deprecated struct too.
        parse_quote! {
            #[deprecated]
            struct Visits<T> { views: T }
        },
    ];
    for input in &mentions {
        assert!(allows_deprecated(input), "{}", input.to_token_stream());
    }
}

#[test]
fn each_field_asserts_the_bounds_of_its_kind() {
    let input: DeriveInput = parse_quote! {
        struct Visits {
            views: u32,
            #[session(default = "default_theme")]
            theme: String,
            #[session(skip)]
            cache: Vec<u8>,
        }
    };
    let output = expand::derive(&input).to_string();
    for assertion in [
        quote!(::typed_sessions::__private::assert_stored_default::<u32>();),
        quote!(::typed_sessions::__private::assert_stored::<String>();),
        quote!(::typed_sessions::__private::assert_skipped::<Vec<u8> >();),
    ] {
        assert!(output.contains(&assertion.to_string()), "{assertion}");
    }
}

#[test]
fn a_crate_path_replaces_every_use_of_typed_sessions() {
    let input: DeriveInput = parse_quote! {
        #[session(crate = "my_app::sessions")]
        struct Visits {
            views: u32,
            #[session(default = "default_theme")]
            theme: String,
            #[session(skip)]
            cache: Vec<u8>,
        }
    };
    assert_errors(input.clone(), &[]);
    let output = expand::derive(&input).to_string();
    assert!(!output.contains("typed_sessions"), "{output}");
    assert!(
        output.contains(&quote!(impl my_app::sessions::SessionData for Visits).to_string()),
        "{output}"
    );
    assert!(output.contains(
        &quote!(my_app::sessions::__private::assert_stored_default::<u32>();).to_string()
    ));
    let absolute: DeriveInput = parse_quote! {
        #[session(crate = "::other::typed_sessions")]
        struct Visits { views: u32 }
    };
    let output = expand::derive(&absolute).to_string();
    assert!(output.contains(&quote!(impl ::other::typed_sessions::SessionData).to_string()));
}

#[test]
fn the_stub_of_an_invalid_input_uses_the_crate_path_too() {
    let input: DeriveInput = parse_quote! {
        #[session(crate = "my_app::sessions")]
        struct Visits {
            #[session(bogus)]
            views: u32,
        }
    };
    let output = expand::derive(&input);
    assert_eq!(compile_errors(&output).len(), 1);
    let output = output.to_string();
    assert!(!output.contains("typed_sessions"), "{output}");
    assert!(output.contains(&quote!(my_app::sessions::SessionData for Visits).to_string()));
}

#[test]
fn rejects_malformed_crate_paths() {
    assert_errors(
        parse_quote! {
            #[session(crate = 1)]
            struct Visits { views: u32 }
        },
        &[
            "session attribute `crate` expects a string literal, like `crate = \"my_app::sessions\"`",
        ],
    );
    assert_errors(
        parse_quote! {
            #[session(crate = "my app")]
            struct Visits { views: u32 }
        },
        &[
            "session attribute `crate` expects the path typed-sessions is re-exported at, in a \
           string, like `crate = \"my_app::sessions\"`",
        ],
    );
    assert_errors(
        parse_quote! {
            #[session(crate = "")]
            struct Visits { views: u32 }
        },
        &["session attribute `crate` must not be empty"],
    );
    assert_errors(
        parse_quote! {
            #[session(crate)]
            struct Visits { views: u32 }
        },
        &["session attribute `crate` needs a value, like `crate = \"my_app::sessions\"`"],
    );
    assert_errors(
        parse_quote! {
            #[session(crate = "a", namespace = "n", crate = "b")]
            struct Visits { views: u32 }
        },
        &["duplicate session attribute `crate`"],
    );
}
