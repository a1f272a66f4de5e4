//! Properties of the cookie codec, through a real `Router` on the cookie backend: arbitrary
//! field values round-trip, and any single-byte change to a signed cookie is rejected.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;
use http::HeaderValue;
use proptest::prelude::*;
use proptest::sample::Index;
use typed_sessions::Session;

use typed_sessions_tests::*;

#[derive(typed_sessions::Session, Default, Clone, Debug, PartialEq)]
struct Everything {
    text: String,
    unsigned: u64,
    signed: i64,
    bytes: Vec<u8>,
    maybe: Option<String>,
    list: Vec<String>,
    nested: Vec<Vec<String>>,
}

type Slot = Arc<Mutex<Option<Everything>>>;

/// `/put` replaces the session with what `input` holds; `/get` copies the session to `output`.
fn slot_routes(input: Slot, output: Slot) -> Router {
    let put = move |mut session: Session<Everything>| {
        let value = input.lock().unwrap().clone().expect("a value to put");
        async move {
            *session = value;
        }
    };
    let get_ = move |session: Session<Everything>| {
        *output.lock().unwrap() = Some((*session).clone());
        async {}
    };
    Router::new()
        .route("/put", get(put))
        .route("/get", get(get_))
}

fn everything() -> impl Strategy<Value = Everything> {
    let short = || ".{0,8}";
    (
        ".{0,32}",
        any::<u64>(),
        any::<i64>(),
        prop::collection::vec(any::<u8>(), 0..64),
        prop::option::of(".{0,16}"),
        prop::collection::vec(short(), 0..4),
        prop::collection::vec(prop::collection::vec(short(), 0..3), 0..3),
    )
        .prop_map(
            |(text, unsigned, signed, bytes, maybe, list, nested)| Everything {
                text,
                unsigned,
                signed,
                bytes,
                maybe,
                list,
                nested,
            },
        )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn cookie_codec_round_trips_arbitrary_values(value in everything()) {
        let (input, output) = (Slot::default(), Slot::default());
        *input.lock().unwrap() = Some(value.clone());
        let app = TestApp::new(Backend::Cookie, slot_routes(input, output.clone()));
        let r1 = runtime().block_on(app.get("/put", None));
        prop_assert_eq!(r1.status, 200, "{:?}", r1);
        let cookie = r1.session_cookie().map(|_| r1.replay());
        // A value equal to the default is no session at all, hence no cookie.
        prop_assert_eq!(cookie.is_none(), value == Everything::default());
        let r2 = runtime().block_on(app.get("/get", cookie.as_deref()));
        prop_assert_eq!(r2.status, 200, "{:?}", r2);
        let read = output.lock().unwrap().take().expect("the handler ran");
        prop_assert_eq!(read, value);
    }

    #[test]
    fn any_single_byte_change_of_a_signed_cookie_is_rejected(
        index in any::<Index>(),
        byte in any::<u8>(),
    ) {
        let app = TestApp::new(Backend::Cookie, reference_routes());
        let rt = runtime();
        let r1 = rt.block_on(app.get("/set", None));
        let value = r1.session_value();
        let mut bytes = value.clone().into_bytes();
        let at = index.index(bytes.len());
        prop_assume!(bytes[at] != byte);
        // Visible ASCII only, so that the header stays valid.
        prop_assume!((0x21..=0x7e).contains(&byte));
        bytes[at] = byte;
        let mutated = String::from_utf8(bytes).unwrap();
        let header = format!("session={mutated}");
        prop_assume!(HeaderValue::from_str(&header).is_ok());

        let r2 = rt.block_on(app.get("/is_new", Some(&header)));
        prop_assert_eq!(r2.status, 200);
        prop_assert_eq!(&r2.body, "true", "accepted {}", mutated);
        let r3 = rt.block_on(app.get("/read", Some(&header)));
        prop_assert_eq!(r3.status, 200);
        prop_assert_eq!(&r3.body, "", "accepted {}", mutated);

        // The genuine cookie still reads back.
        let r4 = rt.block_on(app.get("/read", Some(&r1.replay())));
        prop_assert_eq!(&r4.body, "hello");
    }
}
