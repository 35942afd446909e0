//! The addresses already kept, for the duplicate check: a table sized to the file, and for
//! an input of unknown length (standard input, a pipe) tables added as it grows.

use crate::sys::memory::{advise_huge_pages, prefetch_cache_line};

/// The set of addresses already kept, in input order, for the duplicate check.
///
/// Each slot is 12 bytes: 64 bits of the address's key and the 32-bit row it was first
/// seen on, so memory stays the same however long the addresses are. The table is open
/// addressing with linear probing in a plain `Vec`, sized to the file (not to a power of
/// two) and filled up to 80 %: 15 bytes per address. At 64 bits, a false duplicate among
/// ten million kept addresses has a chance of about three in a million per run.
///
/// A table that fills is not copied into a larger one, which would hold both at once (two
/// and a half times the table, the peak of a long standard input): it is kept as it is, and
/// a new one twice its size takes the new addresses, an address being looked for in every
/// table. A file is sized from its length and stays in one table; an input of unknown
/// length starts with a table of 32 MiB of slots, so that only very long ones ever
/// need a second.
#[derive(Default)]
pub struct DuplicateSet {
    /// The table new addresses go to: `[tag low, tag high, line]`; a zero tag marks an
    /// empty slot (stored tags are odd).
    slots: Vec<[u32; 3]>,
    /// Addresses in `slots`.
    len: usize,
    /// Tables that filled, oldest first: looked in, never written again.
    full: Vec<Vec<[u32; 3]>>,
    /// Addresses in `full`.
    full_len: usize,
}

/// Slots of the first table for an input of unknown length: 32 MiB of address space, of
/// which only the pages its addresses land on are ever touched; room for 2.2 million
/// addresses before a second table.
const UNKNOWN_START: usize = (32 << 20) / 12;

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
    /// `n` is 0 when it is not known.
    pub fn with_capacity(n: usize) -> DuplicateSet {
        let slots = match n {
            0 => UNKNOWN_START,
            n => (n * 100 / MAX_LOAD).max(64),
        };
        DuplicateSet {
            slots: new_slots(slots),
            ..DuplicateSet::default()
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
        match probe(&self.slots, slot) {
            Err(line) => Err(line),
            // Not in the newest table; nor, if there are others, in any of them.
            Ok(free) => {
                if !self.full.is_empty() {
                    self.in_full(slot)?;
                }
                self.slots[free] = slot;
                self.len += 1;
                Ok(())
            }
        }
    }

    /// `Err` with the first line when a full table holds the slot's address.
    #[cold]
    fn in_full(&self, slot: [u32; 3]) -> Result<(), u64> {
        for table in &self.full {
            probe(table, slot)?;
        }
        Ok(())
    }

    /// Asks the processor to bring the slot where `key` would be into the cache, without
    /// waiting for it.
    pub fn prefetch(&self, key: u128) {
        if !self.slots.is_empty() {
            prefetch_cache_line(&self.slots[self.home(tag_of(key))]);
        }
    }

    /// The slot a tag starts probing at in the newest table.
    fn home(&self, tag: u64) -> usize {
        home(tag, self.slots.len())
    }

    /// Keeps the full table as it is and starts one twice its size.
    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let next = new_slots((self.slots.len() * 2).max(64));
        let filled = std::mem::replace(&mut self.slots, next);
        if !filled.is_empty() {
            self.full.push(filled);
            self.full_len += std::mem::take(&mut self.len);
        }
    }

    pub fn len(&self) -> usize {
        self.len + self.full_len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The slot a tag starts probing at in a table of `len` slots. The key is already a hash:
/// its bits spread evenly over the table by a multiply-shift, whatever the table's size.
fn home(tag: u64, len: usize) -> usize {
    ((u128::from(tag) * len as u128) >> 64) as usize
}

/// Looks for the address of `slot` in a table: `Err` with its first line when it is there,
/// `Ok` with the empty slot where it would go when it is not. The table is never full.
#[inline]
fn probe(table: &[[u32; 3]], slot: [u32; 3]) -> Result<usize, u64> {
    let tag = u64::from(slot[1]) << 32 | u64::from(slot[0]);
    let mut i = home(tag, table.len());
    loop {
        match table[i] {
            [0, 0, _] => return Ok(i),
            [low, high, line] if low == slot[0] && high == slot[1] => {
                return Err(u64::from(line));
            }
            _ => i = if i + 1 == table.len() { 0 } else { i + 1 },
        }
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
        assert!(small.full.len() > 1, "several tables");
        for k in 0..10_000u128 {
            let key = xxhash_rust::xxh3::xxh3_128(&k.to_le_bytes());
            assert_eq!(small.first_seen(key, 1), Err(k as u64));
        }
        assert_eq!(set.len(), 2);
    }
}
