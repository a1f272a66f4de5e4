//! Just enough of each client protocol to find where one command or statement ends and what it
//! is: Redis RESP arrays, PostgreSQL frontend messages, MySQL command packets.

use std::collections::HashMap;

/// The protocol a server speaks, which says how the proxy splits what clients send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Redis (RESP2 and RESP3 requests).
    Redis,
    /// PostgreSQL (protocol 3).
    Postgres,
    /// MySQL and MariaDB.
    MySql,
}

impl Protocol {
    pub(super) fn parser(self) -> Box<dyn Parser> {
        match self {
            Protocol::Redis => Box::new(Resp::default()),
            Protocol::Postgres => Box::new(Postgres::default()),
            Protocol::MySql => Box::new(MySql::default()),
        }
    }
}

/// Something a client sent.
pub(super) enum Event<'a> {
    /// A command or statement, by name.
    Statement(&'a str),
    /// The start of a transaction.
    Transaction,
    /// A message that asks the server for an answer (which the client waits for).
    Asks,
    /// A message that only checks the connection: a PostgreSQL `Sync` with nothing before it, a
    /// MySQL `COM_PING`, a Redis `PING`.
    Ping,
    /// The preparation of a statement (PostgreSQL `Parse`, MySQL `COM_STMT_PREPARE`), once per
    /// connection and statement text.
    Prepare,
}

