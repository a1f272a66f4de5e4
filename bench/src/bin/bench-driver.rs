//! Drives in-process requests for an instruction-count profile.
//!
//! ```text
//! bench-driver <row> <route> <scenario> <requests>
//! bench-driver placement <setup> <scenario> <requests>
//! bench-driver full <row> <sessions> <requests>
//! ```
//!
//! Builds the row's app and client, warms them up, then sends `<requests>` requests inside
//! [`ts_bench_measure`], the one function that `valgrind --tool=callgrind
//! --toggle-collect=ts_bench_measure` collects (see `benches/instructions.rs`).
//!
//! `placement` sends `GET /none` to a layer installed around the whole router instead of with
//! `Router::layer` (`<setup>`: `bare`, `floor-outer`, `ts-cookie-outer`, `ts-memory-outer`),
//! inside [`ts_bench_measure_placement`].
//!
//! `full` measures new visitors' `GET /incr` after `<sessions>` of them have filled the store
//! (for the memory store's default capacity, 100,000, every measured request then evicts the
//! session closest to expiry), inside [`ts_bench_measure`].

use std::convert::Infallible;
use std::process::ExitCode;

use axum::body::Body;
use axum::response::Response;
use http::Request;
use tokio::runtime::Runtime;
use tower::{Layer, Service};
use typed_sessions_bench::apps::OneExtension;
use typed_sessions_bench::{Client, Route, Row, Scenario, runtime, typed_key, typed_routes};

/// Sends `requests` requests to `route`; the profiled region.
#[allow(unsafe_code)] // `no_mangle` only, so that callgrind can find the function by name
#[unsafe(no_mangle)]
#[inline(never)]
pub fn ts_bench_measure(
    runtime: &Runtime,
    client: &mut Client,
    route: Route,
    requests: u32,
) -> usize {
    runtime.block_on(async {
        let mut bytes = 0;
        for _ in 0..requests {
            bytes += client.request(route).await;
        }
        bytes
    })
}

/// Runs `requests` measured requests through `send`; the profiled region of `placement`.
#[allow(unsafe_code)] // `no_mangle` only, as above
#[unsafe(no_mangle)]
#[inline(never)]
pub fn ts_bench_measure_placement(
    runtime: &Runtime,
    send: &mut dyn FnMut(&Runtime, u32) -> usize,
    requests: u32,
) -> usize {
    send(runtime, requests)
}

/// `full`: `sessions` new visitors' `GET /incr` (outside the profile), then `requests` more.
fn full(row: Row, sessions: u32, requests: u32) -> usize {
    let runtime = runtime();
    let mut client = runtime.block_on(Client::new(row, Scenario::Fresh));
    runtime.block_on(async {
        client.warm_up(Route::Incr).await;
        for _ in 0..sessions {
            client.request(Route::Incr).await;
        }
    });
    ts_bench_measure(&runtime, &mut client, Route::Incr, requests)
}

/// `placement`: the app of `setup`, warmed up, then measured.
fn placement(setup: &str, scenario: Scenario, requests: u32) -> Result<usize, String> {
    match setup {
        "bare" => Ok(run_placement(
            typed_routes(),
            Row::Baseline,
            scenario,
            requests,
        )),
        "floor-outer" => Ok(run_placement(
            OneExtension.layer(typed_routes()),
            Row::Floor,
            scenario,
            requests,
        )),
        "ts-cookie-outer" => Ok(run_placement(
            typed_sessions::SessionLayer::new(typed_key()).layer(typed_routes()),
            Row::TsCookie,
            scenario,
            requests,
        )),
        "ts-memory-outer" => Ok(run_placement(
            typed_sessions::SessionLayer::new(typed_key())
                .with_store(typed_sessions::MemoryStore::new())
                .layer(typed_routes()),
            Row::TsMemory,
            scenario,
            requests,
        )),
        other => Err(format!("unknown placement setup {other:?}")),
    }
}

/// `row` decides how a returning client gets its cookie: a real session for typed-sessions, a
/// made-up cookie of the same length otherwise (as in the main table).
fn run_placement<S>(app: S, row: Row, scenario: Scenario, requests: u32) -> usize
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
{
    let runtime = runtime();
    let mut client = runtime.block_on(Client::with_app(app, row, scenario));
    runtime.block_on(client.warm_up(Route::None));
    let mut send = |runtime: &Runtime, n: u32| {
        runtime.block_on(async {
            let mut bytes = 0;
            for _ in 0..n {
                bytes += client.request(Route::None).await;
            }
            bytes
        })
    };
    ts_bench_measure_placement(&runtime, &mut send, requests)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [mode, row, sessions, requests] = args.as_slice()
        && mode == "full"
    {
        let run = (|| {
            Ok::<_, String>((
                row.parse::<Row>()?,
                sessions.parse::<u32>().map_err(|e| e.to_string())?,
                requests.parse::<u32>().map_err(|e| e.to_string())?,
            ))
        })()
        .map(|(row, sessions, requests)| full(row, sessions, requests));
        return match run {
            Ok(bytes) => {
                println!(
                    "full {row} after {sessions} sessions: {requests} requests, {bytes} body bytes"
                );
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("bench-driver: {error}");
                ExitCode::from(2)
            }
        };
    }
    if let [mode, setup, scenario, requests] = args.as_slice()
        && mode == "placement"
    {
        let run = scenario.parse::<Scenario>().and_then(|scenario| {
            let requests = requests.parse::<u32>().map_err(|e| e.to_string())?;
            placement(setup, scenario, requests)
        });
        return match run {
            Ok(bytes) => {
                println!("placement {setup} {scenario}: {requests} requests, {bytes} body bytes");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("bench-driver: {error}");
                ExitCode::from(2)
            }
        };
    }
    let [row, route, scenario, requests] = args.as_slice() else {
        eprintln!(
            "usage: bench-driver <row> <route> <scenario> <requests> \
             | placement <setup> <scenario> <requests> | full <row> <sessions> <requests>"
        );
        return ExitCode::from(2);
    };
    let parsed = (|| {
        Ok::<_, String>((
            row.parse::<Row>()?,
            route.parse::<Route>()?,
            scenario.parse::<Scenario>()?,
            requests.parse::<u32>().map_err(|e| e.to_string())?,
        ))
    })();
    let (row, route, scenario, requests) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            eprintln!("bench-driver: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = runtime();
    let mut client = runtime.block_on(Client::new(row, scenario));
    // Not through `ts_bench_measure` (nor a function identical to it, which LLVM would merge
    // with it): the warm-up must stay out of the profile.
    runtime.block_on(client.warm_up(route));
    let bytes = ts_bench_measure(&runtime, &mut client, route, requests);
    println!("{row} {route} {scenario}: {requests} requests, {bytes} body bytes");
    ExitCode::SUCCESS
}
