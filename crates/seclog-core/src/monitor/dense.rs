//! A compact hash map for millions of small keys: a table of `u32` indices into dense key and
//! value vectors.
//!
//! A plain `HashMap<K, V>` with a million entries has 2^21 slots of `size_of::<(K, V)>()` bytes,
//! about half empty, and briefly holds two tables while it grows. Here the table holds 4-byte
//! indices (the half-empty slots cost 4 bytes each) and the keys and values are packed in
//! vectors. Removal swaps the last entry into the hole.
//!
//! Keys are client addresses an attacker chooses, so the hasher is foldhash with a random seed
//! per map (no fixed seed to collide against).

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};

use hashbrown::HashTable;

/// What one [`DenseMap::retain_some`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slice {
    /// Entries removed.
    pub(crate) removed: usize,
    /// Entries looked at (at most the budget).
    pub(crate) examined: usize,
    /// Where the next slice starts; `None` when this one reached the end.
    pub(crate) next: Option<usize>,
}

/// Keys and values in insertion order (until a removal), indexed by a hash table of positions.
#[derive(Clone)]
pub(crate) struct DenseMap<K, V> {
    table: HashTable<u32>,
    keys: Vec<K>,
    vals: Vec<V>,
    hasher: foldhash::fast::RandomState,
}

impl<K, V> Default for DenseMap<K, V> {
    fn default() -> Self {
        DenseMap {
            table: HashTable::new(),
            keys: Vec::new(),
            vals: Vec::new(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }
}

impl<K: std::fmt::Debug, V> std::fmt::Debug for DenseMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DenseMap").field("len", &self.keys.len()).finish_non_exhaustive()
    }
}

fn pos(i: u32) -> usize {
    usize::try_from(i).unwrap_or(usize::MAX)
}

