//! Series lookup: label values -> cached exporter handle, without allocating.
//!
//! A table maps the label values of one metric (in catalog label order) to the handle
//! registered with the exporter. Lookups hash the caller's borrowed `&str`s and compare
//! them in full (no hash-only identity, so `["ab", "c"]` and `["a", "bc"]` differ); only
//! inserting a new series allocates.

use std::hash::{Hash, Hasher};
use std::sync::RwLock;

use hashbrown::{Equivalent, HashMap};

/// Most labels a metric may have; label values are gathered in a stack array this long.
pub(crate) const MAX_LABELS: usize = 8;

/// Owned label values of one series, in catalog label order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SeriesKey(Box<[Box<str>]>);

/// Borrowed label values of one series, in catalog label order.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SeriesRef<'a>(pub(crate) &'a [&'a str]);

impl Hash for SeriesKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_values(self.0.iter().map(|v| &**v), state);
    }
}

impl Hash for SeriesRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_values(self.0.iter().copied(), state);
    }
}

/// The one hashing scheme both key forms share: each value with `str`'s own
/// terminator, so boundaries between values are part of the hash.
fn hash_values<'a, H: Hasher>(values: impl Iterator<Item = &'a str>, state: &mut H) {
    for value in values {
        value.hash(state);
    }
}

impl Equivalent<SeriesKey> for SeriesRef<'_> {
    fn equivalent(&self, key: &SeriesKey) -> bool {
        self.0.len() == key.0.len() && self.0.iter().zip(key.0.iter()).all(|(a, b)| *a == &**b)
    }
}

impl SeriesRef<'_> {
    /// An owned copy, for insertion.
    pub(crate) fn to_owned_key(self) -> SeriesKey {
        SeriesKey(self.0.iter().map(|v| Box::from(*v)).collect())
    }
}

/// Label values -> handle for one metric, read-mostly.
#[derive(Debug)]
pub(crate) struct SeriesTable<H> {
    map: RwLock<HashMap<SeriesKey, H, foldhash::fast::FixedState>>,
}

impl<H: Clone> SeriesTable<H> {
    /// An empty table.
    pub(crate) fn new() -> Self {
        SeriesTable {
            map: RwLock::new(HashMap::with_hasher(foldhash::fast::FixedState::default())),
        }
    }

    /// Runs `f` on the handle of `key` if the series exists. Never allocates.
    #[inline]
    pub(crate) fn with<R>(&self, key: SeriesRef<'_>, f: impl FnOnce(&H) -> R) -> Option<R> {
        let map = self
            .map
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.get(&key).map(f)
    }

    /// Returns the handle of `key`, inserting `make()` if absent. The bool is true when
    /// this call inserted it; `admit` is asked first and may refuse a new series.
    pub(crate) fn get_or_insert(
        &self,
        key: SeriesRef<'_>,
        admit: impl FnOnce(usize) -> bool,
        make: impl FnOnce() -> H,
    ) -> Option<(H, bool)> {
        let mut map = self
            .map
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(handle) = map.get(&key) {
            return Some((handle.clone(), false));
        }
        if !admit(map.len()) {
            return None;
        }
        let handle = make();
        map.insert(key.to_owned_key(), handle.clone());
        Some((handle, true))
    }

    /// Calls `f` on every handle, under the read lock.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&H)) {
        let map = self
            .map
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.values().for_each(&mut f);
    }

    /// Number of series in the table.
    pub(crate) fn len(&self) -> usize {
        self.map
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn value_boundaries_are_part_of_the_key() {
        let table = SeriesTable::<u32>::new();
        table
            .get_or_insert(SeriesRef(&["ab", "c"]), |_| true, || 1)
            .unwrap();
        table
            .get_or_insert(SeriesRef(&["a", "bc"]), |_| true, || 2)
            .unwrap();
        assert_eq!(table.with(SeriesRef(&["ab", "c"]), |h| *h), Some(1));
        assert_eq!(table.with(SeriesRef(&["a", "bc"]), |h| *h), Some(2));
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn admit_can_refuse_new_series_but_not_existing_ones() {
        let table = SeriesTable::<u32>::new();
        table
            .get_or_insert(SeriesRef(&["a"]), |n| n < 1, || 1)
            .unwrap();
        assert!(
            table
                .get_or_insert(SeriesRef(&["b"]), |n| n < 1, || 2)
                .is_none()
        );
        assert_eq!(
            table.get_or_insert(SeriesRef(&["a"]), |n| n < 1, || 3),
            Some((1, false))
        );
    }

    proptest! {
        /// Any two distinct value lists are distinct series, and lookups find exactly
        /// what was inserted.
        #[test]
        fn lookups_find_exactly_what_was_inserted(
            keys in prop::collection::vec(prop::collection::vec(".{0,6}", 1..4), 1..20)
        ) {
            let table = SeriesTable::<usize>::new();
            let mut expected = std::collections::HashMap::new();
            for (i, values) in keys.iter().enumerate() {
                let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                let (handle, _) = table.get_or_insert(SeriesRef(&refs), |_| true, || i).unwrap();
                expected.entry(values.clone()).or_insert(i);
                prop_assert_eq!(handle, expected[values]);
            }
            prop_assert_eq!(table.len(), expected.len());
            for (values, i) in &expected {
                let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                prop_assert_eq!(table.with(SeriesRef(&refs), |h| *h), Some(*i));
            }
        }
    }
}
