//! What `#[derive(Session)]` generates: hygienic at any scope, and the `SessionData` behaviour
//! that the attributes promise.
#![deny(warnings)]

use std::collections::BTreeMap;

use serde_json::{Value, json};
use typed_sessions::{Error, Session, SessionData, store::Fields};

/// Stored fields as a store would hand them over.
fn fields(value: Value) -> Fields {
    match value {
        Value::Object(map) => map,
        other => panic!("expected a JSON object, got {other}"),
    }
}

fn default_theme() -> String {
    "light".to_owned()
}

#[derive(Session, Debug, PartialEq)]
struct Visits {
    views: u32,
    #[session(rename = "u")]
    user: Option<String>,
    #[session(default = "default_theme")]
    theme: String,
    #[session(skip)]
    scratch: Vec<u8>,
    #[session(default = "Vec::new")]
    tags: Vec<String>,
}

#[derive(Session, Debug, PartialEq)]
#[session(namespace = "cart")]
struct Cart {
    items: Vec<u32>,
    #[session(rename = "c")]
    coupon: Option<String>,
    #[session(default = "Self::default_limit")]
    limit: u8,
}

impl Cart {
    fn default_limit() -> u8 {
        10
    }
}

#[derive(Session, Debug, PartialEq)]
struct Keywords {
    r#type: String,
    #[session(rename = "kind")]
    r#match: u8,
}

#[derive(Session, Debug, PartialEq)]
struct Empty {}

#[derive(Session, Debug)]
struct Pairs {
    pairs: BTreeMap<(u8, u8), u8>,
}

/// Every name the generated code could use, shadowed; it must still compile under
/// `#![deny(warnings)]`.
mod shadowed {
    use ::typed_sessions::Session;

    struct Result;
    struct Option;
    struct Ok;
    struct Err;
    struct Some;
    struct None;
    struct Vec;
    struct String;
    struct Default;
    struct Box;
    struct Value;
    struct Fields;
    struct Error;
    struct SessionData;
    mod core {}
    mod std {}
    mod serde {}
    mod serde_json {}
    mod typed_sessions {}
    // Expand to `()`, so that a derive calling them would not type-check.
    macro_rules! vec {
        ($($tt:tt)*) => {
            ()
        };
    }
    macro_rules! unreachable {
        ($($tt:tt)*) => {
            ()
        };
    }

    // Constructed, so that none of them is dead code.
    const _: Result = Result;
    const _: Option = Option;
    const _: Ok = Ok;
    const _: Err = Err;
    const _: Some = Some;
    const _: None = None;
    const _: Vec = Vec;
    const _: String = String;
    const _: Default = Default;
    const _: Box = Box;
    const _: Value = Value;
    const _: Fields = Fields;
    const _: Error = Error;
    const _: SessionData = SessionData;

    fn __fields() -> u32 {
        7
    }

    #[derive(Session)]
    #[session(namespace = "shadow")]
    pub(super) struct Shadowed {
        pub(super) count: u32,
        #[session(default = "__fields")]
        pub(super) lucky: u32,
        pub(super) name: ::std::option::Option<::std::string::String>,
        #[session(skip)]
        pub(super) cache: ::std::vec::Vec<u8>,
    }

    #[test]
    fn shadowing_macros_are_in_scope() {
        let () = vec![1, 2];
        let () = unreachable!("not the one from `core`");
    }
}

#[test]
fn shadowed_names_do_not_leak_into_the_expansion() {
    use shadowed::Shadowed;

    assert_eq!(
        Shadowed::KEYS,
        &["shadow.count", "shadow.lucky", "shadow.name"]
    );
    let decoded = Shadowed::decode(&fields(json!({ "shadow.count": 2 })));
    assert_eq!(decoded.count, 2);
    assert_eq!(
        decoded.lucky, 7,
        "the user's `__fields` is not the derive's"
    );
    assert_eq!(decoded.name, None);
    assert!(decoded.cache.is_empty());
    assert_eq!(
        decoded.encode().unwrap(),
        vec![json!(2), json!(7), json!(null)]
    );
    assert_eq!(Shadowed::encode_default(1).unwrap(), json!(7));
}

#[test]
fn derives_at_function_scope() {
    struct Result;
    struct Option;
    struct Vec;
    struct Default;
    let (Result, Option, Vec, Default) = (Result, Option, Vec, Default);

    #[derive(Session)]
    struct Local {
        a: u8,
        #[session(rename = "bee")]
        b: bool,
    }

    assert_eq!(Local::KEYS, &["a", "bee"]);
    let local = Local::decode(&fields(json!({ "a": 1, "bee": true })));
    assert_eq!(local.encode().unwrap(), vec![json!(1), json!(true)]);
}

#[test]
fn keys_follow_declaration_order_without_skipped_fields() {
    assert_eq!(Visits::KEYS, &["views", "u", "theme", "tags"]);
    assert_eq!(Keywords::KEYS, &["type", "kind"]);
    assert!(Empty::KEYS.is_empty());
}

