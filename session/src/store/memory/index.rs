//! The memory store's expiry index: its records' keys in expiry order, for the sweep and for
//! eviction.

use std::collections::{BTreeMap, VecDeque};

use crate::store::StoreKey;

/// Removed entries are dropped from the queue in one pass once they outnumber half the live
/// ones and this many (fewer in unit tests, so that the tests get there).
pub(super) const COMPACT_FLOOR: usize = if cfg!(test) { 4 } else { 1024 };

/// A place in expiry order: Unix milliseconds, then the order in which entries were added, so
/// that places are unique and compare as two integers (never as 64-byte keys). The order's top
/// bit names the segment whose index holds the entry: a record knows its segment from its place,
/// without a byte more per session (a record has no spare bits elsewhere).
pub(super) type Place = (i64, u64);

/// The top bit of a place's order: set in the protected segment's places.
const PROTECTED: u64 = 1 << 63;

/// The memory store's two segments, each with an index of its own (as in 2Q and SLRU caches),
/// so that a flood of new sessions evicts its own kind before any session a client came back
/// with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Segment {
    /// Sessions created and never presented back since: evicted first.
    Probation,
    /// Sessions presented back at least once.
    Protected,
}

impl Segment {
    /// The segment whose index holds the entry at `place`.
    pub(super) fn of(place: Place) -> Self {
        if place.1 & PROTECTED == 0 {
            Self::Probation
        } else {
            Self::Protected
        }
    }
}

/// Both segments' indexes: every record has one entry, in the index of its segment.
pub(super) struct Indexes {
    pub(super) probation: ExpiryIndex,
    pub(super) protected: ExpiryIndex,
}

impl Default for Indexes {
    fn default() -> Self {
        Self {
            probation: ExpiryIndex::new(Segment::Probation),
            protected: ExpiryIndex::new(Segment::Protected),
        }
    }
}

impl Indexes {
    /// The index of `segment`.
    pub(super) fn of(&mut self, segment: Segment) -> &mut ExpiryIndex {
        match segment {
            Segment::Probation => &mut self.probation,
            Segment::Protected => &mut self.protected,
        }
    }

    /// Removes the entry at `place`, which is in the index its place names.
    pub(super) fn remove(&mut self, place: Place) {
        self.of(Segment::of(place)).remove(place);
    }

    /// Every entry of both segments, in no particular order.
    #[cfg(test)]
    pub(super) fn entries(&self) -> impl Iterator<Item = (Place, &StoreKey)> {
        self.probation.entries().chain(self.protected.entries())
    }
}

/// Index entries in expiry order, cheap to add at the end and to take from the front.
///
/// Sessions of one layer all get the same timeouts, so new sessions arrive in expiry order:
/// their entries go to the back of a queue, which costs a store at capacity (where every new
/// session evicts the earliest) one cache line at each end instead of a walk down a B-tree on
/// each side. Entries that arrive out of order (an entry moved to its record's later expiry,
/// timeouts that differ between sessions, a clock set back) go to a B-tree; the earliest entry
/// is the earlier of the two fronts. (One entry far behind the rest, such as a session with a
/// longer timeout than the others, sends the others to the B-tree until it leaves the queue:
/// they then cost what every entry did before the queue.)
///
/// Removing an entry from the B-tree takes it out; removing one from the middle of the queue
/// (found by binary search, the queue being in order) marks it removed, and it leaves when it
/// reaches the front, or in one pass over the queue once removed entries outnumber half the
/// live ones (and 1,024). The front of the queue is never a removed entry.
pub(super) struct ExpiryIndex {
    /// Entries added in order, earliest first; `false` marks a removed one.
    in_order: VecDeque<(Place, StoreKey, bool)>,
    /// Entries added out of order.
    out_of_order: BTreeMap<Place, StoreKey>,
    /// How many entries were ever added, with the segment's bit (the top one, which the count
    /// never reaches).
    added: u64,
    /// How many entries of the queue are marked removed.
    removed: usize,
    /// No entry is earlier than this many Unix milliseconds. While it is still to come, a write
    /// knows that nothing is due without looking at the fronts.
    due_from: i64,
}

