//! `MySqlStore` against the MariaDB that `scripts/test` starts (`TS_MYSQL_URL`): the conformance
//! kit, the shared SQL cases, then what is particular to this store. Every test works in a
//! table of its own.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};
use sqlx::{AssertSqlSafe, Row};
use time::OffsetDateTime;
use typed_sessions::test_kit::{assert_same_record, fresh_key, run};
use typed_sessions::{
    MySqlStore,
    store::{
        Created, Fields, INDEX_FIELD, IndexDigest, Patch, Record, SessionStore, StoreKey, Updated,
    },
};

use crate::sql::{Harness, RawSql, record, store, unique_table};

/// The test server.
pub struct MySql;

impl Harness for MySql {
    type Db = sqlx::MySql;

    const INVALID_URL: &'static str = "mysql://app@localhost:notaport/app";
    const UNREACHABLE_URL: &'static str = "mysql://app:hunter2@127.0.0.1:1/app";

    fn database() -> String {
        crate::env_url("TS_MYSQL_URL")
    }

    fn corrupt_rows(table: &str) -> Vec<String> {
        let live = (OffsetDateTime::now_utc().unix_timestamp() + 60) * 1000;
        let out_of_range = "9000000000000000000";
        [
            format!("'[1, 2]', 0, {live}"),
            format!("'\"text\"', 0, {live}"),
            format!("'null', 0, {live}"),
            format!("'{{}}', 0, {out_of_range}"),
        ]
        .iter()
        .map(|values| {
            format!(
                "INSERT INTO `{table}` (`key`, `data`, `created`, `expires`) \
                 VALUES ('{{key}}', {values})"
            )
        })
        .collect()
    }

    fn indexes(table: &str) -> String {
        format!(
            "SELECT CONCAT(index_name, ' (', column_name, ')') FROM information_schema.statistics \
             WHERE table_schema = DATABASE() AND table_name = '{table}'"
        )
    }

    fn raw(store: &MySqlStore) -> &impl RawSql {
        store.pool()
    }
}

crate::sql::sql_store_tests!(MySql, connect_to_a_closed_port_is_unavailable_and_fast);

mod conformance {
    typed_sessions::store_conformance!(
        store = crate::sql::store::<super::MySql>(),
        failing = async { crate::sql::unreachable::<super::MySql>() },
    );
}

