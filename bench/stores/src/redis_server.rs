//! A private `redis-server` on a free loopback port, and its counters.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use tokio::process::{Child, Command};

/// A `redis-server` child process without persistence; killed on drop.
pub(crate) struct RedisServer {
    addr: SocketAddr,
    admin: MultiplexedConnection,
    _child: Child,
}

impl RedisServer {
    /// Starts `redis-server` (from `PATH`) and waits until it answers.
    pub(crate) async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server on PATH");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let client = redis::Client::open(format!("redis://{addr}/")).expect("a URL");
        for _ in 0..100 {
            if let Ok(admin) = client.get_multiplexed_async_connection().await {
                return Self {
                    addr,
                    admin,
                    _child: child,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not answer on {addr}");
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `CONFIG RESETSTAT`.
    pub(crate) async fn reset_stats(&self) {
        redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .exec_async(&mut self.admin.clone())
            .await
            .expect("CONFIG RESETSTAT");
    }

    /// The Redis time of one `EVALSHA` of a script that does nothing, in µs, over `calls`
    /// calls.
    pub(crate) async fn script_floor(&self, calls: u32) -> f64 {
        let script = redis::Script::new("return 1");
        let mut admin = self.admin.clone();
        let _: i64 = script
            .key("k")
            .arg(1)
            .arg(2)
            .arg(3)
            .invoke_async(&mut admin)
            .await
            .unwrap();
        self.reset_stats().await;
        for _ in 0..calls {
            let _: i64 = script
                .key("k")
                .arg(1)
                .arg(2)
                .arg(3)
                .invoke_async(&mut admin)
                .await
                .unwrap();
        }
        let stats = self.command_stats().await;
        stats
            .get("evalsha")
            .map_or(0.0, |(_, usec)| *usec as f64 / f64::from(calls))
    }

    /// `INFO commandstats`: calls and µs by command name (lower case, `config|resetstat`).
    pub(crate) async fn command_stats(&self) -> BTreeMap<String, (u64, u64)> {
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut self.admin.clone())
            .await
            .expect("INFO commandstats");
        let mut stats = BTreeMap::new();
        for line in info.lines() {
            let Some((name, fields)) = line
                .strip_prefix("cmdstat_")
                .and_then(|line| line.split_once(':'))
            else {
                continue;
            };
            let field = |key: &str| -> u64 {
                fields
                    .split(',')
                    .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
                    .and_then(|value| value.parse().ok())
                    .unwrap_or(0)
            };
            stats.insert(name.to_owned(), (field("calls"), field("usec")));
        }
        stats
    }
}
