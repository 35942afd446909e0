//! Policy checks: what a syntactically valid address still needs before it is worth
//! sending to.
//!
//! Owns the rules that need no network: special-use and disposable domains, suppression
//! lists, role accounts, free-mail providers, typo suggestions and stale contacts. Duplicates
//! depend on row order and are kept by [`DuplicateSet`], used by the pipeline's ordered
//! step. Whether a domain receives mail is [`crate::dns`]'s question.

pub mod lists;
pub mod stale;
pub mod typo;

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, RwLock};

use rustc_hash::{FxHashMap, FxHashSet};

use chrono::NaiveDate;

use crate::address::Address;
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
    /// A typo suggestion is not part of the error: ask [`suggestion`] for it, since a
    /// rejected typo domain (many are registered by squatters and listed as disposable)
    /// deserves the suggestion most.
    ///
    /// # Errors
    /// The reason the address must not be sent to: special-use or disposable domain,
    /// suppressed, or (with `reject_role`) a role account.
    pub fn check(&self, address: &Address<'_>) -> Result<Remarks, Reason> {
        let facts = self
            .facts
            .of(address.domain(), domain_hash(address.domain()));
        self.check_with(address, facts)
    }

    /// [`Policy::check`], and the typo suggestion whatever the outcome, from one look-up
    /// of the domain, whose [`domain_hash`] the caller has already worked out.
    pub fn check_with_suggestion(
        &self,
        address: &Address<'_>,
        domain_hash: u64,
    ) -> (Result<Remarks, Reason>, Option<&'static str>) {
        let facts = self.facts.of(address.domain(), domain_hash);
        (self.check_with(address, facts), facts.suggestion())
    }

    fn check_with(&self, address: &Address<'_>, facts: DomainFacts) -> Result<Remarks, Reason> {
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
        if !self.suppressed.is_empty() && self.suppressed.contains(&address.key()) {
            return Err(Reason::Suppressed);
        }
        let mut flags = Flags::NONE;
        if lists::is_role(address.local()) {
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

    /// How many different domains the run's addresses have had (those that passed the
    /// syntax check).
    pub fn unique_domains(&self) -> u64 {
        self.facts.seen.lock().map_or(0, |seen| seen.len() as u64)
    }

    /// Whether a last-contact cell makes the row stale. A cell that is empty or not a
    /// date we can read is not stale: no evidence is not old evidence.
    pub fn is_stale(&self, last_contact: &str) -> bool {
        match self.stale_cutoff {
            Some(cutoff) => {
                stale::parse_date(last_contact).is_some_and(|date| stale::is_stale(date, cutoff))
            }
            None => false,
        }
    }
}

/// What is known about a domain without asking DNS. Eight bytes, so that the caches of a
/// few hundred thousand domains stay small.
#[derive(Debug, Clone, Copy, Default)]
struct DomainFacts {
    special_use: bool,
    disposable: bool,
    free: bool,
    /// The well-known domain it is probably a typo of, as an index into
    /// [`lists::WELL_KNOWN`], where every suggestion comes from.
    suggestion: Option<u16>,
}

/// Domain facts are remembered, because lists repeat a few thousand domains millions of
/// times and a typo search costs microseconds. Each worker thread keeps its own copy, so
/// the hot path takes no lock, behind one cache shared by the run, so each domain is worked
/// out once. Either is dropped when it grows past this many domains, to keep memory
/// bounded on files where every domain is new.
const FACTS_CACHE_LIMIT: usize = 200_000;

/// Keyed by a 64-bit hash of the domain rather than the domain itself: no string to
/// compare or keep. Two of even a million domains share a hash with a chance of about
/// one in 10^7.
type FactsCache = FxHashMap<u64, DomainFacts>;

thread_local! {
    /// The thread's copy, tagged with the run it belongs to.
    static LOCAL_FACTS: RefCell<(u64, FactsCache)> = RefCell::new((0, FactsCache::default()));
}

static RUNS: AtomicU64 = AtomicU64::new(1);

/// The domain facts of one run.
#[derive(Debug)]
struct Facts {
    run: u64,
    shared: RwLock<FactsCache>,
    /// Hashes of the domains worked out, to count them.
    seen: Mutex<FxHashSet<u64>>,
}

impl Default for Facts {
    fn default() -> Facts {
        Facts {
            run: RUNS.fetch_add(1, Ordering::Relaxed),
            shared: RwLock::default(),
            seen: Mutex::default(),
        }
    }
}

impl Facts {
    fn of(&self, domain: &str, key: u64) -> DomainFacts {
        LOCAL_FACTS.with(|local| {
            let mut local = local.borrow_mut();
            if local.0 != self.run {
                *local = (self.run, FactsCache::default());
            }
            if let Some(facts) = local.1.get(&key) {
                return *facts;
            }
            let shared = self.shared.read().ok().and_then(|s| s.get(&key).copied());
            let facts = shared.unwrap_or_else(|| {
                let facts = DomainFacts::compute(domain);
                if let Ok(mut shared) = self.shared.write() {
                    remember(&mut shared, key, facts);
                }
                if let Ok(mut seen) = self.seen.lock() {
                    seen.insert(key);
                }
                facts
            });
            remember(&mut local.1, key, facts);
            facts
        })
    }
}

impl DomainFacts {
    fn suggestion(self) -> Option<&'static str> {
        self.suggestion.map(|i| lists::WELL_KNOWN[usize::from(i)])
    }

    fn compute(domain: &str) -> DomainFacts {
        let special_use = is_special_use(domain);
        let disposable = !special_use && is_disposable(domain);
        let free = lists::is_free(domain);
        let suggestion = if special_use || free {
            None
        } else {
            typo::suggest_domain(domain).and_then(|suggested| {
                let index = lists::WELL_KNOWN.iter().position(|&d| d == suggested)?;
                u16::try_from(index).ok()
            })
        };
        DomainFacts {
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

fn remember(cache: &mut FactsCache, key: u64, facts: DomainFacts) {
    if cache.len() >= FACTS_CACHE_LIMIT {
        cache.clear();
    }
    cache.insert(key, facts);
}

/// Domains reserved by RFC 2606 and RFC 6761 (and `.local`, `.onion`, and `.arpa`, which
/// holds only infrastructure): they never receive mail from the internet.
pub fn is_special_use(domain: &str) -> bool {
    const NAMES: &[&str] = &["example.com", "example.net", "example.org"];
    const TLDS: &[&str] = &[
        "example",
        "test",
        "invalid",
        "localhost",
        "local",
        "onion",
        "arpa",
    ];
    let tld = domain.rsplit('.').next().unwrap_or(domain);
    TLDS.contains(&tld)
        || NAMES.iter().any(|name| {
            domain == *name
                || domain
                    .strip_suffix(name)
                    .is_some_and(|sub| sub.ends_with('.'))
        })
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
    std::iter::successors(Some(domain), |d| d.split_once('.').map(|(_, rest)| rest))
        .filter(|d| d.contains('.'))
}

/// The set of addresses already kept, in input order, for the duplicate check.
///
/// Each slot is 12 bytes: 64 bits of the address's key and the 32-bit line it was first
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
            slots: vec![[0; 3]; (n * 100 / MAX_LOAD).max(64)],
            len: 0,
        }
    }

    /// Records `key` as seen on `line` and returns `Ok` with the entry stored (for a
    /// journal: the tag above the line), or `Err` with the line it was first seen on.
    pub fn first_seen(&mut self, key: u128, line: u64) -> Result<u128, u64> {
        let entry =
            u128::from(tag_of(key)) << 32 | u128::from(line.min(u64::from(u32::MAX)) as u32);
        self.insert_entry(entry)?;
        Ok(entry)
    }

    /// Inserts a stored entry (as [`DuplicateSet::first_seen`] returns them); `Err` with the
    /// first line when its address is already there.
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
        #[cfg(target_arch = "x86_64")]
        if !self.slots.is_empty() {
            let slot = self.slots.as_ptr().wrapping_add(self.home(tag_of(key)));
            // SAFETY: SSE is part of every x86_64 processor, and a prefetch is only a hint:
            // it does not dereference the pointer, which points into the table anyway.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(slot.cast())
            };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = key;
    }

    /// The slot a tag starts probing at. The key is already a hash: its bits spread evenly
    /// over the table by a multiply-shift, whatever the table's size.
    fn home(&self, tag: u64) -> usize {
        ((u128::from(tag) * self.slots.len() as u128) >> 64) as usize
    }

    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        self.slots = vec![[0; 3]; (old.len() * 3 / 2).max(64)];
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_facts_are_eight_bytes() {
        assert_eq!(std::mem::size_of::<DomainFacts>(), 8);
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
        ] {
            assert!(is_special_use(d), "{d}");
        }
        for d in [
            "example.co.jp",
            "notexample.com",
            "testing.jp",
            "example-shoji.co.jp",
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
        let (_, suggestion) = policy.check_with_suggestion(
            &Address::new("a@gmial.com".into()).unwrap(),
            domain_hash("gmial.com"),
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
