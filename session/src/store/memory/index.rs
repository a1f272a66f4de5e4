//! The memory store's expiry index: its records' keys in expiry order, for the sweep and for
//! eviction.

use std::collections::{BTreeMap, VecDeque};

use crate::id::StoreKey;

/// Stale entries are dropped once they outnumber the records and this many (fewer in unit
/// tests, so that the model test gets there).
const RETAIN_FLOOR: usize = if cfg!(test) { 4 } else { 1024 };

/// A place in expiry order: Unix milliseconds, then the order in which entries were added, so
/// that places are unique and compare as two integers (never as 64-byte keys).
pub(super) type Place = (i64, u64);

/// Index entries in expiry order, cheap to add at the end and to take from the front.
///
/// Sessions of one layer all get the same timeouts, so new sessions arrive in expiry order:
/// their entries go to the back of a queue, which costs a store at capacity (where every new
/// session evicts the earliest) one cache line at each end instead of a walk down a B-tree on
/// each side. Entries that arrive out of order (an entry moved to its record's later expiry,
/// timeouts that differ between sessions, a clock set back) go to a B-tree; the earliest entry
/// is the earlier of the two fronts.
///
/// Removing an entry from the middle is lazy: the store forgets the record and calls
/// [`ExpiryIndex::forget`]; the entry stays until it reaches the front, where the store sees
/// that no record is indexed at its place and skips it. [`ExpiryIndex::retain`] drops such
/// stale entries when they outnumber the live ones, so the index never holds more than about
/// twice the records.
pub(super) struct ExpiryIndex {
    /// Entries added in order, earliest first.
    in_order: VecDeque<(Place, StoreKey)>,
    /// Entries added out of order.
    out_of_order: BTreeMap<Place, StoreKey>,
    /// How many entries were ever added.
    added: u64,
    /// How many entries belong to no record (any more).
    stale: usize,
    /// No entry is earlier than this many Unix milliseconds. While it is still to come, a write
    /// knows that nothing is due without looking at the fronts.
    due_from: i64,
}

impl Default for ExpiryIndex {
    fn default() -> Self {
        Self {
            in_order: VecDeque::new(),
            out_of_order: BTreeMap::new(),
            added: 0,
            stale: 0,
            due_from: i64::MAX,
        }
    }
}

impl ExpiryIndex {
    /// Adds an entry for `key` at `ms` and returns its place.
    pub(super) fn add(&mut self, ms: i64, key: StoreKey) -> Place {
        self.due_from = self.due_from.min(ms);
        self.added += 1;
        let place = (ms, self.added);
        match self.in_order.back() {
            Some(((last, _), _)) if *last > ms => {
                self.out_of_order.insert(place, key);
            }
            _ => self.in_order.push_back((place, key)),
        }
        place
    }

    /// Whether an entry may be due at `now_ms`.
    pub(super) fn may_be_due(&self, now_ms: i64) -> bool {
        self.due_from <= now_ms
    }

    /// The earliest entry's place.
    pub(super) fn first(&self) -> Option<Place> {
        match (self.in_order.front(), self.out_of_order.first_key_value()) {
            (Some((queued, _)), Some((sorted, _))) => Some(*queued.min(sorted)),
            (Some((queued, _)), None) => Some(*queued),
            (None, Some((sorted, _))) => Some(*sorted),
            (None, None) => None,
        }
    }

    /// Takes the earliest entry out.
    pub(super) fn pop_first(&mut self) -> Option<(Place, StoreKey)> {
        let from_queue = match (self.in_order.front(), self.out_of_order.first_key_value()) {
            (Some((queued, _)), Some((sorted, _))) => queued < sorted,
            (queued, _) => queued.is_some(),
        };
        if from_queue {
            self.in_order.pop_front()
        } else {
            self.out_of_order.pop_first()
        }
    }

    /// Makes `due_from` exact again (after taking due entries out).
    pub(super) fn settle(&mut self) {
        self.due_from = self.first().map_or(i64::MAX, |(ms, _)| ms);
    }

    /// One entry in the index no longer belongs to a record.
    pub(super) fn forget(&mut self) {
        self.stale += 1;
    }

    /// An entry taken out turned out stale.
    pub(super) fn skipped(&mut self) {
        self.stale = self.stale.saturating_sub(1);
    }

    /// Whether stale entries outnumber the `live` ones enough to be worth dropping.
    pub(super) fn wants_retain(&self, live: usize) -> bool {
        self.stale > live.max(RETAIN_FLOOR)
    }

    /// Keeps only the entries for which `indexed` is true: those that still belong to a record.
    pub(super) fn retain(&mut self, mut indexed: impl FnMut(Place, &StoreKey) -> bool) {
        self.in_order.retain(|(place, key)| indexed(*place, key));
        self.out_of_order.retain(|place, key| indexed(*place, key));
        self.stale = 0;
    }

    /// Every entry, stale ones included, in no particular order.
    #[cfg(test)]
    pub(super) fn entries(&self) -> impl Iterator<Item = (Place, &StoreKey)> {
        self.in_order
            .iter()
            .map(|(place, key)| (*place, key))
            .chain(self.out_of_order.iter().map(|(place, key)| (*place, key)))
    }

    #[cfg(test)]
    pub(super) fn stale(&self) -> usize {
        self.stale
    }

    #[cfg(test)]
    pub(super) fn due_from(&self) -> i64 {
        self.due_from
    }

    #[cfg(test)]
    pub(super) fn queued_in_order(&self) -> bool {
        self.in_order
            .iter()
            .zip(self.in_order.iter().skip(1))
            .all(|((a, _), (b, _))| a < b)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::id::SessionId;

    fn key() -> StoreKey {
        SessionId::generate().store_key()
    }

    #[test]
    fn in_order_entries_queue_and_the_rest_are_sorted() {
        let mut index = ExpiryIndex::default();
        let a = index.add(10, key());
        let b = index.add(10, key());
        let c = index.add(5, key());
        let d = index.add(20, key());
        assert_eq!(index.in_order.len(), 3);
        assert_eq!(index.out_of_order.len(), 1);
        assert_eq!(index.first(), Some(c));
        let order: Vec<Place> = std::iter::from_fn(|| index.pop_first().map(|(p, _)| p)).collect();
        assert_eq!(order, [c, a, b, d]);
    }

    #[test]
    fn stale_entries_are_counted_and_retained_away() {
        let mut index = ExpiryIndex::default();
        let places: Vec<Place> = (0..2000).map(|ms| index.add(ms, key())).collect();
        for _ in 0..1500 {
            index.forget();
        }
        assert!(index.wants_retain(500));
        index.retain(|place, _| place.0 >= 1500);
        assert_eq!(index.stale(), 0);
        assert_eq!(index.entries().count(), 500);
        assert_eq!(index.first(), Some(places[1500]));
    }

    proptest! {
        /// Entries come out in place order, whatever order their expiries arrive in.
        #[test]
        fn entries_come_out_earliest_first(times in prop::collection::vec(0i64..50, 0..60)) {
            let mut index = ExpiryIndex::default();
            let mut places: Vec<Place> = times.iter().map(|ms| index.add(*ms, key())).collect();
            places.sort_unstable();
            prop_assert!(index.queued_in_order());
            prop_assert_eq!(index.due_from(), places.first().map_or(i64::MAX, |p| p.0));
            let mut out = Vec::new();
            while let Some((place, _)) = index.pop_first() {
                out.push(place);
            }
            prop_assert_eq!(out, places);
        }
    }
}
