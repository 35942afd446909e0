//! [`DnsStage`]: the pipeline's [`DomainStage`], resolving each unique domain once.
//!
//! The pipeline's threads submit domains and wait for outcomes; the lookups run on a
//! small tokio runtime owned by the stage. Each domain gets one slot in a table, so a
//! domain is resolved at most once however many rows wait on it (single flight), and the
//! table doubles as the run's cache. Submitted domains queue in order; a dispatcher starts
//! one lookup per free concurrency permit. A domain that could not be told (SERVFAIL,
//! timeout, ...) goes once more to the back of the queue before it is finally unknown.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use rustc_hash::FxHashMap;
use tokio::runtime::Runtime;
use tokio::sync::{Semaphore, mpsc};

use super::cache::{CacheQueue, CacheWriter, PersistentCache};
use super::classify::{Decision, Failure, MxStep, classify_implicit, classify_mx};
use super::resolve::Resolver;
use super::{DnsOptions, DnsStats, DomainOutcome, TtlRange};
use crate::error::Error;
use crate::pipeline::DomainStage;

/// How often a wait for an outcome looks whether the run is stopping.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// Worker threads of the stage's runtime: the work is waiting on sockets, and the
/// pipeline needs the cores for checking rows.
const WORKER_THREADS: usize = 2;

/// The DNS stage of a run. See the module documentation.
///
/// ```no_run
/// use listclean::dns::{DnsOptions, DnsStage, DomainOutcome};
/// use listclean::pipeline::DomainStage;
///
/// let options = DnsOptions {
///     resolvers: vec!["127.0.0.1:5353".parse()?],
///     ..DnsOptions::default()
/// };
/// let stage = DnsStage::start(&options)?;
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
pub struct DnsStage {
    shared: Arc<Shared>,
    resolver: Arc<Resolver>,
    runtime: Runtime,
    writer: Option<CacheWriter>,
    warnings: Vec<String>,
}

/// What the pipeline's threads and the lookup tasks share.
struct Shared {
    state: Mutex<State>,
    /// Signalled whenever a domain gets its final outcome.
    answered: Condvar,
    queue: mpsc::UnboundedSender<Job>,
    /// The persistent cache's valid answers, read at start (empty with `--refresh`).
    cached: FxHashMap<Box<str>, DomainOutcome>,
    cache_queue: Option<CacheQueue>,
    positive_ttl: TtlRange,
    negative_ttl: TtlRange,
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
    /// Whether some domain was queued for the name servers (was not in the persistent
    /// cache): the start-up query's answer then matters.
    looked_up: bool,
    startup: Startup,
}

/// What came of the start-up query, as far as a lookup has needed to know.
#[derive(Debug, Default, PartialEq, Eq)]
enum Startup {
    #[default]
    Pending,
    Answered,
    /// No name server answered; why.
    Silent(String),
}

/// A domain to look up, and whether this is its second try.
struct Job {
    domain: Box<str>,
    retry: bool,
}

