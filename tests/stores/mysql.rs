//! `MySqlStore` against the MariaDB that `scripts/test` starts (`TS_MYSQL_URL`): the conformance
//! kit, the shared SQL cases, then what is particular to this store. Every test works in a
//! table of its own.

use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;
use typed_sessions::test_kit::{assert_same_record, fresh_key, run};
use typed_sessions::{
    MySqlStore,
    store::{Created, Fields, Patch, Record, SessionStore, Updated},
};

use crate::sql::{Harness, RawSql, record, store};

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
        .map(|values| format!("INSERT INTO `{table}` VALUES ('{{key}}', {values})"))
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