/// Splits a client's byte stream into messages, whatever the chunks it arrives in.
pub(super) trait Parser: Send {
    /// Takes the next chunk and reports each message it completes.
    fn feed(&mut self, chunk: &[u8], report: &mut dyn FnMut(Event<'_>));
}

/// The first word of a statement, upper-cased, and whether it begins a transaction.
fn first_word(sql: &[u8]) -> (String, bool) {
    let text = String::from_utf8_lossy(sql);
    let word = text
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_end_matches(';')
        .to_ascii_uppercase();
    let begins =
        word == "BEGIN" || (word == "START" && text.to_ascii_uppercase().contains("TRANSACTION"));
    (word, begins)
}

fn report_sql(sql: &[u8], report: &mut dyn FnMut(Event<'_>)) {
    let (word, begins) = first_word(sql);
    report(Event::Statement(&word));
    if begins {
        report(Event::Transaction);
    }
}

/// The bytes before the first NUL, and the rest after it.
fn cstr(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().position(|&b| b == 0) {
        Some(end) => (&bytes[..end], &bytes[end + 1..]),
        None => (bytes, &[]),
    }
}

/// Redis: each request is an array of bulk strings (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`).
#[derive(Default)]
struct Resp {
    pending: Vec<u8>,
}

impl Resp {
    /// The length of the first whole request in `bytes` and its command name, if it is whole.
    fn request(bytes: &[u8]) -> Option<(usize, String)> {
        let line = |at: usize| -> Option<(usize, usize)> {
            let end = bytes[at..].windows(2).position(|w| w == b"\r\n")? + at;
            let number = std::str::from_utf8(&bytes[at + 1..end])
                .ok()?
                .parse()
                .ok()?;
            Some((number, end + 2))
        };
        if bytes.first() != Some(&b'*') {
            // An inline command: one line.
            let end = bytes.windows(2).position(|w| w == b"\r\n")?;
            let (name, _) = first_word(&bytes[..end]);
            return Some((end + 2, name));
        }
        let (items, mut at) = line(0)?;
        let mut name = String::new();
        for item in 0..items {
            let (len, start) = line(at)?;
            at = start + len + 2;
            if at > bytes.len() {
                return None;
            }
            if item == 0 {
                name = String::from_utf8_lossy(&bytes[start..start + len]).to_ascii_uppercase();
            }
        }
        Some((at, name))
    }
}

impl Parser for Resp {
    fn feed(&mut self, chunk: &[u8], report: &mut dyn FnMut(Event<'_>)) {
        self.pending.extend_from_slice(chunk);
        while let Some((len, name)) = Self::request(&self.pending) {
            report(Event::Asks);
            if name == "PING" {
                report(Event::Ping);
            }
            report(Event::Statement(&name));
            if name == "MULTI" {
                report(Event::Transaction);
            }
            self.pending.drain(..len);
        }
    }
}

/// PostgreSQL: untyped messages until the startup message, then a type byte and a length.
/// Statements are simple queries (`Q`) and executes (`E`) of a portal bound (`B`) to a parsed
/// (`P`) statement.
#[derive(Default)]
struct Postgres {
    pending: Vec<u8>,
    started: bool,
    /// Prepared statement name to its text.
    statements: HashMap<Vec<u8>, Vec<u8>>,
    /// Portal name to its statement's name.
    portals: HashMap<Vec<u8>, Vec<u8>>,
    /// Whether a message other than `Sync` came since the last `Sync`.
    since_sync: bool,
}

/// The protocol version a startup message carries (3.0).
const POSTGRES_STARTUP: u32 = 196_608;

impl Postgres {
    fn message(&mut self, kind: u8, body: &[u8], report: &mut dyn FnMut(Event<'_>)) {
        let alone = !std::mem::replace(&mut self.since_sync, kind != b'S');
        match kind {
            b'Q' => {
                report(Event::Asks);
                report_sql(cstr(body).0, report);
            }
            b'S' => {
                report(Event::Asks);
                if alone {
                    report(Event::Ping);
                }
            }
            b'P' => {
                report(Event::Prepare);
                let (name, rest) = cstr(body);
                self.statements.insert(name.to_vec(), cstr(rest).0.to_vec());
            }
            b'B' => {
                let (portal, rest) = cstr(body);
                self.portals.insert(portal.to_vec(), cstr(rest).0.to_vec());
            }
            b'E' => {
                let portal = cstr(body).0;
                let sql = self
                    .portals
                    .get(portal)
                    .and_then(|statement| self.statements.get(statement));
                report_sql(sql.map_or(&b"?"[..], Vec::as_slice), report);
            }
            _ => {}
        }
    }
}

impl Parser for Postgres {
    fn feed(&mut self, chunk: &[u8], report: &mut dyn FnMut(Event<'_>)) {
        self.pending.extend_from_slice(chunk);
        loop {
            let header = usize::from(self.started);
            let Some(len) = self.pending.get(header..header + 4) else {
                return;
            };
            let len = u32::from_be_bytes(len.try_into().expect("four bytes")) as usize;
            let total = header + len;
            if len < 4 || self.pending.len() < total {
                return;
            }
            let message: Vec<u8> = self.pending.drain(..total).collect();
            if self.started {
                self.message(message[0], &message[5..], report);
            } else if message.get(4..8) == Some(&POSTGRES_STARTUP.to_be_bytes()[..]) {
                self.started = true;
            }
        }
    }
}

/// MySQL: packets of a 3-byte length and a sequence number; a command is a packet with sequence
/// number 0, whose first byte says which.
#[derive(Default)]
struct MySql {
    pending: Vec<u8>,
}

/// `COM_QUERY`: a text statement.
const MYSQL_QUERY: u8 = 0x03;
/// `COM_STMT_EXECUTE`: the execution of a prepared statement.
const MYSQL_EXECUTE: u8 = 0x17;
/// `COM_PING`.
const MYSQL_PING: u8 = 0x0e;
/// `COM_STMT_PREPARE`.
const MYSQL_PREPARE: u8 = 0x16;

impl Parser for MySql {
    fn feed(&mut self, chunk: &[u8], report: &mut dyn FnMut(Event<'_>)) {
        self.pending.extend_from_slice(chunk);
        while self.pending.len() >= 4 {
            let len = usize::from(self.pending[0])
                | usize::from(self.pending[1]) << 8
                | usize::from(self.pending[2]) << 16;
            if self.pending.len() < 4 + len {
                return;
            }
            let packet: Vec<u8> = self.pending.drain(..4 + len).collect();
            if packet[3] != 0 {
                continue;
            }
            report(Event::Asks);
            match packet.get(4) {
                Some(&MYSQL_QUERY) => report_sql(&packet[5..], report),
                Some(&MYSQL_EXECUTE) => report(Event::Statement("EXECUTE")),
                Some(&MYSQL_PING) => report(Event::Ping),
                Some(&MYSQL_PREPARE) => report(Event::Prepare),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(protocol: Protocol, chunks: &[&[u8]]) -> Vec<String> {
        let mut parser = protocol.parser();
        let mut seen = Vec::new();
        for chunk in chunks {
            parser.feed(chunk, &mut |event| {
                seen.push(match event {
                    Event::Statement(name) => name.to_owned(),
                    Event::Transaction => "(transaction)".to_owned(),
                    Event::Asks => "(asks)".to_owned(),
                    Event::Ping => "(ping)".to_owned(),
                    Event::Prepare => "(prepare)".to_owned(),
                });
            });
        }
        seen
    }

    #[test]
    fn redis_requests_are_split_across_chunks() {
        let stream = b"*2\r\n$7\r\nHGETALL\r\n$3\r\nkey\r\n*1\r\n$5\r\nmulti\r\nPING\r\n";
        for cut in 0..stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(
                events(Protocol::Redis, &[a, b]),
                [
                    "(asks)",
                    "HGETALL",
                    "(asks)",
                    "MULTI",
                    "(transaction)",
                    "(asks)",
                    "(ping)",
                    "PING"
                ],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn postgres_statements_are_named_by_their_text() {
        let mut stream = Vec::new();
        let startup = [&8u32.to_be_bytes()[..], &POSTGRES_STARTUP.to_be_bytes()].concat();
        stream.extend_from_slice(&startup);
        let mut message = |kind: u8, body: &[u8]| {
            stream.push(kind);
            stream.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
            stream.extend_from_slice(body);
        };
        message(b'Q', b"BEGIN\0");
        message(b'P', b"s1\0select 1\0\0\0");
        message(b'B', b"\0s1\0\0\0\0\0\0\0");
        message(b'E', b"\0\0\0\0\0\0");
        message(b'S', b"");
        message(b'S', b"");
        for cut in 0..stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(
                events(Protocol::Postgres, &[a, b]),
                [
                    "(asks)",
                    "BEGIN",
                    "(transaction)",
                    "(prepare)",
                    "SELECT",
                    "(asks)",
                    "(asks)",
                    "(ping)"
                ],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn mysql_commands_are_packets_numbered_zero() {
        let packet = |seq: u8, body: &[u8]| {
            let len = body.len().to_le_bytes();
            [&len[..3], &[seq], body].concat()
        };
        let stream = [
            packet(1, b"\x03handshake response, not a command"),
            packet(0, b"\x03START TRANSACTION"),
            packet(0, b"\x17\x01\x00\x00\x00"),
            packet(0, b"\x0e"),
        ]
        .concat();
        assert_eq!(
            events(Protocol::MySql, &[&stream]),
            [
                "(asks)",
                "START",
                "(transaction)",
                "(asks)",
                "EXECUTE",
                "(asks)",
                "(ping)"
            ]
        );
    }
}
