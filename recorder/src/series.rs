//! Series lookup: label values -> series storage, without allocating or locking.
//!
//! A table maps the label values of one metric (in catalog label order) to the handle
//! created at first touch. Lookups hash the caller's borrowed `&str`s and compare
//! them in full (no hash-only identity, so `["ab", "c"]` and `["a", "bc"]` differ); only
//! inserting a new series allocates.
//!
//! The table is an open-addressing array of write-once slots sized up front from the
//! metric's series bound (at most half full), so a lookup of a seen series is a hash,
//! a few acquire loads and a string compare: no lock, no atomic read-modify-write, no
//! cache line written, so threads recording different (or the same) series never
//! contend here. Entries are never removed or moved. Inserts are serialised by a mutex
//! and publish an entry with one `OnceLock::set`; a reader that races an insert may
//! miss the new entry and then finds it under the mutex.
//!
//! Each insert also appends a clone of its handle to an insertion-order list, so a
//! render visits exactly the series that exist, in first-touch order, reading that list
//! sequentially instead of scanning every slot (a metric bounded at 100,000 series has
//! 262,144 slots: scanning them cost a quarter of a millisecond per scrape whatever the
//! number of series) or chasing each slot's entry (two dependent cache misses per
//! series saved at 100k series).

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

pub(crate) use catalog::MAX_LABELS;

/// Owned label values of one series, in catalog label order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SeriesKey(Box<[Box<str>]>);

/// Borrowed label values of one series, in catalog label order.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SeriesRef<'a>(pub(crate) &'a [&'a str]);

impl Hash for SeriesRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for value in self.0 {
            // `str`'s own hashing appends a terminator, so boundaries between values
            // are part of the hash.
            value.hash(state);
        }
    }
}

impl SeriesRef<'_> {
    /// An owned copy, for insertion.
    pub(crate) fn to_owned_key(self) -> SeriesKey {
        SeriesKey(self.0.iter().map(|v| Box::from(*v)).collect())
    }

    /// True when `key` holds exactly these values.
    #[inline]
    fn matches(self, key: &SeriesKey) -> bool {
        self.0.len() == key.0.len() && self.0.iter().zip(key.0.iter()).all(|(a, b)| *a == &**b)
    }
}

/// Position of a value in an enumerated label's allowed list, found with one
/// multiplicative hash of the value's length and three of its bytes into a small
/// collision-free table, then one string compare: no loop over the candidates, so no
/// branch that depends on which value was passed.
#[derive(Debug)]
pub(crate) struct ValueIndex {
    values: Box<[&'static str]>,
    /// `position + 1` per slot, 0 for none; `None` when no collision-free multiplier
    /// was found (then lookups scan `values`). Inline: no pointer to chase.
    slots: Option<[u8; VALUE_INDEX_SLOTS]>,
    multiplier: u32,
}

/// Slots of a [`ValueIndex`] table, as a power of two.
const VALUE_INDEX_BITS: u32 = 8;
const VALUE_INDEX_SLOTS: usize = 1 << VALUE_INDEX_BITS;

impl ValueIndex {
    /// An index over `values` (distinct, as the catalog validates).
    pub(crate) fn new(values: Vec<&'static str>) -> Self {
        let fits = values.len() < usize::from(u8::MAX) && values.len() * 4 <= VALUE_INDEX_SLOTS;
        let found = fits
            .then(|| {
                // Odd multipliers from a fixed sequence: deterministic, and with at most
                // 64 values in 256 slots one of the first few is collision-free.
                (0..1024u32).find_map(|attempt| {
                    let multiplier =
                        0x9E37_79B1u32.wrapping_add(attempt.wrapping_mul(0x7F4A_7C16)) | 1;
                    let mut slots = [0u8; VALUE_INDEX_SLOTS];
                    for (position, value) in values.iter().enumerate() {
                        let slot = &mut slots[slot_of(value, multiplier)];
                        if *slot != 0 {
                            return None;
                        }
                        *slot = position as u8 + 1;
                    }
                    Some((slots, multiplier))
                })
            })
            .flatten();
        ValueIndex {
            values: values.into_boxed_slice(),
            slots: found.map(|(slots, _)| slots),
            multiplier: found.map_or(0, |(_, multiplier)| multiplier),
        }
    }

