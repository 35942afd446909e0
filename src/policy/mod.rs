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
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use chrono::NaiveDate;

use crate::address::Address;
use crate::verdict::{Flags, Reason};

/// The policy choices of a run, built once from the configuration.
#[derive(Debug, Default)]
pub struct Policy {
    /// Keys ([`Address::key`]) of the addresses never to send to.
    pub suppressed: HashSet<u128>,
    /// Reject role accounts instead of keeping them as risky.
    pub reject_role: bool,
    /// Last contacts before this date are stale.
    pub stale_cutoff: Option<NaiveDate>,
}

/// What the policy says about an address that may be kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remarks {
    pub flags: Flags,
    /// A well-known domain the address's domain is probably a typo of.
    pub suggestion: Option<&'static str>,
}

impl Policy {
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
        let domain = address.domain();
        let facts = DomainFacts::of(domain);
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
            suggestion: facts.suggestion,
        })
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

/// What is known about a domain without asking DNS.
#[derive(Debug, Clone, Copy, Default)]
struct DomainFacts {
    special_use: bool,
    disposable: bool,
    free: bool,
    suggestion: Option<&'static str>,
}

/// Each worker thread remembers the facts of the domains it has seen, because lists repeat
/// a few thousand domains millions of times and a typo search costs microseconds. The
/// cache is dropped when it grows past this many domains, to keep memory bounded on
/// files where every domain is new.
const FACTS_CACHE_LIMIT: usize = 100_000;

thread_local! {
    static FACTS: RefCell<HashMap<Box<str>, DomainFacts>> = RefCell::new(HashMap::new());
}

impl DomainFacts {
    fn of(domain: &str) -> DomainFacts {
        FACTS.with(|cache| {
            if let Some(facts) = cache.borrow().get(domain) {
                return *facts;
            }
            let facts = DomainFacts::compute(domain);
            let mut cache = cache.borrow_mut();
            if cache.len() >= FACTS_CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(domain.into(), facts);
            facts
        })
    }

    fn compute(domain: &str) -> DomainFacts {
        let special_use = is_special_use(domain);
        let disposable = !special_use && is_disposable(domain);
        let free = lists::is_free(domain);
        let suggestion = if special_use || free {
            None
        } else {
            typo::suggest_domain(domain)
        };
        DomainFacts {
            special_use,
            disposable,
            free,
            suggestion,
        }
    }
}

/// The well-known domain that `domain` is probably a typo of.
pub fn suggestion(domain: &str) -> Option<&'static str> {
    DomainFacts::of(domain).suggestion
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
static DISPOSABLE: LazyLock<HashSet<&'static str>> =
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
/// Stores the 128-bit key of each address and the line it was first seen on, so memory
/// stays at a few dozen bytes per unique address however long the addresses are.
#[derive(Debug, Default)]
pub struct DuplicateSet {
    first_lines: HashMap<u128, u64>,
}

impl DuplicateSet {
    /// Records `key` as seen on `line`, or returns the line it was first seen on.
    pub fn first_seen(&mut self, key: u128, line: u64) -> Option<u64> {
        match self.first_lines.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(line);
                None
            }
        }
    }

    pub fn len(&self) -> usize {
        self.first_lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.first_lines.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            suppressed: [Address::new("Gone@acme.jp".into()).unwrap().key()].into(),
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
        assert_eq!(suggestion("gmial.com"), Some("gmail.com"));
        let typo = check("taro@gmail.con").unwrap();
        assert_eq!(
            (typo.flags, typo.suggestion),
            (Flags::TYPO, Some("gmail.com"))
        );
    }

    #[test]
    fn duplicates_remember_the_first_line() {
        let mut set = DuplicateSet::default();
        assert_eq!(set.first_seen(7, 2), None);
        assert_eq!(set.first_seen(7, 9), Some(2));
        assert_eq!(set.len(), 1);
    }
}
