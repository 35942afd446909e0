//! Policy checks: what a syntactically valid address still needs before it is worth
//! sending to.
//!
//! Owns the rules that need no network: special-use and disposable domains, suppression
//! lists, role accounts, free-mail providers, typo suggestions and stale contacts. Duplicates
//! depend on row order and are kept by [`DuplicateSet`], used by the pipeline's ordered
//! step. Whether a domain receives mail is [`crate::dns`]'s question.

pub mod lists;
pub mod stale;
pub mod suppress;
pub mod typo;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};

use rustc_hash::FxHashSet;

use chrono::NaiveDate;

use crate::address::Address;
use crate::sys::memory::{HUGE_PAGE, advise_huge_pages, prefetch_cache_line, zeroed_atomics};
use crate::validate::is_well_formed_domain;
use crate::verdict::{Flags, Reason};

/// The policy choices of a run, built once from the configuration.
#[derive(Debug, Default)]
pub struct Policy {
    /// Keys ([`Address::key`]) of the addresses never to send to.
    pub suppressed: FxHashSet<u128>,
    /// Reject role accounts instead of keeping them as risky.
    pub reject_role: bool,
    /// Last contacts before this date are stale.
    pub stale_cutoff: Option<NaiveDate>,
    /// What this run has worked out about each domain.
    facts: Facts,
}

/// What the policy says about an address that may be kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remarks {
    pub flags: Flags,
    /// A well-known domain the address's domain is probably a typo of.
    pub suggestion: Option<&'static str>,
}

impl Policy {
    /// The policy of a run.
    pub fn new(
        suppressed: FxHashSet<u128>,
        reject_role: bool,
        stale_cutoff: Option<NaiveDate>,
    ) -> Policy {
        Policy {
            suppressed,
            reject_role,
            stale_cutoff,
            facts: Facts::default(),
        }
    }

    /// Applies the per-address rules.
    ///
    /// A typo suggestion is not part of the error: ask [`Policy::check_with_suggestion`]
    /// for it, since a rejected typo domain (many are registered by squatters and listed as
    /// disposable) deserves the suggestion most.
    ///
    /// # Errors
    /// The reason the address must not be sent to: suppressed (first: whatever else is
    /// wrong with it, the person asked not to be mailed), special-use or disposable
    /// domain, or (with `reject_role`) a role account.
    pub fn check(&self, address: &Address<'_>) -> Result<Remarks, Reason> {
        if self.is_suppressed(address.key()) {
            return Err(Reason::Suppressed);
        }
        let facts = self
            .facts
            .of(address.domain(), domain_hash(address.domain()));
        self.check_with(address, facts, lists::is_role(address.local()))
    }

    /// Whether the address with this key ([`Address::key`]) is on a suppression list.
    pub fn is_suppressed(&self, key: u128) -> bool {
        !self.suppressed.is_empty() && self.suppressed.contains(&key)
    }

    /// [`Policy::check`] but for suppression, which the caller looks at first with the key
    /// it has ([`Policy::is_suppressed`]), and the typo suggestion whatever the outcome,
    /// from the look-up of the domain's facts the caller already made
    /// ([`Policy::known_facts`], with the domain's [`domain_hash`]), and whether the local
    /// part is a role account ([`lists::is_role`]).
    pub fn check_with_suggestion(
        &self,
        address: &Address<'_>,
        domain_hash: u64,
        known: KnownFacts,
        role: bool,
    ) -> (Result<Remarks, Reason>, Option<&'static str>) {
        let facts = match known.0 {
            Some(facts) => facts,
            None => self.facts.of(address.domain(), domain_hash),
        };
        (self.check_with(address, facts, role), facts.suggestion())
    }

