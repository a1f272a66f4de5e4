//! The memory store's tables against a model of the store contract: a map of expiries, where a
//! new session at capacity makes room by evicting one with the earliest expiry among those never
//! presented back (loaded, patched or touched) since their creation while they make up a quarter
//! of the capacity, and among those presented back otherwise.

use std::collections::HashMap;

use proptest::prelude::*;
use time::OffsetDateTime;

use super::entries::Entries;
use super::index::{COMPACT_FLOOR, ExpiryIndex, Segment};
use crate::clock::unix_ms;
use crate::store::Fields;
use crate::store::StoreKey;
use crate::store::{Created, Patch, Record, Updated};

const KEYS: usize = 10;
/// Microseconds: expiries and the clock move by less than a millisecond too.
const START_US: i64 = 1_800_000_000_000_000;

#[derive(Debug, Clone)]
enum Op {
    Create(usize, i64),
    Patch(usize, i64),
    Touch(usize, i64),
    Delete(usize),
    Load(usize),
    Clear,
    /// Moves the clock, backwards too.
    Advance(i64),
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0..KEYS;
    // Microseconds in quarters of a millisecond, so that expiries often share a millisecond
    // with each other and with the clock: in the past, now, within the millisecond, or later.
    let quarters = |range: std::ops::Range<i64>| range.prop_map(|q| q * 250);
    let ttl = quarters(-8..48);
    prop_oneof![
        4 => (key.clone(), ttl.clone()).prop_map(|(k, t)| Op::Create(k, t)),
        2 => (key.clone(), ttl.clone()).prop_map(|(k, t)| Op::Patch(k, t)),
        2 => (key.clone(), ttl).prop_map(|(k, t)| Op::Touch(k, t)),
        1 => key.clone().prop_map(Op::Delete),
        2 => key.prop_map(Op::Load),
        1 => Just(Op::Clear),
        3 => quarters(-8..24).prop_map(Op::Advance),
    ]
}

/// Sessions that outlive many moves of the clock, which only goes forward: the store is full
/// most of the time, with sessions of both segments, and a new one evicts.
fn filling_op() -> impl Strategy<Value = Op> {
    let key = 0..KEYS;
    let ttl = (100i64..400).prop_map(|q| q * 250);
    prop_oneof![
        4 => (key.clone(), ttl.clone()).prop_map(|(k, t)| Op::Create(k, t)),
        1 => (key.clone(), ttl.clone()).prop_map(|(k, t)| Op::Patch(k, t)),
        1 => (key.clone(), ttl).prop_map(|(k, t)| Op::Touch(k, t)),
        1 => key.clone().prop_map(Op::Delete),
        3 => key.prop_map(Op::Load),
        2 => (0i64..8).prop_map(|q| Op::Advance(q * 250)),
    ]
}

fn at(us: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000).unwrap()
}

fn ms(us: i64) -> i64 {
    us.div_euclid(1000)
}

/// What the model knows of one session.
struct Session {
    expires_us: i64,
    /// Whether it was ever expired at an operation's clock: the store may have dropped it
    /// since, even if a clock set back makes it live again.
    was_expired: bool,
    /// Whether it was presented back (loaded, patched or touched) since it was created.
    presented: bool,
}

/// The sessions a new one at a full store may evict: those of the segment evicted from (never
/// presented back, while they are at least a quarter of the capacity, or while none was), the
/// earliest to expire of them (by the millisecond: the index's resolution).
fn victims(model: &HashMap<usize, Session>, live: &[usize], capacity: usize) -> Vec<usize> {
    let of = |presented: bool| -> Vec<usize> {
        live.iter()
            .copied()
            .filter(|i| model[i].presented == presented)
            .collect()
    };
    let (new, presented) = (of(false), of(true));
    let segment = if new.len() >= capacity.div_ceil(4) || presented.is_empty() {
        new
    } else {
        presented
    };
    let earliest = segment.iter().map(|i| ms(model[i].expires_us)).min();
    segment
        .into_iter()
        .filter(|i| Some(ms(model[i].expires_us)) == earliest)
        .collect()
}

/// Every record has exactly one index entry, where the record says, at or before its expiry,
/// and the indexes have no other; each index holds its segment's places only; removed entries
/// are few; `due_from` is a lower bound; the queues are in order.
fn check_index(entries: &Entries) -> Result<(), TestCaseError> {
    let both = &entries.by_expiry;
    let segments: [(&ExpiryIndex, Segment); 2] = [
        (&both.probation, Segment::Probation),
        (&both.protected, Segment::Protected),
    ];
    for (index, segment) in segments {
        let live = index.entries().count();
        prop_assert_eq!(live, index.len());
        prop_assert!(
            index
                .entries()
                .all(|(place, _)| Segment::of(place) == segment)
        );
        prop_assert!(index.removed() <= (live / 2).max(COMPACT_FLOOR));
        prop_assert!(index.queued_in_order());
        if let Some((first, _)) = index.first() {
            prop_assert!(index.due_from() <= first);
        }
    }
    prop_assert_eq!(both.entries().count(), entries.records.len());
    for (key, entry) in &entries.records {
        let here = both
            .entries()
            .filter(|(place, indexed)| *place == entry.indexed && *indexed == key)
            .count();
        prop_assert_eq!(here, 1);
        prop_assert!(entry.indexed.0 <= unix_ms(entry.stored.expires));
    }
    Ok(())
}

