//! A fixed-duration load on loopback: keep-alive HTTP/1.1 connections, one client each, as many
//! requests as the server answers; latency percentiles, and the server's CPU time from
//! `/proc/<pid>/stat` over the measured window.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Body;
use http::header::{COOKIE, HOST};
use http::{HeaderValue, Request};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::client::{BASELINE_COOKIE, keep_cookie};
use crate::{Route, Row, Scenario};

/// One load run.
#[derive(Clone, Debug)]
pub struct Load {
    /// The server.
    pub addr: SocketAddr,
    /// The server's row (returning clients of a row without sessions send a made-up cookie).
    pub row: Row,
    /// The route every request goes to.
    pub route: Route,
    /// Returning clients (each keeps the cookie of its session) or new visitors.
    pub scenario: Scenario,
    /// Concurrent connections, each one client.
    pub connections: usize,
    /// Requests before the measured window, not counted.
    pub warm_up: Duration,
    /// The measured window.
    pub duration: Duration,
    /// The server's process, for its CPU time.
    pub server_pid: Option<u32>,
}

/// What a load run measured, in its window.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Requests answered in the window.
    pub requests: u64,
    /// The window, in seconds.
    pub seconds: f64,
    /// Median latency, microseconds.
    pub p50_us: f64,
    /// 99th-percentile latency, microseconds.
    pub p99_us: f64,
    /// The server's CPU time (user + system) in the window, microseconds.
    pub server_cpu_us: Option<f64>,
}

impl Outcome {
    /// Requests per second.
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    /// Server CPU microseconds per request.
    pub fn cpu_per_request_us(&self) -> Option<f64> {
        self.server_cpu_us
            .filter(|_| self.requests > 0)
            .map(|cpu| cpu / self.requests as f64)
    }
}

/// Runs `load` on the current Tokio runtime.
///
/// # Errors
///
/// When a connection fails or the server answers with an error.
pub async fn run(load: &Load) -> Result<Outcome, String> {
    let start = Instant::now() + Duration::from_millis(50);
    let window_start = start + load.warm_up;
    let window_end = window_start + load.duration;
    let tasks: Vec<_> = (0..load.connections)
        .map(|_| tokio::spawn(connection(load.clone(), window_start, window_end)))
        .collect();
    let cpu = load.server_pid.map(|pid| {
        tokio::spawn(async move {
            tokio::time::sleep_until(window_start.into()).await;
            let before = cpu_time_us(pid);
            tokio::time::sleep_until(window_end.into()).await;
            Some(cpu_time_us(pid)? - before?)
        })
    });
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    let server_cpu_us = match cpu {
        Some(task) => task.await.map_err(|e| e.to_string())?,
        None => None,
    };
    latencies.sort_unstable();
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1);
        latencies.get(index).map_or(0.0, |ns| *ns as f64 / 1000.0)
    };
    Ok(Outcome {
        requests: latencies.len() as u64,
        seconds: load.duration.as_secs_f64(),
        p50_us: percentile(0.50),
        p99_us: percentile(0.99),
        server_cpu_us,
    })
}

/// One client on one connection until `end`; the latencies (ns) of the requests that completed
/// in the window.
async fn connection(load: Load, window_start: Instant, end: Instant) -> Result<Vec<u64>, String> {
    let stream = TcpStream::connect(load.addr)
        .await
        .map_err(|e| format!("connect {}: {e}", load.addr))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (mut sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(driver);
    let host = HeaderValue::from_str(&load.addr.to_string()).map_err(|e| e.to_string())?;
    let mut cookie = None;
    if load.scenario == Scenario::Existing {
        if !load.row.has_sessions() {
            cookie = Some(HeaderValue::from_static(BASELINE_COOKIE));
        } else {
            send(&mut sender, &host, Route::Incr, &mut cookie, true).await?;
        }
    }
    let keep = load.scenario == Scenario::Existing && load.row.has_sessions();
    let mut latencies = Vec::with_capacity(1 << 16);
    loop {
        let started = Instant::now();
        if started >= end {
            break;
        }
        send(&mut sender, &host, load.route, &mut cookie, keep).await?;
        let done = Instant::now();
        if done >= window_start && done < end {
            latencies.push(u64::try_from((done - started).as_nanos()).unwrap_or(u64::MAX));
        }
    }
    Ok(latencies)
}

async fn send(
    sender: &mut hyper::client::conn::http1::SendRequest<Body>,
    host: &HeaderValue,
    route: Route,
    cookie: &mut Option<HeaderValue>,
    keep: bool,
) -> Result<(), String> {
    let mut request = Request::get(route.path()).header(HOST, host.clone());
    if let Some(cookie) = cookie.as_ref() {
        request = request.header(COOKIE, cookie.clone());
    }
    let request = request.body(Body::empty()).map_err(|e| e.to_string())?;
    sender.ready().await.map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("GET {route} answered {}", response.status()));
    }
    if keep {
        keep_cookie(cookie, response.headers());
    }
    response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// User + system CPU time of process `pid` so far, in microseconds (`/proc/<pid>/stat`).
pub fn cpu_time_us(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3, `state`.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 1_000_000.0 / clock_ticks_per_second())
}

/// `sysconf(_SC_CLK_TCK)`, through `getconf` (100 on Linux unless told otherwise).
fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_cpu_time() {
        assert!(cpu_time_us(std::process::id()).is_some_and(|us| us >= 0.0));
        assert!(cpu_time_us(u32::MAX).is_none());
    }
}