    fn check_with(
        &self,
        address: &Address<'_>,
        facts: DomainFacts,
        role: bool,
    ) -> Result<Remarks, Reason> {
        let domain = address.domain();
        if facts.special_use {
            return Err(Reason::SpecialUseDomain {
                domain: domain.to_owned(),
            });
        }
        if facts.disposable {
            return Err(Reason::DisposableDomain {
                domain: domain.to_owned(),
            });
        }
        let mut flags = Flags::NONE;
        if role {
            if self.reject_role {
                return Err(Reason::RoleAccount);
            }
            flags.insert(Flags::ROLE);
        }
        if facts.free {
            flags.insert(Flags::FREE);
        }
        if facts.suggestion.is_some() {
            flags.insert(Flags::TYPO);
        }
        Ok(Remarks {
            flags,
            suggestion: facts.suggestion(),
        })
    }

    /// A domain's facts if they are in the table: worked out for an earlier address and
    /// not evicted since. One look-up serves the syntax check and
    /// [`Policy::check_with_suggestion`].
    pub fn known_facts(&self, domain_hash: u64) -> KnownFacts {
        KnownFacts(self.facts.known(domain_hash))
    }

    /// Marks a domain as sent to DNS: true the first time, when the caller is to send it.
    /// A domain whose entry was evicted is sent again (DNS answers a repeat from memory).
    pub fn first_asked(&self, domain_hash: u64) -> bool {
        self.facts.mark_asked(domain_hash)
    }

    /// Starts fetching the table entries of a domain into the cache, for a look-up a little
    /// later ([`Policy::known_facts`], [`Policy::check_with_suggestion`]).
    pub fn prefetch_domain(&self, domain_hash: u64) {
        prefetch_cache_line(&self.facts.set(domain_hash).0[0]);
    }

    /// How many different domains the run's addresses have had (those that passed the
    /// syntax check).
    pub fn unique_domains(&self) -> u64 {
        self.facts.seen.lock().map_or(0, |seen| seen.len() as u64)
    }

    /// Whether a last-contact cell makes the row stale; `None` when the cell holds
    /// something that is not a date we can read, so that the row cannot be judged. An
    /// empty cell is not stale: no evidence is not old evidence.
    pub fn is_stale(&self, last_contact: &str) -> Option<bool> {
        let Some(cutoff) = self.stale_cutoff else {
            return Some(false);
        };
        match stale::parse_date(last_contact) {
            Some(date) => Some(stale::is_stale(date, cutoff)),
            None if last_contact.trim().is_empty() => Some(false),
            None => None,
        }
    }
}

/// A domain's facts as [`Policy::known_facts`] found them: `None` when the table does not
/// have them (yet).
#[derive(Debug, Clone, Copy)]
pub struct KnownFacts(Option<DomainFacts>);

impl KnownFacts {
    /// Whether the domain is known to be well formed: its facts are in the table and say
    /// so. Its syntax then needs no second look.
    pub fn well_formed(self) -> bool {
        self.0.is_some_and(|facts| facts.well_formed)
    }
}

/// What is known about a domain without asking DNS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct DomainFacts {
    /// Whether the domain passes the syntax check ([`crate::validate`]).
    well_formed: bool,
    special_use: bool,
    disposable: bool,
    free: bool,
    /// The well-known domain it is probably a typo of, as an index into
    /// [`lists::WELL_KNOWN`], where every suggestion comes from.
    suggestion: Option<u16>,
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
struct Facts {
    /// The table starts at `start` in `memory`, on a 2 MiB boundary, so that one 2 MiB page
    /// can hold it where the system has them: a look-up then never misses the address
    /// cache (TLB) as well as the data cache.
    memory: Box<[AtomicU64]>,
    start: usize,
    /// Hashes of the domains worked out, to count them.
    seen: Mutex<FxHashSet<u64>>,
}

/// The bit of a facts word that says the domain was sent to DNS.
const ASKED: u64 = 1 << 5;

/// Slots in the table: 2 MiB, room for a few hundred thousand domains.
const FACTS_SLOTS: usize = 1 << 18;
const FACTS_WAYS: usize = 4;

