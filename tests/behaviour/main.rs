#![allow(unreachable_pub, missing_docs)]

//! What the library does, case by case, through a real `Router` on the cookie store and on every
//! store (the memory store, and the real servers `scripts/test` starts). A test named after a
//! case id (`exp_03_...`) checks that case; `tests/README.md` says which file holds which topic
//! and what the case prefixes mean.

mod access;
mod caching_and_isolation;
mod codec_properties;
mod concurrency;
mod cookie_attributes;
mod counter_example;
mod csrf_origin;
mod csrf_support;
mod csrf_tokens;
mod destroy;
mod devices;
mod devices_one_index;
mod errors;
mod example_keys;
mod expiry;
mod fixation;
mod flash;
mod header_transport;
mod ids;
mod key_rotation;
mod layer;
mod lifetime;
mod local_development;
mod login_example;
mod malformed_input;
mod observability;
mod optional;
mod regenerate_races;
mod renewal;
mod rolling;
mod several_instances;
mod signing;
mod size;
mod store_calls;
mod tcp_concurrency;
mod without_axum;
