//! DNS as a service for every command: ask any name for any record type, with the run's
//! pacing, single flight, the start-up check, and the persistent cache. A question without
//! a usable answer is never taken as a "no": clients tell it apart as "could not tell".
//!
//! - [`answer`]: what a name server said ([`Answer`], [`Record`], [`Failure`]).
//! - [`resolver`]: the [`Resolver`], asking and keeping answers.
//! - [`service`]: the [`DnsService`], the resolver on a runtime of its own, for callers
//!   that do not run async code.
//! - [`cache`]: the persistent cache file.
//! - [`ip`]: which addresses the internet can reach.
//! - [`mail`]: one client: does each domain of a list receive mail.

pub mod answer;
pub mod cache;
pub mod ip;
pub mod mail;
pub mod resolver;
pub mod service;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use answer::{Answer, Failure, Record, RecordType};
pub use ip::is_global;
pub use mail::MailStage;
pub use resolver::{Resolver, hickory_resolver};
pub use service::DnsService;

/// What DNS says about a domain as a destination of mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DomainOutcome {
    /// MX records, or no MX but a public address (RFC 5321 implicit MX).
    Deliverable,
    /// The null MX `0 .` (RFC 7505).
    NullMx,
    /// No MX and no public address.
    NoMailHost,
    /// MX records that name only `localhost` (as parked domains publish): no host that mail
    /// can reach either, counted with [`DomainOutcome::NoMailHost`] in the report.
    LocalhostMx,
    /// NXDOMAIN.
    NotFound,
    /// No answer this time (SERVFAIL, REFUSED, timeout, I/O): never a reason to reject.
    Unknown,
}

impl DomainOutcome {
    /// Every outcome, in the order the report lists them.
    pub const ALL: [DomainOutcome; 6] = [
        DomainOutcome::Deliverable,
        DomainOutcome::NullMx,
        DomainOutcome::NoMailHost,
        DomainOutcome::LocalhostMx,
        DomainOutcome::NotFound,
        DomainOutcome::Unknown,
    ];

    /// The stable name used in the report.
    pub fn code(self) -> &'static str {
        match self {
            DomainOutcome::Deliverable => "deliverable",
            DomainOutcome::NullMx => "null_mx",
            DomainOutcome::NoMailHost | DomainOutcome::LocalhostMx => "no_mail_host",
            DomainOutcome::NotFound => "not_found",
            DomainOutcome::Unknown => "unknown",
        }
    }
}

/// DNS settings, with defaults documented on each field.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsOptions {
    /// Name servers to ask; empty (the default) means the system's (`/etc/resolv.conf`).
    pub resolvers: Vec<SocketAddr>,
    /// Time to wait for one answer. Default 3 s.
    pub timeout: Duration,
    /// Tries per query, the first included. Default 2.
    pub attempts: usize,
    /// Queries in flight at once. Default 256.
    pub concurrency: usize,
    /// A ceiling on queries per second; `None` (the default) sets none.
    pub qps: Option<u32>,
    /// Domains that exist and receive mail everywhere, asked for at start to tell a resolver
    /// that denies everything (NXDOMAIN) from one that tells the truth: when it denies all of
    /// them, the run stops. Empty skips the check. Default gmail.com, outlook.com,
    /// yahoo.co.jp.
    pub known_domains: Vec<String>,
    /// Persistent cache file for repeated runs. Default none.
    pub cache: Option<PathBuf>,
    /// Ignore (but refresh) the persistent cache. Default false.
    pub refresh: bool,
    /// How long the persistent cache keeps answers with records (MX, addresses, TXT, ...):
    /// their TTL, clamped to this range. Default 1 hour to 7 days.
    pub positive_ttl: TtlRange,
    /// How long the persistent cache keeps negative answers (no such name, no such record):
    /// the SOA's negative TTL (RFC 2308), clamped to this range. Negative answers without an
    /// SOA are not kept. Default 5 minutes to 1 day.
    pub negative_ttl: TtlRange,
}