impl Default for Facts {
    fn default() -> Facts {
        let spare = HUGE_PAGE / size_of::<AtomicU64>();
        // Zero is the empty mark. Zeroed memory from the system is not yet touched, so the
        // advice below comes first.
        let memory = zeroed_atomics(FACTS_SLOTS + spare);
        let address = memory.as_ptr() as usize;
        let start = (address.next_multiple_of(HUGE_PAGE) - address) / size_of::<AtomicU64>();
        advise_huge_pages(&memory[start..start + FACTS_SLOTS]);
        Facts {
            memory,
            start,
            seen: Mutex::default(),
        }
    }
}

impl Facts {
    /// The slots a domain may be in, and its tag: the low bits of the hash pick the slots,
    /// the high 40 the tag, whose lowest bit is set so that no stored word is zero, the
    /// empty mark.
    fn set(&self, hash: u64) -> (&[AtomicU64], u64) {
        let set = (hash as usize & (FACTS_SLOTS - 1)) & !(FACTS_WAYS - 1);
        let set = self.start + set;
        (&self.memory[set..set + FACTS_WAYS], (hash >> 24) | 1)
    }

    /// The facts of a domain when they are in the table.
    fn known(&self, hash: u64) -> Option<DomainFacts> {
        let (slots, tag) = self.set(hash);
        slots
            .iter()
            .map(|slot| slot.load(Ordering::Relaxed))
            .find(|word| word >> 24 == tag)
            .map(DomainFacts::unpack)
    }

