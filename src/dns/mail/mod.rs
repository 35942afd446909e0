//! Does each domain of a list receive mail? The pipeline's [`DomainStage`], a client of
//! the [`DnsService`].
//!
//! Receives the unique domains of a run and gives one [`DomainOutcome`] per domain: MX
//! records, the null MX (RFC 7505), the implicit MX of a domain without MX records (RFC
//! 5321 §5.1, public addresses only), NXDOMAIN, or "could not tell". The pipeline's threads
//! submit domains and wait for outcomes; the lookups run on the service's runtime. Each
//! domain gets one slot in a table, so a domain is resolved at most once however many rows
//! wait on it, and the table doubles as the run's memory of outcomes. Submitted domains
//! queue in order; a dispatcher starts one lookup per free concurrency permit. A domain
//! that could not be told (SERVFAIL, timeout, ...) goes once more to the back of the queue
//! before it is finally unknown. Turning an outcome into a row's verdict is left to
//! [`crate::pipeline`].
//!
//! - `classify`: the answers about a domain → its outcome.

mod classify;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;
use tokio::sync::{Semaphore, mpsc};

use super::answer::{Answer, Failure, Record, RecordType, Reply};
use super::resolver::Resolver;
use super::service::DnsService;
use super::{DnsOptions, DnsStats, DomainOutcome};
use crate::error::Error;
use classify::{Decision, Mx, MxStep, classify_implicit, classify_mx};

/// How often a wait for an outcome looks whether the run is stopping.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// What the pipeline asks of the mail check: it submits the domains of the rows and waits
/// for their outcomes.
///
/// The pipeline submits each domain about once (it remembers what it submitted and the
/// outcomes it got), possibly from more than one thread.
pub trait DomainStage: Send + Sync {
    /// Starts checking a domain, if it was never asked about. Must not block for long.
    fn submit(&self, domain: &str);
    /// The domain's final outcome. With a `stop` flag, blocks until there is one or the
    /// flag is set (non-zero: the run is stopping), which it looks at every 100 ms.
    fn outcome(&self, domain: &str, stop: Option<&AtomicUsize>) -> Option<DomainOutcome>;
    /// How many submitted domains have no final outcome yet.
    fn backlog(&self) -> usize;
    /// Counts addresses whose domain's outcome the run already had, from an earlier
    /// address, for the figures.
    fn answered_from_memory(&self, addresses: u64);
    /// Why no outcome of this run can be trusted, once that is known: no name server
    /// answers. The run then stops before writing what it decided.
    fn failure(&self) -> Option<Error>;
}

/// The mail check of a run. See the module documentation.
///
/// ```no_run
/// use listclean::dns::{DnsOptions, DomainOutcome, MailStage};
/// use listclean::dns::mail::DomainStage;
///
/// let options = DnsOptions {
///     resolvers: vec!["127.0.0.1:5353".parse()?],
///     ..DnsOptions::default()
/// };
/// let stage = MailStage::start(&options)?;
/// stage.submit("example-shoji.co.jp");
/// // Waiting (on a stop flag never set), there is always an outcome; `Unknown` only after
/// // the second try.
/// let never = std::sync::atomic::AtomicUsize::new(0);
/// if stage.outcome("example-shoji.co.jp", Some(&never)) == Some(DomainOutcome::Deliverable) {
///     println!("example-shoji.co.jp receives mail");
/// }
/// let stats = stage.finish()?;
/// println!("{}", stats.summary());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MailStage {
    shared: Arc<Shared>,
    service: DnsService,
}

/// What the pipeline's threads and the lookup tasks share.
struct Shared {
    state: Mutex<State>,
    /// Signalled whenever a domain gets its final outcome.
    answered: Condvar,
    queue: mpsc::UnboundedSender<Job>,
    resolver: Arc<Resolver>,
}

#[derive(Default)]
struct State {
    /// Every domain asked about; `None` while its lookup (or its retry) is under way.
    domains: FxHashMap<Box<str>, Option<DomainOutcome>>,
    unique: u64,
    hits_run: u64,
    hits_persistent: u64,
    retries: u64,
    /// Domains whose final outcome is unknown, by why (in [`Failure::ALL`] order).
    failures: [u64; Failure::ALL.len()],
    /// Domains submitted whose final outcome is not known yet.
    waiting: usize,
    /// The domains threads are blocked on, so that an answer wakes them only when it is
    /// theirs.
    awaited: Vec<Box<str>>,
    first_submit: Option<Instant>,
    last_answer: Option<Instant>,
}

