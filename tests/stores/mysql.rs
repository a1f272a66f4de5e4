//! `MySqlStore` against the MariaDB that `scripts/test` starts (`TS_MYSQL_URL`): the conformance
//! kit, then what is particular to this store. Every test works in a table of its own.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::AssertSqlSafe;
use sqlx::mysql::MySqlPoolOptions;
use time::OffsetDateTime;
use typed_sessions::test_kit::{assert_same_record, fresh_key, run};
use typed_sessions::{
    Error, MySqlStore,
    clock::ManualClock,
    store::{Created, Fields, Patch, Record, SessionStore, Updated},
};

/// A migrated store on a fresh table.
async fn store() -> MySqlStore {
    let url = crate::env_url("TS_MYSQL_URL");
    let table = format!("sessions_{}", &fresh_key().as_str()[..16]);
    let store = MySqlStore::connect(&url)
        .await
        .expect("connecting to TS_MYSQL_URL")
        .with_table_name(&table)
        .unwrap();
    store.migrate().await.expect("migrate");
    store
}

/// A store whose server is a closed port, connected lazily so that building it succeeds.
fn failing() -> MySqlStore {
    let pool = MySqlPoolOptions::new()
        .acquire_timeout(Duration::from_secs(1))
        .connect_lazy("mysql://x:y@127.0.0.1:1/x")
        .unwrap();
    MySqlStore::new(pool)
}

mod conformance {
    typed_sessions::store_conformance!(
        store = super::store(),
        failing = async { super::failing() },
    );
}

