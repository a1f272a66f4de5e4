#![allow(unreachable_pub, missing_docs)]

//! Hardening: hostile input (the fuzz targets' inputs as property tests, crash regressions),
//! abuse, key rotation across restarts, schema drift and session fixation.

#[macro_use]
mod support;

mod abuse;
mod drift;
mod fixation;
mod input;
mod rotation;
