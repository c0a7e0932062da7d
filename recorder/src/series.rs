//! Series lookup: label values -> series storage, without allocating or locking.
//!
//! A table maps the label values of one metric (in catalog label order) to the series
//! created at first touch. Lookups hash the caller's borrowed `&str`s and compare
//! them in full (no hash-only identity, so `["ab", "c"]` and `["a", "bc"]` differ)
//! against the series' labels as exposition renders them, the one copy of its values a
//! series keeps; only inserting a new series allocates.
//!
//! The table is an open-addressing array of write-once 8-byte slots sized up front from
//! the metric's series bound (at most half full), each holding a series' position in an
//! insertion-order list and 32 bits of its hash, so a lookup of a seen series is a
//! hash, a few acquire loads and a string compare: no lock, no atomic read-modify-write,
//! no cache line written, so threads recording different (or the same) series never
//! contend here. Series are never removed or moved. Inserts are serialised by a mutex
//! and publish a series by setting its list place, then its slot (release); a reader
//! that races an insert may miss the new series and then finds it under the mutex.
//!
//! A render visits the list: exactly the series that exist, in first-touch order, read
//! sequentially instead of scanning every slot (a metric bounded at 100,000 series has
//! 262,144 slots: scanning them cost a quarter of a millisecond per scrape whatever the
//! number of series).

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

pub(crate) use catalog::MAX_LABELS;

/// Borrowed label values of one series, in catalog label order.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SeriesRef<'a>(pub(crate) &'a [&'a str]);