    /// Sets the domain's [`ASKED`] bit; true when this call set it, or when the domain
    /// has no entry.
    fn mark_asked(&self, hash: u64) -> bool {
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

    fn of(&self, domain: &str, hash: u64) -> DomainFacts {
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
    fn suggestion(self) -> Option<&'static str> {
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

    fn compute(domain: &str) -> DomainFacts {
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

/// Domains reserved by RFC 2606 and RFC 6761 (and `.local`, `.onion`, and `.arpa`, which
/// holds only infrastructure), the names JPRS reserves for examples under `.jp`, and
/// `.internal`, which ICANN reserves for private networks, and IANA's IDN test TLDs: they
/// never receive mail from the internet. Subdomains count (`mail.example.co.jp`).
pub fn is_special_use(domain: &str) -> bool {
    const NAMES: &[&str] = &[
        "example.com",
        "example.net",
        "example.org",
        "example.jp",
        "example.ac.jp",
        "example.ad.jp",
        "example.co.jp",
        "example.ed.jp",
        "example.go.jp",
        "example.gr.jp",
        "example.lg.jp",
        "example.ne.jp",
        "example.or.jp",
    ];
    const TLDS: &[&str] = &[
        "example",
        "test",
        "invalid",
        "localhost",
        "local",
        "onion",
        "arpa",
        "internal",
        // The eleven IDN test TLDs IANA reserves (.テスト, .測試, .пример, ...), as A-labels.
        "xn--kgbechtv",
        "xn--hgbk6aj7f53bba",
        "xn--0zwm56d",
        "xn--g6w251d",
        "xn--80akhbyknj4f",
        "xn--11b5bs3a9aj6g",
        "xn--jxalpdlp",
        "xn--9t4b11yi5a",
        "xn--deba0ad",
        "xn--zckzah",
        "xn--hlcj6aya9esc7a",
    ];
    let tld = domain.rsplit('.').next().unwrap_or(domain);
    TLDS.contains(&tld) || parents(domain).any(|d| NAMES.contains(&d))
}

/// The disposable-domain list, loaded into a hash set once.
static DISPOSABLE: LazyLock<FxHashSet<&'static str>> =
    LazyLock::new(|| mailchecker::blacklist().into_iter().collect());

/// Whether the domain, or a domain it belongs to, is a throw-away mailbox provider.
pub fn is_disposable(domain: &str) -> bool {
    parents(domain).any(|d| DISPOSABLE.contains(d))
}

/// `a.b.example.jp` → `a.b.example.jp`, `b.example.jp`, `example.jp` (never the bare TLD).
fn parents(domain: &str) -> impl Iterator<Item = &str> {
    // What follows each dot but the last, and the domain itself when it has a dot: one
    // pass over the bytes finds them.
    let last_dot = domain.bytes().rposition(|b| b == b'.').unwrap_or(0);
    let after_dots = domain.bytes().enumerate().take(last_dot);
    let starts = after_dots.filter(|&(_, b)| b == b'.').map(|(at, _)| at + 1);
    (last_dot > 0 || domain.starts_with('.'))
        .then_some(0)
        .into_iter()
        .chain(starts)
        .map(|start| &domain[start..])
}

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

    #[test]
    fn facts_from_the_table_are_the_facts_worked_out() {
        let policy = Policy::default();
        let domains = ["gmial.com", "acme.jp", "mailinator.com", "example.com"];
        for _ in 0..2 {
            for domain in domains {
                let facts = policy.facts.of(domain, domain_hash(domain));
                assert_eq!(facts, DomainFacts::compute(domain), "{domain}");
            }
        }
        assert_eq!(policy.unique_domains(), 4);
    }

    #[test]
    fn only_a_well_formed_domain_is_known_as_one() {
        let policy = Policy::default();
        for (domain, well_formed) in [("acme.jp", true), ("-acme.jp", false), ("acme", false)] {
            let hash = domain_hash(domain);
            assert!(!policy.known_facts(hash).well_formed(), "{domain} before");
            let _ = policy.check(&Address::new(format!("a@{domain}").into()).unwrap());
            assert_eq!(
                policy.known_facts(hash).well_formed(),
                well_formed,
                "{domain}"
            );
        }
    }

    #[test]
    fn special_use_domains() {
        for d in [
            "example.com",
            "mail.example.org",
            "x.test",
            "printer.local",
            "abc.onion",
            "a.invalid",
            "example.jp",
            "example.co.jp",
            "www.example.ne.jp",
            "example.or.jp",
            "example.ac.jp",
            "example.go.jp",
            "example.ad.jp",
            "example.ed.jp",
            "example.gr.jp",
            "example.lg.jp",
            "db.corp.internal",
            "xn--r8jz45g.xn--zckzah",
        ] {
            assert!(is_special_use(d), "{d}");
        }
        for d in [
            "notexample.com",
            "testing.jp",
            "example-shoji.co.jp",
            "myexample.co.jp",
            "example.tokyo.jp",
            "example.co.uk",
            "internal.co.jp",
        ] {
            assert!(!is_special_use(d), "{d}");
        }
    }

    #[test]
    fn disposable_domains_include_their_subdomains() {
        assert!(is_disposable("mailinator.com"));
        assert!(is_disposable("eu.mailinator.com"));
        assert!(!is_disposable("gmail.com"));
    }

    #[test]
    fn checks_in_order() {
        let policy = Policy {
            suppressed: [Address::new("Gone@acme.jp".into()).unwrap().key()]
                .into_iter()
                .collect(),
            ..Policy::default()
        };
        let check = |s: &str| policy.check(&Address::new(s.into()).unwrap());
        assert!(matches!(
            check("a@example.com"),
            Err(Reason::SpecialUseDomain { .. })
        ));
        assert!(matches!(
            check("a@mailinator.com"),
            Err(Reason::DisposableDomain { .. })
        ));
        assert_eq!(check("gone@acme.jp"), Err(Reason::Suppressed));
        assert!(check("info@acme.jp").unwrap().flags.contains(Flags::ROLE));
        assert!(check("taro@gmail.com").unwrap().flags.contains(Flags::FREE));
        assert!(matches!(
            check("a@gmial.com"),
            Err(Reason::DisposableDomain { .. })
        ));
        let hash = domain_hash("gmial.com");
        let (_, suggestion) = policy.check_with_suggestion(
            &Address::new("a@gmial.com".into()).unwrap(),
            hash,
            policy.known_facts(hash),
            false,
        );
        assert_eq!(suggestion, Some("gmail.com"));
        let typo = check("taro@gmail.con").unwrap();
        assert_eq!(
            (typo.flags, typo.suggestion),
            (Flags::TYPO, Some("gmail.com"))
        );
        assert_eq!(policy.unique_domains(), 6);
    }

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
