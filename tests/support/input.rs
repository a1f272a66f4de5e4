//! Hostile input: what the hardening tests' properties and the fuzz targets in `fuzz/` send
//! through a real `Router`, and what must hold whatever it is.
//!
//! - [`probe`]: the session types the inputs decode into, and what the derive promises;
//! - [`fixture`]: the apps (signed cookie, encrypted cookie, memory store, a store answering
//!   any id) and the genuine, stale and foreign cookie values they issued;
//! - [`record`]: the store that hands back whatever record an input holds;
//! - [`oracle`]: what must hold for every input;
//! - [`strategies`] (feature `proptest`): the inputs as proptest strategies.

pub mod fixture;
pub mod oracle;
pub mod probe;
pub mod record;
#[cfg(feature = "proptest")]
pub mod strategies;

pub use fixture::*;
pub use oracle::*;
pub use probe::*;
pub use record::*;
#[cfg(feature = "proptest")]
pub use strategies::*;
