//! The cases every SQL store runs, each generic over its [`Harness`].

use std::time::{Duration, Instant};

use serde_json::json;
use time::OffsetDateTime;
use typed_sessions::Error;
use typed_sessions::clock::ManualClock;
use typed_sessions::store::{Created, Fields, Patch, SessionStore, SqlStore, Updated};
use typed_sessions::test_kit::{assert_same_record, fresh_key};

use super::{Harness, RawSql, record, store, store_in, unreachable};

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// `migrate` starts a cleanup of its own (a flood of new sessions does not pile up in the table
/// because nobody remembered `spawn_cleanup`), which stops with the last clone of the store;
/// `without_cleanup` starts none.
pub async fn migrate_starts_a_cleanup_that_lives_as_long_as_the_store<H: Harness>() {
    let _up = H::up().await;
    let clock = ManualClock::starting_now();
    let url = H::database();
    let connect = || async {
        SqlStore::<H::Db>::connect(&url)
            .await
            .expect("connecting to the test database")
            .with_table_name(super::unique_table())
            .expect("a valid table name")
            .with_clock(clock.clone())
    };
    let cleaned = connect()
        .await
        .with_cleanup_interval(Duration::from_millis(50));
    let kept = connect().await.without_cleanup();
    for store in [&cleaned, &kept] {
        store.migrate().await.expect("migrate");
        let expiring = record(json!({"a": 1}), clock.now(), Duration::from_secs(1));
        store.create(&fresh_key(), &expiring).await.unwrap();
    }
    clock.advance(Duration::from_secs(2));
    let raw = H::raw(&kept);
    let cleaned_table = cleaned.table_name().to_owned();
    let deadline = Instant::now() + Duration::from_secs(5);
    while raw.count_rows(&cleaned_table).await > 0 {
        assert!(Instant::now() < deadline, "migrate started no cleanup");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        raw.count_rows(kept.table_name()).await,
        1,
        "without_cleanup: nothing deletes the row"
    );

    // The last clone gone, the cleanup stops.
    let clone = cleaned.clone();
    let expiring = record(json!({"b": 1}), clock.now(), Duration::from_secs(1));
    clone.create(&fresh_key(), &expiring).await.unwrap();
    drop(cleaned);
    drop(clone);
    clock.advance(Duration::from_secs(2));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        raw.count_rows(&cleaned_table).await,
        1,
        "a dropped store's cleanup must stop"
    );
}

/// `migrate` runs again on an empty table and on one with rows, keeps them, and creates an
/// index on `expires`.
pub async fn migrate_is_idempotent_and_creates_the_expiry_index<H: Harness>() {
    let _up = H::up().await;
    let store = store::<H>().await;
    store.migrate().await.expect("second migrate");
    let key = fresh_key();
    let kept = record(json!({"a": 1}), now(), Duration::from_secs(60));
    store.create(&key, &kept).await.unwrap();
    store.migrate().await.expect("migrate on a table with rows");
    store.migrate().await.expect("fourth migrate");
    assert_same_record(&store.load(&key).await.unwrap().unwrap(), &kept);

    let indexes = H::raw(&store).strings(H::indexes(store.table_name())).await;
    assert!(
        indexes.iter().any(|def| def.contains("(expires)")),
        "no index on expires: {indexes:?}"
    );
}

/// Rows expire by the store's clock, not the server's: an expired row is not loaded, patched
/// or touched, stays until `delete_expired` deletes it (and only it), and does not block a new
/// session under its key.
pub async fn liveness_follows_the_store_clock_and_delete_expired_removes_only_expired_rows<
    H: Harness,
>() {
    let _up = H::up().await;
    let clock = ManualClock::starting_now();
    let store = store::<H>().await.with_clock(clock.clone());
    let raw = H::raw(&store);
    let start = clock.now();
    let (short, long) = (fresh_key(), fresh_key());
    let short_record = record(json!({"s": 1}), start, Duration::from_secs(60));
    let long_record = record(json!({"l": 1}), start, Duration::from_secs(600));
    store.create(&short, &short_record).await.unwrap();
    store.create(&long, &long_record).await.unwrap();
    assert_eq!(
        store.delete_expired().await.unwrap(),
        0,
        "nothing has expired yet"
    );

    clock.advance(Duration::from_secs(300));
    assert!(
        store.load(&short).await.unwrap().is_none(),
        "expired by the store's clock"
    );
    let patch = Patch::new(
        [("x".to_owned(), json!(1))].into_iter().collect(),
        vec![],
        clock.now() + Duration::from_secs(60),
    );
    assert_eq!(store.patch(&short, &patch).await.unwrap(), Updated::Missing);
    assert_eq!(
        store.touch(&short, patch.expires()).await.unwrap(),
        Updated::Missing
    );
    let table = store.table_name();
    assert_eq!(
        raw.count_rows(table).await,
        2,
        "expired rows stay until deleted"
    );

    assert_eq!(store.delete_expired().await.unwrap(), 1);
    assert_eq!(store.delete_expired().await.unwrap(), 0);
    assert_eq!(
        raw.count_rows(table).await,
        1,
        "the expired row must be gone"
    );
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
}

