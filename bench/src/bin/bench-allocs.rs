//! Heap allocations per in-process request, for every row, route and client, as a Markdown
//! table (the counts `tests/allocations.rs` asserts for typed-sessions, beside tower-sessions').
//!
//! ```text
//! cargo run --release -p typed-sessions-bench --bin bench-allocs
//! ```

use typed_sessions_bench::alloc::{CountingAllocator, count_allocations};
use typed_sessions_bench::{Client, Route, Row, Scenario, runtime};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

const REQUESTS: u32 = 64;

/// Mean and fewest allocations per request.
fn count(row: Row, route: Route, scenario: Scenario) -> (f64, u64) {
    let runtime = runtime();
    let mut client = runtime.block_on(Client::new(row, scenario));
    runtime.block_on(client.warm_up(route));
    let counts: Vec<u64> = (0..REQUESTS)
        .map(|_| count_allocations(|| runtime.block_on(client.request(route))).1)
        .collect();
    let mean = counts.iter().sum::<u64>() as f64 / f64::from(REQUESTS);
    (mean, counts.into_iter().min().unwrap_or_default())
}

fn main() {
    println!("| route | client | row | allocations / request | beyond baseline |");
    println!("|---|---|---|--:|--:|");
    for route in Route::ALL {
        for scenario in Scenario::ALL {
            let (baseline, _) = count(Row::Baseline, route, scenario);
            for row in Row::available() {
                let (mean, fewest) = count(row, route, scenario);
                let shown = if (mean - fewest as f64).abs() < 1e-9 {
                    format!("{fewest}")
                } else {
                    format!("{mean:.2} (fewest {fewest})")
                };
                println!(
                    "| {route} | {scenario} | {row} | {shown} | {:+.2} |",
                    mean - baseline
                );
            }
        }
    }
}
