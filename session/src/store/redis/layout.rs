//! How a session is laid out in Redis: one hash per session, its fields under `f:`, its times
//! under `m:`; the scripts that create and patch it atomically; and reading it back.

use std::collections::HashMap;
use std::sync::LazyLock;

use redis::Script;
use serde_json::Value as Json;
use time::OffsetDateTime;

use crate::Error;
use crate::store::{Fields, IndexDigest, Patch, Record, Rekeyed, StoreKey, Updated};

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

/// Lua: the local function `enter(set, score, member)`: adds (or moves) `member` in the index
/// sorted set `set` at `score` (the session's expiry, ms), keeps the set at least as long as
/// that session (`ARGV[1]` is now), and answers how many of its entries are at or past their
/// score: entries that a sweep should check (see the `index` module). It drops nothing itself:
/// an entry's score may lag its session's expiry, and only a check of the session can tell.
macro_rules! enter_function {
    () => {
        r"
local function enter(set, score, member)
  redis.call('ZADD', set, score, member)
  local wanted = math.max(tonumber(score) - tonumber(ARGV[1]), 1)
  if redis.call('PTTL', set) < wanted then
    redis.call('PEXPIRE', set, wanted)
  end
  return redis.call('ZCOUNT', set, '-inf', ARGV[1])
end
"
    };
}

/// Stores `KEYS[1]` unless a live record holds it, and enters it in the index set `KEYS[2]`
/// when one is given (a standalone server: one script, one atomic step).
/// ARGV: now, created, expires (all ms), the number of index sets (0 or 1), the session's
/// member in that set (its store key in hex) if any, then data field/value pairs.
/// Returns 1 created (`{1, false, 1, stale}` when entered in a set), 0 a live record exists,
/// -1 the key holds something else.
///
/// A new id's key is free: that path is `EXISTS`, one `HSET`, `PEXPIRE`.
const CREATE: &str = concat!(
    enter_function!(),
    r"
if redis.call('EXISTS', KEYS[1]) == 1 then
",
    read_expiry!("KEYS[1]", "expires"),
    r"
  if not expires then return -1 end
  if expires > tonumber(ARGV[1]) then return 0 end
  redis.call('DEL', KEYS[1])
end
local sets = tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'm:created', ARGV[2], 'm:expires', ARGV[3], unpack(ARGV, 5 + sets))
redis.call('PEXPIRE', KEYS[1], math.max(tonumber(ARGV[3]) - tonumber(ARGV[1]), 1))
if sets == 1 then
  return {1, false, 1, enter(KEYS[2], ARGV[3], ARGV[5])}
end
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

/// Lua: reads where the patch's arguments start (see [`PATCH`]): the index sets' digests, the
/// session's members in them before and after (`old`, `new`), and `r`, the position of the
/// number of removed fields.
macro_rules! read_index_args {
    () => {
        r"
local sets = tonumber(ARGV[3])
local r = 4 + sets
local old, new
if sets > 0 then
  old = ARGV[r]
  new = ARGV[r + 1]
  r = r + 2
end
"
    };
}

/// Lua: applies the patch in `ARGV` (see [`PATCH`]) to the hash named `target`: one `HDEL` for
/// the removed fields (if any), one `HSET` for the changed ones and the expiry, one `PEXPIRE`
/// for the remaining lifetime. Then brings the index sets given from `KEYS[first]` on up to
/// date in the same step: the one whose digest the session now holds gets its entry (moved
/// from `old` to `new`, scored by the expiry), the others lose it.
///
/// Returns from the script `{1, index, covered, stale}`: the session's index digest (the
/// `f:$index` field, a JSON string) or false, 1 if one of the sets given is that digest's
/// (else the store enters it in a second step), and that set's count of entries to check.
macro_rules! apply_patch_to_target {
    () => {
        r"
local removed = tonumber(ARGV[r])
if removed > 0 then
  redis.call('HDEL', target, unpack(ARGV, r + 1, r + removed))
end
redis.call('HSET', target, 'm:expires', ARGV[2], unpack(ARGV, r + 1 + removed))
redis.call('PEXPIRE', target, math.max(tonumber(ARGV[2]) - tonumber(ARGV[1]), 1))
local index = redis.call('HGET', target, 'f:$index')
local covered, stale = 0, 0
for i = 1, sets do
  local set = KEYS[first + i - 1]
  if index == ARGV[3 + i] then
    if old ~= new then redis.call('ZREM', set, old) end
    stale = enter(set, ARGV[2], new)
    covered = 1
  else
    redis.call('ZREM', set, old)
  end
end
return {1, index, covered, stale}
"
    };
}

/// Adds (or moves) the session `ARGV[3]` (a store key in hex) in the index sorted set
/// `KEYS[1]`, scored by its expiry `ARGV[2]` (ms; `ARGV[1]` is now). One key: on a Cluster,
/// the set's own slot. Returns the count of entries to check (see `enter`).
const REGISTER: &str = concat!(
    enter_function!(),
    "return enter(KEYS[1], ARGV[2], ARGV[3])\n"
);