impl ExpiryIndex {
    /// An empty index of `segment`'s entries.
    pub(super) fn new(segment: Segment) -> Self {
        Self {
            in_order: VecDeque::new(),
            out_of_order: BTreeMap::new(),
            added: match segment {
                Segment::Probation => 0,
                Segment::Protected => PROTECTED,
            },
            removed: 0,
            due_from: i64::MAX,
        }
    }

    /// How many entries the index holds.
    pub(super) fn len(&self) -> usize {
        self.in_order.len() - self.removed + self.out_of_order.len()
    }

    /// Adds an entry for `key` at `ms` and returns its place.
    pub(super) fn add(&mut self, ms: i64, key: StoreKey) -> Place {
        self.due_from = self.due_from.min(ms);
        self.added += 1;
        let place = (ms, self.added);
        match self.in_order.back() {
            Some(((last, _), _, _)) if *last > ms => {
                self.out_of_order.insert(place, key);
            }
            _ => self.in_order.push_back((place, key, true)),
        }
        place
    }

    /// Removes the entry at `place`, which is in the index.
    pub(super) fn remove(&mut self, place: Place) {
        if let Ok(at) = self
            .in_order
            .binary_search_by(|(queued, _, _)| queued.cmp(&place))
        {
            let live = &mut self.in_order[at].2;
            debug_assert!(*live, "an entry is removed once");
            if *live {
                *live = false;
                self.removed += 1;
            }
            self.drop_removed_front();
            if self.removed > ((self.in_order.len() - self.removed) / 2).max(COMPACT_FLOOR) {
                self.compact();
            }
        } else {
            let found = self.out_of_order.remove(&place);
            debug_assert!(found.is_some(), "the entry is in the index");
        }
    }

    /// Whether an entry may be due at `now_ms`.
    pub(super) fn may_be_due(&self, now_ms: i64) -> bool {
        self.due_from <= now_ms
    }

    /// The earliest entry's place.
    pub(super) fn first(&self) -> Option<Place> {
        match (self.in_order.front(), self.out_of_order.first_key_value()) {
            (Some((queued, _, _)), Some((sorted, _))) => Some(*queued.min(sorted)),
            (Some((queued, _, _)), None) => Some(*queued),
            (None, Some((sorted, _))) => Some(*sorted),
            (None, None) => None,
        }
    }

    /// Takes the earliest entry out.
    pub(super) fn pop_first(&mut self) -> Option<(Place, StoreKey)> {
        let from_queue = match (self.in_order.front(), self.out_of_order.first_key_value()) {
            (Some((queued, _, _)), Some((sorted, _))) => queued < sorted,
            (queued, _) => queued.is_some(),
        };
        if from_queue {
            let (place, key, _) = self.in_order.pop_front()?;
            self.drop_removed_front();
            Some((place, key))
        } else {
            self.out_of_order.pop_first()
        }
    }

    /// Makes `due_from` exact again (after taking due entries out).
    pub(super) fn settle(&mut self) {
        self.due_from = self.first().map_or(i64::MAX, |(ms, _)| ms);
    }

    /// Drops the removed entries from the queue, in one pass.
    fn compact(&mut self) {
        self.in_order.retain(|(_, _, live)| *live);
        self.removed = 0;
        self.give_back_room();
    }

    /// Keeps the front of the queue a live entry.
    fn drop_removed_front(&mut self) {
        while self.in_order.front().is_some_and(|(_, _, live)| !live) {
            self.in_order.pop_front();
            self.removed -= 1;
        }
        self.give_back_room();
    }

    /// Halves the queue's room once it is down to a quarter used (and is not small). Most of a
    /// probation queue's entries may leave (every session its client presents back moves to the
    /// protected segment): without this, both segments' queues would each keep the room of the
    /// most sessions they ever held. A shrink copies fewer entries than have left since the
    /// queue last grew or shrank: one move per removal, at most.
    fn give_back_room(&mut self) {
        /// Below this many places, the room is not worth a reallocation (about 5 KiB).
        const SMALL: usize = 64;
        let len = self.in_order.len();
        if self.in_order.capacity() > 4 * len.max(SMALL) {
            self.in_order.shrink_to(2 * len);
        }
    }

