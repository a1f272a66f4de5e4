//! Wall time per in-process request, with criterion: `cargo bench -p typed-sessions-bench
//! --bench wall [-- FILTER]`.
//!
//! One group per route and client (`/read/existing`, ...), one benchmark per row, each the
//! whole request through the `Router` on a current-thread runtime, as `benches/instructions.rs`
//! counts it. The runs are kept short (20 samples, 1 s each): the instruction counts are the
//! numbers to judge by; these show that the time follows them.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use typed_sessions_bench::{Client, Route, Row, Scenario, runtime};

fn requests(c: &mut Criterion) {
    let runtime = runtime();
    for route in Route::ALL {
        for scenario in Scenario::ALL {
            let mut group = c.benchmark_group(format!("{}/{scenario}", route.name()));
            for row in Row::available() {
                let mut client = runtime.block_on(Client::new(row, scenario));
                group.bench_function(row.name(), |b| {
                    b.iter(|| black_box(runtime.block_on(client.request(route))));
                });
            }
            group.finish();
        }
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args()
}

criterion_group! {
    name = wall;
    config = config();
    targets = requests
}
criterion_main!(wall);
