//! What the layer tells operators about its sessions: a `tracing` span around each session
//! load and each commit, and, with the feature `metrics`, counters and histograms through the
//! `metrics` facade (`meters.rs`).
//!
//! Only the store's kind, the operation, its outcome, durations and sizes are ever recorded:
//! never an id, a store key, a cookie value or a field value. Labels are `&'static str`, and a
//! layer builds its metric keys once, so a request allocates nothing for them. The route that
//! never extracts a session passes none of this.

#[cfg(feature = "metrics")]
mod meters;

use std::future::Future;
use std::time::{Duration, Instant};

use tracing::field::Empty;
use tracing::instrument::Instrumented;
use tracing::{Instrument, Span};

use crate::Error;
use crate::store::{Created, Record, Rekeyed, Updated, bounded};

/// What a load, a commit or a store call did to a session, as spans and metrics name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Load,
    Create,
    Patch,
    Rekey,
    Remove,
    Touch,
}

impl Op {
    #[cfg(feature = "metrics")]
    const ALL: [Op; 6] = [
        Op::Load,
        Op::Create,
        Op::Patch,
        Op::Rekey,
        Op::Remove,
        Op::Touch,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Load => "load",
            Op::Create => "create",
            Op::Patch => "patch",
            Op::Rekey => "rekey",
            Op::Remove => "remove",
            Op::Touch => "touch",
        }
    }
}

/// How an operation ended: `ok`, or what the request answers because of it (`conflict`: 409;
/// `unavailable` and `timeout`: 503; `failure`: 500).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    Conflict,
    Unavailable,
    Timeout,
    Failure,
}

impl Outcome {
    #[cfg(feature = "metrics")]
    const ALL: [Outcome; 5] = [
        Outcome::Ok,
        Outcome::Conflict,
        Outcome::Unavailable,
        Outcome::Timeout,
        Outcome::Failure,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Conflict => "conflict",
            Outcome::Unavailable => "unavailable",
            Outcome::Timeout => "timeout",
            Outcome::Failure => "failure",
        }
    }

    fn of_error(error: &Error) -> Self {
        match error {
            Error::Timeout(_) => Outcome::Timeout,
            Error::Unavailable(_) => Outcome::Unavailable,
            Error::RemovedConcurrently => Outcome::Conflict,
            _ => Outcome::Failure,
        }
    }

    fn of<T>(result: &Result<T, Error>) -> Self {
        result.as_ref().err().map_or(Outcome::Ok, Outcome::of_error)
    }
}

/// A store call's answer, as an outcome: a session to change that was gone is a conflict where
/// the request fails for it (a patch or a rekey answers 409; a touch leaves a removed session
/// removed and answers as usual).
pub(crate) trait Answer {
    // Only metrics count store calls by outcome.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    fn outcome(&self, op: Op) -> Outcome {
        let _ = op;
        Outcome::Ok
    }
}

impl Answer for () {}
impl Answer for Option<Record> {}
impl Answer for Created {}

impl Answer for Updated {
    fn outcome(&self, op: Op) -> Outcome {
        match (self, op) {
            (Updated::Missing, Op::Patch) => Outcome::Conflict,
            _ => Outcome::Ok,
        }
    }
}

impl Answer for Rekeyed {
    fn outcome(&self, _: Op) -> Outcome {
        match self {
            Rekeyed::Applied => Outcome::Ok,
            Rekeyed::Missing => Outcome::Conflict,
            // Only a store that misreports answers this: the request fails with a 500.
            Rekeyed::Taken => Outcome::Failure,
        }
    }
}

/// A layer's telemetry: the kind of its store, and its metric keys.
#[derive(Clone)]
pub(crate) struct Telemetry {
    kind: &'static str,
    #[cfg(feature = "metrics")]
    keys: std::sync::Arc<meters::Keys>,
}

impl Telemetry {
    /// The telemetry of a layer whose sessions live in a store of `kind` (`"cookie"` without
    /// a store).
    pub(crate) fn new(kind: &'static str) -> Self {
        Self {
            kind,
            #[cfg(feature = "metrics")]
            keys: std::sync::Arc::new(meters::Keys::new(kind)),
        }
    }

    /// Starts the span of a session load.
    pub(crate) fn load(&self) -> Traced {
        if !listening() {
            return Traced::off(Some(Op::Load));
        }
        Traced::new(
            tracing::debug_span!(
                "session.load",
                store = self.kind,
                op = Op::Load.name(),
                outcome = Empty,
                duration_ms = Empty,
            ),
            Some(Op::Load),
        )
    }

    /// Starts the span of a commit; what it does is known once it is planned
    /// ([`Traced::set_op`]).
    pub(crate) fn commit(&self) -> Traced {
        if !listening() {
            return Traced::off(None);
        }
        Traced::new(
            tracing::debug_span!(
                "session.commit",
                store = self.kind,
                op = Empty,
                outcome = Empty,
                duration_ms = Empty,
            ),
            None,
        )
    }

    /// Ends the span `traced` with the outcome of `result`, and counts the operation (a commit
    /// that did nothing is not counted).
    pub(crate) fn finish<T>(&self, traced: Traced, result: &Result<T, Error>) {
        let outcome = Outcome::of(result);
        #[cfg(feature = "metrics")]
        if let Some(op) = traced.op {
            self.keys.operation(op, outcome);
        }
        if let Some(on) = traced.on {
            let (span, start) = *on;
            span.record("outcome", outcome.name());
            span.record("duration_ms", start.elapsed().as_secs_f64() * 1000.0);
        }
    }

