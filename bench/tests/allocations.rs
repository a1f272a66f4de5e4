//! Heap allocations per request, counted by a global allocator (no timing: these run in CI).
//!
//! Every count is per request, in the steady state (after a warm-up), on the calling thread,
//! for in-process requests through the `Router` with axum's default features. The counts are
//! those of the layer: the allocations of the same request without the layer are subtracted.
//!
//! What a request through `Router::layer(SessionLayer)` allocates that the bare route does not,
//! on a route that never extracts the session:
//!
//! - 1 — the request extension the layer inserts (its box);
//! - 1 — `http::Extensions` growing its table: axum has inserted three extensions already
//!   (`OriginalUri`, `MatchedPath`, the path parameters), and hashbrown's first table holds
//!   three. Any layer that inserts an extension pays it; with axum's `matched-path` or
//!   `original-uri` feature off, it is gone;
//! - 2 — `Router::layer` itself: axum clones the boxed layered route and boxes its future on
//!   every request, for any layer whose service is not zero-sized.
//!
//! The request state is not among them: finished states are reset and reused.

use std::convert::Infallible;

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use http::Request;
use tower::{Layer, Service};
use typed_sessions::{MemoryStore, SessionLayer};
use typed_sessions_bench::alloc::{CountingAllocator, count_allocations};
use typed_sessions_bench::{Client, Route, Row, Scenario, runtime, typed_key, typed_routes};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

/// Requests counted; the total must be a multiple of this.
const REQUESTS: u64 = 32;

/// Allocations per request of `app` on `route`, which must be the same for every request.
fn per_request<S>(app: S, row: Row, route: Route, scenario: Scenario) -> u64
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
{
    let runtime = runtime();
    let mut client = runtime.block_on(Client::with_app(app, row, scenario));
    runtime.block_on(client.warm_up(route));
    let ((), total) = count_allocations(|| {
        runtime.block_on(async {
            for _ in 0..REQUESTS {
                client.request(route).await;
            }
        })
    });
    assert_eq!(
        total % REQUESTS,
        0,
        "{row} {route} {scenario}: {total} allocations in {REQUESTS} requests is not a fixed count"
    );
    total / REQUESTS
}

/// The fewest allocations of single requests (a store's table growth lands on a few of them).
fn fewest_per_request<S>(app: S, row: Row, route: Route, scenario: Scenario) -> u64
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
{
    let runtime = runtime();
    let mut client = runtime.block_on(Client::with_app(app, row, scenario));
    runtime.block_on(client.warm_up(route));
    (0..REQUESTS)
        .map(|_| count_allocations(|| runtime.block_on(client.request(route))).1)
        .min()
        .expect("requests were counted")
}

/// Allocations per request of `row` beyond those of the baseline, for one route and client.
fn beyond_baseline(row: Row, route: Route, scenario: Scenario) -> u64 {
    let rt = runtime();
    let app = rt.block_on(typed_sessions_bench::app(row));
    let baseline = rt.block_on(typed_sessions_bench::app(Row::Baseline));
    per_request(app, row, route, scenario) - per_request(baseline, Row::Baseline, route, scenario)
}

fn cookie_store() -> Router {
    typed_routes().layer(SessionLayer::new(typed_key()))
}

fn memory_store() -> Router {
    typed_routes().layer(SessionLayer::new(typed_key()).with_store(MemoryStore::new()))
}

#[test]
fn untouched_route_allocates_only_the_layer_extension() {
    for scenario in Scenario::ALL {
        for (name, app) in [("cookie", cookie_store()), ("memory", memory_store())] {
            let session = per_request(app, Row::TsCookie, Route::None, scenario);
            let floor = runtime().block_on(typed_sessions_bench::app(Row::Floor));
            let one_extension = per_request(floor, Row::Floor, Route::None, scenario);
            assert_eq!(
                session, one_extension,
                "{name} store, {scenario} client: `/none` allocates more than a layer that only \
                 inserts one extension"
            );
        }
    }
}

