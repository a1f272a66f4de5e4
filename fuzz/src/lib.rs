//! Shared by the fuzz targets: the session types, the apps they drive, an independent
//! implementation of the cookie wire format, and the properties every input must keep.
#![allow(missing_docs)]

pub mod fixture;
pub mod oracle;
pub mod probe;
pub mod wire;

pub use fixture::*;
pub use oracle::*;
pub use probe::*;