    /// Makes one store call `op`, bounded by `limit`; with the feature `metrics`, counts it by
    /// outcome and records its latency.
    #[cfg(feature = "metrics")]
    pub(crate) async fn store_call<T: Answer>(
        &self,
        limit: Duration,
        op: Op,
        call: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let start = Instant::now();
        let result = bounded(limit, call).await;
        let outcome = match &result {
            Ok(answer) => answer.outcome(op),
            Err(error) => Outcome::of_error(error),
        };
        self.keys.store_call(op, outcome, start.elapsed());
        result
    }

    /// Makes one store call `op`, bounded by `limit`: without the feature `metrics`, the bare
    /// bounded call, with no future of its own around it.
    #[cfg(not(feature = "metrics"))]
    pub(crate) fn store_call<'a, T: Answer + 'a, F: Future<Output = Result<T, Error>> + 'a>(
        &'a self,
        limit: Duration,
        op: Op,
        call: F,
    ) -> impl Future<Output = Result<T, Error>> + 'a {
        let _ = op;
        bounded(limit, call)
    }

    /// A `Set-Cookie` of `len` bytes was sent.
    pub(crate) fn cookie_issued(&self, len: usize) {
        #[cfg(feature = "metrics")]
        self.keys.cookie_issued(len);
        #[cfg(not(feature = "metrics"))]
        let _ = len;
    }

    /// The cookie was expired.
    pub(crate) fn cookie_expired(&self) {
        #[cfg(feature = "metrics")]
        self.keys.cookie_expired();
    }
}

/// Why the CSRF check refused a request, as the metric names it: a small fixed set, whatever
/// the detail in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Fetch Metadata or `Origin` said another site sent it.
    CrossSite,
    /// No session, or one that never handed out a token.
    NoSession,
    /// No token in the header or the form.
    NoToken,
    /// A token that is not the session's.
    WrongToken,
    /// A form body too long or that failed while being read.
    Body,
}

impl Refusal {
    #[cfg(feature = "metrics")]
    const ALL: [Refusal; 5] = [
        Refusal::CrossSite,
        Refusal::NoSession,
        Refusal::NoToken,
        Refusal::WrongToken,
        Refusal::Body,
    ];

    // Only metrics name refusals this way (the log says more).
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    const fn name(self) -> &'static str {
        match self {
            Refusal::CrossSite => "cross_site",
            Refusal::NoSession => "no_session",
            Refusal::NoToken => "no_token",
            Refusal::WrongToken => "wrong_token",
            Refusal::Body => "body",
        }
    }
}

/// The CSRF check refused a request; with the feature `metrics`, counts it by reason. Not
/// per layer: the check has no store to name, and its keys are built at compile time.
pub(crate) fn csrf_refused(refusal: Refusal) {
    #[cfg(feature = "metrics")]
    meters::csrf_refused(refusal);
    #[cfg(not(feature = "metrics"))]
    let _ = refusal;
}

/// Whether any `tracing` subscriber was ever installed. Without one, no span is built at all:
/// a disabled span still costs its construction, and with `tracing`'s `log` feature (which
/// other crates turn on) its enter, exit and drop fall back to `log` checks, about 1,300
/// instructions per request in all (`bench/`). One atomic load decides.
fn listening() -> bool {
    tracing::dispatcher::has_been_set()
}

/// A load or commit span, with the time it started, when a subscriber listens to it.
pub(crate) struct Traced {
    /// The span and its start; boxed, so that a request's futures, which hold a `Traced`
    /// across their store calls, grow by one pointer, not by a span, when nothing listens.
    on: Option<Box<(Span, Instant)>>,
    /// What the load or commit does (`None`: a commit with nothing to do).
    op: Option<Op>,
}

impl Traced {
    fn new(span: Span, op: Option<Op>) -> Self {
        let on = (!span.is_disabled()).then(|| Box::new((span, Instant::now())));
        Self { on, op }
    }

    /// No span: nothing listens.
    fn off(op: Option<Op>) -> Self {
        Self { on: None, op }
    }

    /// Names what the commit does.
    pub(crate) fn set_op(&mut self, op: Option<Op>) {
        self.op = op;
        if let (Some(op), Some(on)) = (op, &self.on) {
            on.0.record("op", op.name());
        }
    }

    /// Whether a subscriber listens to the span.
    pub(crate) fn is_on(&self) -> bool {
        self.on.is_some()
    }

    /// Runs `f` inside the span (directly when nothing listens).
    pub(crate) fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.on {
            Some(on) => on.0.in_scope(f),
            None => f(),
        }
    }

    /// `future`, run inside the span. Callers check [`is_on`](Self::is_on) first and await the
    /// bare future when nothing listens: an async wrapper here would hold `future` twice (its
    /// argument and the instrumented copy), which every move of the request's future pays for.
    pub(crate) fn instrumented<F: Future>(&self, future: F) -> Instrumented<F> {
        let span = self.on.as_ref().map_or_else(Span::none, |on| on.0.clone());
        future.instrument(span)
    }
}