#[test]
fn namespace_prefixes_every_key_including_renamed_ones() {
    assert_eq!(Cart::KEYS, &["cart.items", "cart.c", "cart.limit"]);
    let cart = Cart::decode(&fields(json!({
        "cart.items": [1, 2],
        "cart.c": "SAVE",
        "items": [9],
        "c": "OTHER",
    })));
    assert_eq!(
        cart,
        Cart {
            items: vec![1, 2],
            coupon: Some("SAVE".to_owned()),
            limit: 10,
        }
    );
}

#[test]
fn missing_fields_take_their_defaults() {
    let visits = Visits::decode(&Fields::new());
    assert_eq!(
        visits,
        Visits {
            views: 0,
            user: None,
            theme: "light".to_owned(),
            scratch: Vec::new(),
            tags: Vec::new(),
        }
    );
    assert_eq!(Empty::decode(&Fields::new()), Empty {});
}

#[test]
fn undecodable_fields_take_their_defaults_and_the_others_decode() {
    let visits = Visits::decode(&fields(json!({
        "views": "abc",
        "u": "ann",
        "theme": 5,
        "tags": ["x"],
    })));
    assert_eq!(
        visits,
        Visits {
            views: 0,
            user: Some("ann".to_owned()),
            theme: "light".to_owned(),
            scratch: Vec::new(),
            tags: vec!["x".to_owned()],
        }
    );
}

#[test]
fn decode_ignores_unknown_keys_and_reads_renamed_ones() {
    let visits = Visits::decode(&fields(json!({
        "views": 3,
        "user": "not the key",
        "u": "ann",
        "theme": "dark",
        "elsewhere": { "nested": true },
    })));
    assert_eq!(visits.views, 3);
    assert_eq!(visits.user.as_deref(), Some("ann"));
    assert_eq!(visits.theme, "dark");
}

#[test]
fn skipped_fields_are_never_stored_and_reset_on_decode() {
    let visits = Visits::decode(&fields(json!({ "scratch": [1, 2, 3] })));
    assert!(visits.scratch.is_empty());

    let visits = Visits {
        scratch: vec![1, 2, 3],
        ..Visits::decode(&Fields::new())
    };
    let encoded = visits.encode().unwrap();
    assert_eq!(encoded.len(), Visits::KEYS.len());
    assert!(!encoded.contains(&json!([1, 2, 3])));
}

#[test]
fn encode_yields_values_in_key_order() {
    let visits = Visits {
        views: 3,
        user: Some("ann".to_owned()),
        theme: "dark".to_owned(),
        scratch: vec![9],
        tags: vec!["x".to_owned()],
    };
    assert_eq!(
        visits.encode().unwrap(),
        vec![json!(3), json!("ann"), json!("dark"), json!(["x"])]
    );
    assert_eq!(Empty {}.encode().unwrap(), Vec::<Value>::new());
}

#[test]
fn encoded_fields_decode_to_the_same_value() {
    let visits = Visits {
        views: 3,
        user: None,
        theme: "dark".to_owned(),
        scratch: Vec::new(),
        tags: vec!["x".to_owned(), "y".to_owned()],
    };
    let stored: Fields = Visits::KEYS
        .iter()
        .map(|key| key.to_string())
        .zip(visits.encode().unwrap())
        .collect();
    assert_eq!(Visits::decode(&stored), visits);
}

#[test]
fn encode_default_uses_each_fields_default() {
    let defaults: Vec<Value> = (0..Visits::KEYS.len())
        .map(|index| Visits::encode_default(index).unwrap())
        .collect();
    assert_eq!(
        defaults,
        vec![json!(0), json!(null), json!("light"), json!([])]
    );
    assert_eq!(Cart::encode_default(2).unwrap(), json!(10));
}

#[test]
#[should_panic(expected = "index 4 is out of range for `Visits::KEYS`, which has 4 keys")]
fn encode_default_rejects_an_index_outside_keys() {
    let _ = Visits::encode_default(4);
}

#[test]
fn encode_reports_the_key_of_a_field_that_fails_to_serialize() {
    let pairs = Pairs {
        pairs: BTreeMap::from([((1, 2), 3)]),
    };
    match pairs.encode() {
        Err(Error::Encode { key, .. }) => assert_eq!(key, "pairs"),
        other => panic!("expected `Error::Encode`, got {other:?}"),
    }
    assert_eq!(
        Pairs::decode(&Fields::new()).encode().unwrap(),
        vec![json!({})]
    );
}

/// A crate that re-exports typed-sessions under a path of its own, as a framework would.
mod framework {
    pub(crate) mod sessions {
        pub(crate) use typed_sessions::{__private, SessionData};
    }
}

/// Derived with `#[session(crate = "...")]`: the generated code names only that path.
#[derive(Session, Debug, PartialEq)]
#[session(crate = "framework::sessions", namespace = "fw")]
struct Reexported {
    views: u32,
    #[session(default = "default_theme")]
    theme: String,
}

#[test]
fn a_crate_path_derives_the_same_session() {
    use framework::sessions::SessionData as _;
    assert_eq!(Reexported::KEYS, ["fw.views", "fw.theme"]);
    let decoded = Reexported::decode(&fields(json!({ "fw.views": 3 })));
    assert_eq!(
        decoded,
        Reexported {
            views: 3,
            theme: "light".into()
        }
    );
    assert_eq!(decoded.encode().unwrap(), [json!(3), json!("light")]);
}
