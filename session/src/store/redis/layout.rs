//! How a session is laid out in Redis: one hash per session, its fields under `f:`, its times
//! under `m:`; the scripts that create and patch it atomically; and reading it back.

use std::collections::HashMap;
use std::sync::LazyLock;

use redis::Script;
use serde_json::Value as Json;
use time::OffsetDateTime;

use crate::Error;
use crate::store::{Fields, IndexDigest, Patch, Record, Rekeyed, Updated};

/// Hash field holding the creation time, in Unix milliseconds.
const CREATED: &str = "m:created";
/// Hash field holding the expiry, in Unix milliseconds.
const EXPIRES: &str = "m:expires";
/// Prefix of the hash fields that hold session data, so no storage key can collide with the
/// metadata fields.
const DATA: &str = "f:";

/// Lua: sets the local `$name` to the number in `m:expires` of the hash at `$key`; returns -1
/// from the script if `$key` holds something other than a hash (the error of `HGET` on another
/// type), and leaves `$name` nil when the field is missing or not a number.
macro_rules! read_expiry {
    ($key:literal, $name:literal) => {
        concat!(
            "local ",
            $name,
            " = redis.pcall('HGET', ",
            $key,
            ", 'm:expires')\n",
            "if type(",
            $name,
            ") == 'table' then return -1 end\n",
            $name,
            " = tonumber(",
            $name,
            ")\n"
        )
    };
}

/// Stores `KEYS[1]` unless a live record holds it.
/// ARGV: now, created, expires (all ms), then data field/value pairs.
/// Returns 1 created, 0 a live record exists, -1 the key holds something else.
///
/// A new id's key is free: that path is `EXISTS`, one `HSET`, `PEXPIRE`.
const CREATE: &str = concat!(
    r"
if redis.call('EXISTS', KEYS[1]) == 1 then
",
    read_expiry!("KEYS[1]", "expires"),
    r"
  if not expires then return -1 end
  if expires > tonumber(ARGV[1]) then return 0 end
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[1], 'm:created', ARGV[2], 'm:expires', ARGV[3], unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[1], math.max(tonumber(ARGV[3]) - tonumber(ARGV[1]), 1))
return 1
"
);

/// Lua: returns 0 from the script unless `KEYS[1]` holds a live session record, -1 if it holds
/// something else (a hash without a readable `m:expires` included). `ARGV[1]` is now (ms).
///
/// One `HGET` for a session; `EXISTS` only when that found no expiry.
macro_rules! return_unless_live {
    () => {
        concat!(
            read_expiry!("KEYS[1]", "expires"),
            r"
if not expires then
  if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
  return 0
end
if expires <= tonumber(ARGV[1]) then return 0 end
"
        )
    };
}

/// Lua: applies the patch in `ARGV` (see [`PATCH`]) to the hash named `target`: one `HDEL` for
/// the removed fields (if any), one `HSET` for the changed ones and the expiry, one `PEXPIRE`
/// for the remaining lifetime; returns from the script the session's index digest (the
/// `f:$index` field, a JSON string) if it has one, so that the store can bring the index's
/// entry up to date with the new key and expiry, else 1.
macro_rules! apply_patch_to_target {
    () => {
        r"
local removed = tonumber(ARGV[3])
if removed > 0 then
  redis.call('HDEL', target, unpack(ARGV, 4, 3 + removed))
end
redis.call('HSET', target, 'm:expires', ARGV[2], unpack(ARGV, 4 + removed))
redis.call('PEXPIRE', target, math.max(tonumber(ARGV[2]) - tonumber(ARGV[1]), 1))
local index = redis.call('HGET', target, 'f:$index')
if index then return index end
return 1
"
    };
}

/// Adds the session `ARGV[3]` (a store key in hex) to the index sorted set `KEYS[1]`, scored by
/// its expiry `ARGV[2]` (ms), drops the entries past their expiry (`ARGV[1]`, now), and keeps
/// the set at least as long as the session. One key: on a Cluster, the set's own slot.
const REGISTER: &str = r"
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local wanted = math.max(tonumber(ARGV[2]) - tonumber(ARGV[1]), 1)
if redis.call('PTTL', KEYS[1]) < wanted then
  redis.call('PEXPIRE', KEYS[1], wanted)
end
return 1
";

/// Patches the live record at `KEYS[1]`, or writes nothing; with no fields, a touch.
/// ARGV: now, expires (both ms), the number n of removed fields, n removed fields, then
/// changed field/value pairs. Returns 1 applied, 0 missing or expired, -1 not a session.
///
/// The time to live Redis keeps the key is `expires - now`, relative to the store's clock rather
/// than an absolute `PEXPIREAT`, so that Redis keeps the key exactly as long as the store
/// considers it live even when that clock is not Redis's (a manual clock in tests, or clock skew
/// between hosts).
const PATCH: &str = concat!(
    return_unless_live!(),
    "local target = KEYS[1]\n",
    apply_patch_to_target!()
);

