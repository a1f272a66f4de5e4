//! The metrics of a layer, through the `metrics` facade: whatever recorder the application
//! installed (globally, or for the thread) gets them. The README's "Observability" lists them.
//!
//! Every key is built once per layer, with the store's kind in it, so that recording a metric
//! allocates nothing: a recorder is handed a key it has seen before.

use std::time::Duration;

use metrics::{Key, Label, Level, Metadata};

use super::{Op, Outcome, Refusal};

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
/// Unsafe requests the CSRF check refused, by reason.
const CSRF_REJECTIONS: &str = "typed_sessions_csrf_rejections_total";

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

/// The label of each refusal's key, in [`Refusal::ALL`]'s order.
static CSRF_REASONS: [[Label; 1]; Refusal::ALL.len()] = [
    [Label::from_static_parts(
        "reason",
        Refusal::CrossSite.name(),
    )],
    [Label::from_static_parts(
        "reason",
        Refusal::NoSession.name(),
    )],
    [Label::from_static_parts("reason", Refusal::NoToken.name())],
    [Label::from_static_parts(
        "reason",
        Refusal::WrongToken.name(),
    )],
    [Label::from_static_parts("reason", Refusal::Body.name())],
];

/// The keys of the CSRF check's refusals, by reason: the same for every layer.
static CSRF_REJECTION_KEYS: [Key; Refusal::ALL.len()] = [
    Key::from_static_parts(CSRF_REJECTIONS, &CSRF_REASONS[0]),
    Key::from_static_parts(CSRF_REJECTIONS, &CSRF_REASONS[1]),
    Key::from_static_parts(CSRF_REJECTIONS, &CSRF_REASONS[2]),
    Key::from_static_parts(CSRF_REJECTIONS, &CSRF_REASONS[3]),
    Key::from_static_parts(CSRF_REJECTIONS, &CSRF_REASONS[4]),
];

pub(super) fn csrf_refused(refusal: Refusal) {
    count(&CSRF_REJECTION_KEYS[refusal as usize]);
}

fn label(key: &'static str, value: &'static str) -> Label {
    Label::from_static_parts(key, value)
}

fn count(key: &Key) {
    metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA).increment(1));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_has_the_key_of_its_own_reason() {
        for refusal in Refusal::ALL {
            let key = &CSRF_REJECTION_KEYS[refusal as usize];
            assert_eq!(key.name(), CSRF_REJECTIONS);
            let labels: Vec<_> = key.labels().map(|l| (l.key(), l.value())).collect();
            assert_eq!(labels, [("reason", refusal.name())]);
        }
    }
}