    /// The allowed values, in catalog order.
    pub(crate) fn values(&self) -> &[&'static str] {
        &self.values
    }

    /// Position of `value` among the allowed values; `None` when it is not allowed.
    #[inline]
    pub(crate) fn position(&self, value: &str) -> Option<usize> {
        let Some(slots) = &self.slots else {
            return self.values.iter().position(|v| *v == value);
        };
        let position = usize::from(slots[slot_of(value, self.multiplier)]).checked_sub(1)?;
        let allowed = self.values[position];
        // Callers usually pass the catalog's own `&'static str`: then the pointers match
        // and no bytes are compared.
        let same = std::ptr::eq(allowed.as_ptr(), value.as_ptr()) && allowed.len() == value.len();
        (same || allowed == value).then_some(position)
    }
}

/// The table slot of `value`: a multiplicative hash of its length and its first,
/// middle and last bytes.
#[inline]
fn slot_of(value: &str, multiplier: u32) -> usize {
    let bytes = value.as_bytes();
    let byte = |i: usize| bytes.get(i).copied().map_or(0, u32::from);
    let len = bytes.len();
    let key = (len as u32) ^ byte(0) << 8 ^ byte(len / 2) << 16 ^ byte(len.wrapping_sub(1)) << 24;
    (key.wrapping_mul(multiplier) >> (32 - VALUE_INDEX_BITS)) as usize
}

/// One series: its key, the key's hash (checked before comparing strings) and handle.
#[derive(Debug)]
struct Entry<H> {
    hash: u64,
    key: SeriesKey,
    handle: H,
}

/// Label values -> handle for one metric, read without locks.
#[derive(Debug)]
pub(crate) struct SeriesTable<H> {
    /// A power of two of write-once slots; a slot, once set, never changes.
    slots: Box<[OnceLock<Box<Entry<H>>>]>,
    /// Most series the table takes (at most half the slots, so probes stay short).
    capacity: usize,
    /// Handles in insertion order; the first `len` are set.
    order: Box<[OnceLock<H>]>,
    /// Series inserted; published (release) after the entry and its `order` item.
    len: AtomicUsize,
    /// Serialises inserts (and admission decisions made with them).
    insert: Mutex<()>,
    hasher: foldhash::fast::FixedState,
}

impl<H: Clone> SeriesTable<H> {
    /// An empty table for a few series (tests).
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self::with_capacity(32)
    }

