//! Writes the seed corpora of the fuzz targets into `fuzz/corpus/<target>/`:
//! `cargo run --example seeds` from `fuzz/`. The cookie values in them are issued by the
//! fixture's layers (fixed keys, a clock that never moves), so they stay valid.

use std::fs;
use std::path::Path;

use serde_json::json;
use typed_sessions_tests::input::*;

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    fs::create_dir_all(&dir).expect("corpus directory");
    fs::write(dir.join(name), bytes).expect("seed written");
}

fn seed(target: &str, name: &str, prefix: &[u8], body: impl AsRef<[u8]>) {
    write(target, name, &[prefix, body.as_ref()].concat());
}

/// A live cookie-store payload at the fixture's `NOW`.
fn payload(created_ms: i64, fields: serde_json::Value) -> Vec<u8> {
    let now_ms = (NOW.unix_timestamp_nanos() / 1_000_000) as i64;
    let id = "Q".repeat(43);
    serde_json::to_vec(&json!({"i": id, "c": created_ms.min(now_ms), "s": now_ms, "d": fields}))
        .expect("JSON")
}

fn rich_fields() -> serde_json::Value {
    json!({
        "views": 7,
        "u": "ann",
        "tags": ["x", "y"],
        "theme": "dark",
        "signed": -5,
        "ratio": 0.25,
        "flag": true,
        "letter": "é",
        "scores": {"math": 9},
        "inner": {"a": 1, "b": [-1, 2]},
        "kind": {"Named": {"x": -1}},
        "shape": {"t": "Label", "text": "hi", "size": 3},
        "loose": [1, "a", [2]],
        "pair": [3, "three"],
        "bytes": [1, 2, 3, 4],
        "big": 18446744073709551615u64,
        "any": {"free": ["form", null]},
        "cart.items": [1, 2],
        "cart.c": "SAVE10",
        "someone.else": {"kept": true}
    })
}

fn cookie_value(fx: &Fixture) {
    let t = "cookie_value";
    let now_ms = (NOW.unix_timestamp_nanos() / 1_000_000) as i64;
    for (i, backend) in Target::ALL.into_iter().enumerate() {
        let b = (i as u8) << 4;
        let name = format!("{backend:?}").to_lowercase();
        seed(t, &format!("raw-{name}-genuine"), &[b], fx.genuine(backend));
        seed(
            t,
            &format!("raw-{name}-stale-write"),
            &[b | 0x40],
            fx.stale(backend),
        );
        seed(t, &format!("raw-{name}-foreign"), &[b], fx.foreign(backend));
        seed(
            t,
            &format!("edit-{name}-one-byte"),
            &[b | 0x01],
            [9, 0, b'x'],
        );
        seed(t, &format!("edit-{name}-unchanged-stale"), &[b | 0x81], []);
    }
    seed(t, "raw-garbage", &[0x00], "2.x.y.z");
    seed(t, "raw-oversize", &[0x10], "3.".repeat(2100));
    let live = payload(now_ms, rich_fields());
    seed(t, "payload-signed", &[0x02], &live);
    seed(t, "payload-sealed-write", &[0x53], &live);
    seed(t, "payload-signed-old-key", &[0x82], &live);
    let expired = payload(now_ms - 15 * 24 * 3600 * 1000, json!({"views": 1}));
    seed(t, "payload-expired", &[0x02], expired);
    let overflow = payload(now_ms, json!({"views": u64::MAX}));
    seed(t, "payload-views-wrap-write", &[0x42], overflow);
    seed(
        t,
        "payload-not-a-session",
        &[0x13],
        r#"{"not": "a session payload"}"#,
    );
    seed(
        t,
        "payload-bad-times",
        &[0x02],
        r#"{"i":"QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ","c":9223372036854775807,"s":-9223372036854775808,"d":{}}"#,
    );
    seed(t, "id-memory", &[0x04], "A".repeat(43));
    seed(t, "id-any", &[0x14], "B".repeat(43));
    seed(t, "id-any-malformed-old-key", &[0x94], "not.an;id");
    seed(t, "foreign-signed", &[0x05, 0], &live);
    seed(t, "foreign-sealed", &[0x15, 1], &live);
    seed(t, "foreign-id", &[0x35, 2], "C".repeat(43));
    seed(t, "foreign-mac-current-kid", &[0x05, 3], &live);
}

