#![allow(unreachable_pub, missing_docs)]

//! Hardening: hostile input (the fuzz targets' inputs as property tests, crash regressions) and
//! schema drift across deploys. Floods and hostile `Cookie` headers are the `abuse` target.

mod hostile_input;
mod schema_drift;