/// The cleanup task keeps live rows, deletes expired ones on its interval, and stops when
/// dropped.
pub async fn cleanup_task_deletes_expired_rows_until_dropped<H: Harness>() {
    let _up = H::up().await;
    let clock = ManualClock::starting_now();
    let store = store::<H>().await.with_clock(clock.clone());
    let (raw, table) = (H::raw(&store), store.table_name());
    let start = clock.now();
    for ttl in [1, 2, 3] {
        let expiring = record(json!({"a": ttl}), start, Duration::from_secs(ttl));
        store.create(&fresh_key(), &expiring).await.unwrap();
    }
    let live = fresh_key();
    let lasting = record(json!({}), start, Duration::from_secs(600));
    store.create(&live, &lasting).await.unwrap();

    let cleanup = store.spawn_cleanup(Duration::from_millis(50));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(raw.count_rows(table).await, 4, "live rows are kept");

    clock.advance(Duration::from_secs(10));
    let deadline = Instant::now() + Duration::from_secs(5);
    while raw.count_rows(table).await > 1 {
        assert!(
            Instant::now() < deadline,
            "the cleanup task did not delete the expired rows"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        store.load(&live).await.unwrap().is_some(),
        "the live row must stay"
    );

    drop(cleanup);
    let expired = record(json!({"b": 1}), clock.now(), Duration::from_secs(1));
    store.create(&fresh_key(), &expired).await.unwrap();
    clock.advance(Duration::from_secs(2));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        raw.count_rows(table).await,
        2,
        "a dropped cleanup task must stop"
    );
}

/// A row that is not a session record (data that is not a JSON object, a time out of range or
/// of the wrong type) loads as an error, never as a session or as "not found".
pub async fn corrupt_rows_are_errors<H: Harness>() {
    let _up = H::up().await;
    let store = store::<H>().await;
    for insert in H::corrupt_rows(store.table_name()) {
        let key = fresh_key();
        H::raw(&store)
            .execute(insert.replace("{key}", key.as_str()))
            .await;
        match store.load(&key).await {
            Err(Error::Corrupt(what)) => assert!(!what.is_empty()),
            other => panic!("{insert}: expected a corrupt record, got {other:?}"),
        }
    }
}

/// Two stores on two tables of one database never see each other's sessions.
pub async fn tables_are_isolated<H: Harness>() {
    let _up = H::up().await;
    let url = H::database();
    let (one, two) = (store_in::<H>(&url).await, store_in::<H>(&url).await);
    let key = fresh_key();
    let ours = record(json!({"a": 1}), now(), Duration::from_secs(60));
    assert_eq!(one.create(&key, &ours).await.unwrap(), Created::Stored);
    assert!(two.load(&key).await.unwrap().is_none());
    let theirs = record(json!({"b": 2}), now(), Duration::from_secs(60));
    assert_eq!(two.create(&key, &theirs).await.unwrap(), Created::Stored);
    two.remove(&key).await.unwrap();
    assert!(one.load(&key).await.unwrap().is_some());
}

/// A patch or touch of a live row that leaves it as it was still reports `Applied` (MySQL
/// counts such a row as unchanged unless told otherwise).
pub async fn patch_that_changes_nothing_on_a_live_row_is_applied<H: Harness>() {
    let _up = H::up().await;
    let store = store::<H>().await;
    let key = fresh_key();
    let record = record(json!({"a": 1, "b": [1, 2]}), now(), Duration::from_secs(60));
    store.create(&key, &record).await.unwrap();
    let same = Patch::new(
        [("a".to_owned(), json!(1))].into_iter().collect(),
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
}

/// Table names that are not plain identifiers are refused before any SQL is built.
pub async fn invalid_table_names_are_refused<H: Harness>() {
    let bad_names = [
        "",
        "1x",
        "1sessions",
        "a-b",
        "sessions; DROP TABLE x",
        "x`; DROP TABLE y; --",
        "\"s\"",
        "sessions ",
        "ü",
    ];
    for bad in bad_names {
        match unreachable::<H>().with_table_name(bad) {
            Err(Error::Config(message)) => assert!(message.contains("table name"), "{message}"),
            other => panic!("{bad:?}: expected a configuration error, got {other:?}"),
        }
    }
    assert_eq!(unreachable::<H>().table_name(), "sessions");
    let renamed = unreachable::<H>().with_table_name("app_sessions").unwrap();
    assert_eq!(renamed.table_name(), "app_sessions");
}

/// A URL the database cannot parse is a configuration error, not an outage.
pub async fn an_invalid_url_is_a_configuration_error<H: Harness>() {
    match SqlStore::<H::Db>::connect(H::INVALID_URL).await {
        Err(Error::Config(message)) => assert!(message.contains("URL"), "{message}"),
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

/// `Debug` shows the table, never the URL or its password.
pub async fn debug_shows_no_credentials<H: Harness>() {
    let _up = H::up().await;
    let shown = format!("{:?}", unreachable::<H>());
    assert!(
        !shown.contains("hunter2") && !shown.contains("127.0.0.1"),
        "{shown}"
    );
    assert!(shown.contains("sessions"), "{shown}");

    let url = H::database();
    let store = store_in::<H>(&url).await;
    let shown = format!("{store:?}");
    assert!(shown.contains(store.table_name()), "{shown}");
    assert!(!shown.contains("://"), "{shown}");
    if let Some(password) = password(&url) {
        assert!(!shown.contains(&format!(":{password}@")), "{shown}");
    }
}

/// The password of `scheme://user:password@host/...`, if it has one.
fn password(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let (user_info, _) = rest.split_once('@')?;
    Some(user_info.split_once(':')?.1)
}

/// A server that does not listen makes both an unconnected store and `connect` fail fast as
/// unavailable.
pub async fn connect_to_a_closed_port_is_unavailable_and_fast<H: Harness>() {
    let started = Instant::now();
    let err = unreachable::<H>().load(&fresh_key()).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "load took {took:?}");

    let started = Instant::now();
    let err = SqlStore::<H::Db>::connect(H::UNREACHABLE_URL)
        .await
        .expect_err("nothing listens there");
    assert!(err.is_unavailable(), "{err}");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "connect took {took:?}");
}
