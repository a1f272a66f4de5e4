//! Observability: the spans around each session load and commit, and the metrics of the
//! feature `metrics` (the CSRF check's refusals among them), read through a recorder and a span
//! capture of the test's own (never from logs), on the cookie store and on every store.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use typed_sessions::Session;
use typed_sessions::store::SessionStore;
use typed_sessions_tests::spans::Recorded;
use typed_sessions_tests::wire::{session_id_in, store_key};
use typed_sessions_tests::*;

/// A field value no span or event may show.
const SECRET: &str = "s3cr3t-field-value";

/// The reference routes plus `/secret`, which writes [`SECRET`] into the session.
fn routes() -> Router {
    reference_routes().route(
        "/secret",
        get(|mut session: Session<Msg>| async move {
            session.message = SECRET.into();
        }),
    )
}

/// The app under test on `backend`, its store connected (connecting on first use is not what
/// these tests look at), with a store timeout that a busy machine keeps.
async fn app(backend: Backend) -> TestApp {
    let app = TestApp::with(backend, routes(), |layer| {
        layer.with_store_timeout(Duration::from_secs(10))
    });
    if let Some(spy) = &app.spy {
        spy.inner.load(&store_key("warm-up")).await.unwrap();
    }
    app
}

/// The store kind spans and metrics name for the app's backend.
fn kind(app: &TestApp) -> &'static str {
    app.spy.as_ref().map_or("cookie", SessionStore::kind)
}

/// The closed spans named `name`.
fn named<'a>(recorded: &'a [Recorded], name: &str) -> Vec<&'a Recorded> {
    recorded.iter().filter(|r| r.name == name).collect()
}

