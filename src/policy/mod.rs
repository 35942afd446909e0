//! Policy checks: what a syntactically valid address still needs before it is worth
//! sending to.
//!
//! Owns the rules that need no network: special-use and disposable domains, suppression
//! lists, role accounts, free-mail providers, typo suggestions and stale contacts. Duplicates
//! depend on row order and are kept by [`DuplicateSet`], used by the pipeline's ordered
//! step. Whether a domain receives mail is [`crate::dns`]'s question.

mod domains;
mod duplicates;
pub mod lists;
pub mod stale;
pub mod suppress;
pub mod typo;

use std::sync::LazyLock;

use rustc_hash::FxHashSet;

use chrono::NaiveDate;

use crate::address::Address;
use crate::sys::memory::prefetch_cache_line;

use crate::validate::is_special_use_tld;
use crate::verdict::{Flags, Reason};
pub use domains::{CachedFacts, domain_hash};
use domains::{DomainFacts, DomainTable};
pub use duplicates::DuplicateSet;

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
    facts: DomainTable,
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
            facts: DomainTable::default(),
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
    /// ([`Policy::cached_facts`], with the domain's [`domain_hash`]), and whether the local
    /// part is a role account ([`lists::is_role`]).
    pub fn check_with_suggestion(
        &self,
        address: &Address<'_>,
        domain_hash: u64,
        known: CachedFacts,
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
            // Typo domains are often registered and listed as disposable: the typo is what
            // is wrong with the address.
            let domain = domain.to_owned();
            return Err(match facts.suggestion {
                Some(_) => Reason::TypoDomain { domain },
                None => Reason::DisposableDomain { domain },
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

    /// A well-known domain `domain` (with its [`domain_hash`]) is probably a typo of.
    pub fn suggestion(&self, domain: &str, domain_hash: u64) -> Option<&'static str> {
        self.facts.of(domain, domain_hash).suggestion()
    }

    /// A domain's facts if they are in the table: worked out for an earlier address and
    /// not evicted since. One look-up serves the syntax check and
    /// [`Policy::check_with_suggestion`].
    pub fn cached_facts(&self, domain_hash: u64) -> CachedFacts {
        CachedFacts(self.facts.known(domain_hash))
    }

    /// Marks a domain as sent to DNS: true the first time, when the caller is to send it.
    /// A domain whose entry was evicted is sent again (DNS answers a repeat from memory).
    pub fn first_asked(&self, domain_hash: u64) -> bool {
        self.facts.mark_asked(domain_hash)
    }

    /// Starts fetching the table entries of a domain into the cache, for a look-up a little
    /// later ([`Policy::cached_facts`], [`Policy::check_with_suggestion`]).
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
    let tld = domain.rsplit('.').next().unwrap_or(domain);
    is_special_use_tld(tld) || parents(domain).any(|d| NAMES.contains(&d))
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

#[cfg(test)]
mod tests {
    use super::*;

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
            assert!(!policy.cached_facts(hash).well_formed(), "{domain} before");
            let _ = policy.check(&Address::new(format!("a@{domain}").into()).unwrap());
            assert_eq!(
                policy.cached_facts(hash).well_formed(),
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
        // A typo the disposable list names is a typo first.
        assert!(matches!(
            check("a@gmial.com"),
            Err(Reason::TypoDomain { .. })
        ));
        let hash = domain_hash("gmial.com");
        let (_, suggestion) = policy.check_with_suggestion(
            &Address::new("a@gmial.com".into()).unwrap(),
            hash,
            policy.cached_facts(hash),
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
}
