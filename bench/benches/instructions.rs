//! Instruction counts per request, under callgrind: `cargo bench -p typed-sessions-bench
//! --bench instructions [-- FILTER]`.
//!
//! For every row, route and scenario it runs the `bench-driver` binary under
//! `valgrind --tool=callgrind --toggle-collect=ts_bench_measure`, so that only the measured
//! requests (after a warm-up) are counted, and prints per request:
//!
//! - `Ir`: instructions executed, gross;
//! - `SHA`: instructions inside SHA-256's block compression (inclusive), which valgrind runs in
//!   software because it hides the CPU's SHA extensions; about 1,300 per 64-byte block;
//! - `net`: `Ir - SHA`, the figure the targets are judged on;
//! - `HMAC`: HMAC computations (calls of `typed_sessions::codec::Codec::mac` for typed-sessions,
//!   of `hmac::get_der_key` — one per keyed HMAC — for tower-sessions and axum-extra);
//! - ratios of `net` against the baseline, against the floor (a layer that only inserts one
//!   request extension), against tower-sessions and against axum-extra's `SignedCookieJar`.
//!
//! A second table sends `GET /none` to layers installed around the whole router instead of with
//! `Router::layer` (`bench-driver placement`; filter `placement`).
//!
//! A third table, only with the filter `full` (about four minutes), measures new visitors'
//! `GET /incr` with the store already holding 100,000 sessions — the memory store's default
//! capacity, so that every new session evicts one — under callgrind's cache simulation
//! (`bench-driver full`): instructions plus the simulated cache misses, deterministic like the
//! rest.
//!
//! `TS_BENCH_REQUESTS` (default 200) sets the measured requests per case; the Redis rows run
//! when the `redis` feature is on and `TS_BENCH_REDIS_URL` is set. Profiles are kept in
//! `target/callgrind/` for `callgrind_annotate`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use typed_sessions_bench::profile::Profile;
use typed_sessions_bench::{Route, Row, Scenario};

const DRIVER: &str = env!("CARGO_BIN_EXE_bench-driver");

/// One case's counts, per request.
struct Counts {
    instructions: f64,
    sha256: f64,
    hmacs: f64,
}