/// The spans and events of one request, once its commit span has closed: a client library may
/// hold the current span a little longer, in a task it spawned (sqlx hands a connection back to
/// its pool that way), and that task runs once the test yields.
async fn after_commit(spans: &Spans) -> Vec<Recorded> {
    let mut recorded = Vec::new();
    for _ in 0..500 {
        recorded.extend(spans.take());
        if !named(&recorded, "session.commit").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    recorded
}

/// Asserts that `span` names `store`, `op` and `outcome`, and carries a duration.
#[track_caller]
fn assert_span(span: &Recorded, store: &str, op: &str, outcome: &str) {
    assert_eq!(span.field("store"), Some(store), "{span:?}");
    assert_eq!(span.field("op"), Some(op), "{span:?}");
    assert_eq!(span.field("outcome"), Some(outcome), "{span:?}");
    let duration: f64 = span
        .field("duration_ms")
        .expect("a duration")
        .parse()
        .unwrap();
    assert!(duration >= 0.0, "{span:?}");
}

on_backends!(
    spans_carry_store_op_and_outcome_and_never_an_id_a_key_a_cookie_or_a_value,
    [Cookie, Memory],
    |backend| async move {
        let app = app(backend).await;
        let store = kind(&app);
        let (spans, _capture) = Spans::capture();

        // A route that never extracts the session opens no span.
        app.get("/none", None).await;
        assert!(spans.take().is_empty(), "nothing on the untouched path");

        let r1 = app.get("/secret", None).await;
        let recorded = after_commit(&spans).await;
        let loads = named(&recorded, "session.load");
        let commits = named(&recorded, "session.commit");
        assert_eq!((loads.len(), commits.len()), (1, 1), "{recorded:?}");
        assert_span(loads[0], store, "load", "ok");
        assert_span(commits[0], store, "create", "ok");
        let mut seen = recorded;

        let r2 = app.get("/count", Some(&r1.replay())).await;
        let recorded = after_commit(&spans).await;
        assert_span(named(&recorded, "session.load")[0], store, "load", "ok");
        assert_span(named(&recorded, "session.commit")[0], store, "patch", "ok");
        seen.extend(recorded);

        let cookie = r2.issued().map_or_else(|| r1.replay(), |_| r2.replay());
        app.get("/destroy", Some(&cookie)).await;
        let recorded = after_commit(&spans).await;
        assert_span(named(&recorded, "session.commit")[0], store, "remove", "ok");
        seen.extend(recorded);

        // Nothing that identifies the session, or what it holds, in any span or event.
        let id = session_id_in(backend, &r1.session_value());
        let secrets = [
            id.clone(),
            store_key(&id).as_str().to_owned(),
            r1.session_value(),
            r2.issued().unwrap_or_default(),
            SECRET.to_owned(),
        ];
        for recorded in &seen {
            for (name, value) in &recorded.fields {
                for secret in secrets.iter().filter(|s| !s.is_empty()) {
                    assert!(
                        !value.contains(secret.as_str()),
                        "{} field {name} shows {secret}: {value}",
                        recorded.name
                    );
                }
            }
        }
    }
);

#[tokio::test]
async fn spans_carry_the_outcome_of_a_failed_load_and_a_failed_commit() {
    let app = TestApp::new(Backend::Memory, routes());
    let cookie = app.get("/set", None).await.replay();
    let (spans, _capture) = Spans::capture();
    // What one `/count` records while the store misbehaves as `faults` says.
    let count_failing = async |faults: Faults, status: u16| {
        app.spy().set_faults(faults);
        assert_eq!(app.get("/count", Some(&cookie)).await.status, status);
        spans.take()
    };

    let unavailable = Faults {
        unavailable: vec!["load"],
        ..Default::default()
    };
    let recorded = count_failing(unavailable, 503).await;
    let load = named(&recorded, "session.load")[0];
    assert_span(load, "memory", "load", "unavailable");
    let commits = named(&recorded, "session.commit");
    assert!(commits.is_empty(), "{recorded:?}");

    let fail = Faults {
        fail: vec!["patch"],
        ..Default::default()
    };
    let recorded = count_failing(fail, 500).await;
    let commit = named(&recorded, "session.commit")[0];
    assert_span(commit, "memory", "patch", "failure");
}

#[cfg(feature = "metrics")]
mod recorded {
    //! The metrics, through a `metrics-util` debugging recorder set for the test's thread.

    use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

    use super::*;
    use crate::csrf_support::{self, form_token, unsafe_request, with_form, with_header};

    const OPERATIONS: &str = "typed_sessions_operations_total";
    const STORE_CALLS: &str = "typed_sessions_store_calls_total";
    const LATENCY: &str = "typed_sessions_store_call_duration_seconds";
    const ISSUED: &str = "typed_sessions_cookies_issued_total";
    const EXPIRED: &str = "typed_sessions_cookies_expired_total";
    const BYTES: &str = "typed_sessions_set_cookie_bytes";
    const CSRF_REJECTIONS: &str = "typed_sessions_csrf_rejections_total";

    /// One metric: its name, its labels, its value.
    type Metric = (String, Vec<(String, String)>, DebugValue);

    /// What the recorder got since the last look.
    struct Seen(Vec<Metric>);

    impl Seen {
        /// Everything recorded since the last look (counters restart from zero, histograms
        /// empty).
        fn take(snapshotter: &Snapshotter) -> Self {
            let entries = snapshotter.snapshot().into_vec().into_iter();
            Self(
                entries
                    .map(|(key, _, _, value)| {
                        let key = key.key();
                        let labels = key
                            .labels()
                            .map(|l| (l.key().to_owned(), l.value().to_owned()))
                            .collect();
                        (key.name().to_owned(), labels, value)
                    })
                    .collect(),
            )
        }

        fn matching<'a>(
            &'a self,
            name: &'a str,
            labels: &'a [(&str, &str)],
        ) -> impl Iterator<Item = &'a DebugValue> {
            self.0
                .iter()
                .filter(move |(n, have, _)| {
                    n == name
                        && labels
                            .iter()
                            .all(|(k, v)| have.iter().any(|(hk, hv)| hk == k && hv == v))
                })
                .map(|(_, _, value)| value)
        }

        /// The sum of the counters `name` with all of `labels`.
        fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
            self.matching(name, labels)
                .map(|value| match value {
                    DebugValue::Counter(n) => *n,
                    other => panic!("{name} is not a counter: {other:?}"),
                })
                .sum()
        }

        /// The samples of the histograms `name` with all of `labels`.
        fn samples(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
            self.matching(name, labels)
                .flat_map(|value| match value {
                    DebugValue::Histogram(samples) => samples.iter().map(|s| s.into_inner()),
                    other => panic!("{name} is not a histogram: {other:?}"),
                })
                .collect()
        }
    }

    on_backends!(
        a_session_counts_its_operations_store_calls_and_cookies,
        [Cookie, Memory],
        |backend| async move {
            let recorder = DebuggingRecorder::new();
            let snapshotter = recorder.snapshotter();
            let _recorder = ::metrics::set_default_local_recorder(&recorder);
            let app = app(backend).await;
            let store = kind(&app);
            let calls = |n| if backend.is_store() { n } else { 0 };

            app.get("/none", None).await;
            assert!(
                Seen::take(&snapshotter).0.is_empty(),
                "nothing on the untouched path"
            );

            // A new session: one load (no store call: no cookie), one create.
            let r1 = app.get("/set", None).await;
            let seen = Seen::take(&snapshotter);
            let ok = |op| [("store", store), ("op", op), ("outcome", "ok")];
            assert_eq!(seen.counter(OPERATIONS, &ok("load")), 1);
            assert_eq!(seen.counter(OPERATIONS, &ok("create")), 1);
            assert_eq!(seen.counter(OPERATIONS, &[]), 2);
            assert_eq!(seen.counter(STORE_CALLS, &ok("create")), calls(1));
            assert_eq!(seen.counter(STORE_CALLS, &[]), calls(1));
            let latency = seen.samples(LATENCY, &[("store", store), ("op", "create")]);
            assert_eq!(latency.len(), calls(1) as usize);
            assert!(
                latency.iter().all(|s| (0.0..1.0).contains(s)),
                "{latency:?}"
            );
            assert_eq!(seen.counter(ISSUED, &[("store", store)]), 1);
            let header = &r1.set_cookies()[0];
            assert_eq!(
                seen.samples(BYTES, &[("store", store)]),
                [header.len() as f64],
                "the Set-Cookie header value's length: {header}"
            );

            // A write to it: a load and a patch.
            let r2 = app.get("/count", Some(&r1.replay())).await;
            let seen = Seen::take(&snapshotter);
            assert_eq!(seen.counter(OPERATIONS, &ok("load")), 1);
            assert_eq!(seen.counter(OPERATIONS, &ok("patch")), 1);
            assert_eq!(seen.counter(STORE_CALLS, &ok("load")), calls(1));
            assert_eq!(seen.counter(STORE_CALLS, &ok("patch")), calls(1));
            assert_eq!(seen.counter(STORE_CALLS, &[]), calls(2));
            assert_eq!(
                seen.samples(LATENCY, &[("op", "patch")]).len(),
                calls(1) as usize
            );
            let issued = r2.set_cookies();
            assert_eq!(seen.counter(ISSUED, &[]), issued.len() as u64);
            let sizes: Vec<f64> = issued.iter().map(|h| h.len() as f64).collect();
            assert_eq!(seen.samples(BYTES, &[]), sizes);

            // The end of it: a removal and an expired cookie.
            let cookie = r2.issued().map_or_else(|| r1.replay(), |_| r2.replay());
            let r3 = app.get("/destroy", Some(&cookie)).await;
            assert!(r3.expires_cookie(wire::NAME), "{r3:?}");
            let seen = Seen::take(&snapshotter);
            assert_eq!(seen.counter(OPERATIONS, &ok("remove")), 1);
            assert_eq!(seen.counter(STORE_CALLS, &ok("remove")), calls(1));
            assert_eq!(seen.counter(EXPIRED, &[("store", store)]), 1);
            assert_eq!(seen.counter(ISSUED, &[]), 0);
            assert!(seen.samples(BYTES, &[]).is_empty());
        }
    );

    on_backends!(
        a_session_removed_meanwhile_counts_a_conflict,
        [Memory],
        |backend| async move {
            let recorder = DebuggingRecorder::new();
            let snapshotter = recorder.snapshotter();
            let _recorder = ::metrics::set_default_local_recorder(&recorder);
            let app = app(backend).await;
            let store = kind(&app);
            let r1 = app.get("/set", None).await;
            let key = wire::store_key_of(&r1.replay());
            Seen::take(&snapshotter);

            // The patch waits; a logout removes the session meanwhile.
            app.spy().set_faults(Faults {
                delay: Some(("patch", Duration::from_secs(1))),
                ..Default::default()
            });
            let logout = async {
                while app.spy().count("patch") == 0 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                app.spy().inner.remove(&key).await.unwrap();
            };
            let cookie = r1.replay();
            let (response, ()) = tokio::join!(app.get("/count", Some(&cookie)), logout);
            assert_eq!(response.status, 409);
            let seen = Seen::take(&snapshotter);
            let conflict = [("store", store), ("op", "patch"), ("outcome", "conflict")];
            assert_eq!(seen.counter(OPERATIONS, &conflict), 1);
            assert_eq!(seen.counter(STORE_CALLS, &conflict), 1);
            assert_eq!(seen.counter(EXPIRED, &[("store", store)]), 1);
        }
    );

    /// What one `/count` request records on the memory store while its calls misbehave as
    /// `faults` says; it answers `status`.
    async fn count_failing(faults: Faults, status: u16) -> Seen {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _recorder = ::metrics::set_default_local_recorder(&recorder);
        let app = TestApp::with(Backend::Memory, routes(), |layer| {
            layer.with_store_timeout(Duration::from_millis(50))
        });
        let cookie = app.get("/set", None).await.replay();
        app.spy().set_faults(faults);
        Seen::take(&snapshotter);
        assert_eq!(app.get("/count", Some(&cookie)).await.status, status);
        Seen::take(&snapshotter)
    }

    #[tokio::test]
    async fn a_store_failure_counts_as_failure() {
        let faults = Faults {
            fail: vec!["patch"],
            ..Default::default()
        };
        let seen = count_failing(faults, 500).await;
        let failure = [("store", "memory"), ("op", "patch"), ("outcome", "failure")];
        assert_eq!(seen.counter(STORE_CALLS, &failure), 1);
        assert_eq!(seen.counter(OPERATIONS, &failure), 1);
        assert_eq!(seen.samples(LATENCY, &[("op", "patch")]).len(), 1);
        assert_eq!(seen.counter(ISSUED, &[]), 0);
    }

    #[tokio::test]
    async fn an_unreachable_store_counts_as_unavailable() {
        let faults = Faults {
            unavailable: vec!["load"],
            ..Default::default()
        };
        let seen = count_failing(faults, 503).await;
        let unavailable = [
            ("store", "memory"),
            ("op", "load"),
            ("outcome", "unavailable"),
        ];
        assert_eq!(seen.counter(STORE_CALLS, &unavailable), 1);
        assert_eq!(seen.counter(OPERATIONS, &unavailable), 1);
        assert_eq!(
            seen.counter(OPERATIONS, &[]),
            1,
            "no commit after a failed load"
        );
    }

    #[tokio::test]
    async fn a_store_too_slow_counts_as_timeout() {
        let faults = Faults {
            delay: Some(("patch", Duration::from_secs(5))),
            ..Default::default()
        };
        let seen = count_failing(faults, 503).await;
        let timeout = [("store", "memory"), ("op", "patch"), ("outcome", "timeout")];
        assert_eq!(seen.counter(STORE_CALLS, &timeout), 1);
        assert_eq!(seen.counter(OPERATIONS, &timeout), 1);
        let latency = seen.samples(LATENCY, &[("op", "patch")]);
        assert!(latency.len() == 1 && latency[0] >= 0.05, "{latency:?}");
    }

    on_backends!(
        each_csrf_refusal_counts_once_under_its_reason,
        [Cookie, Memory],
        |backend| async move {
            let recorder = DebuggingRecorder::new();
            let snapshotter = recorder.snapshotter();
            let _recorder = ::metrics::set_default_local_recorder(&recorder);
            let routes = csrf_support::routes(Default::default(), |csrf| csrf.with_form_limit(200));
            let app = TestApp::new(backend, routes);
            let (token, cookie) = form_token(&app, None).await;
            let from = |headers| unsafe_request("POST", "/comment", Some(&cookie), headers, "");
            let long = format!("csrf_token={token}&text={}", "a".repeat(200));
            let refusals = [
                (
                    with_form(None, &format!("csrf_token={token}")),
                    403,
                    "no_session",
                ),
                (from(&[("sec-fetch-site", "cross-site")]), 403, "cross_site"),
                (
                    from(&[("origin", "https://evil.example")]),
                    403,
                    "cross_site",
                ),
                (with_form(Some(&cookie), "text=hi"), 403, "no_token"),
                (with_header(&cookie, "nonsense"), 403, "wrong_token"),
                (with_form(Some(&cookie), &long), 413, "body"),
            ];
            Seen::take(&snapshotter);
            for (request, status, reason) in refusals {
                assert_eq!(app.send(request).await.status, status, "{reason}");
                let seen = Seen::take(&snapshotter);
                let counted = seen.counter(CSRF_REJECTIONS, &[("reason", reason)]);
                assert_eq!(counted, 1, "{reason}");
                assert_eq!(seen.counter(CSRF_REJECTIONS, &[]), 1, "{reason} only");
            }

            // What passes counts nothing.
            let passed = app.send(with_header(&cookie, &token)).await;
            assert_eq!(passed.status, 200);
            assert_eq!(app.get("/comment", None).await.status, 200);
            let seen = Seen::take(&snapshotter);
            assert_eq!(seen.counter(CSRF_REJECTIONS, &[]), 0);
        }
    );
}