    /// An empty table that takes up to `capacity` series; inserts past it are refused.
    /// Reserves one pointer-sized slot per series twice over, rounded up to a power of two.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let slots = (capacity.max(1) * 2).next_power_of_two();
        SeriesTable {
            slots: (0..slots).map(|_| OnceLock::new()).collect(),
            capacity,
            order: (0..capacity).map(|_| OnceLock::new()).collect(),
            len: AtomicUsize::new(0),
            insert: Mutex::new(()),
            hasher: foldhash::fast::FixedState::default(),
        }
    }

    /// The entry of `key`, probing from its hash; `Err` with the first free slot's
    /// position when the key is absent (as of this read).
    #[inline]
    fn find(&self, key: SeriesRef<'_>, hash: u64) -> Result<&Entry<H>, usize> {
        let mask = self.slots.len() - 1;
        let mut position = hash as usize & mask;
        loop {
            match self.slots[position].get() {
                Some(entry) if entry.hash == hash && key.matches(&entry.key) => return Ok(entry),
                Some(_) => position = (position + 1) & mask,
                None => return Err(position),
            }
        }
    }

    /// Runs `f` on the handle of `key` if the series exists. Never allocates, never locks.
    #[inline]
    pub(crate) fn with<R>(&self, key: SeriesRef<'_>, f: impl FnOnce(&H) -> R) -> Option<R> {
        let hash = self.hasher.hash_one(key);
        self.find(key, hash).ok().map(|entry| f(&entry.handle))
    }

    /// Returns the handle of `key`, inserting `make()` if absent. The bool is true when
    /// this call inserted it; `admit` is asked first (with the number of series) and
    /// may refuse a new series, as does a table at capacity.
    pub(crate) fn get_or_insert(
        &self,
        key: SeriesRef<'_>,
        admit: impl FnOnce(usize) -> bool,
        make: impl FnOnce() -> H,
    ) -> Option<(H, bool)> {
        let hash = self.hasher.hash_one(key);
        let _insert = self
            .insert
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Under the insert lock no slot changes, so `Err` is the free slot to use.
        let free = match self.find(key, hash) {
            Ok(entry) => return Some((entry.handle.clone(), false)),
            Err(free) => free,
        };
        let len = self.len.load(Ordering::Relaxed);
        if len >= self.capacity || !admit(len) {
            return None;
        }
        let handle = make();
        let entry = Entry {
            hash,
            key: key.to_owned_key(),
            handle: handle.clone(),
        };
        if self.slots[free].set(Box::new(entry)).is_err()
            || self.order[len].set(handle.clone()).is_err()
        {
            unreachable!("slots are only set under the insert lock, after finding them free");
        }
        self.len.store(len + 1, Ordering::Release);
        Some((handle, true))
    }

    /// Calls `f` on every handle, in insertion order. Visits only the series that
    /// exist (as of the call), not every slot.
    pub(crate) fn for_each(&self, f: impl FnMut(&H)) {
        let len = self.len.load(Ordering::Acquire);
        // Each of the first `len` was set before `len` was published (release).
        self.order[..len]
            .iter()
            .filter_map(OnceLock::get)
            .for_each(f);
    }

    /// Number of series in the table.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
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
        let mut visited = Vec::new();
        table.for_each(|h| visited.push(*h));
        assert_eq!(visited, [1, 2], "insertion order");
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

    #[test]
    fn a_full_table_refuses_new_series_but_finds_existing_ones() {
        let table = SeriesTable::<u32>::with_capacity(2);
        let values = ["a", "b", "c"];
        for (i, value) in values.iter().enumerate() {
            let inserted = table.get_or_insert(SeriesRef(&[value]), |_| true, || i as u32);
            assert_eq!(inserted.is_some(), i < 2, "{value}");
        }
        assert_eq!(table.with(SeriesRef(&["b"]), |h| *h), Some(1));
        assert_eq!(table.with(SeriesRef(&["c"]), |h| *h), None);
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn concurrent_readers_see_every_insert() {
        let table = SeriesTable::<usize>::with_capacity(1000);
        let keys: Vec<String> = (0..1000).map(|i| format!("k{i}")).collect();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for (i, key) in keys.iter().enumerate() {
                    table.get_or_insert(SeriesRef(&[key]), |_| true, || i);
                }
            });
            scope.spawn(|| {
                for (i, key) in keys.iter().enumerate() {
                    let found = table.with(SeriesRef(&[key]), |h| *h).or_else(|| {
                        table
                            .get_or_insert(SeriesRef(&[key]), |_| true, || i)
                            .map(|(h, _)| h)
                    });
                    assert_eq!(found, Some(i));
                }
            });
        });
        assert_eq!(table.len(), 1000);
    }

    #[test]
    fn value_index_finds_exactly_the_allowed_values() {
        let values = vec!["get", "put", "delete", "", "a", "ab", "ba", "abc", "acb"];
        let index = ValueIndex::new(values.clone());
        assert!(index.slots.is_some(), "a collision-free multiplier exists");
        for (position, value) in values.iter().enumerate() {
            assert_eq!(index.position(value), Some(position));
        }
        for other in ["GET", "gets", "x", "delete ", "bca"] {
            assert_eq!(index.position(other), None, "{other}");
        }
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
            let mut first_touches = Vec::new();
            for (i, values) in keys.iter().enumerate() {
                let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                let (handle, inserted) = table.get_or_insert(SeriesRef(&refs), |_| true, || i).unwrap();
                expected.entry(values.clone()).or_insert(i);
                prop_assert_eq!(handle, expected[values]);
                if inserted {
                    first_touches.push(i);
                }
            }
            let mut visited = Vec::new();
            table.for_each(|h| visited.push(*h));
            prop_assert_eq!(visited, first_touches, "every series once, in first-touch order");
            prop_assert_eq!(table.len(), expected.len());
            for (values, i) in &expected {
                let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                prop_assert_eq!(table.with(SeriesRef(&refs), |h| *h), Some(*i));
            }
        }
    }
}
