//! The resolver: asks any name for any record type, for every command alike.
//!
//! One hickory resolver per run, with the run's pacing (queries in flight, queries per
//! second, timeouts, attempts), the start-up check that the name servers answer at all,
//! single flight (a question asked while the same one is on its way waits for that answer,
//! and an answer is asked for once per run), and the persistent cache keyed by name and
//! type, which keeps answers for their TTL (negative ones for the SOA's negative TTL, RFC
//! 2308) clamped to the configured ranges. A failure is never kept: the next asker asks
//! again. What answers mean is left to the clients ([`super::mail`] for "does this domain
//! receive mail").

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RecordType as HickoryType};
use rustc_hash::FxHashMap;
use tokio::sync::{OnceCell, Semaphore};
use tokio::time::Instant;

use super::DnsOptions;
use super::answer::{Answer, Failure, Question, Record, RecordType};
use super::cache::{CacheQueue, Kept};
use crate::error::Error;

/// The resolver of a run. See the module documentation.
pub struct Resolver {
    inner: TokioResolver,
    pace: Option<Pace>,
    /// Bounds the queries in flight at once.
    permits: Semaphore,
    /// Queries sent to the network, second tries included.
    lookups: AtomicU64,
    /// Answers the persistent cache held at start, with their expiry (seconds since 1970).
    cached: Kept,
    /// Answers asked for in this run, or being asked for: one cell per question.
    asked: Mutex<FxHashMap<Question, Arc<OnceCell<Answer>>>>,
    cache_queue: Option<CacheQueue>,
    options: DnsOptions,
    /// Whether any question went to the network: the start-up check's result matters then.
    looked_up: AtomicBool,
    /// The start-up check: `Err` with why when no name server answered.
    startup: OnceCell<Result<(), String>>,
    canary: Mutex<Option<tokio::task::JoinHandle<Result<(), Error>>>>,
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
    /// Builds the resolver and starts the start-up check; `cached` is what the persistent
    /// cache holds (empty without one, or with `--refresh`), `cache_queue` where new answers
    /// go to be kept. Must run inside the service's tokio runtime.
    ///
    /// # Errors
    /// [`Error::DnsUnavailable`] when the system's name servers cannot be read or the
    /// resolver cannot be built.
    pub(crate) fn new(
        options: &DnsOptions,
        cached: Kept,
        cache_queue: Option<CacheQueue>,
    ) -> Result<Resolver, Error> {
        let inner = hickory_resolver(options)?;
        let pace = options.qps.map(|qps| Pace {
            interval: Duration::from_secs(1) / qps.max(1),
            next: Mutex::new(None),
        });
        let canary = {
            let options = options.clone();
            tokio::spawn(async move { Resolver::canary(&options).await })
        };
        Ok(Resolver {
            inner,
            pace,
            permits: Semaphore::new(options.concurrency.max(1)),
            lookups: AtomicU64::new(0),
            cached,
            asked: Mutex::new(FxHashMap::default()),
            cache_queue,
            options: options.clone(),
            looked_up: AtomicBool::new(false),
            startup: OnceCell::new(),
            canary: Mutex::new(Some(canary)),
        })
    }

