#![allow(unreachable_pub, missing_docs)]

//! Hardening: hostile input (the fuzz targets' inputs as property tests, crash regressions),
//! abuse (floods, hostile `Cookie` headers) and schema drift across deploys.

mod abuse;
mod hostile_input;
mod schema_drift;
