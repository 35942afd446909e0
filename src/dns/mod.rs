//! The DNS stage: does each domain receive mail?
//!
//! Receives the unique domains of the run and returns one [`DomainOutcome`] per domain:
//! MX records, the null MX (RFC 7505), the implicit MX of a domain without MX records
//! (RFC 5321 §5.1, public addresses only), NXDOMAIN, or "could not tell". It owns the
//! resolver, the single-flight table of the run and the persistent cache; turning an
//! outcome into a row's verdict is left to [`crate::pipeline`].
//!
//! - `stage`: [`DnsStage`], the pipeline's [`crate::pipeline::DomainStage`].
//! - `resolve`: the hickory resolver, pacing, the start-up canary.
//! - `classify`: replies → outcome and how long it may be kept; [`is_global`].
//! - [`cache`]: the persistent cache file.

pub mod cache;
mod classify;
mod resolve;
mod stage;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use classify::{TtlRange, is_global};
pub use resolve::hickory_resolver;
pub use stage::DnsStage;

/// What DNS says about a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DomainOutcome {
    /// MX records, or no MX but a public address (RFC 5321 implicit MX).
    Deliverable,
    /// The null MX `0 .` (RFC 7505).
    NullMx,
    /// No MX and no public address.
    NoMailHost,
    /// NXDOMAIN.
    NotFound,
    /// No answer this time (SERVFAIL, REFUSED, timeout, I/O): never a reason to reject.
    Unknown,
}

impl DomainOutcome {
    /// Every outcome, in the order the report lists them.
    pub const ALL: [DomainOutcome; 5] = [
        DomainOutcome::Deliverable,
        DomainOutcome::NullMx,
        DomainOutcome::NoMailHost,
        DomainOutcome::NotFound,
        DomainOutcome::Unknown,
    ];

    /// The stable name used in the report.
    pub fn code(self) -> &'static str {
        match self {
            DomainOutcome::Deliverable => "deliverable",
            DomainOutcome::NullMx => "null_mx",
            DomainOutcome::NoMailHost => "no_mail_host",
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
    /// Persistent cache file for repeated runs. Default none.
    pub cache: Option<PathBuf>,
    /// Ignore (but refresh) the persistent cache. Default false.
    pub refresh: bool,
    /// How long the persistent cache keeps outcomes that stand on records (deliverable,
    /// null MX): their TTL, clamped to this range. Default 1 hour to 7 days.
    pub positive_ttl: TtlRange,
    /// How long the persistent cache keeps outcomes that stand on negative answers (not
    /// found, no mail host): the SOA's negative TTL (RFC 2308), clamped to this range.
    /// Negative answers without an SOA are not kept. Default 5 minutes to 1 day.
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