#[test]
fn untouched_route_beyond_the_bare_route() {
    // 1 extension box + 1 extensions-table growth + 2 for `Router::layer` (see the module doc).
    for scenario in Scenario::ALL {
        assert_eq!(beyond_baseline(Row::TsCookie, Route::None, scenario), 4);
        assert_eq!(beyond_baseline(Row::TsMemory, Route::None, scenario), 4);
    }
}

#[test]
fn untouched_route_with_the_layer_around_the_router() {
    // Around the whole router there is no `Router::layer` wrapping: the box of the extension,
    // and the growth of the table when axum adds its third extension after ours.
    for scenario in Scenario::ALL {
        let session = per_request(
            SessionLayer::new(typed_key()).layer(typed_routes()),
            Row::TsCookie,
            Route::None,
            scenario,
        );
        let bare = per_request(typed_routes(), Row::Baseline, Route::None, scenario);
        assert_eq!(session - bare, 2, "{scenario} client");
    }
}

/// Allocations of single requests of `row` beyond the baseline's, at the fewest: the memory
/// store's tables (its map and its expiry index) grow now and then, on a few requests.
fn fewest_beyond_baseline(row: Row, route: Route, scenario: Scenario) -> u64 {
    let rt = runtime();
    let app = rt.block_on(typed_sessions_bench::app(row));
    let baseline = rt.block_on(typed_sessions_bench::app(Row::Baseline));
    fewest_per_request(app, row, route, scenario)
        - per_request(baseline, Row::Baseline, route, scenario)
}

/// The documented counts of the paths that use the session, beyond the bare route (which
/// includes the 4 of an untouched route).
#[test]
fn read_and_change_paths_have_fixed_counts() {
    // Each count includes the 4 of an untouched route. A change also costs the client 2 (it
    // copies the new cookie into its next request), as it does with any library.
    let cases = [
        // Cookie store, encrypted (the default). Read: + the decoded payload (opened in place),
        // the id, the field's name and the fields map's node. Change: + the field's encodings
        // before and after, the payload's JSON, the sealed buffer (nonce, ciphertext and tag:
        // the one allocation encryption adds; signed-only writes straight into the header) and
        // the `Set-Cookie` header.
        (Row::TsCookie, Route::Read, Scenario::Existing, 8),
        (Row::TsCookie, Route::Incr, Scenario::Existing, 17),
        // A new session that is only read costs nothing; a new one written, as a change.
        (Row::TsCookie, Route::Read, Scenario::Fresh, 4),
        (Row::TsCookie, Route::Incr, Scenario::Fresh, 14),
        // Memory store. Read: + the id, the boxed store call, and the record the store hands
        // out (map node, field name); store keys are inline, so they allocate nothing.
        // Change: + the encodings, the patch (map node, key), the boxed store calls and
        // commit, the re-issued cookie's `Set-Cookie` header; a changed field's new value
        // replaces the stored one in place.
        (Row::TsMemory, Route::Read, Scenario::Existing, 8),
        (Row::TsMemory, Route::Incr, Scenario::Existing, 19),
        (Row::TsMemory, Route::Read, Scenario::Fresh, 4),
        // A new session: + the new id, the record (moved out of the request's state, not
        // copied) and the store's compact copy of it (one vector; field names are shared),
        // the boxed store call and commit, the encodings, the cookie.
        (Row::TsMemory, Route::Incr, Scenario::Fresh, 15),
    ];
    let mut failures = Vec::new();
    for (row, route, scenario, expected) in cases {
        let counted = if row == Row::TsMemory {
            fewest_beyond_baseline(row, route, scenario)
        } else {
            beyond_baseline(row, route, scenario)
        };
        if counted != expected {
            failures.push(format!(
                "{row} {route} {scenario}: {counted}, expected {expected}"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
