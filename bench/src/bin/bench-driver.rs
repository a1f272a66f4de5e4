//! Drives in-process requests for an instruction-count profile.
//!
//! ```text
//! bench-driver <row> <route> <scenario> <requests>
//! ```
//!
//! Builds the row's app and client, warms them up, then sends `<requests>` requests inside
//! [`ts_bench_measure`], the one function that `valgrind --tool=callgrind
//! --toggle-collect=ts_bench_measure` collects (see `benches/instructions.rs`).

use std::process::ExitCode;

use tokio::runtime::Runtime;
use typed_sessions_bench::{Client, Route, Row, Scenario, runtime};

/// Requests sent before the measured ones: first-use costs (lazy statics, allocator pools,
/// the store's first growth) stay out of the profile.
const WARM_UP: u32 = 16;

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

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [row, route, scenario, requests] = args.as_slice() else {
        eprintln!("usage: bench-driver <row> <route> <scenario> <requests>");
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
    runtime.block_on(async {
        for _ in 0..WARM_UP {
            client.request(route).await;
        }
    });
    let bytes = ts_bench_measure(&runtime, &mut client, route, requests);
    println!("{row} {route} {scenario}: {requests} requests, {bytes} body bytes");
    ExitCode::SUCCESS
}
