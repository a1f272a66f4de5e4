//! How the memory store keeps one record: compact, with field names shared between records.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value;
use time::OffsetDateTime;

use crate::store::Fields;
use crate::store::{Patch, Record};

/// How many distinct field names [`Names`] shares at most. A session type has a handful; a
/// store fed names without end (it never is by the layer) keeps working, unshared.
const MAX_SHARED_NAMES: usize = 1024;
/// How many names [`Names`] finds by comparison before it hashes.
const FEW_NAMES: usize = 8;

/// A [`Record`] as the memory store keeps it.
///
/// A [`Fields`] map puts even one field in a B-tree node of about 640 bytes plus the name's own
/// allocation; here the fields are one small vector, sorted by name, and the names are shared.
/// A one-field session's fields take 48 bytes instead of about 670 (the whole stored session,
/// tables included, 560 bytes instead of 954), and evicting it frees one allocation instead of
/// two or more.
pub(super) struct Stored {
    /// In name order, each name at most once.
    fields: Vec<(Arc<str>, Value)>,
    created: OffsetDateTime,
    pub(super) expires: OffsetDateTime,
}

impl Stored {
    pub(super) fn new(record: &Record, names: &mut Names) -> Self {
        // A map iterates in name order already.
        let fields = record
            .fields()
            .iter()
            .map(|(name, value)| (names.share(name), value.clone()))
            .collect();
        Self {
            fields,
            created: record.created(),
            expires: record.expires(),
        }
    }

    /// The record the store contract returns.
    pub(super) fn to_record(&self) -> Record {
        let mut fields = Fields::new();
        for (name, value) in &self.fields {
            fields.insert(name.as_ref().to_owned(), value.clone());
        }
        Record::new(fields, self.created, self.expires)
    }

    /// The value of the field `name`, if the record has it.
    pub(super) fn field(&self, name: &str) -> Option<&Value> {
        self.fields
            .binary_search_by(|(have, _)| have.as_ref().cmp(name))
            .ok()
            .map(|at| &self.fields[at].1)
    }

    pub(super) fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires <= now
    }

    /// Does what [`Patch::apply_to`] does to a [`Record`].
    pub(super) fn apply(&mut self, patch: &Patch, names: &mut Names) {
        for name in patch.removed() {
            if let Ok(at) = self.find(name) {
                self.fields.remove(at);
            }
        }
        for (name, value) in patch.changed() {
            match self.find(name) {
                Ok(at) => self.fields[at].1.clone_from(value),
                Err(at) => self.fields.insert(at, (names.share(name), value.clone())),
            }
        }
        self.expires = patch.expires();
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.fields
            .binary_search_by(|(stored, _)| stored.as_ref().cmp(name))
    }
}

/// The field names the store has seen, each allocated once and shared by every record.
///
/// The first few are found by comparing (a session type has a handful of fields, and hashing a
/// name costs more than comparing it with each of them); the rest by hashing.
#[derive(Default)]
pub(super) struct Names {
    few: Vec<Arc<str>>,
    many: HashSet<Arc<str>>,
}

impl Names {
    fn share(&mut self, name: &str) -> Arc<str> {
        let known = self.few.iter().find(|few| ***few == *name);
        if let Some(shared) = known.or_else(|| self.many.get(name)) {
            return Arc::clone(shared);
        }
        let name: Arc<str> = Arc::from(name);
        if self.few.len() < FEW_NAMES {
            self.few.push(Arc::clone(&name));
        } else if self.few.len() + self.many.len() < MAX_SHARED_NAMES {
            self.many.insert(Arc::clone(&name));
        }
        name
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.few.len() + self.many.len()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + secs).unwrap()
    }

    fn fields(pairs: &[(&str, i64)]) -> Fields {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), Value::from(*value)))
            .collect()
    }

    #[test]
    fn names_are_allocated_once_and_shared() {
        let mut names = Names::default();
        let record = Record::new(fields(&[("views", 1), ("u", 2)]), at(0), at(60));
        let first = Stored::new(&record, &mut names);
        let second = Stored::new(&record, &mut names);
        for ((a, _), (b, _)) in first.fields.iter().zip(&second.fields) {
            assert!(Arc::ptr_eq(a, b), "{a} is shared");
        }
        assert_eq!(first.to_record(), record);
    }

    #[test]
    fn names_past_the_few_compared_ones_are_shared_by_hashing() {
        let mut names = Names::default();
        let all: Vec<String> = (0..3 * FEW_NAMES).map(|n| format!("f{n}")).collect();
        let first: Vec<Arc<str>> = all.iter().map(|name| names.share(name)).collect();
        assert_eq!(
            (names.few.len(), names.many.len()),
            (FEW_NAMES, 2 * FEW_NAMES)
        );
        for (name, shared) in all.iter().zip(&first) {
            let again = names.share(name);
            assert_eq!(again.as_ref(), name.as_str());
            assert!(Arc::ptr_eq(&again, shared), "{name} is shared");
        }
    }

    #[test]
    fn names_past_the_limit_still_work_unshared() {
        let mut names = Names::default();
        for n in 0..MAX_SHARED_NAMES {
            names.share(&format!("f{n}"));
        }
        let a = names.share("late");
        let b = names.share("late");
        assert_eq!(names.len(), MAX_SHARED_NAMES);
        assert_eq!((a.as_ref(), b.as_ref()), ("late", "late"));
        assert!(!Arc::ptr_eq(&a, &b));
    }

    fn pairs() -> impl Strategy<Value = Vec<(String, i64)>> {
        prop::collection::vec(("[a-e]{1,2}", any::<i64>()), 0..6)
    }

    proptest! {
        /// Whatever the patches, the stored form reads back as the map the contract's
        /// `Patch::apply_to` gives.
        #[test]
        fn patches_match_the_contract(
            start in pairs(),
            patches in prop::collection::vec((pairs(), prop::collection::vec("[a-e]{1,2}", 0..3)), 0..4),
        ) {
            let mut names = Names::default();
            let mut record = Record::new(start.into_iter().map(|(n, v)| (n, Value::from(v))).collect(), at(0), at(60));
            let mut stored = Stored::new(&record, &mut names);
            for (round, (changed, removed)) in patches.into_iter().enumerate() {
                let patch = Patch::new(changed.into_iter().map(|(n, v)| (n, Value::from(v))).collect(), removed, at(120 + i64::try_from(round).unwrap()));
                patch.apply_to(&mut record);
                stored.apply(&patch, &mut names);
                prop_assert_eq!(stored.to_record(), record.clone());
            }
        }
    }
}
