//! The `Cookie` request header as the layer reads it: any bytes, split into several `Cookie`
//! headers at `\n`, through a real `Router`.
//!
//! Input: one selector byte (`0x03` backend: signed cookie, encrypted cookie, memory store,
//! any-id store; `0x40` the route that writes), then the header bytes. Bytes that no valid
//! header can hold stand for cookie values the fixture issued, so that the fuzzer can splice
//! them into garbage:
//!
//! - `\x01` the backend's genuine cookie value, `\x02` the same session signed by the old key,
//! - `\x03` the next backend's genuine value (another format, or another store),
//! - `\x04` a value issued by the same kind of layer with a key this one is not configured with.
#![no_main]

use libfuzzer_sys::fuzz_target;
use typed_sessions_tests::input::*;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let fx = Fixture::get();
    let backend = Target::from_bits(selector);
    // Writes to the memory store would pile up sessions and, at capacity, evict the genuine one.
    let writes = selector & 0x40 != 0 && backend != Target::Memory;
    let path = if writes { "/write" } else { "/read" };

    let mut bytes = Vec::with_capacity(rest.len() + 256);
    for &byte in rest {
        match byte {
            0x01 => bytes.extend_from_slice(fx.genuine(backend).as_bytes()),
            0x02 => bytes.extend_from_slice(fx.stale(backend).as_bytes()),
            0x03 => bytes.extend_from_slice(fx.genuine(backend.next()).as_bytes()),
            0x04 => bytes.extend_from_slice(fx.foreign(backend).as_bytes()),
            _ => bytes.push(byte),
        }
    }
    let headers = valid_headers(bytes.split(|&b| b == b'\n'));
    let outcome = fx.send(backend, path, &headers);

    assert_any_input_holds(&headers, &[fx.genuine(backend), fx.stale(backend)], &outcome);
});
