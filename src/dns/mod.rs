//! The DNS stage: does each domain receive mail?
//!
//! Receives the unique domains of the run and returns one [`DomainOutcome`] per domain.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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

/// DNS settings, with defaults documented on each field.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsOptions {
    /// Name servers to ask; empty means the system's (`/etc/resolv.conf`).
    pub resolvers: Vec<SocketAddr>,
    /// Time to wait for one answer. Default 3 s.
    pub timeout: Duration,
    /// Tries per query. Default 2.
    pub attempts: usize,
    /// Queries in flight at once. Default 256.
    pub concurrency: usize,
    /// A ceiling on queries per second; `None` (the default) sets none.
    pub qps: Option<u32>,
    /// Persistent cache file for repeated runs.
    pub cache: Option<PathBuf>,
    /// Ignore (but refresh) the persistent cache.
    pub refresh: bool,
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
        }
    }
}

/// DNS figures for the report.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DnsStats {
    pub unique_domains: u64,
    pub lookups: u64,
    pub cache_hits_run: u64,
    pub cache_hits_persistent: u64,
    pub outcomes: std::collections::BTreeMap<&'static str, u64>,
    pub seconds: f64,
}

impl DnsStats {
    /// One line for the summary on stderr.
    pub fn summary(&self) -> String {
        format!(
            "{} domains, {} lookups, {} from the cache, {:.2} s",
            self.unique_domains, self.lookups, self.cache_hits_persistent, self.seconds
        )
    }
}
