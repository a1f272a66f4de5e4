//! Flash fields (`#[session(flash)]`): a value set in one request is readable in the next
//! request that extracts the session, and then gone, written as a removal of that one field;
//! unless that request sets it again. A route that never extracts the session, or extracts
//! another session type, does not consume it. Two requests that load the session before either
//! answers both see the message. On every store.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use tokio::sync::Barrier;
use typed_sessions::Session;

use typed_sessions_tests::wire;
use typed_sessions_tests::*;

/// A typed notice.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Notice {
    pub text: String,
}

#[derive(Session, Default)]
pub struct Flashes {
    #[session(flash)]
    notice: Option<Notice>,
    #[session(flash, rename = "msgs")]
    messages: Vec<String>,
    /// An ordinary field beside them.
    visits: u64,
}

/// What the flash fields hold, as `notice|message,message`.
fn shown(flashes: &Flashes) -> String {
    let notice = flashes.notice.as_ref().map_or("-", |n| n.text.as_str());
    format!("{notice}|{}", flashes.messages.join(","))
}

async fn set_notice(mut flashes: Session<Flashes>) {
    flashes.notice = Some(Notice {
        text: "saved".into(),
    });
}

async fn add_messages(mut flashes: Session<Flashes>) {
    flashes.messages.push("one".into());
    flashes.messages.push("two".into());
}

/// Reads the flash fields, and counts a visit.
async fn show(mut flashes: Session<Flashes>) -> String {
    flashes.visits += 1;
    shown(&flashes)
}

/// Reads the flash fields without writing anything.
async fn peek(flashes: Session<Flashes>) -> String {
    shown(&flashes)
}

/// Reads the notice and sets another one for the next request.
async fn show_and_replace(mut flashes: Session<Flashes>) -> String {
    let before = shown(&flashes);
    flashes.notice = Some(Notice {
        text: "again".into(),
    });
    before
}

fn routes(barrier: Arc<Barrier>) -> Router {
    reference_routes()
        .route("/notice", get(set_notice))
        .route("/messages", get(add_messages))
        .route("/show", get(show))
        .route("/peek", get(peek))
        .route("/replace", get(show_and_replace))
        .route(
            "/show_together",
            get(move |flashes: Session<Flashes>| {
                let barrier = barrier.clone();
                async move {
                    let seen = shown(&flashes);
                    // Both requests have loaded the session before either answers.
                    barrier.wait().await;
                    seen
                }
            }),
        )
}

fn app(backend: Backend) -> TestApp {
    TestApp::new(backend, routes(Arc::new(Barrier::new(2))))
}

/// The cookie a client holds after `response`: the newest one sent, none once expired (the
/// cookie store expires a cookie whose session has nothing left), else `held`.
fn newest(held: String, response: &TestResponse) -> String {
    if response.issued().is_some() {
        response.replay()
    } else if response.expires_cookie(wire::NAME) {
        String::new()
    } else {
        held
    }
}

/// The `Cookie` header of a client holding `cookie` (none when it holds none).
fn jar(cookie: &str) -> Option<&str> {
    (!cookie.is_empty()).then_some(cookie)
}

on_backends!(
    a_flash_is_read_once_then_gone,
    [Cookie, Memory],
    |backend| async move {
        let app = app(backend);
        let mut cookie = app.get("/notice", None).await.replay();
        let r = app.get("/peek", jar(&cookie)).await;
        assert_eq!(r.body, "saved|", "a typed notice, read in the next request");
        cookie = newest(cookie, &r);
        let r = app.get("/messages", jar(&cookie)).await;
        cookie = newest(cookie, &r);
        let r = app.get("/peek", jar(&cookie)).await;
        assert_eq!(
            r.body, "-|one,two",
            "the notice is gone; the messages, typed, are read"
        );
        cookie = newest(cookie, &r);
        let r = app.get("/peek", jar(&cookie)).await;
        assert_eq!(r.body, "-|", "and then gone");
        cookie = newest(cookie, &r);
        assert_eq!(app.get("/peek", jar(&cookie)).await.body, "-|");
    }
);

on_backends!(
    consuming_a_flash_writes_only_its_removal,
    [Memory],
    |backend| async move {
        let app = app(backend);
        let cookie = app.get("/notice", None).await.replay();
        app.spy().take_calls();
        let r = app.get("/peek", jar(&cookie)).await;
        assert_eq!(r.body, "saved|");
        let calls = app.spy().take_calls();
        let patches: Vec<_> = calls
            .iter()
            .filter_map(|call| match call {
                Call::Patch(_, patch) => Some(patch),
                _ => None,
            })
            .collect();
        assert_eq!(patches.len(), 1, "{calls:?}");
        assert!(patches[0].changed().is_empty(), "{:?}", patches[0]);
        assert_eq!(patches[0].removed(), ["notice"]);
        // Nothing left to consume: a read writes nothing.
        app.get("/peek", jar(&cookie)).await;
        assert_eq!(app.store_calls(), ["load"]);
    }
);

on_backends!(
    a_flash_set_again_by_the_request_that_reads_it_is_kept,
    [Cookie, Memory],
    |backend| async move {
        let app = app(backend);
        let mut cookie = app.get("/notice", None).await.replay();
        let r = app.get("/replace", jar(&cookie)).await;
        assert_eq!(r.body, "saved|");
        cookie = newest(cookie, &r);
        let r = app.get("/show", jar(&cookie)).await;
        assert_eq!(r.body, "again|", "the new notice, for the next request");
        cookie = newest(cookie, &r);
        assert_eq!(app.get("/peek", jar(&cookie)).await.body, "-|");
    }
);

on_backends!(
    routes_that_do_not_extract_it_leave_a_flash_alone,
    [Cookie, Memory],
    |backend| async move {
        let app = app(backend);
        let mut cookie = app.get("/notice", None).await.replay();
        // A route that never extracts the session, and one that extracts another type.
        let r = app.get("/none", jar(&cookie)).await;
        assert!(r.set_cookies().is_empty());
        let r = app.get("/set", jar(&cookie)).await;
        cookie = newest(cookie, &r);
        assert_eq!(app.get("/read", jar(&cookie)).await.body, "hello");
        let r = app.get("/show", jar(&cookie)).await;
        assert_eq!(r.body, "saved|");
        cookie = newest(cookie, &r);
        let r = app.get("/show", jar(&cookie)).await;
        assert_eq!(r.body, "-|");
        assert_eq!(
            app.get("/read", jar(&newest(cookie, &r))).await.body,
            "hello",
            "the other fields stay"
        );
    }
);

on_backends!(
    two_tabs_that_load_before_either_answers_both_see_the_flash,
    [Memory],
    |backend| async move {
        let app = app(backend);
        let cookie = app.get("/notice", None).await.replay();
        let (a, b) = tokio::join!(
            app.get("/show_together", jar(&cookie)),
            app.get("/show_together", jar(&cookie)),
        );
        assert_eq!((a.status.as_u16(), b.status.as_u16()), (200, 200));
        assert_eq!((a.body.as_str(), b.body.as_str()), ("saved|", "saved|"));
        assert_eq!(app.get("/peek", jar(&cookie)).await.body, "-|");
    }
);