impl SeriesRef<'_> {
    /// The key's hash: each value hashed on its own, then combined by position.
    ///
    /// One hasher fed every value in turn chains each value's multiplies onto the
    /// last; hashed apart (`hash_one`, so each value's bytes and length are mixed by
    /// its own finish), the values' multiplies run side by side. The rotation keeps
    /// `(a, b)` and `(b, a)` apart.
    #[inline]
    fn hash(self, state: &foldhash::fast::FixedState) -> u64 {
        self.0.iter().fold(0, |hash, value| {
            hash.rotate_left(21) ^ state.hash_one(value)
        })
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

/// What a table holds per series: anything that knows its labels as rendered by
/// [`crate::cells::label_pairs`] (optionally followed by one comma, as histograms keep
/// them). The table compares lookups against these, so a series keeps its label values
/// once, in the form exposition needs.
pub(crate) trait Labelled {
    /// The series' rendered labels.
    fn labels(&self) -> &str;
}

/// Label values -> series for one metric, read without locks.
#[derive(Debug)]
pub(crate) struct SeriesTable<H> {
    /// A power of two of write-once slots: 0 while free, else the series' position in
    /// `order` plus one (low 32 bits) and the high 32 bits of its hash.
    slots: Box<[AtomicU64]>,
    /// Most series the table takes (at most half the slots, so probes stay short).
    capacity: usize,
    /// The series, in insertion order; the first `len` are set.
    order: Box<[OnceLock<H>]>,
    /// Series inserted; published (release) after the series and its slot.
    len: AtomicUsize,
    /// Serialises inserts (and admission decisions made with them).
    insert: Mutex<()>,
    /// The metric's label names, in catalog order (what rendered labels are read with).
    names: Box<[&'static str]>,
    hasher: foldhash::fast::FixedState,
}

impl<H: Labelled> SeriesTable<H> {
    /// An empty table for series labelled `names` that takes up to `capacity` series;
    /// inserts past it are refused. Reserves two 8-byte slots and one list place per
    /// series, the slots rounded up to a power of two.
    pub(crate) fn with_capacity(capacity: usize, names: &[&'static str]) -> Self {
        let slots = if capacity == 0 {
            1
        } else {
            (capacity * 2).next_power_of_two()
        };
        SeriesTable {
            slots: (0..slots).map(|_| AtomicU64::new(0)).collect(),
            capacity,
            order: (0..capacity).map(|_| OnceLock::new()).collect(),
            len: AtomicUsize::new(0),
            insert: Mutex::new(()),
            names: names.into(),
            hasher: foldhash::fast::FixedState::default(),
        }
    }

    /// The series of `key`, probing from its hash; `Err` with the first free slot's
    /// position when the key is absent (as of this read).
    #[inline(always)]
    fn find(&self, key: SeriesRef<'_>, hash: u64) -> Result<&H, usize> {
        let mask = self.slots.len() - 1;
        let tag = hash >> 32;
        let mut position = hash as usize & mask;
        loop {
            let slot = self.slots[position].load(Ordering::Acquire);
            if slot == 0 {
                return Err(position);
            }
            if slot >> 32 == tag
                && let Some(series) = self.order[(slot as u32 - 1) as usize].get()
                && rendered_matches(series.labels(), &self.names, key.0)
            {
                return Ok(series);
            }
            position = (position + 1) & mask;
        }
    }

    /// The series of `key`, if it exists. Never allocates, never locks.
    #[inline(always)]
    pub(crate) fn get(&self, key: SeriesRef<'_>) -> Option<&H> {
        let hash = key.hash(&self.hasher);
        self.find(key, hash).ok()
    }

    /// The series of `key`, inserting `make()` if absent. The bool is true when this
    /// call inserted it; `admit` is asked first (with the number of series) and may
    /// refuse a new series, as does a table at capacity.
    pub(crate) fn get_or_insert(
        &self,
        key: SeriesRef<'_>,
        admit: impl FnOnce(usize) -> bool,
        make: impl FnOnce() -> H,
    ) -> Option<(&H, bool)> {
        let hash = key.hash(&self.hasher);
        let _insert = self
            .insert
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Under the insert lock no slot changes, so `Err` is the free slot to use.
        let free = match self.find(key, hash) {
            Ok(series) => return Some((series, false)),
            Err(free) => free,
        };
        let len = self.len.load(Ordering::Relaxed);
        if len >= self.capacity || !admit(len) {
            return None;
        }
        let series = make();
        debug_assert!(
            rendered_matches(series.labels(), &self.names, key.0),
            "a series is made with the labels it is found by"
        );
        if self.order[len].set(series).is_err() {
            unreachable!("list places are only set under the insert lock, once each");
        }
        // `len < capacity <= u32::MAX` (a catalog bound), so the position fits.
        self.slots[free].store((hash >> 32) << 32 | (len as u64 + 1), Ordering::Release);
        self.len.store(len + 1, Ordering::Release);
        self.order[len].get().map(|series| (series, true))
    }

    /// Calls `f` on every series, in insertion order. Visits only the series that
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

/// True when `rendered` (labels as [`crate::cells::label_pairs`] renders them with the
/// names `names`, with at most one trailing comma) holds exactly `values`.
///
/// Every series of a table is rendered with the table's names, so the names are
/// skipped by length, not compared; a value without `"` or `\` (the usual case) is
/// compared eight bytes at a time ([`literal_prefix`]).
#[inline(always)]
fn rendered_matches(rendered: &str, names: &[&str], values: &[&str]) -> bool {
    if names.len() != values.len() {
        return false;
    }
    let mut rest = rendered.as_bytes();
    for (position, (name, value)) in names.iter().zip(values).enumerate() {
        // `,` (after the first pair), the name, `="`.
        let Some(tail) = rest.get(usize::from(position > 0) + name.len() + 2..) else {
            return false;
        };
        rest = tail;
        let value = value.as_bytes();
        // Bytes equal and no `"` or `\` in the value: the rendered value is the value
        // itself (a line feed never appears unescaped in rendered labels). Otherwise
        // compare with the value escaped.
        let matched = if literal_prefix(rest, value) {
            rest = &rest[value.len()..];
            true
        } else {
            take_escaped(&mut rest, value)
        };
        if !matched || !take(&mut rest, b"\"") {
            return false;
        }
    }
    rest.is_empty() || rest == b","
}

/// Whether `rest` starts with `value` byte for byte and `value` holds no `"` or `\`,
/// eight bytes at a time.
///
/// Label values are short (a few to a few dozen bytes), where a call to `memcmp` plus
/// one to `memchr::memchr2` cost more than the whole comparison: measured 2x slower
/// on a seen series with two runtime labels. So both sides are read as words: the
/// whole words of a value of 8 bytes or more, the last one overlapping the one before
/// it; a shorter value as one word of its bytes (two overlapping 4-byte reads, or its
/// first, middle and last byte), so no value takes a byte-at-a-time loop. A byte is
/// found in a word with the usual exact test for a zero byte,
/// `(x - 0x01..01) & !x & 0x80..80 != 0`, applied to `word ^ byte * 0x01..01`.
#[inline]
fn literal_prefix(rest: &[u8], value: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let holds = |word: u64, byte: u8| {
        let x = word ^ ONES.wrapping_mul(u64::from(byte));
        x.wrapping_sub(ONES) & !x & HIGHS != 0
    };
    // Equal, with neither `"` nor `\` in the value's word.
    let same = |v: u64, r: u64| v == r && !holds(v, b'"') && !holds(v, b'\\');
    let Some(rendered) = rest.get(..value.len()) else {
        return false;
    };
    let len = value.len();
    if len >= 8 {
        let word = |bytes: &[u8], at: usize| {
            let mut word = [0; 8];
            word.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(word)
        };
        let last = len - 8;
        let mut at = 0;
        while at < last {
            if !same(word(value, at), word(rendered, at)) {
                return false;
            }
            at += 8;
        }
        same(word(value, last), word(rendered, last))
    } else {
        // Every byte of a value shorter than a word, some twice, in one word.
        let word = |bytes: &[u8]| match len {
            4.. => {
                let half = |at: usize| {
                    let mut half = [0; 4];
                    half.copy_from_slice(&bytes[at..at + 4]);
                    u64::from(u32::from_le_bytes(half))
                };
                half(0) | half(len - 4) << 32
            }
            1.. => {
                u64::from(bytes[0])
                    | u64::from(bytes[len / 2]) << 8
                    | u64::from(bytes[len - 1]) << 16
            }
            0 => 0,
        };
        same(word(value), word(rendered))
    }
}

/// Removes `prefix` from the start of `rest`; false (and `rest` unchanged) without it.
#[inline]
fn take(rest: &mut &[u8], prefix: &[u8]) -> bool {
    match rest.strip_prefix(prefix) {
        Some(tail) => {
            *rest = tail;
            true
        }
        None => false,
    }
}

/// Removes `value` escaped as a quoted label value (`\\`, `\"`, `\n`) from the start
/// of `rest`.
#[inline]
fn take_escaped(rest: &mut &[u8], value: &[u8]) -> bool {
    let bytes = *rest;
    let mut at = 0;
    for &byte in value {
        let escaped: &[u8] = match byte {
            b'\\' => b"\\\\",
            b'"' => b"\\\"",
            b'\n' => b"\\n",
            _ => {
                if bytes.get(at) != Some(&byte) {
                    return false;
                }
                at += 1;
                continue;
            }
        };
        if bytes.get(at..at + escaped.len()) != Some(escaped) {
            return false;
        }
        at += escaped.len();
    }
    *rest = &bytes[at..];
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cells::label_pairs;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// A series for the tests: its rendered labels and an id.
    #[derive(Debug, PartialEq)]
    struct Series(Box<str>, usize);

    impl Labelled for Series {
        fn labels(&self) -> &str {
            &self.0
        }
    }

    const NAMES: &[&str] = &["a", "b", "c"];

    fn series(values: &[&str], id: usize) -> Series {
        Series(
            label_pairs(NAMES.iter().copied().zip(values.iter().copied())),
            id,
        )
    }

    fn insert(table: &SeriesTable<Series>, values: &[&str], id: usize) -> Option<(usize, bool)> {
        table
            .get_or_insert(SeriesRef(values), |_| true, || series(values, id))
            .map(|(s, inserted)| (s.1, inserted))
    }

    fn get(table: &SeriesTable<Series>, values: &[&str]) -> Option<usize> {
        table.get(SeriesRef(values)).map(|s| s.1)
    }

    #[test]
    fn value_boundaries_are_part_of_the_key() {
        let table = SeriesTable::with_capacity(32, &NAMES[..2]);
        insert(&table, &["ab", "c"], 1).unwrap();
        insert(&table, &["a", "bc"], 2).unwrap();
        assert_eq!(get(&table, &["ab", "c"]), Some(1));
        assert_eq!(get(&table, &["a", "bc"]), Some(2));
        assert_eq!(table.len(), 2);
        let mut visited = Vec::new();
        table.for_each(|s| visited.push(s.1));
        assert_eq!(visited, [1, 2], "insertion order");
    }

    #[test]
    fn escaped_values_match_only_themselves() {
        let table = SeriesTable::with_capacity(32, &NAMES[..1]);
        for (id, value) in ["x\\", "x\"y", "x\\\"y", "x\ny", "x\\ny", ""]
            .iter()
            .enumerate()
        {
            assert_eq!(insert(&table, &[value], id), Some((id, true)), "{value:?}");
        }
        for (id, value) in ["x\\", "x\"y", "x\\\"y", "x\ny", "x\\ny", ""]
            .iter()
            .enumerate()
        {
            assert_eq!(get(&table, &[value]), Some(id), "{value:?}");
        }
        assert_eq!(get(&table, &["x"]), None);
        assert_eq!(get(&table, &["x\\\\"]), None);
    }

    #[test]
    fn rendered_labels_match_exact_values_with_or_without_a_trailing_comma() {
        let names = &["a", "b"];
        assert!(rendered_matches("a=\"1\",b=\"2\"", names, &["1", "2"]));
        assert!(rendered_matches("a=\"1\",b=\"2\",", names, &["1", "2"]));
        assert!(!rendered_matches("a=\"1\",b=\"2\",,", names, &["1", "2"]));
        assert!(!rendered_matches("a=\"1\",b=\"23\"", names, &["1", "2"]));
        assert!(
            !rendered_matches("a=\"1\"", names, &["1"]),
            "too few values"
        );
        assert!(rendered_matches("", &[], &[]));
    }

    proptest! {
        /// The word-at-a-time test agrees with the byte-at-a-time definition.
        #[test]
        fn literal_prefix_is_prefix_without_quote_or_backslash(
            value in prop::collection::vec(prop::sample::select(b"ab\\\"\n\x00\x80\xff".to_vec()), 0..40),
            extra in prop::collection::vec(prop::sample::select(b"ab\\\"".to_vec()), 0..3),
            flip in prop::option::of(0usize..40),
            cut in 0usize..3,
        ) {
            let mut rest = value.clone();
            rest.extend(&extra);
            rest.truncate(rest.len().saturating_sub(cut));
            if let Some(at) = flip.filter(|at| *at < rest.len()) {
                rest[at] ^= 1;
            }
            let expected = rest.starts_with(&value) && !value.iter().any(|b| *b == b'"' || *b == b'\\');
            prop_assert_eq!(literal_prefix(&rest, &value), expected);
        }
    }

    /// Keys that differ in one late byte of one value (`/v1/route-0`, `/v1/route-1`)
    /// still spread over the slots: a combination of per-value hashes without a final
    /// mix of each put all of one tenant's routes on one slot (3 positions for 18 keys).
    #[test]
    fn similar_keys_spread_over_the_slots() {
        let state = &foldhash::fast::FixedState::default();
        let tenants = ["tenant-0", "tenant-1", "tenant-2"];
        let routes: Vec<String> = (0..6).map(|r| format!("/v1/route-{r}")).collect();
        let positions: BTreeSet<u64> = tenants
            .iter()
            .flat_map(|t| {
                routes
                    .iter()
                    .map(move |r| SeriesRef(&[t, r]).hash(state) & 127)
            })
            .collect();
        assert!(
            positions.len() >= 12,
            "18 keys on {} of 128 slots",
            positions.len()
        );
    }

    #[test]
    fn admit_can_refuse_new_series_but_not_existing_ones() {
        let table = SeriesTable::with_capacity(32, &NAMES[..1]);
        let admit_one = |n: usize| n < 1;
        table
            .get_or_insert(SeriesRef(&["a"]), admit_one, || series(&["a"], 1))
            .unwrap();
        assert!(
            table
                .get_or_insert(SeriesRef(&["b"]), admit_one, || series(&["b"], 2))
                .is_none()
        );
        let again = table.get_or_insert(SeriesRef(&["a"]), admit_one, || series(&["a"], 3));
        assert_eq!(again.map(|(s, inserted)| (s.1, inserted)), Some((1, false)));
    }

    #[test]
    fn a_full_table_refuses_new_series_but_finds_existing_ones() {
        let table = SeriesTable::with_capacity(2, &NAMES[..1]);
        for (i, value) in ["a", "b", "c"].iter().enumerate() {
            assert_eq!(insert(&table, &[value], i).is_some(), i < 2, "{value}");
        }
        assert_eq!(get(&table, &["b"]), Some(1));
        assert_eq!(get(&table, &["c"]), None);
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn concurrent_readers_see_every_insert() {
        let table = SeriesTable::with_capacity(1000, &NAMES[..1]);
        let keys: Vec<String> = (0..1000).map(|i| format!("k{i}")).collect();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for (i, key) in keys.iter().enumerate() {
                    insert(&table, &[key], i);
                }
            });
            scope.spawn(|| {
                for (i, key) in keys.iter().enumerate() {
                    let found =
                        get(&table, &[key]).or_else(|| insert(&table, &[key], i).map(|(id, _)| id));
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
        /// Any two distinct value lists (hostile characters included) are distinct
        /// series, and lookups find exactly what was inserted.
        #[test]
        fn lookups_find_exactly_what_was_inserted(
            keys in prop::collection::vec(prop::collection::vec("[ab\\\\\"\n,=]{0,4}", 3), 1..20)
        ) {
            let table = SeriesTable::with_capacity(32, NAMES);
            let mut expected = std::collections::HashMap::new();
            let mut first_touches = Vec::new();
            for (i, values) in keys.iter().enumerate() {
                let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                let (id, inserted) = insert(&table, &refs, i).unwrap();
                expected.entry(values.clone()).or_insert(i);
                prop_assert_eq!(id, expected[values]);
                if inserted {
                    first_touches.push(i);
                }
            }
            let mut visited = Vec::new();
            table.for_each(|s| visited.push(s.1));
            prop_assert_eq!(visited, first_touches, "every series once, in first-touch order");
            prop_assert_eq!(table.len(), expected.len());
            for (values, i) in &expected {
                let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                prop_assert_eq!(get(&table, &refs), Some(*i));
            }
        }
    }
}
