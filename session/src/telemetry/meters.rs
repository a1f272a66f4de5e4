//! The metrics of a layer, through the `metrics` facade: whatever recorder the application
//! installed (globally, or for the thread) gets them. The README's "Observability" lists them.
//!
//! Every key is built once per layer, with the store's kind in it, so that recording a metric
//! allocates nothing: a recorder is handed a key it has seen before.

use std::time::Duration;

use metrics::{Key, Label, Level, Metadata};

use super::{Op, Outcome};

/// Session loads and commits, by store, operation and outcome: what the spans record.
const OPERATIONS: &str = "typed_sessions_operations_total";
/// Calls to a store, by store, operation and outcome.
const STORE_CALLS: &str = "typed_sessions_store_calls_total";
/// The latency of store calls, in seconds, by store and operation.
const STORE_CALL_DURATION: &str = "typed_sessions_store_call_duration_seconds";
/// `Set-Cookie` headers that issued a session cookie, by store.
const COOKIES_ISSUED: &str = "typed_sessions_cookies_issued_total";
/// `Set-Cookie` headers that expired the session cookie, by store.
const COOKIES_EXPIRED: &str = "typed_sessions_cookies_expired_total";
/// The size of the `Set-Cookie` header values that issued a session cookie, in bytes, by store.
const SET_COOKIE_BYTES: &str = "typed_sessions_set_cookie_bytes";

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

const OPS: usize = Op::ALL.len();
const OUTCOMES: usize = Outcome::ALL.len();

/// The keys of one layer's metrics.
pub(super) struct Keys {
    operations: [[Key; OUTCOMES]; OPS],
    store_calls: [[Key; OUTCOMES]; OPS],
    store_call_duration: [Key; OPS],
    cookies_issued: Key,
    cookies_expired: Key,
    set_cookie_bytes: Key,
}

impl Keys {
    pub(super) fn new(store: &'static str) -> Self {
        let by_op = |name: &'static str, op: Op| {
            Key::from_parts(name, vec![label("store", store), label("op", op.name())])
        };
        let by_outcome = |name: &'static str| {
            Op::ALL.map(|op| {
                Outcome::ALL.map(|outcome| {
                    let labels = vec![
                        label("store", store),
                        label("op", op.name()),
                        label("outcome", outcome.name()),
                    ];
                    Key::from_parts(name, labels)
                })
            })
        };
        let by_store = |name: &'static str| Key::from_parts(name, vec![label("store", store)]);
        Self {
            operations: by_outcome(OPERATIONS),
            store_calls: by_outcome(STORE_CALLS),
            store_call_duration: Op::ALL.map(|op| by_op(STORE_CALL_DURATION, op)),
            cookies_issued: by_store(COOKIES_ISSUED),
            cookies_expired: by_store(COOKIES_EXPIRED),
            set_cookie_bytes: by_store(SET_COOKIE_BYTES),
        }
    }

    pub(super) fn operation(&self, op: Op, outcome: Outcome) {
        count(&self.operations[op as usize][outcome as usize]);
    }

    pub(super) fn store_call(&self, op: Op, outcome: Outcome, took: Duration) {
        count(&self.store_calls[op as usize][outcome as usize]);
        let key = &self.store_call_duration[op as usize];
        metrics::with_recorder(|recorder| {
            recorder
                .register_histogram(key, &METADATA)
                .record(took.as_secs_f64());
        });
    }

    pub(super) fn cookie_issued(&self, len: usize) {
        count(&self.cookies_issued);
        metrics::with_recorder(|recorder| {
            recorder
                .register_histogram(&self.set_cookie_bytes, &METADATA)
                .record(len as f64);
        });
    }

    pub(super) fn cookie_expired(&self) {
        count(&self.cookies_expired);
    }
}

fn label(key: &'static str, value: &'static str) -> Label {
    Label::from_static_parts(key, value)
}

fn count(key: &Key) {
    metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA).increment(1));
}
