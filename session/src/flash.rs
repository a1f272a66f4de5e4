//! Flash fields: `#[session(flash)]` on a field makes a value set in one request readable in the
//! next request that extracts the session, and then gone.
//!
//! Consumed by a request that extracts a session type holding the field, when its handle
//! drops: a field the request changed keeps its new value for the next request; one it only
//! read (or set to the very value it read, which is no change) is removed, as a removal of that
//! one field. Routes that never extract the session, or extract another type, leave it alone.
//! Two tabs: every request that loads the session before the first of them answers sees the
//! message; one that loads it afterwards does not. As for any field, the last write wins: a
//! request consuming a flash can remove a new one that a concurrent request set meanwhile.
//!
//! A flash field's type needs an empty value, the one a consumed field goes back to (and that
//! is stored as nothing): [`FlashValue`], implemented for `Option<T>`, `Vec<T>`, `String` and
//! the standard collections.
//!
//! # Examples
//!
//! ```
//! use axum::response::Redirect;
//! use typed_sessions::Session;
//!
//! #[derive(Session, Default)]
//! struct Notices {
//!     #[session(flash)]
//!     notice: Option<String>,
//! }
//!
//! async fn save_profile(mut notices: Session<Notices>) -> Redirect {
//!     notices.notice = Some("Profile saved".into());
//!     Redirect::to("/profile")
//! }
//!
//! async fn profile(notices: Session<Notices>) -> String {
//!     // Shown once: the next request that extracts `Notices` finds it gone.
//!     notices.notice.clone().unwrap_or_default()
//! }
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a flash field: it has no empty value",
    label = "a consumed flash field goes back to its empty value, which is stored as nothing",
    note = "use `Option<{Self}>` or `Vec<{Self}>`, or implement `typed_sessions::flash::FlashValue` for a type whose `Default` is empty"
)]
/// A type a flash field (`#[session(flash)]`) can have: one with an empty value, its
/// `Default`, that a consumed flash field goes back to and that is stored as nothing.
///
/// Implemented for `Option<T>`, `Vec<T>`, `VecDeque<T>`, `String` and the standard maps and
/// sets. Implement it for a type of your own whose `Default` means "nothing to show".
///
/// # Examples
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use typed_sessions::Session;
/// use typed_sessions::flash::FlashValue;
///
/// #[derive(Serialize, Deserialize, Default)]
/// struct Banner {
///     lines: Vec<String>,
/// }
///
/// impl FlashValue for Banner {}
///
/// #[derive(Session, Default)]
/// struct Page {
///     #[session(flash)]
///     banner: Banner,
/// }
/// ```
pub trait FlashValue: Default {}

impl<T> FlashValue for Option<T> {}
impl<T> FlashValue for Vec<T> {}
impl<T> FlashValue for VecDeque<T> {}
impl FlashValue for String {}
impl<K, V> FlashValue for BTreeMap<K, V> {}
impl<K, V, S: Default> FlashValue for HashMap<K, V, S> {}
impl<T> FlashValue for BTreeSet<T> {}
impl<T, S: Default> FlashValue for HashSet<T, S> {}