/// A domain to look up, and whether this is its second try.
struct Job {
    domain: Box<str>,
    retry: bool,
}

impl MailStage {
    /// Starts the DNS service (see [`DnsService::start`]) and the dispatcher of lookups.
    ///
    /// # Errors
    /// As [`DnsService::start`]. Name servers that do not answer are told by
    /// [`DomainStage::failure`] and [`MailStage::finish`].
    pub fn start(options: &DnsOptions) -> Result<MailStage, Error> {
        let service = DnsService::start(options)?;
        let (queue, jobs) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            answered: Condvar::new(),
            queue,
            resolver: Arc::clone(service.resolver()),
        });
        let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
        service.spawn(dispatch(jobs, permits, Arc::clone(&shared)));
        Ok(MailStage { shared, service })
    }

    /// Stops the lookups still running (none, once the pipeline has every outcome it
    /// asked for), writes the rest of the persistent cache and returns the figures.
    ///
    /// # Errors
    /// [`Error::DnsUnavailable`] when some domain needed a lookup and no name server
    /// answered the start-up query (exit code 75: try again later, or run without DNS):
    /// the outcomes of this run are then not worth keeping.
    pub fn finish(self) -> Result<DnsStats, Error> {
        let MailStage { shared, service } = self;
        let figures = service.finish()?;
        let mut warnings = figures.warnings;
        let state = shared.lock();
        let mut outcomes: std::collections::BTreeMap<&'static str, u64> =
            DomainOutcome::ALL.iter().map(|o| (o.code(), 0)).collect();
        for outcome in state.domains.values().flatten() {
            *outcomes.entry(outcome.code()).or_default() += 1;
        }
        let unknown_causes: std::collections::BTreeMap<&'static str, u64> = Failure::ALL
            .iter()
            .zip(state.failures)
            .map(|(failure, n)| (failure.code(), n))
            .collect();
        if let Some(warning) = unknown_warning(&state.failures, state.unique) {
            warnings.push(warning);
        }
        let seconds = match (state.first_submit, state.last_answer) {
            (Some(first), Some(last)) => last.saturating_duration_since(first).as_secs_f64(),
            _ => 0.0,
        };
        Ok(DnsStats {
            unique_domains: state.unique,
            lookups: figures.lookups,
            cache_hits_run: state.hits_run,
            cache_hits_persistent: state.hits_persistent,
            outcomes,
            seconds,
            retries: state.retries,
            unknown_causes,
            warnings,
        })
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the table consistent (every update is one
        // insert), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the final outcome of `domain` and wakes whoever waits for it.
    fn complete(&self, domain: &str, decision: Decision) {
        let mut state = self.lock();
        if let Some(slot) = state.domains.get_mut(domain)
            && slot.replace(decision.outcome).is_none()
        {
            state.waiting -= 1;
            if let Some(failure) = decision.failure {
                state.failures[failure as usize] += 1;
            }
        }
        state.last_answer = Some(Instant::now());
        let awaited = state.awaited.iter().any(|d| **d == *domain);
        drop(state);
        if awaited {
            self.answered.notify_all();
        }
    }

    /// Submits `domain` unless it is known; returns its outcome if it has one.
    fn submit(&self, domain: &str) -> Option<DomainOutcome> {
        let mut state = self.lock();
        if let Some(slot) = state.domains.get(domain) {
            return *slot;
        }
        let now = Instant::now();
        state.first_submit.get_or_insert(now);
        state.unique += 1;
        let cached = cached_outcome(&self.resolver, domain);
        state.domains.insert(domain.into(), cached);
        if cached.is_some() {
            state.hits_persistent += 1;
            state.last_answer = Some(now);
            return cached;
        }
        state.waiting += 1;
        drop(state);
        let job = Job {
            domain: domain.into(),
            retry: false,
        };
        if self.queue.send(job).is_err() {
            // The dispatcher is gone (the runtime is shutting down); waiting for this
            // domain would then hang, so give it its final outcome now.
            self.complete(domain, Decision::unknown(Failure::Other));
        }
        None
    }
}

impl DomainStage for MailStage {
    fn submit(&self, domain: &str) {
        self.shared.submit(domain);
    }

    fn backlog(&self) -> usize {
        self.shared.lock().waiting
    }

    fn answered_from_memory(&self, addresses: u64) {
        self.shared.lock().hits_run += addresses;
    }

    fn failure(&self) -> Option<Error> {
        self.shared
            .resolver
            .failure()
            .map(|detail| Error::DnsUnavailable { detail })
    }

    fn outcome(&self, domain: &str, stop: Option<&AtomicUsize>) -> Option<DomainOutcome> {
        let shared = &self.shared;
        let mut state = shared.lock();
        match state.domains.get(domain) {
            Some(Some(outcome)) => return Some(*outcome),
            Some(None) => {}
            None => {
                // Never submitted: start it, so that waiting cannot hang.
                drop(state);
                if let Some(outcome) = shared.submit(domain) {
                    return Some(outcome);
                }
                state = shared.lock();
            }
        }
        let stop = stop?;
        state.awaited.push(domain.into());
        loop {
            let outcome = state.domains.get(domain).copied().flatten();
            if outcome.is_some() || stop.load(Ordering::Relaxed) != 0 {
                if let Some(i) = state.awaited.iter().position(|d| **d == *domain) {
                    state.awaited.swap_remove(i);
                }
                return outcome;
            }
            state = shared
                .answered
                .wait_timeout(state, STOP_CHECK)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// The warning for a run where many domains could not be checked (at least three, and
/// more than one in twenty), with advice that fits why; `failures` counts them by
/// [`Failure::ALL`].
fn unknown_warning(failures: &[u64; Failure::ALL.len()], unique: u64) -> Option<String> {
    let unknown: u64 = failures.iter().sum();
    if unknown < 3 || unknown * 20 <= unique {
        return None;
    }
    let count = |failure: Failure| failures[failure as usize];
    let turned_away = count(Failure::Refused) + count(Failure::Referral);
    let head = format!(
        "{unknown} of {unique} domains could not be checked: their rows are kept as unknown."
    );
    Some(if turned_away * 2 > unknown {
        // A server that refuses, or answers with referrals, is not a resolver that serves
        // this host: asking again or slower will not help.
        let refused = count(Failure::Refused);
        let referral = count(Failure::Referral);
        let what = [
            (refused > 0).then(|| format!("refused {refused} of them (REFUSED)")),
            (referral > 0)
                .then(|| format!("answered {referral} with a referral instead of an answer")),
        ];
        let what: Vec<String> = what.into_iter().flatten().collect();
        format!(
            "{head} The name servers {}, as an authoritative-only server does, or a resolver \
             that does not serve this host: point --resolver at a recursive resolver that \
             answers this host (without --resolver the system's are used), or run with --no-dns",
            what.join(" and ")
        )
    } else {
        let causes: Vec<String> = [
            (Failure::Timeout, "got no answer in time"),
            (Failure::ServFail, "a SERVFAIL"),
            (
                Failure::Other,
                "another error (a failed send, a malformed answer)",
            ),
        ]
        .iter()
        .filter(|(failure, _)| count(*failure) > 0)
        .map(|(failure, what)| format!("{} {what}", count(*failure)))
        .collect();
        // Silence and SERVFAIL are what a resolver that limits its clients' rate gives,
        // and the retry at the end of the queue comes too soon for it.
        let advice = if (count(Failure::Timeout) + count(Failure::ServFail)) * 2 > unknown {
            "If the name servers limit how fast they may be asked, run again slower, with \
             --dns-qps (such as 200) or a lower --dns-concurrency"
        } else {
            "Check that the name servers can be reached from this host"
        };
        format!("{head} {}, twice. {advice}", causes.join(", "))
    })
}

/// Takes queued domains in order and starts a lookup for each as permits free up, so
/// that at most `permits` domains are being looked up (each asks one question at a time).
/// When no name server answered the start-up query, every domain is unknown at once, and
/// [`DomainStage::failure`] says why.
async fn dispatch(
    mut jobs: mpsc::UnboundedReceiver<Job>,
    permits: Arc<Semaphore>,
    shared: Arc<Shared>,
) {
    while let Some(job) = jobs.recv().await {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let mut guard = Pending {
                shared: &shared,
                domain: &job.domain,
                done: false,
            };
            let decision = resolve(&shared.resolver, &job.domain).await;
            drop(permit);
            if decision.outcome == DomainOutcome::Unknown && !job.retry {
                shared.lock().retries += 1;
                // Back of the queue: the other domains get their turn before this one's
                // second (and last) try, giving a struggling server time to recover.
                let again = Job {
                    domain: job.domain.clone(),
                    retry: true,
                };
                if shared.queue.send(again).is_ok() {
                    guard.done = true;
                    return;
                }
            }
            shared.complete(&job.domain, decision);
            guard.done = true;
        });
    }
}

/// Gives a domain its final outcome, unknown, if its lookup task ends without one (a
/// panic, or the runtime shutting down), so that nobody waits on it forever.
struct Pending<'a> {
    shared: &'a Shared,
    domain: &'a str,
    done: bool,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.shared
                .complete(self.domain, Decision::unknown(Failure::Other));
        }
    }
}

