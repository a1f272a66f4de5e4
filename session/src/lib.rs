//! Typed HTTP sessions for axum.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod clock;
mod codec;
mod commit;
mod cookies;
mod data;
mod error;
mod expiry;
mod extract;
mod id;
mod key;
mod layer;
mod record;
mod service;
mod state;
mod store;

pub use clock::{Clock, ManualClock};
pub use cookie::SameSite;
pub use data::{Fields, SessionData};
pub use error::Error;
pub use extract::{Session, SessionRejection};
pub use id::{SessionId, StoreKey};
pub use key::Key;
pub use layer::SessionLayer;
pub use record::{Applied, Created, Patch, Record};
pub use service::{ResponseFuture, SessionService};
pub use store::{MemoryStore, SessionStore};
pub use typed_sessions_derive::Session;

#[doc(hidden)]
pub use data::__private;
