//! The TCP load table: starts one `bench-server` per row, loads each with every route and
//! client in turn (the rows of one route and client back to back, baseline first), and prints
//! requests/s, latency and server CPU per request as a Markdown table. Run through
//! `scripts/bench-tcp`, which builds it, pins it and starts Redis.
//!
//! ```text
//! bench-tcp [--duration S] [--warm-up S] [--connections N] [--rounds N] [--server-cpu CPU]
//!           [--rows a,b] [--routes none,read,incr] [--scenarios existing,fresh]
//! ```

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::str::FromStr;
use std::time::Duration;

use typed_sessions_bench::load::{self, Load, Outcome};
use typed_sessions_bench::{Route, Row, Scenario, runtime};

struct Options {
    duration: Duration,
    warm_up: Duration,
    connections: usize,
    rounds: usize,
    server_cpu: Option<String>,
    rows: Vec<Row>,
    routes: Vec<Route>,
    scenarios: Vec<Scenario>,
}

fn list<T: FromStr<Err = String>>(text: &str) -> Result<Vec<T>, String> {
    text.split(',').map(str::parse).collect()
}

fn seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .map(Duration::from_secs_f64)
        .map_err(|e| format!("{text:?}: {e}"))
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        duration: Duration::from_secs(3),
        warm_up: Duration::from_secs(1),
        connections: 4,
        rounds: 1,
        server_cpu: None,
        rows: Row::available(),
        routes: Route::ALL.to_vec(),
        scenarios: Scenario::ALL.to_vec(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--duration" => options.duration = seconds(&value)?,
            "--warm-up" => options.warm_up = seconds(&value)?,
            "--connections" => options.connections = value.parse().map_err(|e| format!("{e}"))?,
            "--rounds" => options.rounds = value.parse().map_err(|e| format!("{e}"))?,
            "--server-cpu" => options.server_cpu = Some(value),
            "--rows" => options.rows = list(&value)?,
            "--routes" => options.routes = list(&value)?,
            "--scenarios" => options.scenarios = list(&value)?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if !options.rows.contains(&Row::Baseline) {
        options.rows.insert(0, Row::Baseline);
    }
    Ok(options)
}

/// A running `bench-server`, stopped when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(row: Row, cpu: Option<&str>) -> Result<Server, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let server: PathBuf = exe.with_file_name("bench-server");
    let mut command = match cpu {
        Some(cpu) => {
            let mut command = Command::new("taskset");
            command.args(["-c", cpu]).arg(&server);
            command
        }
        None => Command::new(&server),
    };
    let mut child = command
        .arg(row.name())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", server.display()))?;
    let mut line = String::new();
    let stdout = child.stdout.take().expect("piped stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|addr| addr.parse().ok());
    match addr {
        Some(addr) => Ok(Server { child, addr }),
        None => {
            let _ = child.kill();
            Err(format!("{row}: the server did not start ({line:?})"))
        }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("bench-tcp: {error}");
            return ExitCode::from(2);
        }
    };
    let mut servers = HashMap::new();
    for &row in &options.rows {
        match start(row, options.server_cpu.as_deref()) {
            Ok(server) => {
                servers.insert(row, server);
            }
            Err(error) => {
                eprintln!("bench-tcp: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let runtime = runtime();
    let mut outcomes: HashMap<(Row, Route, Scenario), Vec<Outcome>> = HashMap::new();
    for round in 1..=options.rounds {
        for &route in &options.routes {
            for &scenario in &options.scenarios {
                for &row in &options.rows {
                    let server = &servers[&row];
                    let load = Load {
                        addr: server.addr,
                        row,
                        route,
                        scenario,
                        connections: options.connections,
                        warm_up: options.warm_up,
                        duration: options.duration,
                        server_pid: Some(server.child.id()),
                    };
                    match runtime.block_on(load::run(&load)) {
                        Ok(outcome) => {
                            eprintln!(
                                "round {round}: {row} {route} {scenario}: {:.0} req/s",
                                outcome.rate()
                            );
                            outcomes
                                .entry((row, route, scenario))
                                .or_default()
                                .push(outcome);
                        }
                        Err(error) => {
                            eprintln!("bench-tcp: {row} {route} {scenario}: {error}");
                            return ExitCode::FAILURE;
                        }
                    }
                }
            }
        }
    }
    print_table(&options, &outcomes);
    ExitCode::SUCCESS
}

fn print_table(options: &Options, outcomes: &HashMap<(Row, Route, Scenario), Vec<Outcome>>) {
    println!(
        "| route | client | row | req/s | p50 µs | p99 µs | server CPU µs/req | CPU / baseline | CPU / tower-memory | CPU / tower-signed |"
    );
    println!("|---|---|---|--:|--:|--:|--:|--:|--:|--:|");
    let metric = |row, route, scenario, f: &dyn Fn(&Outcome) -> Option<f64>| {
        outcomes
            .get(&(row, route, scenario))
            .map(|runs| median(runs.iter().filter_map(f).collect()))
    };
    for &route in &options.routes {
        for &scenario in &options.scenarios {
            let cpu = |row| metric(row, route, scenario, &Outcome::cpu_per_request_us);
            let baseline = cpu(Row::Baseline);
            for &row in &options.rows {
                let rate = metric(row, route, scenario, &|o| Some(o.rate())).unwrap_or(f64::NAN);
                let p50 = metric(row, route, scenario, &|o| Some(o.p50_us)).unwrap_or(f64::NAN);
                let p99 = metric(row, route, scenario, &|o| Some(o.p99_us)).unwrap_or(f64::NAN);
                let own = cpu(row);
                let ratio = |to: Option<f64>, show: bool| match (own, to) {
                    (Some(own), Some(to)) if show && to > 0.0 => format!("{:.2}", own / to),
                    _ => String::new(),
                };
                println!(
                    "| {route} | {scenario} | {row} | {rate:.0} | {p50:.0} | {p99:.0} | {} | {} | {} | {} |",
                    own.map_or_else(String::new, |cpu| format!("{cpu:.1}")),
                    ratio(baseline, row != Row::Baseline),
                    ratio(cpu(Row::TowerMemory), row.is_typed_sessions()),
                    ratio(cpu(Row::TowerSigned), row.is_typed_sessions()),
                );
            }
        }
    }
}