/// An MX record as the classification sees it.
fn mx_of(record: &Record) -> Option<Mx> {
    match record {
        Record::Mx {
            preference,
            exchange,
        } => Some(Mx {
            preference: *preference,
            root: exchange == ".",
            // `localhost` or a name under it (RFC 6761 §6.3: always this host).
            loopback: exchange.eq_ignore_ascii_case("localhost")
                || exchange.to_ascii_lowercase().ends_with(".localhost"),
        }),
        _ => None,
    }
}

fn address_of(record: &Record) -> Option<std::net::IpAddr> {
    match record {
        Record::A(ip) => Some((*ip).into()),
        Record::Aaaa(ip) => Some((*ip).into()),
        _ => None,
    }
}

fn addresses(answer: &Answer) -> Reply<std::net::IpAddr> {
    answer.pick(address_of)
}

/// Looks up one domain: MX, then, without MX records, A and (when A has no public
/// address) AAAA for the implicit MX.
async fn resolve(resolver: &Resolver, domain: &str) -> Decision {
    let mx = resolver.query(domain, RecordType::Mx).await;
    match classify_mx(&mx.pick(mx_of)) {
        MxStep::Decided(decision) => decision,
        MxStep::Implicit => {
            let a = addresses(&resolver.query(domain, RecordType::A).await);
            let first = classify_implicit(&a, None);
            if first.outcome == DomainOutcome::Deliverable {
                return first;
            }
            let aaaa = addresses(&resolver.query(domain, RecordType::Aaaa).await);
            classify_implicit(&a, Some(&aaaa))
        }
    }
}

