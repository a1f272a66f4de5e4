//! The session types the targets decode into, and what the derive promises they decode to: each
//! field its stored value if that deserializes into the field's type, else the field's default.

#![allow(missing_docs)] // the fields and variants are one of each kind of type; their types say which

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use typed_sessions::{Session, store::Fields};

fn default_theme() -> String {
    "light".to_owned()
}

/// A nested struct that refuses fields it does not know.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inner {
    pub a: u16,
    #[serde(default)]
    pub b: Vec<i8>,
}

/// An externally tagged enum.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Kind {
    #[default]
    Plain,
    Tuple(u8, u8),
    Named {
        x: i64,
    },
    Wrapped(String),
}

/// An internally tagged enum (serde buffers the content to find the tag).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t")]
pub enum Shape {
    #[default]
    Dot,
    Circle {
        r: f64,
    },
    Label {
        text: String,
        #[serde(default)]
        size: Option<u8>,
    },
}

/// An untagged enum (serde tries each variant on the buffered content).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Loose {
    Number(i16),
    Text(String),
    List(Vec<Loose>),
}

impl Default for Loose {
    fn default() -> Self {
        Self::Number(0)
    }
}

/// The session the layer's routes extract: one field of each kind of type.
#[derive(Session, Clone, Debug, PartialEq, Serialize)]
pub struct Probe {
    pub views: u64,
    #[session(rename = "u")]
    pub user: Option<String>,
    pub tags: Vec<String>,
    #[session(default = "default_theme")]
    pub theme: String,
    pub signed: i32,
    pub ratio: f64,
    pub flag: bool,
    pub letter: char,
    pub scores: BTreeMap<String, u8>,
    pub inner: Option<Inner>,
    pub kind: Kind,
    pub shape: Shape,
    pub loose: Loose,
    pub pair: (u8, String),
    pub bytes: [u8; 4],
    pub big: u128,
    pub any: Value,
    #[session(skip)]
    pub scratch: Vec<u8>,
}

/// A second session type of the same session, under a namespace.
#[derive(Session, Clone, Debug, PartialEq)]
#[session(namespace = "cart")]
pub struct Cart {
    pub items: Vec<u32>,
    #[session(rename = "c")]
    pub coupon: Option<String>,
    #[session(default = "Cart::default_limit")]
    pub limit: u8,
    pub views: i8,
}

impl Cart {
    fn default_limit() -> u8 {
        10
    }
}

/// The field's stored value if it deserializes into `T`, else its default.
fn field<T: DeserializeOwned>(fields: &Fields, key: &str, default: impl FnOnce() -> T) -> T {
    match fields.get(key) {
        Some(value) => T::deserialize(value).unwrap_or_else(|_| default()),
        None => default(),
    }
}

impl Probe {
    /// The session every genuine cookie of the fixture carries.
    pub fn genuine() -> Self {
        Self {
            views: 42,
            user: Some("genuine".to_owned()),
            tags: vec!["a".to_owned(), "b".to_owned()],
            theme: "dark".to_owned(),
            ..Self::default_session()
        }
    }

    /// The session a request without a session sees: every field its default.
    pub fn default_session() -> Self {
        Self::expected(&Fields::new())
    }

    /// What `decode` must make of `fields`, written field by field from the derive's promise.
    pub fn expected(fields: &Fields) -> Self {
        Self {
            views: field(fields, "views", u64::default),
            user: field(fields, "u", Option::default),
            tags: field(fields, "tags", Vec::default),
            theme: field(fields, "theme", default_theme),
            signed: field(fields, "signed", i32::default),
            ratio: field(fields, "ratio", f64::default),
            flag: field(fields, "flag", bool::default),
            letter: field(fields, "letter", char::default),
            scores: field(fields, "scores", BTreeMap::default),
            inner: field(fields, "inner", Option::default),
            kind: field(fields, "kind", Kind::default),
            shape: field(fields, "shape", Shape::default),
            loose: field(fields, "loose", Loose::default),
            pair: field(fields, "pair", <(u8, String)>::default),
            bytes: field(fields, "bytes", <[u8; 4]>::default),
            big: field(fields, "big", u128::default),
            any: field(fields, "any", Value::default),
            scratch: Vec::new(),
        }
    }
}

impl Cart {
    /// What `decode` must make of `fields`.
    pub fn expected(fields: &Fields) -> Self {
        Self {
            items: field(fields, "cart.items", Vec::default),
            coupon: field(fields, "cart.c", Option::default),
            limit: field(fields, "cart.limit", Cart::default_limit),
            views: field(fields, "cart.views", i8::default),
        }
    }
}

/// Every storage key the two session types read.
pub fn known_keys() -> impl Iterator<Item = &'static str> {
    use typed_sessions::SessionData;
    Probe::KEYS.iter().chain(Cart::KEYS).copied()
}
