//! Serves one row's app on loopback for `scripts/bench-tcp`.
//!
//! ```text
//! bench-server <row> [port]       # port 0 (the default) picks a free one
//! ```
//!
//! Prints `listening on <addr>` once it accepts connections. It runs on one thread (a
//! current-thread runtime), so that its CPU time per request is that of one core's work.

use std::io::Write as _;
use std::process::ExitCode;

use axum::serve::ListenerExt as _;

use typed_sessions_bench::{Row, runtime};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (row, port) = match args.as_slice() {
        [row] => (row.parse::<Row>(), Ok(0)),
        [row, port] => (row.parse::<Row>(), port.parse::<u16>()),
        _ => {
            eprintln!("usage: bench-server <row> [port]");
            return ExitCode::from(2);
        }
    };
    let (Ok(row), Ok(port)) = (row, port) else {
        eprintln!("bench-server: bad row or port in {args:?}");
        return ExitCode::from(2);
    };
    runtime().block_on(async move {
        let app = typed_sessions_bench::app(row).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("a local address");
        println!("listening on {addr}");
        std::io::stdout().flush().expect("stdout");
        // Small requests and responses on keep-alive connections: no Nagle delay.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app).await.expect("server error");
    });
    ExitCode::SUCCESS
}