/// Moves the live record at `KEYS[1]` to `KEYS[2]` and patches it there, or writes nothing.
/// ARGV as for [`PATCH`]. Returns 1 moved, 0 `KEYS[1]` missing or expired, 2 a live record at
/// `KEYS[2]`, -1 either key holds something else. On a Cluster both keys are in one slot (the
/// store draws them so: see `RedisStore::can_rekey`).
const REKEY: &str = concat!(
    return_unless_live!(),
    r"
if redis.call('EXISTS', KEYS[2]) == 1 then
",
    read_expiry!("KEYS[2]", "deadline"),
    r"
  if not deadline then return -1 end
  if deadline > tonumber(ARGV[1]) then return 2 end
end
redis.call('RENAME', KEYS[1], KEYS[2])
local target = KEYS[2]
",
    apply_patch_to_target!()
);

pub(super) static CREATE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(CREATE));
pub(super) static PATCH_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(PATCH));
pub(super) static REKEY_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(REKEY));
pub(super) static REGISTER_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(REGISTER));

/// What a script answered: its status, and the session's index digest when a patch or a move
/// applied to an indexed session.
pub(super) struct Answer {
    pub(super) status: i64,
    pub(super) index: Option<IndexDigest>,
}

impl redis::FromRedisValue for Answer {
    fn from_redis_value_ref(value: &redis::Value) -> Result<Self, redis::ParsingError> {
        match value {
            redis::Value::BulkString(bytes) => Ok(Self {
                status: 1,
                // A digest that does not read back is no index: listing would never find it.
                index: serde_json::from_slice::<String>(bytes)
                    .ok()
                    .and_then(IndexDigest::from_digest_hex),
            }),
            other => Ok(Self {
                status: i64::from_redis_value_ref(other)?,
                index: None,
            }),
        }
    }

    fn from_redis_value(value: redis::Value) -> Result<Self, redis::ParsingError> {
        Self::from_redis_value_ref(&value)
    }
}

/// The outcome of [`REKEY`] from its status.
pub(super) fn rekeyed(status: i64) -> Rekeyed {
    match status {
        0 => Rekeyed::Missing,
        2 => Rekeyed::Taken,
        _ => Rekeyed::Applied,
    }
}

pub(super) fn applied(status: i64) -> Result<Updated, Error> {
    Ok(if status == 0 {
        Updated::Missing
    } else {
        Updated::Applied
    })
}

/// The arguments of [`PATCH`] and [`REKEY`]: now and the expiry (ms), the removed fields and
/// the changed ones.
pub(super) fn patch_args(now: OffsetDateTime, patch: &Patch) -> Vec<Vec<u8>> {
    let mut args = vec![
        millis(now).to_string().into_bytes(),
        millis(patch.expires()).to_string().into_bytes(),
        patch.removed().len().to_string().into_bytes(),
    ];
    args.extend(patch.removed().iter().map(|name| data_field(name)));
    push_fields(&mut args, patch.changed());
    args
}

/// The hash field of the session field `name`.
pub(super) fn data_field(name: &str) -> Vec<u8> {
    format!("{DATA}{name}").into_bytes()
}

pub(super) fn push_fields(args: &mut Vec<Vec<u8>>, fields: &Fields) {
    for (name, value) in fields {
        args.push(data_field(name));
        args.push(value.to_string().into_bytes());
    }
}

/// Unix milliseconds.
pub(super) fn millis(at: OffsetDateTime) -> i64 {
    // `OffsetDateTime`'s whole range fits in i64 milliseconds: the fallback is unreachable.
    i64::try_from(at.unix_timestamp_nanos().div_euclid(1_000_000)).unwrap_or(i64::MAX)
}

pub(super) fn parse_record(hash: HashMap<Vec<u8>, Vec<u8>>) -> Result<Record, Error> {
    let mut fields = Fields::new();
    let (mut created, mut expires) = (None, None);
    for (name, value) in hash {
        let name = String::from_utf8(name)
            .map_err(|_| Error::corrupt("Redis session hash has a field name that is not UTF-8"))?;
        match name.as_str() {
            CREATED => created = Some(parse_time(CREATED, &value)?),
            EXPIRES => expires = Some(parse_time(EXPIRES, &value)?),
            _ => {
                // Fields outside the data namespace belong to a newer layout: left alone.
                let Some(key) = name.strip_prefix(DATA) else {
                    continue;
                };
                let value: Json = serde_json::from_slice(&value).map_err(|e| {
                    Error::corrupt(format!("Redis session field `{key}` is not JSON: {e}"))
                })?;
                fields.insert(key.to_owned(), value);
            }
        }
    }
    match (created, expires) {
        (Some(created), Some(expires)) => Ok(Record::new(fields, created, expires)),
        _ => Err(Error::corrupt(format!(
            "Redis hash lacks `{CREATED}` or `{EXPIRES}`; it is not a session record"
        ))),
    }
}

fn parse_time(field: &str, value: &[u8]) -> Result<OffsetDateTime, Error> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|text| text.parse::<i64>().ok())
        .and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok())
        .ok_or_else(|| {
            Error::corrupt(format!(
                "Redis session field `{field}` is not a time in Unix milliseconds"
            ))
        })
}