fn fields(value: Value) -> Fields {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn record(value: Value, created: OffsetDateTime, ttl: Duration) -> Record {
    Record::new(fields(value), created, created + ttl)
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Runs `sql` on the store's table (`{t}` stands for its quoted name).
async fn raw(store: &MySqlStore, sql: &str) -> u64 {
    let sql = sql.replace("{t}", &format!("`{}`", store.table_name()));
    sqlx::query(AssertSqlSafe(sql))
        .execute(store.pool())
        .await
        .expect("raw statement")
        .rows_affected()
}

async fn row_count(store: &MySqlStore) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM `{}`", store.table_name());
    sqlx::query_scalar(AssertSqlSafe(sql))
        .fetch_one(store.pool())
        .await
        .unwrap()
}

#[test]
fn migrate_is_idempotent() {
    run(async {
        let store = store().await;
        let key = fresh_key();
        let record = record(json!({"a": 1}), now(), Duration::from_secs(60));
        store.create(&key, &record).await.unwrap();
        store.migrate().await.expect("second migrate");
        store.migrate().await.expect("third migrate");
        assert_same_record(&store.load(&key).await.unwrap().unwrap(), &record);
    });
}

#[test]
fn tables_are_isolated() {
    run(async {
        let (one, two) = (store().await, store().await);
        let key = fresh_key();
        let record = record(json!({"a": 1}), now(), Duration::from_secs(60));
        assert_eq!(one.create(&key, &record).await.unwrap(), Created::Stored);
        assert!(two.load(&key).await.unwrap().is_none());
        assert_eq!(two.create(&key, &record).await.unwrap(), Created::Stored);
        two.remove(&key).await.unwrap();
        assert!(one.load(&key).await.unwrap().is_some());
    });
}

#[test]
fn liveness_follows_the_store_clock_and_delete_expired_removes_only_expired_rows() {
    run(async {
        let clock = ManualClock::starting_now();
        let store = store().await.with_clock(clock.clone());
        let start = clock.now();
        let (short, long) = (fresh_key(), fresh_key());
        let short_record = record(json!({"s": 1}), start, Duration::from_secs(60));
        let long_record = record(json!({"l": 1}), start, Duration::from_secs(600));
        store.create(&short, &short_record).await.unwrap();
        store.create(&long, &long_record).await.unwrap();
        assert_eq!(store.delete_expired().await.unwrap(), 0);

        clock.advance(Duration::from_secs(300));
        assert!(
            store.load(&short).await.unwrap().is_none(),
            "expired by the store's clock"
        );
        let patch = Patch::new(
            fields(json!({"x": 1})),
            vec![],
            clock.now() + Duration::from_secs(60),
        );
        assert_eq!(store.patch(&short, &patch).await.unwrap(), Updated::Missing);
        assert_eq!(
            store.touch(&short, patch.expires()).await.unwrap(),
            Updated::Missing
        );
        assert_eq!(
            row_count(&store).await,
            2,
            "expired rows stay until deleted"
        );

        assert_eq!(store.delete_expired().await.unwrap(), 1);
        assert_eq!(row_count(&store).await, 1);
        assert_same_record(&store.load(&long).await.unwrap().unwrap(), &long_record);

        // An expired row does not block a new session under its key.
        assert_eq!(
            store.create(&short, &short_record).await.unwrap(),
            Created::Stored
        );
        assert!(
            store.load(&short).await.unwrap().is_none(),
            "created already expired"
        );
        let fresh = record(json!({"again": true}), clock.now(), Duration::from_secs(60));
        assert_eq!(store.create(&short, &fresh).await.unwrap(), Created::Stored);
        assert_same_record(&store.load(&short).await.unwrap().unwrap(), &fresh);
    });
}

#[test]
fn cleanup_task_deletes_expired_rows_until_dropped() {
    run(async {
        let clock = ManualClock::starting_now();
        let store = store().await.with_clock(clock.clone());
        let live = record(json!({"a": 1}), clock.now(), Duration::from_secs(1));
        store.create(&fresh_key(), &live).await.unwrap();
        let cleanup = store.spawn_cleanup(Duration::from_millis(50));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(row_count(&store).await, 1, "a live row is kept");

        clock.advance(Duration::from_secs(2));
        let deadline = Instant::now() + Duration::from_secs(5);
        while row_count(&store).await > 0 {
            assert!(
                Instant::now() < deadline,
                "the cleanup task did not delete the expired row"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        drop(cleanup);
        let expired = record(json!({"b": 1}), clock.now(), Duration::from_secs(1));
        store.create(&fresh_key(), &expired).await.unwrap();
        clock.advance(Duration::from_secs(2));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            row_count(&store).await,
            1,
            "a dropped cleanup task must stop"
        );
    });
}

#[test]
fn corrupt_rows_are_errors() {
    run(async {
        let store = store().await;
        let expires = now() + Duration::from_secs(60);
        let ms = expires.unix_timestamp() * 1000;
        let cases = [
            ("'[1, 2]'", ms.to_string()),
            ("'\"text\"'", ms.to_string()),
            ("'null'", ms.to_string()),
            ("'{}'", "9000000000000000000".to_owned()),
        ];
        for (data, expires) in cases {
            let key = fresh_key();
            raw(
                &store,
                &format!(
                    "INSERT INTO {{t}} VALUES ('{}', {data}, 0, {expires})",
                    key.as_str()
                ),
            )
            .await;
            match store.load(&key).await {
                Err(Error::Corrupt(what)) => assert!(!what.is_empty()),
                other => panic!("data {data}, expires {expires}: expected corrupt, got {other:?}"),
            }
        }
    });
}

/// Field names that a naive JSON path would misread.
const AWKWARD: &[&str] = &[
    "a.b",
    "q\"x",
    "back\\slash",
    "\\\"",
    "with space",
    "[0]",
    "a[0].b",
    "$",
    "*",
    "**",
    "",
    "'quote",
    "ü 日本 😀",
    "new\nline",
    "\u{1}",
    "a\"].b",
];

#[test]
fn awkward_field_names_go_through_patch_and_remove() {
    run(async {
        let store = store().await;
        let key = fresh_key();
        let mut initial = Fields::new();
        for (i, name) in AWKWARD.iter().enumerate() {
            initial.insert((*name).to_owned(), json!(i));
        }
        initial.insert("a".into(), json!({"b": "nested, not a.b"}));
        let original = Record::new(initial, now(), now() + Duration::from_secs(60));
        store.create(&key, &original).await.unwrap();
        assert_same_record(&store.load(&key).await.unwrap().unwrap(), &original);

        let mut changed = Fields::new();
        for name in AWKWARD.iter().step_by(2) {
            changed.insert((*name).to_owned(), json!(format!("new {name}")));
        }
        changed.insert("new.\"field\" [x]".into(), json!([1]));
        let patch = Patch::new(
            changed,
            AWKWARD
                .iter()
                .skip(1)
                .step_by(2)
                .map(|s| (*s).to_owned())
                .collect(),
            now() + Duration::from_secs(120),
        );
        assert_eq!(store.patch(&key, &patch).await.unwrap(), Updated::Applied);
        let mut expected = original.clone();
        patch.apply_to(&mut expected);
        assert_same_record(&store.load(&key).await.unwrap().unwrap(), &expected);
        assert_eq!(expected.fields()["a"], json!({"b": "nested, not a.b"}));
    });
}

#[test]
fn patch_that_changes_nothing_on_a_live_row_is_applied() {
    run(async {
        let store = store().await;
        let key = fresh_key();
        let record = record(json!({"a": 1, "b": [1, 2]}), now(), Duration::from_secs(60));
        store.create(&key, &record).await.unwrap();
        let same = Patch::new(
            fields(json!({"a": 1})),
            vec!["never-stored".into()],
            record.expires(),
        );
        assert_eq!(store.patch(&key, &same).await.unwrap(), Updated::Applied);
        let empty = Patch::new(Fields::new(), vec![], record.expires());
        assert_eq!(store.patch(&key, &empty).await.unwrap(), Updated::Applied);
        assert_eq!(
            store.touch(&key, record.expires()).await.unwrap(),
            Updated::Applied
        );
        assert_same_record(&store.load(&key).await.unwrap().unwrap(), &record);
    });
}

#[test]
fn values_keep_their_json_type_and_null_is_stored() {
    run(async {
        let store = store().await;
        let key = fresh_key();
        let record = record(json!({"gone": 1, "n": 5}), now(), Duration::from_secs(60));
        store.create(&key, &record).await.unwrap();
        let changed = fields(json!({
            "n": null,
            "null": null,
            "s": "1",
            "s_json": "{\"a\": 1}",
            "s_null": "null",
            "i": 1,
            "neg": -7,
            "big": u64::MAX,
            "small": i64::MIN,
            "f": 1.5,
            "tiny": 1e-7,
            "t": true,
            "arr": [1, "2", null, {"x": null}],
            "obj": {"x": null, "y": {"z": []}},
            "empty": {},
        }));
        let patch = Patch::new(changed.clone(), vec!["gone".into()], record.expires());
        assert_eq!(store.patch(&key, &patch).await.unwrap(), Updated::Applied);
        let loaded = store.load(&key).await.unwrap().unwrap();
        assert_eq!(loaded.fields(), &changed);
        assert_eq!(
            loaded.fields().get("null"),
            Some(&Value::Null),
            "null must be kept, not removed"
        );

        // The same values through `create`.
        let again = fresh_key();
        let created = Record::new(changed, record.created(), record.expires());
        store.create(&again, &created).await.unwrap();
        assert_same_record(&store.load(&again).await.unwrap().unwrap(), &created);
    });
}

#[test]
fn nesting_up_to_the_limit_round_trips_and_deeper_is_refused() {
    fn nested(depth: usize) -> Value {
        (0..depth).fold(json!(1), |inner, _| json!([inner]))
    }
    run(async {
        let store = store().await;
        let key = fresh_key();
        let original = record(json!({"deep": nested(30)}), now(), Duration::from_secs(60));
        store.create(&key, &original).await.unwrap();
        assert_same_record(&store.load(&key).await.unwrap().unwrap(), &original);
        let patch = Patch::new(
            fields(json!({"deeper": nested(30), "deepest": nested(31)})),
            vec![],
            original.expires(),
        );
        let err = store.patch(&key, &patch).await.unwrap_err();
        assert!(
            err.to_string().contains("`deepest` nests more than 30"),
            "{err}"
        );
        assert_same_record(&store.load(&key).await.unwrap().unwrap(), &original);
        let too_deep = record(json!({"d": nested(31)}), now(), Duration::from_secs(60));
        assert!(store.create(&fresh_key(), &too_deep).await.is_err());
    });
}

#[test]
fn concurrent_creates_of_one_key_create_once() {
    run(async {
        let store = store().await;
        let key = fresh_key();
        let creates = (0..8).map(|i| {
            let (store, key) = (store.clone(), key.clone());
            tokio::spawn(async move {
                let record = record(json!({"who": i}), now(), Duration::from_secs(60));
                store.create(&key, &record).await.unwrap()
            })
        });
        let mut created = 0;
        for create in creates.collect::<Vec<_>>() {
            if create.await.unwrap() == Created::Stored {
                created += 1;
            }
        }
        assert_eq!(created, 1);
    });
}

#[test]
fn an_unreachable_server_is_unavailable_within_the_acquire_timeout() {
    run(async {
        let store = failing();
        let started = Instant::now();
        let err = store.load(&fresh_key()).await.unwrap_err();
        assert!(err.is_unavailable(), "{err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "took {:?}",
            started.elapsed()
        );

        let started = Instant::now();
        let err = MySqlStore::connect("mysql://x:y@127.0.0.1:1/x")
            .await
            .unwrap_err();
        assert!(err.is_unavailable(), "{err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "took {:?}",
            started.elapsed()
        );
    });
}

#[test]
fn invalid_table_names_are_refused() {
    run(async {
        for bad in ["", "1x", "a-b", "x`; DROP TABLE y; --", "sessions ", "ü"] {
            match failing().with_table_name(bad) {
                Err(Error::Config(message)) => assert!(message.contains("table name"), "{message}"),
                other => panic!("{bad:?} must be refused, got {other:?}"),
            }
        }
        assert_eq!(failing().table_name(), "sessions");
        assert_eq!(
            failing()
                .with_table_name("app_sessions")
                .unwrap()
                .table_name(),
            "app_sessions"
        );
    });
}

#[test]
fn debug_shows_no_credentials() {
    run(async {
        let store = store().await;
        let shown = format!("{store:?}");
        assert!(shown.contains(store.table_name()), "{shown}");
        let url = crate::env_url("TS_MYSQL_URL");
        let password = url
            .split(':')
            .nth(2)
            .and_then(|s| s.split('@').next())
            .unwrap();
        assert!(
            !shown.contains(&format!(":{password}@")) && !shown.contains("mysql://"),
            "{shown}"
        );
    });
}