impl DnsStage {
    /// Starts the runtime and the resolver, opens the persistent cache, and sends the
    /// start-up query that tells whether the name servers answer at all: the root's NS,
    /// one try within the configured timeout, where any response (even REFUSED) counts.
    /// No lookup goes out before it is answered. A run that needs no lookup (every domain
    /// in the persistent cache) does not wait for it.
    ///
    /// # Errors
    /// [`Error::NotACache`] when `--cache` names a file that is not a cache;
    /// [`Error::DnsUnavailable`] when the resolver cannot be set up; [`Error::DnsSetup`]
    /// when the runtime or the cache writer thread cannot start. A cache file that cannot
    /// be used is not an error: it is a warning in the stats. Name servers that do not
    /// answer are told by [`DomainStage::failure`] and [`DnsStage::finish`].
    pub fn start(options: &DnsOptions) -> Result<DnsStage, Error> {
        if let Some(path) = &options.cache {
            super::cache::check_path(path)?;
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKER_THREADS)
            .thread_name("dns")
            .enable_all()
            .build()
            .map_err(|source| Error::DnsSetup { source })?;
        let canary = {
            let options = options.clone();
            runtime.spawn(async move { Resolver::canary(&options).await })
        };
        let resolver = runtime.block_on(async { Resolver::new(options) })?;
        // Read while the start-up query waits for its answer.
        let (cache, cached, warnings) = read_cache(options);
        let writer = cache
            .as_ref()
            .map(PersistentCache::writer)
            .transpose()
            .map_err(|source| Error::DnsSetup { source })?;

        let (queue, jobs) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            answered: Condvar::new(),
            queue,
            cached,
            cache_queue: writer.as_ref().map(CacheWriter::queue),
            positive_ttl: options.positive_ttl,
            negative_ttl: options.negative_ttl,
        });
        let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
        let resolver = Arc::new(resolver);
        runtime.spawn(dispatch(
            jobs,
            canary,
            permits,
            Arc::clone(&resolver),
            Arc::clone(&shared),
        ));
        Ok(DnsStage {
            shared,
            resolver,
            runtime,
            writer,
            warnings,
        })
    }

    /// Stops the lookups still running (none, once the pipeline has every outcome it
    /// asked for), writes the rest of the persistent cache and returns the figures.
    ///
    /// # Errors
    /// [`Error::DnsUnavailable`] when some domain needed a lookup and no name server
    /// answered the start-up query (exit code 75: try again later, or run with
    /// `--no-dns`): the outcomes of this run are then not worth keeping.
    pub fn finish(self) -> Result<DnsStats, Error> {
        let DnsStage {
            shared,
            resolver,
            runtime,
            writer,
            mut warnings,
        } = self;
        let mut state = shared.lock();
        // The dispatcher records the start-up query's answer before its first lookup.
        while state.looked_up && state.startup == Startup::Pending {
            state = shared
                .answered
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
        drop(state);
        // Tasks still running are dropped; their domains were never waited on.
        runtime.shutdown_background();
        if let Some(writer) = writer {
            warnings.extend(writer.finish());
        }
        let state = shared.lock();
        if let Startup::Silent(detail) = &state.startup {
            return Err(Error::DnsUnavailable {
                detail: detail.clone(),
            });
        }
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
            lookups: resolver.lookups.load(Ordering::Relaxed),
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

    /// Records the final outcome of `domain`, keeps it in the persistent cache if its
    /// answers allow, and wakes whoever waits for it.
    fn complete(&self, domain: &str, decision: Decision) {
        if let (Some(queue), Some(ttl)) = (&self.cache_queue, decision.ttl) {
            let range = if decision.positive {
                self.positive_ttl
            } else {
                self.negative_ttl
            };
            queue.put(domain, decision.outcome, range.clamp(ttl));
        }
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

    /// Records what came of the start-up query and wakes whoever waits to know it; true
    /// when a name server answered.
    fn startup_answered(&self, result: Result<Result<(), Error>, tokio::task::JoinError>) -> bool {
        let startup = match result {
            Ok(Ok(())) => Startup::Answered,
            Ok(Err(Error::DnsUnavailable { detail })) => Startup::Silent(detail),
            Ok(Err(other)) => Startup::Silent(other.to_string()),
            Err(error) => Startup::Silent(format!("the start-up query failed: {error}")),
        };
        let answered = startup == Startup::Answered;
        self.lock().startup = startup;
        self.answered.notify_all();
        answered
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
        let cached = self.cached.get(domain).copied();
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
        if self.queue.send(job).is_ok() {
            // The dispatcher will learn what came of the start-up query before this lookup.
            self.lock().looked_up = true;
        } else {
            // The dispatcher is gone (the runtime is shutting down); waiting for this
            // domain would then hang, so give it its final outcome now.
            self.complete(domain, Decision::unknown(Failure::Other));
        }
        None
    }
}

impl DomainStage for DnsStage {
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
        match &self.shared.lock().startup {
            Startup::Silent(detail) => Some(Error::DnsUnavailable {
                detail: detail.clone(),
            }),
            Startup::Pending | Startup::Answered => None,
        }
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

/// Opens the persistent cache, if there is one, and reads its live entries (none with
/// `--refresh`). A cache that cannot be used gives a warning, not an error.
fn read_cache(
    options: &DnsOptions,
) -> (
    Option<PersistentCache>,
    FxHashMap<Box<str>, DomainOutcome>,
    Vec<String>,
) {
    let mut warnings = Vec::new();
    let cache = options
        .cache
        .as_deref()
        .and_then(|path| PersistentCache::open(path, &mut warnings));
    let cached = match (&cache, options.refresh) {
        (Some(cache), false) => cache.load(SystemTime::now()).unwrap_or_else(|e| {
            warnings.push(format!(
                "reading the DNS cache failed ({e}); looking everything up"
            ));
            FxHashMap::default()
        }),
        _ => FxHashMap::default(),
    };
    (cache, cached, warnings)
}

/// Takes queued domains in order and starts a lookup for each as permits free up, so
/// that at most `permits` queries are in flight (each lookup asks one question at a time).
/// Before the first, it waits for the start-up query: when no name server answered it,
/// every domain is unknown at once, and [`DomainStage::failure`] says why.
async fn dispatch(
    mut jobs: mpsc::UnboundedReceiver<Job>,
    canary: tokio::task::JoinHandle<Result<(), Error>>,
    permits: Arc<Semaphore>,
    resolver: Arc<Resolver>,
    shared: Arc<Shared>,
) {
    let mut canary = Some(canary);
    let mut answered = false;
    while let Some(job) = jobs.recv().await {
        if let Some(canary) = canary.take() {
            answered = shared.startup_answered(canary.await);
        }
        if !answered {
            shared.complete(&job.domain, Decision::unknown(Failure::Other));
            continue;
        }
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        let resolver = Arc::clone(&resolver);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let mut guard = Pending {
                shared: &shared,
                domain: &job.domain,
                done: false,
            };
            let decision = resolve(&resolver, &job.domain).await;
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

/// Looks up one domain: MX, then, without MX records, A and (when A has no public
/// address) AAAA for the implicit MX.
async fn resolve(resolver: &Resolver, domain: &str) -> Decision {
    let mx = resolver.mx(domain).await;
    match classify_mx(&mx) {
        MxStep::Decided(decision) => decision,
        MxStep::Implicit { negative_ttl } => {
            let a = resolver.addresses(domain, false).await;
            let first = classify_implicit(negative_ttl, &a, None);
            if first.outcome == DomainOutcome::Deliverable {
                return first;
            }
            let aaaa = resolver.addresses(domain, true).await;
            classify_implicit(negative_ttl, &a, Some(&aaaa))
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