    /// Asks `name` for records of type `kind`: from the persistent cache, from an earlier
    /// question of this run, or from the name servers. Never fails: a question without a
    /// usable answer gets [`Answer::Failed`], which nobody keeps.
    pub async fn query(&self, name: &str, kind: RecordType) -> Answer {
        let question: Question = (name.trim_end_matches('.').to_ascii_lowercase().into(), kind);
        if let Some(answer) = self.cached(&question.0, kind) {
            return answer.clone();
        }
        let cell = {
            let mut asked = lock(&self.asked);
            Arc::clone(asked.entry(question.clone()).or_default())
        };
        let answer = cell
            .get_or_init(|| async { self.ask(&question).await })
            .await
            .clone();
        if let Answer::Failed(_) = answer {
            // Not kept: whoever asks next asks the name servers again.
            let mut asked = lock(&self.asked);
            if asked.get(&question).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                asked.remove(&question);
            }
        }
        answer
    }

    /// The answer the persistent cache holds for a question, if it is still valid. Asks
    /// nobody. `name` is lowercase, without the final dot.
    pub fn cached(&self, name: &str, kind: RecordType) -> Option<&Answer> {
        let (answer, expires) = self.cached.get(name, kind)?;
        (*expires > unix_now()).then_some(answer)
    }

    /// Queries sent to the name servers so far, second tries included.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    /// Why no answer of this run can be trusted, once that is known: no name server
    /// answered the start-up check.
    pub fn failure(&self) -> Option<String> {
        match self.startup.get() {
            Some(Err(detail)) => Some(detail.clone()),
            _ => None,
        }
    }

    /// Waits for the start-up check if any question went to the name servers, and says
    /// why it failed, if it did.
    pub(crate) async fn settle(&self) -> Option<String> {
        if !self.looked_up.load(Ordering::Relaxed) {
            return None;
        }
        self.startup().await.err()
    }

    /// The start-up check's result, waiting for it the first time.
    async fn startup(&self) -> Result<(), String> {
        self.startup
            .get_or_init(|| async {
                let canary = lock(&self.canary).take();
                match canary {
                    Some(canary) => match canary.await {
                        Ok(Ok(())) => self.check_honesty().await,
                        Ok(Err(Error::DnsUnavailable { detail })) => Err(detail),
                        Ok(Err(other)) => Err(other.to_string()),
                        Err(error) => Err(format!("the start-up query failed: {error}")),
                    },
                    None => Err("the start-up query was lost".into()),
                }
            })
            .await
            .clone()
    }

    /// Whether the name servers tell the truth about names every resolver knows: a filtering
    /// or captive resolver that answers NXDOMAIN for everything would have every address of
    /// a list rejected, and one that answers for every name would have every dead domain
    /// kept. Asks for the MX of the [known domains](DnsOptions::known_domains) (one found
    /// is enough; silence proves nothing) and for a random name under the first of them,
    /// which cannot exist. (Not under `.invalid`: resolvers answer that one themselves.)
    async fn check_honesty(&self) -> Result<(), String> {
        let known = &self.options.known_domains;
        let Some(first) = known.first() else {
            return Ok(());
        };
        let missing = format!("listclean-check-{:016x}.{first}", rand_u64());
        let mut asks = Vec::new();
        for name in known {
            asks.push(self.send(name, RecordType::Mx));
        }
        let answers = join_all(asks).await;
        let denied = answers
            .iter()
            .all(|answer| matches!(answer, Answer::NxDomain { .. }));
        if denied {
            return Err(format!(
                "the name servers say that {} do not exist: they filter or rewrite answers \
                 (a captive portal, a filtering resolver), and every address would be \
                 rejected",
                known.join(", ")
            ));
        }
        if let Answer::Records { records, .. } = self.send(&missing, RecordType::A).await
            && !records.is_empty()
        {
            return Err(format!(
                "the name servers answer for {missing}, a name that cannot exist: they \
                 rewrite answers (a captive portal, a filtering resolver), and every dead \
                 domain would be kept"
            ));
        }
        Ok(())
    }

    /// Asks the name servers, once the start-up check says they answer, within the run's
    /// pacing; keeps what may be kept.
    async fn ask(&self, question: &Question) -> Answer {
        self.looked_up.store(true, Ordering::Relaxed);
        if self.startup().await.is_err() {
            return Answer::Failed(Failure::Other);
        }
        let Ok(_permit) = self.permits.acquire().await else {
            return Answer::Failed(Failure::Other);
        };
        let answer = self.lookup(&question.0, question.1).await;
        if let (Some(queue), Some((ttl, positive))) = (&self.cache_queue, answer.ttl()) {
            let range = if positive {
                self.options.positive_ttl
            } else {
                self.options.negative_ttl
            };
            queue.put(question, &answer, range.clamp(ttl));
        }
        answer
    }

    /// Checks that the name servers answer at all: one query for the root's NS to each,
    /// at once, one try with the configured timeout. One answer is enough, so that a dead
    /// server listed first does not fail the check. Any response counts, even REFUSED or
    /// NXDOMAIN; only silence (timeouts, connection errors) fails.
    ///
    /// # Errors
    /// [`Error::DnsUnavailable`] when no name server answered.
    async fn canary(options: &DnsOptions) -> Result<(), Error> {
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
                match resolver.lookup(Name::root(), HickoryType::NS).await {
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

    /// One question to the name servers, reduced to an [`Answer`].
    async fn lookup(&self, domain: &str, kind: RecordType) -> Answer {
        if let Some(pace) = &self.pace {
            pace.wait().await;
        }
        self.lookups.fetch_add(1, Ordering::Relaxed);
        self.send(domain, kind).await
    }

    /// One question to the name servers, neither paced nor counted.
    async fn send(&self, domain: &str, kind: RecordType) -> Answer {
        let Ok(mut name) = Name::from_ascii(domain) else {
            return Answer::Failed(Failure::Other);
        };
        // Fully qualified: exactly one query, never a search-list variant.
        name.set_fqdn(true);
        match self.inner.lookup(name.clone(), kind.to_hickory()).await {
            Ok(lookup) => match follow_chain(&name, kind, lookup.answers()) {
                Some(answers) => {
                    let records: Vec<Record> = answers
                        .iter()
                        .filter_map(|r| Record::from_hickory(&r.data))
                        .collect();
                    let ttl = answers.iter().map(|r| r.ttl).min().unwrap_or(0);
                    Answer::Records { records, ttl }
                }
                // An answer that cannot be trusted tells nothing: never a "no".
                None => Answer::Failed(Failure::Other),
            },
            Err(NetError::Dns(DnsError::NoRecordsFound(nr))) => match nr.response_code {
                // The domain is an alias (CNAME) of a name that does not exist: the domain
                // itself exists, with nothing behind it.
                ResponseCode::NXDomain if *nr.query.name() != name => Answer::NoData {
                    negative_ttl: nr.negative_ttl,
                },
                ResponseCode::NXDomain => Answer::NxDomain {
                    negative_ttl: nr.negative_ttl,
                },
                // Name servers without an SOA are a referral, not an answer (RFC 2308
                // §2.2): the data is on servers that were not asked, as a forwarder may
                // pass on from a zone cut.
                ResponseCode::NoError if nr.soa.is_none() && nr.ns.is_some() => {
                    Answer::Failed(Failure::Referral)
                }
                // No records and no SOA to vouch for their absence (RFC 2308 §2.2): what a
                // loop of aliases gives, or a server that answers carelessly. No proof that
                // there is nothing, so it tells nothing.
                ResponseCode::NoError if nr.soa.is_none() => Answer::Failed(Failure::Other),
                ResponseCode::NoError => Answer::NoData {
                    negative_ttl: nr.negative_ttl,
                },
                code => Answer::Failed(failure_of(code)),
            },
            Err(NetError::Dns(DnsError::ResponseCode(code))) => Answer::Failed(failure_of(code)),
            Err(NetError::Timeout) => Answer::Failed(Failure::Timeout),
            Err(_) => Answer::Failed(Failure::Other),
        }
    }
}

/// Awaits every future at once, and gives their outputs in order.
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    use std::task::Poll;
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// A random number for a name nobody has asked before (so that no cache answers for it).
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

/// A lock, whether or not another thread panicked while holding it: every update of the
/// tables is one insert or remove, so they stay consistent.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Seconds since 1970.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Aliases followed at most, as resolvers commonly allow: a longer chain is no answer.
const MAX_CHAIN: usize = 8;

/// The records of an answer that answer the question: the chain of aliases (CNAME) from
/// the name asked, and the records of the asked type that its last name owns. `None` for
/// an answer that cannot be trusted: a loop of aliases (a name its own alias included), a
/// chain longer than [`MAX_CHAIN`], or records of the asked type that all belong to names
/// off the chain. Records of other names are left out, so what is kept for a name never
/// depends on what was asked before it.
fn follow_chain<'a>(
    asked: &Name,
    kind: RecordType,
    answers: &'a [hickory_resolver::proto::rr::Record],
) -> Option<Vec<&'a hickory_resolver::proto::rr::Record>> {
    use hickory_resolver::proto::rr::RData;
    let mut owner = asked;
    let mut kept = Vec::new();
    let mut seen = vec![asked];
    if kind != RecordType::Cname {
        while let Some(alias) = answers
            .iter()
            .find(|r| r.name == *owner && matches!(r.data, RData::CNAME(_)))
        {
            let RData::CNAME(target) = &alias.data else {
                break;
            };
            if seen.iter().any(|name| **name == target.0) || seen.len() > MAX_CHAIN {
                return None;
            }
            kept.push(alias);
            seen.push(&target.0);
            owner = &target.0;
        }
    }
    let wanted = kind.to_hickory();
    let of_kind = |r: &&hickory_resolver::proto::rr::Record| r.record_type() == wanted;
    let owned: Vec<_> = answers
        .iter()
        .filter(of_kind)
        .filter(|r| r.name == *owner)
        .collect();
    if owned.is_empty() && answers.iter().any(|r| of_kind(&r)) {
        return None;
    }
    kept.extend(owned);
    // Nothing on the chain at all (only records of other names, or of other types): no
    // answer to the question asked.
    (!kept.is_empty()).then_some(kept)
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

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::proto::rr::rdata::{CNAME, MX};
    use hickory_resolver::proto::rr::{RData, Record as HickoryRecord};

    fn name(text: &str) -> Name {
        Name::from_ascii(text).expect("a name")
    }

    fn alias(from: &str, to: &str) -> HickoryRecord {
        HickoryRecord::from_rdata(name(from), 300, RData::CNAME(CNAME(name(to))))
    }

    fn mx(owner: &str) -> HickoryRecord {
        HickoryRecord::from_rdata(
            name(owner),
            300,
            RData::MX(MX::new(10, name("mx.acme.jp."))),
        )
    }

    fn kept(asked: &str, answers: &[HickoryRecord]) -> Option<Vec<String>> {
        follow_chain(&name(asked), RecordType::Mx, answers)
            .map(|records| records.iter().map(|r| r.name.to_ascii()).collect())
    }

    #[test]
    fn answers_are_held_to_the_chain_from_the_name_asked() {
        // Straight, and through an alias.
        assert_eq!(kept("a.jp.", &[mx("a.jp.")]), Some(vec!["a.jp.".into()]));
        assert_eq!(
            kept("a.jp.", &[alias("a.jp.", "b.jp."), mx("b.jp.")]),
            Some(vec!["a.jp.".into(), "b.jp.".into()])
        );
        // Records of a name off the chain are left out, and alone they are no answer.
        assert_eq!(
            kept("a.jp.", &[mx("a.jp."), mx("evil.jp.")]),
            Some(vec!["a.jp.".into()])
        );
        assert_eq!(kept("a.jp.", &[mx("evil.jp.")]), None);
        assert_eq!(kept("a.jp.", &[alias("other.jp.", "b.jp.")]), None);
        // A loop, an alias of itself, and a chain past the limit: no answer.
        assert_eq!(kept("a.jp.", &[alias("a.jp.", "a.jp.")]), None);
        assert_eq!(
            kept("a.jp.", &[alias("a.jp.", "b.jp."), alias("b.jp.", "a.jp.")]),
            None
        );
        let chain: Vec<HickoryRecord> = (0..9)
            .map(|i| alias(&format!("c{i}.jp."), &format!("c{}.jp.", i + 1)))
            .chain([mx("c9.jp.")])
            .collect();
        assert_eq!(kept("c0.jp.", &chain), None);
        assert!(
            kept("c1.jp.", &chain[1..]).is_some(),
            "eight aliases are fine"
        );
        // An alias to a name with no MX: the chain, and nothing of the type.
        assert_eq!(
            kept("a.jp.", &[alias("a.jp.", "b.jp.")]),
            Some(vec!["a.jp.".into()])
        );
    }
}
