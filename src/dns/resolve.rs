//! Asking the name servers: builds the one hickory resolver of a run, sends single
//! queries, paces them, and reduces each answer to a [`Reply`].
//!
//! What the replies mean is left to [`super::classify`]; which domains to ask, and when,
//! to [`super::stage`].

use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use tokio::time::Instant;

use super::DnsOptions;
use super::classify::{Failure, Mx, Reply};
use crate::error::Error;

/// The resolver of a run, with its pacing and the count of queries it sent.
pub(crate) struct Resolver {
    inner: TokioResolver,
    pace: Option<Pace>,
    /// Queries sent to the network (MX, A and AAAA), for the report.
    pub lookups: AtomicU64,
}

/// Spaces queries at least `interval` apart: the simplest limiter that keeps a ceiling on
/// queries per second, without a burst after an idle spell (there are none in a run).
struct Pace {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pace {
    async fn wait(&self) {
        let slot = {
            // A poisoned lock only means another query panicked; the slot time is still good.
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// The name servers to ask: the configured ones (UDP, and TCP for truncated answers, on
/// the given port), or the system's.
fn resolver_config(options: &DnsOptions) -> Result<ResolverConfig, Error> {
    if options.resolvers.is_empty() {
        let (config, _) = hickory_resolver::system_conf::read_system_conf().map_err(|e| {
            Error::DnsUnavailable {
                detail: format!("reading the system's name servers (/etc/resolv.conf): {e}"),
            }
        })?;
        return Ok(config);
    }
    let servers = options
        .resolvers
        .iter()
        .map(|addr: &SocketAddr| {
            let mut udp = ConnectionConfig::udp();
            udp.port = addr.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = addr.port();
            NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
        })
        .collect();
    Ok(ResolverConfig::from_name_servers(servers))
}

/// hickory's options for this run. `tries` is the total number of tries per query.
fn resolver_opts(options: &DnsOptions, tries: usize) -> ResolverOpts {
    let mut opts = ResolverOpts::default();
    opts.timeout = options.timeout;
    // hickory counts retries, the command line counts tries.
    opts.attempts = tries.saturating_sub(1);
    // Names are asked fully qualified, so search lists and ndots never apply; /etc/hosts
    // must not answer for a mail domain.
    opts.ndots = 0;
    opts.use_hosts_file = ResolveHosts::Never;
    // One server at a time: asking two in parallel would double the traffic that
    // --dns-qps promises to bound.
    opts.num_concurrent_reqs = 1;
    // The stage bounds queries in flight; hickory must not refuse ("busy") below that.
    opts.max_active_requests = options.concurrency.max(32);
    // hickory caps positive TTLs at one day by default; raise its caps to ours so the TTL
    // that reaches the persistent cache is the server's, clamped by our ranges only.
    opts.positive_max_ttl = Some(options.positive_ttl.max.max(options.positive_ttl.min));
    opts.negative_max_ttl = Some(options.negative_ttl.max.max(options.negative_ttl.min));
    opts
}

fn build(config: ResolverConfig, opts: ResolverOpts) -> Result<TokioResolver, Error> {
    let mut builder =
        hickory_resolver::Resolver::builder_with_config(config, TokioRuntimeProvider::default());
    *builder.options_mut() = opts;
    builder.build().map_err(|e| Error::DnsUnavailable {
        detail: format!("building the resolver: {e}"),
    })
}

/// The hickory resolver of a run, set up as `clean` sets it: for measuring the library
/// alone (`examples/resolverfloor.rs`). Must run inside a tokio runtime.
///
/// # Errors
/// [`Error::DnsUnavailable`] when the system's name servers cannot be read or the resolver
/// cannot be built.
pub fn hickory_resolver(options: &DnsOptions) -> Result<TokioResolver, Error> {
    build(
        resolver_config(options)?,
        resolver_opts(options, options.attempts),
    )
}

impl Resolver {
    /// Builds the resolver. Must run inside the stage's tokio runtime.
    ///
    /// # Errors
    /// [`Error::DnsUnavailable`] when the system's name servers cannot be read or the
    /// resolver cannot be built.
    pub fn new(options: &DnsOptions) -> Result<Resolver, Error> {
        let inner = hickory_resolver(options)?;
        let pace = options.qps.map(|qps| Pace {
            interval: Duration::from_secs(1) / qps.max(1),
            next: Mutex::new(None),
        });
        Ok(Resolver {
            inner,
            pace,
            lookups: AtomicU64::new(0),
        })
    }

    /// Checks that the name servers answer at all: one query for the root's NS to each,
    /// at once, one try with the configured timeout. One answer is enough, so that a dead
    /// server listed first does not fail the check. Any response counts, even REFUSED or
    /// NXDOMAIN; only silence (timeouts, connection errors) fails. Must run inside the
    /// stage's runtime.
    ///
    /// # Errors
    /// [`Error::DnsUnavailable`] when no name server answered.
    pub async fn canary(options: &DnsOptions) -> Result<(), Error> {
        let config = resolver_config(options)?;
        let mut asks = tokio::task::JoinSet::new();
        for server in config.name_servers() {
            let name = match server.connections.first() {
                Some(c) => SocketAddr::new(server.ip, c.port).to_string(),
                None => server.ip.to_string(),
            };
            let one = ResolverConfig::from_name_servers(vec![server.clone()]);
            let resolver = build(one, resolver_opts(options, 1))?;
            asks.spawn(async move {
                match resolver.lookup(Name::root(), RecordType::NS).await {
                    Ok(_) => Ok(()),
                    Err(error) if answered(&error) => Ok(()),
                    Err(error) => Err(format!("{name} ({error})")),
                }
            });
        }
        if asks.is_empty() {
            return Err(Error::DnsUnavailable {
                detail: "no name server is configured".into(),
            });
        }
        let mut silent = Vec::new();
        while let Some(ask) = asks.join_next().await {
            match ask {
                // The other questions are dropped with the set.
                Ok(Ok(())) => return Ok(()),
                Ok(Err(detail)) => silent.push(detail),
                Err(error) => silent.push(error.to_string()),
            }
        }
        Err(Error::DnsUnavailable {
            detail: format!(
                "no answer from {} within {:.1} s",
                silent.join(", "),
                options.timeout.as_secs_f64()
            ),
        })
    }

    async fn lookup(&self, domain: &str, kind: RecordType) -> Result<Lookup, Failure> {
        let mut name = Name::from_ascii(domain).map_err(|_| Failure::Other)?;
        // Fully qualified: exactly one query, never a search-list variant.
        name.set_fqdn(true);
        if let Some(pace) = &self.pace {
            pace.wait().await;
        }
        self.lookups.fetch_add(1, Ordering::Relaxed);
        match self.inner.lookup(name.clone(), kind).await {
            Ok(lookup) => Ok(Lookup::Answer(lookup)),
            Err(NetError::Dns(DnsError::NoRecordsFound(nr))) => match nr.response_code {
                // The domain is an alias (CNAME) of a name that does not exist: the domain
                // itself exists, with nothing behind it.
                ResponseCode::NXDomain if *nr.query.name() != name => {
                    Ok(Lookup::NoData(nr.negative_ttl))
                }
                ResponseCode::NXDomain => Ok(Lookup::NxDomain(nr.negative_ttl)),
                // Name servers without an SOA are a referral, not an answer (RFC 2308
                // §2.2): the data is on servers that were not asked, as a forwarder may
                // pass on from a zone cut.
                ResponseCode::NoError if nr.soa.is_none() && nr.ns.is_some() => {
                    Err(Failure::Referral)
                }
                ResponseCode::NoError => Ok(Lookup::NoData(nr.negative_ttl)),
                code => Err(failure_of(code)),
            },
            Err(NetError::Dns(DnsError::ResponseCode(code))) => Err(failure_of(code)),
            Err(NetError::Timeout) => Err(Failure::Timeout),
            Err(_) => Err(Failure::Other),
        }
    }

    /// Asks for the MX records of `domain`.
    pub async fn mx(&self, domain: &str) -> Reply<Mx> {
        self.reply(domain, RecordType::MX, |data| match data {
            RData::MX(mx) => Some(Mx {
                preference: mx.preference,
                root: mx.exchange.is_root(),
                // `localhost` or a name under it (RFC 6761 §6.3: always this host).
                loopback: mx.exchange.is_localhost(),
            }),
            _ => None,
        })
        .await
    }

    /// Asks for the A (`v6` false) or AAAA records of `domain`.
    pub async fn addresses(&self, domain: &str, v6: bool) -> Reply<IpAddr> {
        let kind = if v6 { RecordType::AAAA } else { RecordType::A };
        self.reply(domain, kind, |data| match data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
            _ => None,
        })
        .await
    }

    async fn reply<T>(
        &self,
        domain: &str,
        kind: RecordType,
        pick: impl Fn(&RData) -> Option<T>,
    ) -> Reply<T> {
        match self.lookup(domain, kind).await {
            Ok(Lookup::Answer(lookup)) => {
                let answers = lookup.answers();
                let records: Vec<T> = answers.iter().filter_map(|r| pick(&r.data)).collect();
                if records.is_empty() {
                    // Only a CNAME (or other types): no data, and no SOA to bound it.
                    return Reply::NoData { negative_ttl: None };
                }
                let ttl = answers.iter().map(|r| r.ttl).min().unwrap_or(0);
                Reply::Records(records, ttl)
            }
            Ok(Lookup::NoData(negative_ttl)) => Reply::NoData { negative_ttl },
            Ok(Lookup::NxDomain(negative_ttl)) => Reply::NxDomain { negative_ttl },
            Err(failure) => Reply::Transient(failure),
        }
    }
}

enum Lookup {
    Answer(hickory_resolver::lookup::Lookup),
    NoData(Option<u32>),
    NxDomain(Option<u32>),
}

/// The failure a response code other than NOERROR and NXDOMAIN stands for.
fn failure_of(code: ResponseCode) -> Failure {
    match code {
        ResponseCode::ServFail => Failure::ServFail,
        ResponseCode::Refused => Failure::Refused,
        _ => Failure::Other,
    }
}

/// Whether an error means a name server did respond (with an error code, or without
/// records), as opposed to silence or a failure to reach it.
fn answered(error: &NetError) -> bool {
    !matches!(
        error,
        NetError::Timeout | NetError::Io(_) | NetError::NoConnections | NetError::Busy
    )
}