fn cookie_header(fx: &Fixture) {
    let t = "cookie_header";
    seed(t, "genuine-among-others", &[0x00], "a=1; session=\x01; b=2");
    seed(
        t,
        "duplicates",
        &[0x01],
        "session=garbage; session=\x04; session=\x01",
    );
    seed(
        t,
        "several-headers-stale",
        &[0x02],
        "theme=dark\nsession=\x02; x=y",
    );
    seed(
        t,
        "quoted-and-spaced",
        &[0x03],
        "session=\"\x01\"; session = \x01 ",
    );
    seed(
        t,
        "soup-write",
        &[0x40],
        " ;;= =;session;=session=;\"; ,session=\x03",
    );
    seed(
        t,
        "invalid-utf8-write",
        &[0x43],
        b"session=\xff\xfe; session=\x01",
    );
    seed(t, "other-backend", &[0x01], "session=\x03");
    seed(t, "foreign-only", &[0x02], "session=\x04");
    seed(
        t,
        "baked-signed",
        &[0x00],
        format!("session={}", fx.genuine(Target::Signed)),
    );
    seed(
        t,
        "baked-sealed-stale",
        &[0x01],
        format!("a=b; session={}", fx.stale(Target::Sealed)),
    );
    seed(
        t,
        "baked-any-id",
        &[0x03],
        format!("session={}", fx.genuine(Target::AnyId)),
    );
    let many: String = (0..300).map(|i| format!("c{i}=v{i}; ")).collect();
    seed(t, "many-cookies", &[0x00], format!("{many}session=\x01"));
    seed(
        t,
        "beyond-the-tried",
        &[0x02],
        "session=a; session=b; session=c; session=d; session=\x01",
    );
    seed(
        t,
        "long-value",
        &[0x01],
        format!("session={}", "A".repeat(8192)),
    );
}

fn stored_record() {
    let t = "stored_record";
    let json = |value: serde_json::Value| serde_json::to_vec(&value).expect("JSON");
    seed(t, "rich", &[0x00, 0x00], json(rich_fields()));
    seed(t, "rich-write-stale", &[0x0c, 0x00], json(rich_fields()));
    let wrong = json!({
        "views": "three", "u": 5, "tags": {"a": 1}, "theme": null, "signed": 1e10,
        "ratio": "x", "flag": 0, "letter": "ab", "scores": {"a": 300}, "inner": {"a": 1, "z": 2},
        "kind": "Nope", "shape": {"t": "Circle"}, "loose": {"o": 1}, "pair": [1], "bytes": [1, 2, 3],
        "big": -1, "cart.items": [-1], "cart.limit": 256, "cart.views": 128
    });
    seed(t, "wrong-types", &[0x00, 0x00], json(wrong.clone()));
    seed(t, "wrong-types-write", &[0x08, 0x00], json(wrong));
    seed(
        t,
        "extremes-max-times",
        &[0x04, 6 | 6 << 3],
        json(json!({
            "views": u64::MAX, "signed": i32::MIN, "big": u64::MAX, "ratio": f64::MAX,
            "cart.views": -128
        })),
    );
    seed(
        t,
        "views-wrap-write",
        &[0x08, 0x00],
        json(json!({"views": u64::MAX})),
    );
    seed(
        t,
        "expired-absolute-write",
        &[0x08, 3],
        json(json!({"views": 1})),
    );
    seed(
        t,
        "future-created-min-expiry",
        &[0x00, 4 | 5 << 3],
        json(json!({"u": "x"})),
    );
    seed(
        t,
        "not-an-object",
        &[0x00, 0x00],
        r#"[1, "two", null, {"t": "Dot"}]"#,
    );
    let deep = (0..120).fold(json!(1), |inner, _| json!([inner]));
    seed(
        t,
        "deep-any-write",
        &[0x08, 0x00],
        json(json!({"any": deep, "views": 2})),
    );
    seed(
        t,
        "arbitrary-values",
        &[0x02, 0x01],
        (0u8..=255).rev().collect::<Vec<u8>>(),
    );
}

fn main() {
    let fx = Fixture::get();
    cookie_value(fx);
    cookie_header(fx);
    stored_record();
    println!("seeds written under fuzz/corpus/");
}