impl Default for DnsOptions {
    fn default() -> DnsOptions {
        DnsOptions {
            resolvers: Vec::new(),
            timeout: Duration::from_secs(3),
            attempts: 2,
            concurrency: 256,
            qps: None,
            known_domains: ["gmail.com", "outlook.com", "yahoo.co.jp"]
                .map(String::from)
                .to_vec(),
            cache: None,
            refresh: false,
            positive_ttl: TtlRange {
                min: Duration::from_secs(3600),
                max: Duration::from_secs(7 * 86400),
            },
            negative_ttl: TtlRange {
                min: Duration::from_secs(300),
                max: Duration::from_secs(86400),
            },
        }
    }
}

/// A range that cache lifetimes are clamped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtlRange {
    pub min: Duration,
    pub max: Duration,
}

impl TtlRange {
    /// `ttl` seconds, raised to `min` and lowered to `max`. When `min > max` (which the
    /// binary never builds) `max` wins, so a cache is never kept longer than asked.
    pub fn clamp(&self, ttl: u32) -> Duration {
        Duration::from_secs(u64::from(ttl))
            .max(self.min)
            .min(self.max)
    }
}

/// DNS figures for the report.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DnsStats {
    /// Distinct domains asked about.
    pub unique_domains: u64,
    /// Queries sent to the name servers (MX, A and AAAA, second tries included).
    pub lookups: u64,
    /// Addresses whose domain was already asked about in this run, for an earlier
    /// address: answered from memory.
    pub cache_hits_run: u64,
    /// Domains answered from the persistent cache.
    pub cache_hits_persistent: u64,
    /// Domains per final outcome (`deliverable`, `null_mx`, `no_mail_host`, `not_found`,
    /// `unknown`).
    pub outcomes: std::collections::BTreeMap<&'static str, u64>,
    /// From the first domain submitted to the last answer.
    pub seconds: f64,
    /// Domains tried a second time after a transient failure.
    pub retries: u64,
    /// Domains whose outcome is unknown, by why the last try failed (`timeout`,
    /// `servfail`, `refused`, `referral`, `other`).
    pub unknown_causes: std::collections::BTreeMap<&'static str, u64>,
    /// Problems that did not stop the run (an unusable cache file, failed cache writes).
    pub warnings: Vec<String>,
}

impl DnsStats {
    /// One line for the summary on stderr.
    pub fn summary(&self) -> String {
        let unknown = self.outcomes.get("unknown").copied().unwrap_or(0);
        let causes: Vec<String> = self
            .unknown_causes
            .iter()
            .filter(|&(_, &n)| n > 0)
            .map(|(cause, n)| format!("{n} {cause}"))
            .collect();
        let why = if causes.is_empty() {
            String::new()
        } else {
            format!(" ({})", causes.join(", "))
        };
        format!(
            "{} domains, {} lookups, {} from the cache, {} retried, {} unknown{why}, {:.2} s",
            self.unique_domains,
            self.lookups,
            self.cache_hits_persistent,
            self.retries,
            unknown,
            self.seconds
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_clamping() {
        let positive = TtlRange {
            min: Duration::from_secs(3600),
            max: Duration::from_secs(7 * 86400),
        };
        let secs = |ttl| positive.clamp(ttl).as_secs();
        assert_eq!(secs(0), 3600);
        assert_eq!(secs(60), 3600);
        assert_eq!(secs(3600), 3600);
        assert_eq!(secs(86400), 86400);
        assert_eq!(secs(864_000), 7 * 86400);
        assert_eq!(secs(u32::MAX), 7 * 86400);
        let inverted = TtlRange {
            min: Duration::from_secs(100),
            max: Duration::from_secs(10),
        };
        assert_eq!(inverted.clamp(50).as_secs(), 10);
    }
}