/// Runs `ops` on a store of `capacity` and on the model, checking the store after each.
fn run(capacity: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let keys: Vec<StoreKey> = (0..KEYS).map(|_| StoreKey::random()).collect();
    let mut entries = Entries::new(capacity);
    let mut model: HashMap<usize, Session> = HashMap::new();
    let mut now_us = START_US;
    for op in ops {
        let now = at(now_us);
        let live_now = |model: &HashMap<usize, Session>, k: &usize| {
            model.get(k).is_some_and(|s| s.expires_us > now_us)
        };
        match op {
            Op::Create(k, ttl) => {
                let record = Record::new(Fields::new(), now, at(now_us + ttl));
                let live: Vec<usize> = (0..KEYS).filter(|i| live_now(&model, i)).collect();
                let created = entries.create(&keys[k], &record, now);
                if live.contains(&k) {
                    prop_assert_eq!(created, Created::AlreadyExists);
                } else {
                    prop_assert_eq!(created, Created::Stored);
                    let gone: Vec<usize> = live
                        .iter()
                        .copied()
                        .filter(|i| entries.live(&keys[*i], now).is_none())
                        .collect();
                    if live.len() == capacity {
                        // One of the segment's earliest to expire made room.
                        prop_assert_eq!(gone.len(), 1);
                        let victims = victims(&model, &live, capacity);
                        prop_assert!(
                            victims.contains(&gone[0]),
                            "{:?} not in {:?}",
                            gone,
                            victims
                        );
                        model.remove(&gone[0]);
                    } else {
                        prop_assert!(gone.is_empty(), "{:?} evicted below capacity", gone);
                    }
                    model.insert(
                        k,
                        Session {
                            expires_us: now_us + ttl,
                            was_expired: false,
                            presented: false,
                        },
                    );
                }
            }
            Op::Patch(k, ttl) | Op::Touch(k, ttl) => {
                let expires = at(now_us + ttl);
                let applied = if matches!(op, Op::Patch(..)) {
                    let patch = Patch::new(Fields::new(), Vec::new(), expires);
                    entries.patch(&keys[k], &patch, now)
                } else {
                    entries.touch(&keys[k], expires, now)
                };
                if live_now(&model, &k) {
                    prop_assert_eq!(applied, Updated::Applied);
                    model.insert(
                        k,
                        Session {
                            expires_us: now_us + ttl,
                            was_expired: false,
                            presented: true,
                        },
                    );
                } else {
                    prop_assert_eq!(applied, Updated::Missing);
                    model.remove(&k);
                }
            }
            Op::Delete(k) => {
                entries.delete(&keys[k]);
                model.remove(&k);
            }
            Op::Load(k) => {
                let loaded = entries.load(&keys[k], now);
                prop_assert_eq!(loaded.is_some(), live_now(&model, &k));
                match model.get_mut(&k) {
                    Some(session) if loaded.is_some() => session.presented = true,
                    _ => {
                        model.remove(&k);
                    }
                }
            }
            Op::Clear => {
                entries.clear();
                model.clear();
            }
            Op::Advance(us) => now_us += us,
        }
        check_index(&entries)?;
        prop_assert!(entries.records.len() <= capacity);
        // Sessions expired at some clock may be gone from the store; the others must be
        // exactly where the model says, judged without deleting anything.
        for session in model.values_mut() {
            session.was_expired |= session.expires_us <= now_us;
        }
        model.retain(|i, s| !s.was_expired || entries.records.contains_key(&keys[*i]));
        let now = at(now_us);
        for (i, key) in keys.iter().enumerate() {
            let live = model.get(&i).is_some_and(|s| s.expires_us > now_us);
            prop_assert_eq!(entries.live(key, now).is_some(), live, "key {}", i);
        }
        // The store holds what the model does, each record in its segment.
        prop_assert_eq!(entries.records.len(), model.len());
        for (i, session) in &model {
            let entry = &entries.records[&keys[*i]];
            let protected = Segment::of(entry.indexed) == Segment::Protected;
            prop_assert_eq!(protected, session.presented, "key {}", i);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the order of creates, extensions, shortenings, removals, reads, and the clock
    /// moving either way by more or less than a millisecond.
    #[test]
    fn entries_behave_like_the_model(
        capacity in 1..=8usize,
        ops in prop::collection::vec(op(), 1..160),
    ) {
        run(capacity, ops)?;
    }

    /// A full store, new sessions arriving and others presented back: which one each new
    /// session evicts.
    #[test]
    fn a_full_store_evicts_like_the_model(
        capacity in 1..=8usize,
        ops in prop::collection::vec(filling_op(), 1..160),
    ) {
        run(capacity, ops)?;
    }
}