/// Cleans the index sorted set `KEYS[1]` after the store checked its entries against their
/// sessions. ARGV: now (ms), the number n of entries to re-score, n member/score pairs (a live
/// session whose entry's score lags its expiry: raised, never lowered), then member/score
/// pairs of entries to drop, each only if its score is still the one the check saw (a
/// concurrent write that re-entered the session moved it). The set then lives as long as its
/// last entry's score.
const CLEAN: &str = r"
local n = tonumber(ARGV[2])
for i = 3, 2 + 2 * n, 2 do
  local current = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if current and tonumber(current) < tonumber(ARGV[i + 1]) then
    redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i])
  end
end
for i = 3 + 2 * n, #ARGV, 2 do
  local current = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if current and tonumber(current) == tonumber(ARGV[i + 1]) then
    redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then
  local wanted = math.max(tonumber(last[2]) - tonumber(ARGV[1]), 1)
  if redis.call('PTTL', KEYS[1]) < wanted then
    redis.call('PEXPIRE', KEYS[1], wanted)
  end
end
return 1
";

/// Patches the live record at `KEYS[1]`, or writes nothing; with no fields, a touch. The index
/// sets to bring up to date in the same step (standalone only) follow as `KEYS[2]`, ….
/// ARGV: now, expires (both ms), the number s of index sets, their s digests (as the session
/// field holds them: JSON strings), when s > 0 the session's member in them before and after
/// the write (its store key in hex, twice), the number n of removed fields, n removed fields,
/// then changed field/value pairs. Returns `{1, …}` applied (see `apply_patch_to_target`), 0
/// missing or expired, -1 not a session.
///
/// The time to live Redis keeps the key is `expires - now`, relative to the store's clock rather
/// than an absolute `PEXPIREAT`, so that Redis keeps the key exactly as long as the store
/// considers it live even when that clock is not Redis's (a manual clock in tests, or clock skew
/// between hosts).
const PATCH: &str = concat!(
    enter_function!(),
    return_unless_live!(),
    read_index_args!(),
    "local target, first = KEYS[1], 2\n",
    apply_patch_to_target!()
);

/// Moves the live record at `KEYS[1]` to `KEYS[2]` and patches it there, or writes nothing;
/// the index sets follow as `KEYS[3]`, …. ARGV as for [`PATCH`]. Returns `{1, …}` moved, 0 `KEYS[1]` missing or expired, 2 a live record at
/// `KEYS[2]`, -1 either key holds something else. On a Cluster both keys are in one slot (the
/// store draws them so: see `RedisStore::can_rekey`).
const REKEY: &str = concat!(
    enter_function!(),
    return_unless_live!(),
    read_index_args!(),
    r"
if redis.call('EXISTS', KEYS[2]) == 1 then
",
    read_expiry!("KEYS[2]", "deadline"),
    r"
  if not deadline then return -1 end
  if deadline > tonumber(ARGV[1]) then return 2 end
end
redis.call('RENAME', KEYS[1], KEYS[2])
local target, first = KEYS[2], 3
",
    apply_patch_to_target!()
);

pub(super) static CREATE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(CREATE));
pub(super) static PATCH_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(PATCH));
pub(super) static REKEY_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(REKEY));
pub(super) static REGISTER_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(REGISTER));
pub(super) static CLEAN_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(CLEAN));

/// What a write script answered: its status and, when it applied, the session's index digest,
/// whether the script entered the session in that digest's set, and how many of that set's
/// entries are due for a check.
pub(super) struct Answer {
    pub(super) status: i64,
    pub(super) index: Option<IndexDigest>,
    pub(super) covered: bool,
    pub(super) stale: i64,
}

impl redis::FromRedisValue for Answer {
    fn from_redis_value_ref(value: &redis::Value) -> Result<Self, redis::ParsingError> {
        let redis::Value::Array(items) = value else {
            return Ok(Self {
                status: i64::from_redis_value_ref(value)?,
                index: None,
                covered: false,
                stale: 0,
            });
        };
        let [status, index, covered, stale] = items.as_slice() else {
            return Err("a session script answered an array of another length".into());
        };
        let index = match index {
            // A digest that does not read back is no index: listing would never find it.
            redis::Value::BulkString(bytes) => serde_json::from_slice::<String>(bytes)
                .ok()
                .and_then(IndexDigest::from_digest_hex),
            _ => None,
        };
        Ok(Self {
            status: i64::from_redis_value_ref(status)?,
            index,
            covered: i64::from_redis_value_ref(covered)? == 1,
            stale: i64::from_redis_value_ref(stale)?,
        })
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

/// The arguments of [`PATCH`] and [`REKEY`]: now and the expiry (ms), the index sets' digests
/// and the session's members in them (`members`: its store key before and after), the removed
/// fields and the changed ones.
pub(super) fn patch_args(
    now: OffsetDateTime,
    patch: &Patch,
    sets: &[IndexDigest],
    members: [&StoreKey; 2],
) -> Vec<Vec<u8>> {
    let mut args = vec![
        millis(now).to_string().into_bytes(),
        millis(patch.expires()).to_string().into_bytes(),
        sets.len().to_string().into_bytes(),
    ];
    args.extend(
        sets.iter()
            .map(|digest| digest.to_value().to_string().into_bytes()),
    );
    if !sets.is_empty() {
        args.extend(members.map(|key| key.as_str().as_bytes().to_vec()));
    }
    args.push(patch.removed().len().to_string().into_bytes());
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
