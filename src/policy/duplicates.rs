//! The addresses already kept, for the duplicate check: a table sized to the file.

use crate::sys::memory::{advise_huge_pages, prefetch_cache_line};

/// The set of addresses already kept, in input order, for the duplicate check.
///
/// Each slot is 12 bytes: 64 bits of the address's key and the 32-bit row it was first
/// seen on, so memory stays the same however long the addresses are. The table is open
/// addressing with linear probing in a plain `Vec`, sized to the file (not to a power of
/// two) and filled up to 80 %: 15 bytes per address. At 64 bits, a false duplicate among
/// ten million kept addresses has a chance of about three in a million per run.
#[derive(Default)]
pub struct DuplicateSet {
    /// `[tag low, tag high, line]`; a zero tag marks an empty slot (stored tags are odd).
    slots: Vec<[u32; 3]>,
    len: usize,
}

/// The fill above which the table grows, in percent.
const MAX_LOAD: usize = 80;

/// The tag an address key is stored under: its high 64 bits, made odd so that no stored
/// tag is zero, the empty mark.
fn tag_of(key: u128) -> u64 {
    (key >> 64) as u64 | 1
}

impl DuplicateSet {
    /// A set with room for about `n` addresses, so that it need not grow (and briefly
    /// hold two copies of itself) while the run goes on.
    pub fn with_capacity(n: usize) -> DuplicateSet {
        DuplicateSet {
            slots: new_slots((n * 100 / MAX_LOAD).max(64)),
            len: 0,
        }
    }

    /// Records `key` as seen on row `line` and returns `Ok` with the entry stored (for a
    /// journal: the tag above the row), or `Err` with the row it was first seen on.
    #[inline]
    pub fn first_seen(&mut self, key: u128, line: u64) -> Result<u128, u64> {
        let entry =
            u128::from(tag_of(key)) << 32 | u128::from(line.min(u64::from(u32::MAX)) as u32);
        self.insert_entry(entry)?;
        Ok(entry)
    }

    /// Inserts a stored entry (as [`DuplicateSet::first_seen`] returns them); `Err` with the
    /// first line when its address is already there.
    ///
    /// Inlined: the ordered step calls it once per address, and growing, the rare part,
    /// stays out of line.
    #[inline]
    pub fn insert_entry(&mut self, entry: u128) -> Result<(), u64> {
        if (self.len + 1) * 100 > self.slots.len() * MAX_LOAD {
            self.grow();
        }
        let tag = (entry >> 32) as u64;
        let slot = [tag as u32, (tag >> 32) as u32, entry as u32];
        let mut i = self.home(tag);
        loop {
            match self.slots[i] {
                [0, 0, _] => {
                    self.slots[i] = slot;
                    self.len += 1;
                    return Ok(());
                }
                [low, high, line] if low == slot[0] && high == slot[1] => {
                    return Err(u64::from(line));
                }
                _ => i = if i + 1 == self.slots.len() { 0 } else { i + 1 },
            }
        }
    }

    /// Asks the processor to bring the slot where `key` would be into the cache, without
    /// waiting for it.
    pub fn prefetch(&self, key: u128) {
        if !self.slots.is_empty() {
            prefetch_cache_line(&self.slots[self.home(tag_of(key))]);
        }
    }

    /// The slot a tag starts probing at. The key is already a hash: its bits spread evenly
    /// over the table by a multiply-shift, whatever the table's size.
    fn home(&self, tag: u64) -> usize {
        ((u128::from(tag) * self.slots.len() as u128) >> 64) as usize
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        self.slots = new_slots((old.len() * 3 / 2).max(64));
        self.len = 0;
        for [low, high, line] in old.into_iter().filter(|s| s[0] != 0 || s[1] != 0) {
            let tag = u64::from(high) << 32 | u64::from(low);
            let _ = self.insert_entry(u128::from(tag) << 32 | u128::from(line));
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// An empty table of `n` slots. A large one is backed by 2 MiB pages where the system
/// allows: every look-up lands on a random slot, and with 4 KiB pages nearly each would
/// also miss the processor's page-table cache.
fn new_slots(n: usize) -> Vec<[u32; 3]> {
    // Zeroed memory from the system, not yet touched: the advice comes before any page is.
    let slots = vec![[0; 3]; n];
    advise_huge_pages(&slots);
    slots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_remember_the_first_line() {
        let mut set = DuplicateSet::default();
        let key = 0xDEAD_BEEF_u128 << 64 | 7;
        let entry = set.first_seen(key, 2).unwrap();
        assert_eq!(set.first_seen(key, 9), Err(2));
        assert!(set.first_seen(key + (1 << 100), 3).is_ok());
        let mut rebuilt = DuplicateSet::default();
        rebuilt.insert_entry(entry).unwrap();
        assert_eq!(rebuilt.first_seen(key, 5), Err(2));
        // Growing keeps everything.
        let mut small = DuplicateSet::with_capacity(1);
        for k in 0..10_000u128 {
            let key = xxhash_rust::xxh3::xxh3_128(&k.to_le_bytes());
            assert!(small.first_seen(key, k as u64).is_ok());
        }
        assert_eq!(small.len(), 10_000);
        let key = xxhash_rust::xxh3::xxh3_128(&77u128.to_le_bytes());
        assert_eq!(small.first_seen(key, 1), Err(77));
        assert_eq!(set.len(), 2);
    }
}
