//! Stable panel identities (pure): a panel's id derives from what it shows, never from
//! where it sits.
//!
//! Every generated panel has a key naming its content, e.g.
//! `sms_sources_requests_error_total:rate` or `alert:SmsSourceFailing`. Its id is the
//! 64-bit FNV-1a hash of the key folded into `1..=2^31-1` (a positive 32-bit integer, the
//! range every Grafana version stores and links with). Adding, removing or reordering
//! metrics therefore moves no other panel's id, so bookmarks, `viewPanel` links and
//! alerts' `__panelId__` annotations stay valid.
//!
//! Two keys of one dashboard hashing to the same id are resolved deterministically: keys
//! are allocated in lexicographic order and a key whose id is taken is rehashed with a
//! salt (`key#1`, `key#2`, ...). Such a resolution is reported as a [`Collision`],
//! because the salted id would move if the other key disappeared; `cargo xtask check`
//! fails on any.

use std::collections::{BTreeMap, BTreeSet};

/// Largest panel id handed out: `2^31 - 1`.
pub const MAX_PANEL_ID: u32 = i32::MAX as u32;

/// Two panel keys of one dashboard whose ids collided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collision {
    /// Uid of the dashboard.
    pub dashboard_uid: String,
    /// The key that kept its hashed id (first in lexicographic order).
    pub kept: String,
    /// The key that was rehashed with a salt.
    pub moved: String,
    /// The id `moved` got instead.
    pub id: u32,
}

impl std::fmt::Display for Collision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "dashboard `{}`: panel keys `{}` and `{}` hash to the same id; `{}` got {} instead, \
             which moves if `{}` goes away (rename one of the panels' keys)",
            self.dashboard_uid, self.kept, self.moved, self.moved, self.id, self.kept
        )
    }
}

/// 64-bit FNV-1a of `bytes`.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The id `key` hashes to, in `1..=space`.
fn hashed(key: &str, space: u32) -> u32 {
    // `space` is at least 1, so the remainder fits in u32 and the sum cannot overflow.
    let folded = fnv1a(key.as_bytes()) % u64::from(space.max(1));
    u32::try_from(folded).unwrap_or(0) + 1
}

/// The id of `key` when nothing collides with it.
pub fn panel_id(key: &str) -> u32 {
    hashed(key, MAX_PANEL_ID)
}

/// Ids for every key of one dashboard (duplicates are one key), and the collisions
/// resolved on the way.
pub fn allocate<'a>(
    dashboard_uid: &str,
    keys: impl IntoIterator<Item = &'a str>,
) -> (BTreeMap<String, u32>, Vec<Collision>) {
    allocate_in(dashboard_uid, keys, MAX_PANEL_ID)
}

/// [`allocate`] in the id space `1..=space` (tests force collisions with a small one).
fn allocate_in<'a>(
    dashboard_uid: &str,
    keys: impl IntoIterator<Item = &'a str>,
    space: u32,
) -> (BTreeMap<String, u32>, Vec<Collision>) {
    let keys: BTreeSet<&str> = keys.into_iter().collect();
    let mut owner: BTreeMap<u32, &str> = BTreeMap::new();
    let mut ids = BTreeMap::new();
    let mut collisions = Vec::new();
    for key in keys {
        let first = hashed(key, space);
        let mut id = first;
        // Bounded: at most `keys.len()` ids are taken, so some salt below that is free
        // unless the space is smaller than the key set (then the last id is reused and
        // the lint's `panel-id-unique` reports it).
        for salt in 1..=owner.len() as u64 + 1 {
            if !owner.contains_key(&id) {
                break;
            }
            id = hashed(&format!("{key}#{salt}"), space);
        }
        if id != first {
            collisions.push(Collision {
                dashboard_uid: dashboard_uid.to_string(),
                kept: owner.get(&first).copied().unwrap_or_default().to_string(),
                moved: key.to_string(),
                id,
            });
        }
        owner.insert(id, key);
        ids.insert(key.to_string(), id);
    }
    (ids, collisions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ids_are_fixed_functions_of_the_key() {
        // Pinned: a change here renumbers every panel of every dashboard.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(
            panel_id("a"),
            (0xaf63_dc4c_8601_ec8c_u64 % 2_147_483_647) as u32 + 1
        );
    }

    #[test]
    fn a_collision_is_resolved_by_salting_the_later_key_and_reported() {
        // Two keys that collide in a space of 1000 (found by search, bounded).
        let space = 1000;
        let mut seen = BTreeMap::new();
        let (first, second) = (0..10_000)
            .map(|i| format!("k{i}"))
            .find_map(|key| {
                let id = hashed(&key, space);
                match seen.get(&id) {
                    Some(other) => Some((String::clone(other), key)),
                    None => {
                        seen.insert(id, key);
                        None
                    }
                }
            })
            .expect("a collision among 10,000 keys in 1000 ids");
        let (kept, moved) = if first < second {
            (first, second)
        } else {
            (second, first)
        };
        let (ids, collisions) = allocate_in("d", [moved.as_str(), kept.as_str()], space);
        assert_eq!(ids[&kept], hashed(&kept, space));
        assert_ne!(ids[&moved], ids[&kept]);
        assert_eq!(collisions.len(), 1);
        assert_eq!((&collisions[0].kept, &collisions[0].moved), (&kept, &moved));
        let message = collisions[0].to_string();
        assert!(
            message.contains(&format!("`{kept}` and `{moved}` hash to the same id")),
            "{message}"
        );
        let (again, _) = allocate_in("d", [kept.as_str(), moved.as_str(), "other"], space);
        assert_eq!((again[&kept], again[&moved]), (ids[&kept], ids[&moved]));
    }

    proptest! {
        /// Ids are unique, in range, and independent of the order and of other keys
        /// whenever nothing collides.
        #[test]
        fn ids_are_unique_and_order_independent(
            keys in proptest::collection::btree_set("[a-z_:]{1,12}", 1..40),
            space in 50u32..200,
        ) {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let (ids, collisions) = allocate_in("d", keys.iter().copied(), space);
            let distinct: BTreeSet<u32> = ids.values().copied().collect();
            prop_assert_eq!(distinct.len(), keys.len());
            prop_assert!(ids.values().all(|id| (1..=space).contains(id)));
            let (reversed, _) = allocate_in("d", keys.iter().rev().copied(), space);
            prop_assert_eq!(&ids, &reversed);
            if collisions.is_empty() {
                for key in &keys {
                    prop_assert_eq!(ids[*key], hashed(key, space));
                }
            }
        }
    }
}