impl<K: Hash + Eq, V> DenseMap<K, V> {
    /// The number of entries.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    fn find_index<Q>(&self, hash: u64, q: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let keys = &self.keys;
        self.table
            .find(hash, |&i| keys.get(pos(i)).is_some_and(|k| k.borrow() == q))
            .map(|&i| pos(i))
    }

    /// The value of `q`, if present.
    pub(crate) fn get<Q>(&self, q: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let i = self.find_index(self.hasher.hash_one(q), q)?;
        self.vals.get(i)
    }

    /// The value of `q` for update, if present.
    pub(crate) fn get_mut<Q>(&mut self, q: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let i = self.find_index(self.hasher.hash_one(q), q)?;
        self.vals.get_mut(i)
    }

    /// The value of `q`, inserted as (`key()`, `val()`) first when absent (`key()` must equal
    /// `q`). Returns `None` only when the map already holds `u32::MAX` entries.
    pub(crate) fn get_or_insert_with<Q>(
        &mut self,
        q: &Q,
        key: impl FnOnce() -> K,
        val: impl FnOnce() -> V,
    ) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hasher.hash_one(q);
        let i = match self.find_index(hash, q) {
            Some(i) => i,
            None => {
                let idx = u32::try_from(self.keys.len()).ok().filter(|&i| i < u32::MAX)?;
                let (keys, hasher) = (&self.keys, &self.hasher);
                self.table.insert_unique(hash, idx, |&j| {
                    keys.get(pos(j)).map_or(0, |k| hasher.hash_one(k))
                });
                self.keys.push(key());
                self.vals.push(val());
                pos(idx)
            }
        };
        self.vals.get_mut(i)
    }

    /// Removes the entry at position `i` (swapping the last entry into its place).
    fn remove_at(&mut self, i: usize) {
        let Some(k) = self.keys.get(i) else { return };
        let hash = self.hasher.hash_one(k);
        let target = u32::try_from(i).unwrap_or(u32::MAX);
        if let Ok(e) = self.table.find_entry(hash, |&j| j == target) {
            e.remove();
        }
        let last = self.keys.len() - 1;
        if i != last {
            if let Some(k) = self.keys.get(last) {
                let hash = self.hasher.hash_one(k);
                let from = u32::try_from(last).unwrap_or(u32::MAX);
                if let Some(slot) = self.table.find_mut(hash, |&j| j == from) {
                    *slot = target;
                }
            }
        }
        self.keys.swap_remove(i);
        self.vals.swap_remove(i);
    }

    /// Keeps the entries for which `keep` is true; returns how many were removed. Frees spare
    /// capacity when the map shrank to a quarter of it.
    pub(crate) fn retain(&mut self, keep: impl FnMut(&K, &mut V) -> bool) -> usize {
        self.retain_some(0, usize::MAX, keep).removed
    }

    /// Like [`DenseMap::retain`] over at most `budget` entries from position `cursor` on, so a
    /// large map can be swept a slice at a time. Spare capacity is freed when a sweep ends.
    pub(crate) fn retain_some(
        &mut self,
        cursor: usize,
        budget: usize,
        mut keep: impl FnMut(&K, &mut V) -> bool,
    ) -> Slice {
        let before = self.keys.len();
        let mut i = cursor.min(before);
        let mut seen = 0;
        while i < self.keys.len() && seen < budget {
            seen += 1;
            let kept = match (self.keys.get(i), self.vals.get_mut(i)) {
                (Some(k), Some(v)) => keep(k, v),
                _ => true,
            };
            if kept {
                i += 1;
            } else {
                // The last entry moved into `i`: it is examined next.
                self.remove_at(i);
            }
        }
        let removed = before - self.keys.len();
        if i < self.keys.len() {
            return Slice { removed, examined: seen, next: Some(i) };
        }
        if self.keys.len() < self.keys.capacity() / 4 {
            self.keys.shrink_to_fit();
            self.vals.shrink_to_fit();
            let (keys, hasher) = (&self.keys, &self.hasher);
            self.table.shrink_to_fit(|&j| keys.get(pos(j)).map_or(0, |k| hasher.hash_one(k)));
        }
        Slice { removed, examined: seen, next: None }
    }

    /// The entries, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.keys.iter().zip(self.vals.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        /// Insertions, updates and removals agree with `std::collections::HashMap`.
        #[test]
        fn behaves_like_hashmap(ops in prop::collection::vec((0u8..3, 0u16..200, any::<u32>()), 0..400)) {
            let mut d: DenseMap<u16, u32> = DenseMap::default();
            let mut m: HashMap<u16, u32> = HashMap::new();
            for (op, k, v) in ops {
                match op {
                    0 => {
                        *d.get_or_insert_with(&k, || k, || 0).unwrap() = v;
                        m.insert(k, v);
                    }
                    1 => {
                        let removed = d.retain(|kk, _| *kk != k);
                        prop_assert_eq!(removed, usize::from(m.remove(&k).is_some()));
                    }
                    _ => {
                        let removed = d.retain(|_, vv| *vv % 3 != v % 3);
                        let before = m.len();
                        m.retain(|_, vv| *vv % 3 != v % 3);
                        prop_assert_eq!(removed, before - m.len());
                    }
                }
                prop_assert_eq!(d.len(), m.len());
                for (k, v) in &m {
                    prop_assert_eq!(d.get(k), Some(v));
                }
                let mut all: Vec<_> = d.iter().map(|(k, v)| (*k, *v)).collect();
                all.sort_unstable();
                let mut want: Vec<_> = m.iter().map(|(k, v)| (*k, *v)).collect();
                want.sort_unstable();
                prop_assert_eq!(all, want);
            }
        }
    }

    proptest! {
        /// Sweeping in slices of any size removes exactly what one `retain` would.
        #[test]
        fn sweeping_in_slices_equals_retain(
            keys in prop::collection::vec(0u16..500, 0..300),
            budget in 1usize..64,
            modulo in 2u16..5,
        ) {
            let mut d: DenseMap<u16, u16> = DenseMap::default();
            let mut m: HashMap<u16, u16> = HashMap::new();
            for k in keys {
                d.get_or_insert_with(&k, || k, || k);
                m.insert(k, k);
            }
            m.retain(|_, v| *v % modulo != 0);
            let (mut cursor, mut removed, mut rounds) = (0, 0, 0);
            loop {
                let slice = d.retain_some(cursor, budget, |_, v| *v % modulo != 0);
                prop_assert!(slice.examined <= budget);
                removed += slice.removed;
                rounds += 1;
                let Some(next) = slice.next else { break };
                cursor = next;
            }
            prop_assert!(rounds <= 2 * 300 / budget + 2, "each slice examines `budget` entries");
            prop_assert_eq!(d.len(), m.len());
            prop_assert!(removed <= 300);
            for (k, v) in &m {
                prop_assert_eq!(d.get(k), Some(v));
            }
        }
    }

    #[test]
    fn str_lookup_without_allocating_a_key() {
        let mut d: DenseMap<Box<str>, u8> = DenseMap::default();
        *d.get_or_insert_with("alice", || "alice".into(), || 0).unwrap() += 1;
        *d.get_or_insert_with("alice", || "alice".into(), || 0).unwrap() += 1;
        assert_eq!(d.get("alice"), Some(&2));
        assert_eq!(d.get_mut("bob"), None);
        assert_eq!(d.len(), 1);
    }
}
