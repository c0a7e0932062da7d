//! Deduplication of envelopes by content hash over a bounded window of recent hashes.
//!
//! Sources re-send envelopes shortly after sending them (retries, overlapping pages), so
//! a window of the most recently accepted hashes catches them with bounded memory. The
//! window is first-in first-out: seeing a hash again does not extend its stay.

use std::collections::{HashSet, VecDeque};

use crate::envelope::ContentHash;

/// The most recent `capacity` distinct hashes accepted.
#[derive(Debug)]
pub struct DedupWindow {
    capacity: usize,
    seen: HashSet<ContentHash>,
    order: VecDeque<ContentHash>,
}

impl DedupWindow {
    /// An empty window remembering at most `capacity` hashes (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        DedupWindow {
            capacity,
            seen: HashSet::with_capacity(capacity.min(1 << 16)),
            order: VecDeque::with_capacity(capacity.min(1 << 16)),
        }
    }

    /// True when `hash` is in the window: an envelope with it is a duplicate.
    pub fn contains(&self, hash: &ContentHash) -> bool {
        self.seen.contains(hash)
    }

    /// Remembers `hash`, evicting the oldest hash when full; false if it was already there.
    pub fn insert(&mut self, hash: ContentHash) -> bool {
        if !self.seen.insert(hash) {
            return false;
        }
        self.order.push_back(hash);
        if self.order.len() > self.capacity {
            let oldest = self.order.pop_front().expect("longer than capacity >= 1");
            self.seen.remove(&oldest);
        }
        true
    }

    /// Number of hashes remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn hash(n: u8) -> ContentHash {
        ContentHash::of(&[n])
    }

    #[test]
    fn a_resent_hash_is_a_duplicate() {
        let mut window = DedupWindow::new(4);
        assert!(!window.contains(&hash(1)));
        assert!(window.insert(hash(1)));
        assert!(window.contains(&hash(1)));
        assert!(!window.insert(hash(1)));
        assert_eq!(window.len(), 1);
    }

    #[test]
    fn the_oldest_hash_is_forgotten_first() {
        let mut window = DedupWindow::new(2);
        window.insert(hash(1));
        window.insert(hash(2));
        window.insert(hash(1)); // Already there: does not refresh it.
        window.insert(hash(3));
        assert!(!window.contains(&hash(1)));
        assert!(window.contains(&hash(2)) && window.contains(&hash(3)));
        assert_eq!(window.len(), 2);
    }

    proptest! {
        /// Against a model: the window holds exactly the last `capacity` distinct hashes
        /// in first-insertion order.
        #[test]
        fn matches_a_fifo_model(capacity in 1usize..8, inserts in prop::collection::vec(0u8..12, 0..64)) {
            let mut window = DedupWindow::new(capacity);
            let mut model: Vec<u8> = Vec::new();
            for n in inserts {
                let fresh = !model.contains(&n);
                prop_assert_eq!(window.insert(hash(n)), fresh);
                if fresh {
                    model.push(n);
                    if model.len() > capacity {
                        model.remove(0);
                    }
                }
                prop_assert_eq!(window.len(), model.len());
                for m in 0u8..12 {
                    prop_assert_eq!(window.contains(&hash(m)), model.contains(&m));
                }
            }
        }
    }
}
