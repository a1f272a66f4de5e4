#![allow(unreachable_pub, missing_docs)]

//! Abuse: floods of cookieless and of session-creating requests (`floods`), a flood of new
//! sessions that must not log users out of a full memory store (`new_sessions`), and hostile
//! `Cookie` headers (`headers`: 8 KB cookies, thousands of cookies, invalid UTF-8, duplicate and
//! planted session cookies), driven in-process through a real `Router`.
//!
//! A target of its own, so that the floods' measurement of the process's resident memory sees
//! only this target's tests, and those hold [`ONE_AT_A_TIME`] while they run.

mod floods;
mod headers;
mod new_sessions;

use axum::body::Body;
use axum::routing::get;
use axum::{Json, Router};
use http::Request;
use serde_json::{Value, json};
use typed_sessions::{MemoryStore, Session};

use typed_sessions_tests::{AnyStore, SpyStore, wire};

/// The floods' size.
pub const FLOOD: usize = 100_000;

/// Every test of this target holds it while it runs, so that a flood's measurement of the
/// process's memory sees only that flood.
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A spy that counts, without recording, the calls to `memory`.
pub fn counting(memory: &MemoryStore) -> SpyStore {
    SpyStore::counting(AnyStore::Memory(memory.clone()))
}

#[derive(typed_sessions::Session, Default)]
pub struct Visit {
    pub views: u64,
}

pub fn routes() -> Router {
    async fn read(s: Session<Visit>) -> Json<Value> {
        Json(json!({"new": s.is_new(), "views": s.views}))
    }
    async fn count(mut s: Session<Visit>) {
        s.views += 1;
    }
    async fn logout(mut s: Session<Visit>) {
        s.destroy();
    }
    Router::new()
        .route("/read", get(read))
        .route("/count", get(count))
        .route("/logout", get(logout))
}

pub const KEY: u8 = 0xAB;

pub fn app(store: Option<&SpyStore>) -> Router {
    let mut layer = typed_sessions_tests::layer(wire::key(&wire::master(KEY)));
    if let Some(store) = store {
        layer = layer.with_store(store.clone());
    }
    routes().layer(layer)
}

pub fn bare(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

/// The process's resident memory, from `/proc/self/statm`.
pub fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux's /proc/self/statm");
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * page_size()
}

/// `AT_PAGESZ` from the process's auxiliary vector (pairs of native words).
pub fn page_size() -> usize {
    const AT_PAGESZ: usize = 6;
    const WORD: usize = std::mem::size_of::<usize>();
    let auxv = std::fs::read("/proc/self/auxv").unwrap_or_default();
    auxv.chunks_exact(2 * WORD)
        .find_map(|pair| {
            let word = |bytes: &[u8]| usize::from_ne_bytes(bytes.try_into().unwrap());
            (word(&pair[..WORD]) == AT_PAGESZ).then(|| word(&pair[WORD..]))
        })
        .unwrap_or(4096)
}

pub const MIB: usize = 1024 * 1024;