fn fields(value: Value) -> Fields {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

#[test]
fn values_keep_their_json_type_and_null_is_stored() {
    run(async {
        let store = store::<MySql>().await;
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
        let store = store::<MySql>().await;
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
        let store = store::<MySql>().await;
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

/// A digest no other test uses.
fn fresh_digest() -> IndexDigest {
    IndexDigest::from_digest_hex(fresh_key().as_str()).expect("a store key is a digest")
}

/// A record indexed under `digest`, with one more field, that lives a minute.
fn indexed(digest: &IndexDigest, device: &str) -> Record {
    let fields = json!({INDEX_FIELD: digest.as_str(), "device": device});
    record(fields, now(), Duration::from_secs(60))
}

/// A patch that sets a session's `$index` member to `value`, keeping it until `expires`.
fn set_index(value: Value, expires: OffsetDateTime) -> Patch {
    Patch::new(fields(json!({INDEX_FIELD: value})), vec![], expires)
}

/// The keys `store` lists under `digest`.
async fn listed(store: &MySqlStore, digest: &IndexDigest) -> BTreeSet<StoreKey> {
    let listed = store.list_indexed(digest).await.expect("list_indexed");
    listed.into_iter().map(|(key, _)| key).collect()
}

/// How many rows and index entries this connection has read so far: the sum of its
/// `Handler_read_*` counters (reading them reads none on MariaDB).
async fn reads(pool: &MySqlPool) -> u64 {
    let counters: Vec<(String, String)> =
        sqlx::query_as("SHOW SESSION STATUS LIKE 'Handler\\_read\\_%'")
            .fetch_all(pool)
            .await
            .expect("the session's handler counters");
    assert!(counters.len() >= 5, "{counters:?}");
    counters
        .iter()
        .map(|(name, value)| value.parse::<u64>().unwrap_or_else(|_| panic!("{name}")))
        .sum()
}

/// Listing a user's sessions reads their entries of the `index_digest` index, not the table:
/// the plan of the listing statement names the index (no full scan, `type: ALL`), and the
/// store's own call reads a handful of rows and index entries in a table of two hundred, and
/// lists the user's live sessions only.
#[test]
fn listing_reads_the_index_not_the_table() {
    run(async {
        // One connection, so that the counters read below are those of the store's statement.
        let pool = MySqlPoolOptions::new()
            .max_connections(1)
            .connect(&MySql::database())
            .await
            .expect("connecting to the test database");
        let store = MySqlStore::new(pool.clone())
            .with_table_name(unique_table())
            .unwrap()
            .without_cleanup();
        store.migrate().await.expect("migrate");
        for i in 0..200 {
            let record = match i % 2 {
                0 => indexed(&fresh_digest(), "other user"),
                _ => record(json!({"n": i}), now(), Duration::from_secs(60)),
            };
            store.create(&fresh_key(), &record).await.unwrap();
        }
        let ann = fresh_digest();
        let mut live = BTreeSet::new();
        for device in ["phone", "laptop", "tablet"] {
            let key = fresh_key();
            store.create(&key, &indexed(&ann, device)).await.unwrap();
            live.insert(key);
        }
        let long_ago = now() - Duration::from_secs(3600);
        let expired = record(json!({INDEX_FIELD: ann.as_str()}), long_ago, Duration::ZERO);
        store.create(&fresh_key(), &expired).await.unwrap();

        let explain = format!(
            "EXPLAIN SELECT `key`, `data`, `created`, `expires` FROM `{}` \
             WHERE `index_digest` = ? AND `expires` > ?",
            store.table_name()
        );
        let plan = sqlx::query(AssertSqlSafe(explain))
            .bind(ann.as_str())
            .bind(now().unix_timestamp() * 1000)
            .fetch_all(&pool)
            .await
            .expect("EXPLAIN");
        let plan: Vec<(String, Option<String>)> = plan
            .iter()
            .map(|row| (row.get("type"), row.get("key")))
            .collect();
        let [(access, key)] = plan.as_slice() else {
            panic!("one table, one plan row: {plan:?}")
        };
        assert_eq!(key.as_deref(), Some("index_digest"), "{plan:?}");
        assert_ne!(access, "ALL", "a full scan: {plan:?}");

        let before = reads(&pool).await;
        assert_eq!(listed(&store, &ann).await, live);
        let read = reads(&pool).await - before;
        // A lookup, an entry per session, and the one past the range; a scan reads 200 or more.
        assert!(
            read <= 2 * live.len() as u64 + 2,
            "listing 3 sessions read {read} rows or index entries"
        );
    });
}

/// The table as `migrate` made it before listing had an index: no `index_digest` column.
const PREVIOUS_SCHEMA: &str = "CREATE TABLE `{table}` (
    `key` CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    `data` JSON NOT NULL, `created` BIGINT NOT NULL, `expires` BIGINT NOT NULL,
    INDEX `expires` (`expires`)
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin";

/// A table of the previous schema, with sessions in it, gets the indexed column from `migrate`
/// (run by several instances at once, then again): the sessions written before are listed, and
/// the writes after keep the index up to date.
#[test]
fn migrate_adds_the_index_to_a_table_of_the_previous_schema() {
    run(async {
        let url = MySql::database();
        let table = unique_table();
        let connect = || async {
            MySqlStore::connect(&url)
                .await
                .expect("connecting to the test database")
                .with_table_name(&table)
                .expect("a valid table name")
                .without_cleanup()
        };
        let store = connect().await;
        let raw = MySql::raw(&store);
        raw.execute(PREVIOUS_SCHEMA.replace("{table}", &table))
            .await;
        let (ann, bob) = (fresh_digest(), fresh_digest());
        let (phone, laptop, bobs) = (fresh_key(), fresh_key(), fresh_key());
        store.create(&phone, &indexed(&ann, "phone")).await.unwrap();
        store.create(&bobs, &indexed(&bob, "phone")).await.unwrap();
        let plain = record(json!({"n": 1}), now(), Duration::from_secs(60));
        store.create(&fresh_key(), &plain).await.unwrap();
        // Indexed by a patch, as at a login.
        store.create(&laptop, &plain).await.unwrap();
        let login = set_index(json!(ann.as_str()), plain.expires());
        assert_eq!(
            store.patch(&laptop, &login).await.unwrap(),
            Updated::Applied
        );
        assert!(
            store.list_indexed(&ann).await.is_err(),
            "the previous schema has no column to list by"
        );

        let mut migrations = Vec::new();
        for _ in 0..4 {
            let instance = connect().await;
            migrations.push(tokio::spawn(async move { instance.migrate().await }));
        }
        for migration in migrations {
            migration.await.unwrap().expect("concurrent migrate");
        }
        store.migrate().await.expect("migrate once more");

        assert_eq!(
            listed(&store, &ann).await,
            BTreeSet::from([phone.clone(), laptop.clone()])
        );
        assert_eq!(listed(&store, &bob).await, BTreeSet::from([bobs]));
        let indexes = raw.strings(MySql::indexes(&table)).await;
        assert!(
            indexes
                .iter()
                .any(|def| def == "index_digest (index_digest)"),
            "{indexes:?}"
        );

        let tablet = fresh_key();
        store
            .create(&tablet, &indexed(&ann, "tablet"))
            .await
            .unwrap();
        let logout = Patch::new(Fields::new(), vec![INDEX_FIELD.to_owned()], plain.expires());
        assert_eq!(
            store.patch(&phone, &logout).await.unwrap(),
            Updated::Applied
        );
        assert_eq!(listed(&store, &ann).await, BTreeSet::from([laptop, tablet]));
    });
}

/// A row whose `$index` member cannot be a digest (not 64 characters, not a string) or whose
/// data MariaDB's JSON functions refuse (not JSON, in a table without the JSON check of MariaDB
/// 10.4.3+; nested deeper than 32 levels) is written like any other, is never listed, and
/// leaves the listing of the others intact.
#[test]
fn rows_that_cannot_be_indexed_are_written_and_not_listed() {
    run(async {
        let store = store::<MySql>().await;
        let ann = fresh_digest();
        let phone = fresh_key();
        store.create(&phone, &indexed(&ann, "phone")).await.unwrap();
        let unindexable = [
            json!(format!("{}0", ann.as_str())),
            json!(&ann.as_str()[1..]),
            json!("é".repeat(64)),
            json!(7),
            json!({"digest": ann.as_str()}),
            json!([ann.as_str()]),
            json!(null),
        ];
        for value in unindexable {
            let created = record(
                json!({INDEX_FIELD: value.clone(), "n": 1}),
                now(),
                Duration::from_secs(60),
            );
            let key = fresh_key();
            assert_eq!(
                store.create(&key, &created).await.unwrap(),
                Created::Stored,
                "{value}"
            );
            assert_same_record(&store.load(&key).await.unwrap().unwrap(), &created);
            let patch = set_index(value.clone(), created.expires());
            assert_eq!(
                store.patch(&phone, &patch).await.unwrap(),
                Updated::Applied,
                "{value}"
            );
            let login = set_index(json!(ann.as_str()), created.expires());
            assert_eq!(store.patch(&phone, &login).await.unwrap(), Updated::Applied);
        }

        let table = store.table_name();
        let raw = MySql::raw(&store);
        raw.execute(format!(
            "ALTER TABLE `{table}` MODIFY `data` LONGTEXT NOT NULL"
        ))
        .await;
        let live = (now().unix_timestamp() + 60) * 1000;
        let too_deep = format!(
            "{{\"{INDEX_FIELD}\": \"{}\", \"deep\": {}1{}}}",
            ann.as_str(),
            "[".repeat(40),
            "]".repeat(40)
        );
        for data in ["not JSON {", &too_deep] {
            raw.execute(format!(
                "INSERT INTO `{table}` (`key`, `data`, `created`, `expires`) \
                 VALUES ('{}', '{data}', 0, {live})",
                fresh_key().as_str()
            ))
            .await;
        }
        assert_eq!(listed(&store, &ann).await, BTreeSet::from([phone]));
    });
}
