//! Schema drift across deploys: sessions written by one version of a struct, read and written
//! by another, and read again by the first.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use typed_sessions::Session;

use typed_sessions_tests::*;
use typed_sessions_tests::{on_backends, wire};

/// The session as deploy 1 knows it.
#[derive(typed_sessions::Session, Default)]
struct ProfileV1 {
    views: u64,
    nick: String,
    legacy: String,
    level: u32,
}

fn default_theme() -> String {
    "light".to_owned()
}

/// Deploy 2: `legacy` removed, `nick` renamed with its old storage key as alias, `level` now a
/// `String`, `theme` added with a default.
#[derive(typed_sessions::Session, Default)]
struct ProfileV2 {
    views: u64,
    #[session(rename = "nick")]
    display_name: String,
    level: String,
    #[session(default = "default_theme")]
    theme: String,
}

fn v1_routes() -> Router {
    async fn seed(mut s: Session<ProfileV1>) {
        s.views = 3;
        s.nick = "ann".into();
        s.legacy = "keep-me".into();
        s.level = 7;
    }
    async fn read(s: Session<ProfileV1>) -> Json<Value> {
        Json(json!({
            "new": s.is_new(), "views": s.views, "nick": s.nick, "legacy": s.legacy,
            "level": s.level,
        }))
    }
    Router::new()
        .route("/seed", get(seed))
        .route("/read", get(read))
}

fn v2_routes() -> Router {
    async fn read(s: Session<ProfileV2>) -> Json<Value> {
        Json(json!({
            "new": s.is_new(), "views": s.views, "display_name": s.display_name,
            "level": s.level, "theme": s.theme,
        }))
    }
    async fn bump(mut s: Session<ProfileV2>) {
        s.views += 1;
    }
    async fn rename(mut s: Session<ProfileV2>) {
        s.display_name = "Ann B.".into();
    }
    async fn gold(mut s: Session<ProfileV2>) {
        s.level = "gold".into();
    }
    Router::new()
        .route("/read", get(read))
        .route("/bump", get(bump))
        .route("/rename", get(rename))
        .route("/gold", get(gold))
}

/// The fields as stored: the record of a store, the payload of the cookie store's cookie.
async fn stored_fields(place: &Place, backend: Backend, cookie: &str, master: &[u8]) -> Value {
    if backend == Backend::Cookie {
        return wire::payload(cookie, master)["d"].clone();
    }
    let id = wire::session_id(cookie, master);
    let record = place.record(&id).await.expect("a stored record");
    Value::Object(record.into_fields())
}

async fn schema_drift(backend: Backend) {
    let (logs, _guard) = Logs::capture();
    let place = Place::new(backend);
    let key = wire::master(0x5C);
    let mut client = Browser::default();

    // Deploy 1 writes every field.
    let app = start(&place, v1_routes(), &key, &[], false);
    assert_eq!(client.get(&app, "/seed").await.status, 200);
    let id = wire::session_id(&client.cookie(), &key);
    drop(app);
    let seeded = json!({"views": 3, "nick": "ann", "legacy": "keep-me", "level": 7});
    assert_eq!(
        stored_fields(&place, backend, &client.cookie(), &key).await,
        seeded
    );
    assert_eq!(logs.take(), "", "deploy 1 logs nothing");

    // Deploy 2 reads it: added field takes its default, the renamed field reads its old key,
    // the retyped field takes its default with a warning, the rest is intact.
    let app = start(&place, v2_routes(), &key, &[], false);
    let reply = client.get(&app, "/read").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"new": false, "views": 3, "display_name": "ann", "level": "", "theme": "light"})
    );
    let warnings = logs.take();
    assert!(
        warnings.contains("WARN")
            && warnings.contains("does not decode")
            && warnings.contains("level"),
        "a warning names the retyped field: {warnings:?}"
    );
    assert_eq!(
        warnings.lines().count(),
        1,
        "only the retyped field warns: {warnings}"
    );

    // Deploy 2 writes another field: the removed and the retyped fields stay as stored, the
    // added one is not written (it holds its default).
    assert_eq!(client.get(&app, "/bump").await.status, 200);
    let expected = json!({"views": 4, "nick": "ann", "legacy": "keep-me", "level": 7});
    assert_eq!(
        stored_fields(&place, backend, &client.cookie(), &key).await,
        expected,
        "a V2 write keeps what V2 does not know or cannot read"
    );
    // ...and writes through the alias to the old storage key.
    assert_eq!(client.get(&app, "/rename").await.status, 200);
    let expected = json!({"views": 4, "nick": "Ann B.", "legacy": "keep-me", "level": 7});
    assert_eq!(
        stored_fields(&place, backend, &client.cookie(), &key).await,
        expected
    );
    assert_eq!(wire::session_id(&client.cookie(), &key), id, "same session");
    drop(app);
    logs.take();

    // Rolled back to deploy 1: everything V2 did not know is still there.
    let app = start(&place, v1_routes(), &key, &[], false);
    let reply = client.get(&app, "/read").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"new": false, "views": 4, "nick": "Ann B.", "legacy": "keep-me", "level": 7})
    );
    assert_eq!(logs.take(), "", "V1 reads its own fields without warnings");
    drop(app);

    // Deploy 2 again stores the field as a string; deploy 1 then reads its default, with a
    // warning, and nothing else is lost.
    let app = start(&place, v2_routes(), &key, &[], false);
    assert_eq!(client.get(&app, "/gold").await.status, 200);
    drop(app);
    let app = start(&place, v1_routes(), &key, &[], false);
    let reply = client.get(&app, "/read").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"new": false, "views": 4, "nick": "Ann B.", "legacy": "keep-me", "level": 0})
    );
    let warnings = logs.take();
    assert!(
        warnings.contains("does not decode") && warnings.contains("level"),
        "{warnings:?}"
    );
    let expected = json!({"views": 4, "nick": "Ann B.", "legacy": "keep-me", "level": "gold"});
    assert_eq!(
        stored_fields(&place, backend, &client.cookie(), &key).await,
        expected
    );
}

on_backends!(schema_drift_across_deploys, [Cookie, Memory], schema_drift);
