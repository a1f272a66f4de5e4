#![allow(unreachable_pub, missing_docs)]

//! Hardening: hostile input (the fuzz targets' inputs as property tests, crash regressions),
//! abuse, key rotation across restarts, schema drift and session fixation.

mod abuse;
mod ops;