    /// Every live entry, in no particular order.
    #[cfg(test)]
    pub(super) fn entries(&self) -> impl Iterator<Item = (Place, &StoreKey)> {
        self.in_order
            .iter()
            .filter(|(_, _, live)| *live)
            .map(|(place, key, _)| (*place, key))
            .chain(self.out_of_order.iter().map(|(place, key)| (*place, key)))
    }

    /// How many removed entries the queue still holds.
    #[cfg(test)]
    pub(super) fn removed(&self) -> usize {
        debug_assert_eq!(
            self.removed,
            self.in_order.iter().filter(|(_, _, live)| !live).count()
        );
        self.removed
    }

    /// How many entries the queue has room for.
    #[cfg(test)]
    pub(super) fn queue_capacity(&self) -> usize {
        self.in_order.capacity()
    }

    #[cfg(test)]
    pub(super) fn due_from(&self) -> i64 {
        self.due_from
    }

    /// Whether the queue is in order and its front is live.
    #[cfg(test)]
    pub(super) fn queued_in_order(&self) -> bool {
        self.in_order.front().is_none_or(|(_, _, live)| *live)
            && self
                .in_order
                .iter()
                .zip(self.in_order.iter().skip(1))
                .all(|((a, _, _), (b, _, _))| a < b)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn key() -> StoreKey {
        StoreKey::random()
    }

    #[test]
    fn in_order_entries_queue_and_the_rest_are_sorted() {
        let mut index = ExpiryIndex::new(Segment::Probation);
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
    fn removed_entries_leave_at_the_front_or_in_one_pass() {
        let mut index = ExpiryIndex::new(Segment::Probation);
        let places: Vec<Place> = (0..100).map(|ms| index.add(ms, key())).collect();
        index.remove(places[0]);
        assert_eq!((index.removed(), index.first()), (0, Some(places[1])));
        // Marked in the middle: 1 removed for 98 live, then, past half of the live ones, none.
        index.remove(places[50]);
        assert_eq!(index.removed(), 1);
        for place in &places[51..84] {
            index.remove(*place);
        }
        assert_eq!(index.removed(), 0, "compacted");
        assert_eq!(index.entries().count(), 65);
        assert!(index.queued_in_order());
        // An entry out of order leaves the B-tree at once.
        let late = index.add(7, key());
        index.remove(late);
        assert_eq!(index.out_of_order.len(), 0);
    }

    proptest! {
        /// Adds, pops and removals interleaved: the fronts always give the earliest place.
        #[test]
        fn the_earliest_entry_comes_out_first_between_adds_and_removals(
            protected in any::<bool>(),
            ops in prop::collection::vec((0u8..3, 0i64..30, any::<prop::sample::Index>()), 0..160),
        ) {
            let segment = if protected { Segment::Protected } else { Segment::Probation };
            let mut index = ExpiryIndex::new(segment);
            let mut model = std::collections::BTreeSet::new();
            for (kind, ms, which) in ops {
                match kind {
                    0 => {
                        model.insert(index.add(ms, key()));
                    }
                    1 => {
                        prop_assert_eq!(index.pop_first().map(|(p, _)| p), model.pop_first());
                        index.settle();
                    }
                    _ if !model.is_empty() => {
                        let place = *model.iter().nth(which.index(model.len())).unwrap();
                        model.remove(&place);
                        index.remove(place);
                    }
                    _ => {}
                }
                prop_assert_eq!(index.first(), model.first().copied());
                prop_assert!(model.iter().all(|place| Segment::of(*place) == segment));
                prop_assert_eq!(index.len(), model.len());
                prop_assert!(index.due_from() <= model.first().map_or(i64::MAX, |p| p.0));
                prop_assert!(index.queued_in_order());
                let live = index.entries().count();
                prop_assert_eq!(live, model.len());
                prop_assert!(index.removed() <= (live / 2).max(COMPACT_FLOOR));
            }
        }

        /// Entries come out in place order, whatever order their expiries arrive in.
        #[test]
        fn entries_come_out_earliest_first(times in prop::collection::vec(0i64..50, 0..60)) {
            let mut index = ExpiryIndex::new(Segment::Probation);
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