impl Counts {
    fn net(&self) -> f64 {
        self.instructions - self.sha256
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|arg| arg == "--bench") {
        // `cargo test --benches` runs bench targets as tests: there is nothing to check here.
        println!("instruction counts run under `cargo bench`; skipped");
        return ExitCode::SUCCESS;
    }
    let filter = args.iter().find(|arg| !arg.starts_with('-')).cloned();
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("instructions: valgrind not found; install it (apt-get install valgrind)");
        return ExitCode::FAILURE;
    }
    let requests: u32 = std::env::var("TS_BENCH_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let out_dir = target_dir().join("callgrind");
    std::fs::create_dir_all(&out_dir).expect("create target/callgrind");
    if filter.as_deref() == Some("full") {
        return match full_table(requests, &out_dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("full: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let rows = Row::available();
    if !rows.contains(&Row::TsRedis) {
        println!("(ts-redis skipped: needs --features redis and TS_BENCH_REDIS_URL)\n");
    }
    println!("Per request, {requests} requests per case after a warm-up; net = Ir - SHA.\n");
    println!(
        "| route | client | row | Ir | SHA | net | HMAC | net / baseline | net / floor | net / tower-memory | net / tower-signed | net / extra-signed |"
    );
    println!("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for route in Route::ALL {
        for scenario in Scenario::ALL {
            let mut baseline = None;
            let mut floor = None;
            let mut tower = [None, None];
            let mut extra = None;
            let mut results = Vec::new();
            for &row in &rows {
                let name = format!("{row}/{}/{scenario}", route.name());
                if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
                    continue;
                }
                let counts = match measure(row, route, scenario, requests, &out_dir) {
                    Ok(counts) => counts,
                    Err(error) => {
                        eprintln!("{name}: {error}");
                        return ExitCode::FAILURE;
                    }
                };
                match row {
                    Row::Baseline => baseline = Some(counts.net()),
                    Row::Floor => floor = Some(counts.net()),
                    Row::TowerMemory => tower[0] = Some(counts.net()),
                    Row::TowerSigned => tower[1] = Some(counts.net()),
                    Row::ExtraSigned => extra = Some(counts.net()),
                    _ => {}
                }
                results.push((row, counts));
            }
            for (row, counts) in results {
                let ratio = |to: Option<f64>, show: bool| match to {
                    Some(to) if show && to > 0.0 => format!("{:.2}", counts.net() / to),
                    _ => String::new(),
                };
                let vs_tower = row.is_typed_sessions();
                println!(
                    "| {route} | {scenario} | {row} | {:.0} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} |",
                    counts.instructions,
                    counts.sha256,
                    counts.net(),
                    trim(counts.hmacs),
                    ratio(baseline, row != Row::Baseline),
                    ratio(floor, vs_tower),
                    ratio(tower[0], vs_tower),
                    ratio(tower[1], vs_tower),
                    ratio(extra, vs_tower),
                );
            }
        }
    }
    if filter
        .as_ref()
        .is_none_or(|f| "placement".contains(f.as_str()))
        && let Err(error) = placement_table(requests, &out_dir)
    {
        eprintln!("placement: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The layer around the whole router instead of with `Router::layer`: `GET /none` only.
const PLACEMENTS: [&str; 4] = ["bare", "floor-outer", "ts-cookie-outer", "ts-memory-outer"];

fn placement_table(requests: u32, out_dir: &Path) -> Result<(), String> {
    println!(
        "\n`/none` with the layer around the whole router (`Layer::layer(router)`) instead of \
         `Router::layer`:\n"
    );
    println!("| client | setup | Ir | Ir / bare | Ir / floor-outer |");
    println!("|---|---|--:|--:|--:|");
    for scenario in Scenario::ALL {
        let mut counted = Vec::new();
        for setup in PLACEMENTS {
            let args = ["placement", setup, scenario.name()];
            let file = |n: u32| format!("callgrind.placement.{setup}.{scenario}.{n}.out");
            let short = run_profile(
                &args,
                SHORT_RUN,
                "ts_bench_measure_placement",
                &[],
                &out_dir.join(file(SHORT_RUN)),
            )?;
            let long = run_profile(
                &args,
                SHORT_RUN + requests,
                "ts_bench_measure_placement",
                &[],
                &out_dir.join(file(SHORT_RUN + requests)),
            )?;
            let per =
                (long.instructions() as f64 - short.instructions() as f64) / f64::from(requests);
            counted.push((setup, per));
        }
        let bare = counted[0].1;
        let floor = counted[1].1;
        for (setup, per) in counted {
            let ratio = |to: f64, show: bool| {
                if show {
                    format!("{:.2}", per / to)
                } else {
                    String::new()
                }
            };
            println!(
                "| {scenario} | {setup} | {per:.0} | {} | {} |",
                ratio(bare, setup != "bare"),
                ratio(floor, setup.starts_with("ts-")),
            );
        }
    }
    Ok(())
}

/// Sessions in the store before `full` measures: the memory store's default capacity.
const FULL_STORE: u32 = 100_000;

/// The caches `full` simulates, shaped like this machine's (AMD EPYC: 32 KiB first-level
/// instruction and data caches, a 32 MiB last-level cache; valgrind models no second level).
const CACHE_SIM: [&str; 4] = [
    "--cache-sim=yes",
    "--I1=32768,8,64",
    "--D1=32768,8,64",
    "--LL=33554432,16,64",
];

/// New visitors with the store full: instructions and simulated cache misses per request.
fn full_table(requests: u32, out_dir: &Path) -> Result<(), String> {
    println!(
        "New visitors' `GET /incr` with {FULL_STORE} sessions stored, under callgrind's cache \
         simulation (per request; misses net of SHA-256 like the instructions; estimate = net + \
         10 × first-level misses + 100 × last-level misses):\n"
    );
    println!(
        "| row | Ir | SHA | net | I1 misses | D1 misses | LL misses | estimate | estimate / tower-memory | estimate / tower-signed |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    let rows = [
        Row::TsCookie,
        Row::TsMemory,
        Row::TowerMemory,
        Row::TowerSigned,
    ];
    let mut counted = Vec::new();
    for row in rows {
        let sessions = FULL_STORE.to_string();
        let args = ["full", row.name(), sessions.as_str()];
        let file = |n: u32| out_dir.join(format!("callgrind.full.{row}.{n}.out"));
        let short = run_profile(
            &args,
            SHORT_RUN,
            "ts_bench_measure",
            &CACHE_SIM,
            &file(SHORT_RUN),
        )?;
        let long = run_profile(
            &args,
            SHORT_RUN + requests,
            "ts_bench_measure",
            &CACHE_SIM,
            &file(SHORT_RUN + requests),
        )?;
        // Net of SHA-256's compression: its instructions and its cache misses (software
        // under valgrind, a few instructions of the CPU's own on the real machine).
        let per = |events: &[&str]| {
            let sum = |p: &Profile| events.iter().map(|e| p.total_net(e)).sum::<u64>();
            (sum(&long) as f64 - sum(&short) as f64) / f64::from(requests)
        };
        let sha = (long.sha256() as f64 - short.sha256() as f64) / f64::from(requests);
        let net = per(&["Ir"]);
        let first = [per(&["I1mr"]), per(&["D1mr", "D1mw"])];
        let last = per(&["ILmr", "DLmr", "DLmw"]);
        let estimate = net + 10.0 * (first[0] + first[1]) + 100.0 * last;
        counted.push((row, net, sha, first, last, estimate));
    }
    let tower = |wanted: Row| {
        counted
            .iter()
            .find(|(row, ..)| *row == wanted)
            .map(|(.., estimate)| *estimate)
    };
    let (memory, signed) = (tower(Row::TowerMemory), tower(Row::TowerSigned));
    for &(row, net, sha, [i1, d1], last, estimate) in &counted {
        let ratio = |to: Option<f64>| match to {
            Some(to) if row.is_typed_sessions() && to > 0.0 => format!("{:.2}", estimate / to),
            _ => String::new(),
        };
        println!(
            "| {row} | {:.0} | {sha:.0} | {net:.0} | {i1:.0} | {d1:.1} | {last:.2} | {estimate:.0} | {} | {} |",
            net + sha,
            ratio(memory),
            ratio(signed),
        );
    }
    Ok(())
}

/// Requests in the short run whose counts are subtracted from the long run's.
const SHORT_RUN: u32 = 8;

/// Profiles one case twice, with `SHORT_RUN` and `SHORT_RUN + requests` measured requests, and
/// divides the difference by `requests`.
///
/// The difference cancels the constant cost of entering the measured function, and it is what
/// makes the call counts right: callgrind collects costs only inside the toggled function, but
/// the call counters of a call site it has seen include the calls made outside (the setup and
/// warm-up requests).
fn measure(
    row: Row,
    route: Route,
    scenario: Scenario,
    requests: u32,
    out_dir: &Path,
) -> Result<Counts, String> {
    let short = profile(row, route, scenario, SHORT_RUN, out_dir)?;
    let long = profile(row, route, scenario, SHORT_RUN + requests, out_dir)?;
    let hmacs = |profile: &Profile| {
        if row.is_typed_sessions() {
            profile.calls_to(|name| name == "typed_sessions::codec::Codec::mac")
        } else {
            profile.calls_to(|name| name == "hmac::get_der_key")
        }
    };
    let per = |long: u64, short: u64| (long as f64 - short as f64) / f64::from(requests);
    Ok(Counts {
        instructions: per(long.instructions(), short.instructions()),
        sha256: per(long.sha256(), short.sha256()),
        hmacs: per(hmacs(&long), hmacs(&short)),
    })
}

/// One callgrind run of the driver.
fn profile(
    row: Row,
    route: Route,
    scenario: Scenario,
    requests: u32,
    out_dir: &Path,
) -> Result<Profile, String> {
    let file = out_dir.join(format!(
        "callgrind.{row}.{}.{scenario}.{requests}.out",
        route.name()
    ));
    run_profile(
        &[row.name(), route.name(), scenario.name()],
        requests,
        "ts_bench_measure",
        &[],
        &file,
    )
}

/// Runs the driver with `args` and `requests` under callgrind (with `options` besides),
/// collecting inside `toggle`.
fn run_profile(
    args: &[&str],
    requests: u32,
    toggle: &str,
    options: &[&str],
    file: &Path,
) -> Result<Profile, String> {
    let output = Command::new("valgrind")
        .arg("--tool=callgrind")
        .args(options)
        .arg(format!("--toggle-collect={toggle}"))
        .arg(format!("--callgrind-out-file={}", file.display()))
        .arg(DRIVER)
        .args(args)
        .arg(requests.to_string())
        .output()
        .map_err(|error| format!("cannot run valgrind: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "valgrind failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let text = std::fs::read_to_string(file).map_err(|error| error.to_string())?;
    Profile::parse(&text)
}

fn trim(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// `target/` of this workspace (the driver lives in `target/release/`).
fn target_dir() -> PathBuf {
    Path::new(DRIVER)
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
}