/// The outcome the persistent cache's answers tell, without asking anybody: `None` when
/// an answer it needs is not kept.
fn cached_outcome(resolver: &Resolver, domain: &str) -> Option<DomainOutcome> {
    let mx = resolver.cached(domain, RecordType::Mx)?;
    match classify_mx(&mx.pick(mx_of)) {
        MxStep::Decided(decision) => Some(decision.outcome),
        MxStep::Implicit => {
            let a = addresses(resolver.cached(domain, RecordType::A)?);
            let first = classify_implicit(&a, None);
            if first.outcome == DomainOutcome::Deliverable {
                return Some(first.outcome);
            }
            let aaaa = addresses(resolver.cached(domain, RecordType::Aaaa)?);
            Some(classify_implicit(&a, Some(&aaaa)).outcome)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_count_in_their_place() {
        // `State::failures` is indexed by the enum's value: it must be its place in `ALL`.
        for (place, failure) in Failure::ALL.iter().enumerate() {
            assert_eq!(*failure as usize, place);
        }
    }

    #[test]
    fn the_warning_names_the_causes_there_were() {
        let mut failures = [0; Failure::ALL.len()];
        failures[Failure::Other as usize] = 5;
        let warning = unknown_warning(&failures, 10).expect("a warning");
        assert!(warning.contains("5 another error"), "{warning}");
        assert!(!warning.contains("0 got no answer"), "{warning}");
        assert!(warning.contains("can be reached"), "{warning}");
        failures[Failure::Timeout as usize] = 20;
        let warning = unknown_warning(&failures, 100).expect("a warning");
        assert!(warning.contains("--dns-qps"), "{warning}");
        assert_eq!(unknown_warning(&[0, 0, 0, 0, 2], 10), None);
    }
}
