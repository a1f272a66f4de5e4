#![allow(unreachable_pub, missing_docs)]

//! The behaviour cases of `shared/spec/behaviour-cases.md`, each a test named after its case
//! id, run through a real `Router` against the cookie store and the memory store.

mod harness;

mod acc;
mod attr;
mod conc;
mod del;
mod err;
mod examples;
mod exp;
mod id;
mod layer;
mod mal;
mod misc;
mod props;
mod ren;
mod rol;
mod sig;
mod size;
mod sto;
mod stores;
mod tcp;
