//! What is known of each domain without asking DNS (special use, disposable, free mail, a
//! likely typo, well formed), worked out once per domain and kept in a table every worker
//! thread reads without a lock.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rustc_hash::FxHashSet;

use super::{is_disposable, is_special_use, lists, typo};
use crate::sys::memory::{HUGE_PAGE, advise_huge_pages, zeroed_atomics};
use crate::validate::is_well_formed_domain;

/// A domain's facts as [`super::Policy::cached_facts`] found them: `None` when the table does not
/// have them (yet).
#[derive(Debug, Clone, Copy)]
pub struct CachedFacts(pub(super) Option<DomainFacts>);

impl CachedFacts {
    /// Whether the domain is known to be well formed: its facts are in the table and say
    /// so. Its syntax then needs no second look.
    pub fn well_formed(self) -> bool {
        self.0.is_some_and(|facts| facts.well_formed)
    }
}

/// What is known about a domain without asking DNS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct DomainFacts {
    /// Whether the domain passes the syntax check ([`crate::validate`]).
    pub(super) well_formed: bool,
    pub(super) special_use: bool,
    pub(super) disposable: bool,
    pub(super) free: bool,
    /// The well-known domain it is probably a typo of, as an index into
    /// [`lists::WELL_KNOWN`], where every suggestion comes from.
    pub(super) suggestion: Option<u16>,
}

/// Domain facts are remembered, because lists repeat a few thousand domains millions of
/// times and a typo search costs microseconds. One table serves all worker threads without
/// a lock: each slot is one atomic word holding a domain's tag and its facts, so a reader
/// sees a whole entry or none, and two threads working out the same domain store the same
/// word. A slot is found from the domain's hash and holds a tag from the hash's other bits
/// (39 of them), so a domain is mistaken for another of its four slots with a chance of
/// about one in 10^11 per look-up.
/// Four slots share a cache line; a fifth domain there evicts one, to be worked out again
/// when it comes back.
#[derive(Debug)]
pub(super) struct DomainTable {
    /// The table starts at `start` in `memory`, on a 2 MiB boundary, so that one 2 MiB page
    /// can hold it where the system has them: a look-up then never misses the address
    /// cache (TLB) as well as the data cache.
    pub(super) memory: Box<[AtomicU64]>,
    pub(super) start: usize,
    /// Hashes of the domains worked out, to count them.
    pub(super) seen: Mutex<FxHashSet<u64>>,
}

/// The bit of a facts word that says the domain was sent to DNS.
const ASKED: u64 = 1 << 5;

/// Slots in the table: 2 MiB, room for a few hundred thousand domains.
const FACTS_SLOTS: usize = 1 << 18;
const FACTS_WAYS: usize = 4;

impl Default for DomainTable {
    fn default() -> DomainTable {
        let spare = HUGE_PAGE / size_of::<AtomicU64>();
        // Zero is the empty mark. Zeroed memory from the system is not yet touched, so the
        // advice below comes first.
        let memory = zeroed_atomics(FACTS_SLOTS + spare);
        let address = memory.as_ptr() as usize;
        let start = (address.next_multiple_of(HUGE_PAGE) - address) / size_of::<AtomicU64>();
        advise_huge_pages(&memory[start..start + FACTS_SLOTS]);
        DomainTable {
            memory,
            start,
            seen: Mutex::default(),
        }
    }
}

impl DomainTable {
    /// The slots a domain may be in, and its tag: the low bits of the hash pick the slots,
    /// the high 40 the tag, whose lowest bit is set so that no stored word is zero, the
    /// empty mark.
    pub(super) fn set(&self, hash: u64) -> (&[AtomicU64], u64) {
        let set = (hash as usize & (FACTS_SLOTS - 1)) & !(FACTS_WAYS - 1);
        let set = self.start + set;
        (&self.memory[set..set + FACTS_WAYS], (hash >> 24) | 1)
    }

    /// The facts of a domain when they are in the table.
    pub(super) fn known(&self, hash: u64) -> Option<DomainFacts> {
        let (slots, tag) = self.set(hash);
        slots
            .iter()
            .map(|slot| slot.load(Ordering::Relaxed))
            .find(|word| word >> 24 == tag)
            .map(DomainFacts::unpack)
    }

    /// Sets the domain's [`ASKED`] bit; true when this call set it, or when the domain
    /// has no entry.
    pub(super) fn mark_asked(&self, hash: u64) -> bool {
        let (slots, tag) = self.set(hash);
        for slot in slots {
            let word = slot.load(Ordering::Relaxed);
            if word >> 24 == tag {
                // Of threads marking the same domain at once, one wins.
                return word & ASKED == 0
                    && slot
                        .compare_exchange(word, word | ASKED, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok();
            }
        }
        true
    }

    pub(super) fn of(&self, domain: &str, hash: u64) -> DomainFacts {
        if let Some(facts) = self.known(hash) {
            return facts;
        }
        let (slots, tag) = self.set(hash);
        let facts = DomainFacts::compute(domain);
        let word = tag << 24 | facts.pack();
        let free = slots.iter().find(|slot| slot.load(Ordering::Relaxed) == 0);
        free.unwrap_or(&slots[(tag >> 1) as usize % FACTS_WAYS])
            .store(word, Ordering::Relaxed);
        if let Ok(mut seen) = self.seen.lock() {
            seen.insert(hash);
        }
        facts
    }
}

impl DomainFacts {
    pub(super) fn suggestion(self) -> Option<&'static str> {
        self.suggestion.map(|i| lists::WELL_KNOWN[usize::from(i)])
    }

    /// The facts in the low 24 bits of a word: four flags, whether there is a suggestion,
    /// and its index. Bit 5 ([`ASKED`]) is the pipeline's, not a fact.
    fn pack(self) -> u64 {
        u64::from(self.special_use)
            | u64::from(self.disposable) << 1
            | u64::from(self.free) << 2
            | u64::from(self.well_formed) << 4
            | self
                .suggestion
                .map_or(0, |index| 1 << 3 | u64::from(index) << 8)
    }

    fn unpack(word: u64) -> DomainFacts {
        DomainFacts {
            well_formed: word & 1 << 4 != 0,
            special_use: word & 1 != 0,
            disposable: word & 1 << 1 != 0,
            free: word & 1 << 2 != 0,
            suggestion: (word & 1 << 3 != 0).then_some((word >> 8) as u16),
        }
    }

    pub(super) fn compute(domain: &str) -> DomainFacts {
        let special_use = is_special_use(domain);
        let disposable = !special_use && is_disposable(domain);
        let free = lists::is_free(domain);
        let suggestion = if special_use || free {
            None
        } else {
            typo::suggest_unlisted(domain).and_then(|suggested| {
                let index = lists::WELL_KNOWN.iter().position(|&d| d == suggested)?;
                u16::try_from(index).ok()
            })
        };
        DomainFacts {
            well_formed: is_well_formed_domain(domain),
            special_use,
            disposable,
            free,
            suggestion,
        }
    }
}

/// The 64-bit hash domains are cached and looked up by.
pub fn domain_hash(domain: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(domain.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_facts_survive_packing() {
        for suggestion in [None, Some(0), Some(7), Some(u16::MAX)] {
            for bits in 0..16 {
                let facts = DomainFacts {
                    special_use: bits & 1 != 0,
                    disposable: bits & 2 != 0,
                    free: bits & 4 != 0,
                    well_formed: bits & 8 != 0,
                    suggestion,
                };
                assert_eq!(DomainFacts::unpack(u64::MAX << 24 | facts.pack()), facts);
            }
        }
    }
}
