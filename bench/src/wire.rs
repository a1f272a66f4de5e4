//! What crosses the wire between an application and its store server, counted by a TCP proxy
//! in front of the server: round trips, bytes each way, and the commands or statements the
//! client sends (Redis RESP, the PostgreSQL and MySQL protocols).
//!
//! The store under test connects to [`CountingProxy::addr`] instead of the server; nothing in
//! the store knows. A round trip is one write of the client that asks for an answer: that holds
//! a Redis command, a PostgreSQL `Sync` or simple query (sqlx writes a statement's `Bind`,
//! `Execute` and `Sync` at once, and a ping as a lone `Sync`), or a MySQL command packet. A
//! pipeline of several commands written at once is one round trip, as it is for latency.

mod protocol;

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use protocol::Parser;
pub use protocol::Protocol;

/// What the clients of a [`CountingProxy`] sent and received since the last
/// [`take`](CountingProxy::take), summed over every connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Client writes that ask for an answer (see the module's page).
    pub round_trips: u64,
    /// Of `round_trips`, those that only check the connection: a lone PostgreSQL `Sync`, a
    /// MySQL `COM_PING`, a Redis `PING`.
    pub pings: u64,
    /// Of `round_trips`, those that prepare a statement: once per pooled connection and
    /// statement, so after a warm-up only when a call lands on a connection that has not run
    /// that statement yet.
    pub prepares: u64,
    /// Bytes from the clients to the server.
    pub bytes_to_server: u64,
    /// Bytes from the server to the clients.
    pub bytes_from_server: u64,
    /// Redis: commands. SQL: statements executed (simple queries and executes of prepared
    /// statements), transaction control included.
    pub statements: u64,
    /// SQL: transactions begun (`BEGIN`, `START TRANSACTION`). Redis: `MULTI`.
    pub transactions: u64,
    /// Redis: commands by name (`HGETALL`, `EVALSHA`). SQL: statements by their first word
    /// (`SELECT`, `UPDATE`); MySQL's prepared executes, whose text the proxy does not see, as
    /// `EXECUTE`.
    pub by_name: BTreeMap<String, u64>,
}

impl Counts {
    /// `by_name` as `NAME×count` words in name order, for messages and tables.
    pub fn names(&self) -> String {
        let words: Vec<String> = self
            .by_name
            .iter()
            .map(|(name, count)| match count {
                1 => name.clone(),
                _ => format!("{name}×{count}"),
            })
            .collect();
        words.join(", ")
    }

    fn statement(&mut self, name: &str) {
        self.statements += 1;
        *self.by_name.entry(name.to_ascii_uppercase()).or_default() += 1;
    }
}

/// A TCP proxy on a free loopback port that forwards every connection to one server and
/// counts what crosses it. Dropping it stops it and closes its connections.
///
/// # Examples
///
/// ```no_run
/// use typed_sessions_bench::wire::{CountingProxy, Protocol};
///
/// # async fn run() -> std::io::Result<()> {
/// let proxy = CountingProxy::start("127.0.0.1:6379".parse().unwrap(), Protocol::Redis).await?;
/// let url = format!("redis://{}/", proxy.addr());
/// // … connect a store to `url`, send requests …
/// let counts = proxy.take();
/// println!("{} round trips, commands {}", counts.round_trips, counts.names());
/// # let _ = url;
/// # Ok(())
/// # }
/// ```
pub struct CountingProxy {
    addr: SocketAddr,
    counts: Arc<Mutex<Counts>>,
    task: JoinHandle<()>,
}

impl CountingProxy {
    /// Starts a proxy to `server`, which speaks `protocol`.
    ///
    /// # Errors
    ///
    /// If no loopback port can be bound.
    pub async fn start(server: SocketAddr, protocol: Protocol) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let counts = Arc::new(Mutex::new(Counts::default()));
        let shared = counts.clone();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let Ok(upstream) = TcpStream::connect(server).await else {
                    continue;
                };
                let _ = (client.set_nodelay(true), upstream.set_nodelay(true));
                connections.spawn(forward(client, upstream, protocol, shared.clone()));
            }
        });
        Ok(Self { addr, counts, task })
    }

    /// The address to connect to instead of the server.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The counts since the last call (or the start), and starts counting anew.
    pub fn take(&self) -> Counts {
        std::mem::take(&mut *lock(&self.counts))
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(counts: &Mutex<Counts>) -> std::sync::MutexGuard<'_, Counts> {
    counts.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Forwards one connection both ways until either side closes it.
async fn forward(
    client: TcpStream,
    server: TcpStream,
    protocol: Protocol,
    counts: Arc<Mutex<Counts>>,
) {
    let (from_client, to_client) = client.into_split();
    let (from_server, to_server) = server.into_split();
    let up = upstream(from_client, to_server, protocol.parser(), counts.clone());
    let down = downstream(from_server, to_client, counts);
    tokio::select! {
        () = up => {}
        () = down => {}
    }
}

async fn upstream(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut parser: Box<dyn Parser>,
    counts: Arc<Mutex<Counts>>,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        {
            let mut counts = lock(&counts);
            counts.bytes_to_server += n as u64;
            let (mut asks, mut prepares) = (false, false);
            parser.feed(&buffer[..n], &mut |event| match event {
                protocol::Event::Statement(name) => counts.statement(name),
                protocol::Event::Transaction => counts.transactions += 1,
                protocol::Event::Asks => asks = true,
                protocol::Event::Ping => counts.pings += 1,
                protocol::Event::Prepare => prepares = true,
            });
            counts.round_trips += u64::from(asks);
            counts.prepares += u64::from(asks && prepares);
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

async fn downstream(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, counts: Arc<Mutex<Counts>>) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        lock(&counts).bytes_from_server += n as u64;
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
