//! [`DnsService`]: the run's [`Resolver`] on a small tokio runtime of its own, with the
//! persistent cache opened and written, for callers that do not run async code.

use std::sync::Arc;
use std::time::SystemTime;

use tokio::runtime::Runtime;

use super::DnsOptions;
use super::answer::{Answer, RecordType};
use super::cache::{CacheWriter, Kept, PersistentCache};
use super::resolver::Resolver;
use crate::error::Error;

/// Worker threads of the runtime: the work is waiting on sockets, and the rows need the
/// cores.
const WORKER_THREADS: usize = 2;

/// The DNS of a run. Questions may be asked from any thread but the runtime's own.
///
/// ```no_run
/// use listclean::dns::{Answer, DnsOptions, DnsService, RecordType};
///
/// let options = DnsOptions {
///     resolvers: vec!["127.0.0.1:5353".parse()?],
///     ..DnsOptions::default()
/// };
/// let dns = DnsService::start(&options)?;
/// for txt in dns.query("example-shoji.co.jp", RecordType::Txt).txt() {
///     println!("{txt}");
/// }
/// let answers = dns.query_all(&[
///     ("example-shoji.co.jp".into(), RecordType::Mx),
///     ("_dmarc.example-shoji.co.jp".into(), RecordType::Txt),
/// ]);
/// assert_eq!(answers.len(), 2);
/// let figures = dns.finish()?;
/// println!("{} lookups", figures.lookups);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DnsService {
    resolver: Arc<Resolver>,
    runtime: Runtime,
    writer: Option<CacheWriter>,
    warnings: Vec<String>,
}

/// What a service did, when it ends.
#[derive(Debug, Clone, Default)]
pub struct ServiceFigures {
    /// Queries sent to the name servers, second tries included.
    pub lookups: u64,
    /// Problems that did not stop the run (an unusable cache file, failed cache writes).
    pub warnings: Vec<String>,
}

impl DnsService {
    /// Starts the runtime and the resolver, opens the persistent cache, and sends the
    /// start-up query that tells whether the name servers answer at all: the root's NS,
    /// one try within the configured timeout, where any response (even REFUSED) counts.
    /// No question goes out before it is answered; a run answered wholly from the
    /// persistent cache does not wait for it.
    ///
    /// # Errors
    /// [`Error::NotACache`] when the cache path names a file that is not a cache;
    /// [`Error::DnsUnavailable`] when the resolver cannot be set up; [`Error::DnsSetup`]
    /// when the runtime or the cache writer thread cannot start. A cache file that cannot
    /// be used is not an error: it is a warning in the figures.
    pub fn start(options: &DnsOptions) -> Result<DnsService, Error> {
        if let Some(path) = &options.cache {
            super::cache::check_path(path)?;
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKER_THREADS)
            .thread_name("dns")
            .enable_all()
            .build()
            .map_err(|source| Error::DnsSetup { source })?;
        let (cache, cached, warnings) = read_cache(options);
        let writer = cache
            .as_ref()
            .map(PersistentCache::writer)
            .transpose()
            .map_err(|source| Error::DnsSetup { source })?;
        let queue = writer.as_ref().map(CacheWriter::queue);
        let resolver = {
            let _inside = runtime.enter();
            Arc::new(Resolver::new(options, cached, queue)?)
        };
        Ok(DnsService {
            resolver,
            runtime,
            writer,
            warnings,
        })
    }

    /// Asks one question and waits for its answer.
    pub fn query(&self, name: &str, kind: RecordType) -> Answer {
        self.runtime.block_on(self.resolver.query(name, kind))
    }

    /// Asks every question at once (within the run's pacing) and waits for all the
    /// answers, in the order asked.
    pub fn query_all(&self, questions: &[(String, RecordType)]) -> Vec<Answer> {
        self.runtime.block_on(async {
            let mut asks = tokio::task::JoinSet::new();
            for (i, (name, kind)) in questions.iter().enumerate() {
                let resolver = Arc::clone(&self.resolver);
                let (name, kind) = (name.clone(), *kind);
                asks.spawn(async move { (i, resolver.query(&name, kind).await) });
            }
            let mut answers = vec![Answer::Failed(super::Failure::Other); questions.len()];
            while let Some(done) = asks.join_next().await {
                if let Ok((i, answer)) = done {
                    answers[i] = answer;
                }
            }
            answers
        })
    }

    /// The resolver, for async callers and clients that run tasks on the service.
    pub fn resolver(&self) -> &Arc<Resolver> {
        &self.resolver
    }

    /// Runs `task` on the service's runtime.
    pub fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.runtime.spawn(task)
    }

    /// Stops the questions still on their way, writes the rest of the persistent cache and
    /// returns the figures.
    ///
    /// # Errors
    /// [`Error::DnsUnavailable`] when some question needed the name servers and none
    /// answered the start-up query: the answers of this run are then not worth keeping.
    pub fn finish(self) -> Result<ServiceFigures, Error> {
        let DnsService {
            resolver,
            runtime,
            writer,
            mut warnings,
        } = self;
        let silent = runtime.block_on(resolver.settle());
        runtime.shutdown_background();
        if let Some(writer) = writer {
            warnings.extend(writer.finish());
        }
        if let Some(detail) = silent {
            return Err(Error::DnsUnavailable { detail });
        }
        Ok(ServiceFigures {
            lookups: resolver.lookups(),
            warnings,
        })
    }
}

/// Opens the persistent cache, if there is one, and reads its live entries (none with
/// `--refresh`). A cache that cannot be used gives a warning, not an error.
fn read_cache(options: &DnsOptions) -> (Option<PersistentCache>, Kept, Vec<String>) {
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
            Kept::default()
        }),
        _ => Kept::default(),
    };
    (cache, cached, warnings)
}
