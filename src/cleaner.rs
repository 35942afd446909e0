//! The two ways into the library: a [`Cleaner`] that judges every row of a contact list
//! and pushes the decided rows into the caller's [`Sink`], and [`check_address`], which
//! judges one address on its own.
//!
//! The `clean` command ([`crate::cmd::clean`]) is one user of the cleaner: its sinks write
//! the cleaned and rejected files and count the report. Another program can hand the
//! cleaner any reader (a file, standard input, bytes in memory) and a sink of its own.

use std::io::Read;
use std::sync::LazyLock;
use std::sync::atomic::AtomicUsize;

use chrono::NaiveDate;
use rustc_hash::FxHashSet;

use crate::dns::{DnsOptions, DnsStats, MailStage};
use crate::error::Error;
use crate::pipeline::{self, Checker, DomainStage, MAX_EMAIL_COLUMNS, RunState, Sink};
use crate::policy::stale::Period;
use crate::policy::{DuplicateSet, Policy};
use crate::read::ReadOptions;
use crate::read::Source;
use crate::report::Tally;
use crate::verdict::{Checked, Reason};

/// How rows are judged. Every field has a default: [`CleanOptions::default`] detects how
/// to read the input, keeps role accounts as risky, rejects pre-2009 carrier addresses,
/// skips DNS and uses every core.
#[derive(Debug, Clone, Default)]
pub struct CleanOptions {
    /// How to read the input (encoding, delimiter, header, email columns): detected by
    /// default.
    pub read: ReadOptions,
    /// Worker threads; `None` (the default) uses every core.
    pub jobs: Option<usize>,
    /// Keep pre-2009 docomo/ezweb addresses (`a..b@docomo.ne.jp`) flagged instead of
    /// rejecting them. Default false.
    pub keep_legacy_carrier: bool,
    /// Reject role accounts (`info@`, `sales@`) instead of keeping them as risky.
    /// Default false.
    pub reject_role: bool,
    /// Flag rows whose last contact is older than this period, counted back from the date
    /// given, as stale. Needs [`ReadOptions::last_contact_column`]. Default none.
    pub stale_after: Option<(Period, NaiveDate)>,
    /// Verify each domain through DNS; `None` (the default) skips DNS, and kept addresses
    /// are `unknown` unless risky.
    pub dns: Option<DnsOptions>,
}

/// Judges the rows of contact lists. One cleaner may clean several inputs: the domains it
/// has worked out and the DNS answers it has are shared by all of them.
///
/// ```
/// use std::sync::atomic::AtomicUsize;
/// use listclean::{CleanOptions, Cleaner, EachRow, Verdict};
///
/// let csv = "name,email\n\
///            Taro,Taro@Example-Shoji.co.jp\n\
///            Hanako,hanako@@example-shoji.co.jp\n\
///            Jiro,taro@example-shoji.co.jp\n";
/// let cleaner = Cleaner::new(CleanOptions::default(), Default::default())?;
/// let mut rows = Vec::new();
/// let stop = AtomicUsize::new(0);
/// let tally = cleaner.clean(
///     csv.as_bytes(),
///     "memory",
///     &mut EachRow(|row: listclean::Row<'_>| {
///         let what = match row.verdict {
///             Verdict::Keep { status, .. } => status.code().to_string(),
///             Verdict::Reject { reason, .. } => reason.code().to_string(),
///         };
///         rows.push((row.record.line, row.address().unwrap_or("").to_string(), what));
///         Ok(())
///     }),
///     &stop,
/// )?;
/// assert_eq!(rows, [
///     (2, "Taro@example-shoji.co.jp".to_string(), "unknown".to_string()),
///     (3, "".to_string(), "syntax.multiple_at_signs".to_string()),
///     (4, "taro@example-shoji.co.jp".to_string(), "duplicate".to_string()),
/// ]);
/// assert_eq!((tally.cleaned, tally.rejected), (1, 2));
/// # Ok::<(), listclean::Error>(())
/// ```
pub struct Cleaner {
    options: CleanOptions,
    policy: Policy,
    pool: rayon::ThreadPool,
    dns: Option<MailStage>,
}

impl Cleaner {
    /// A cleaner with these options, rejecting the addresses whose keys
    /// ([`crate::address::Address::key`]) are in `suppressed` as `suppressed`. Starts the
    /// worker threads and, with DNS, the resolver.
    ///
    /// # Errors
    /// The worker threads or the DNS stage cannot start (see [`MailStage::start`]).
    pub fn new(options: CleanOptions, suppressed: FxHashSet<u128>) -> Result<Cleaner, Error> {
        let policy = Policy::new(
            suppressed,
            options.reject_role,
            options
                .stale_after
                .map(|(period, today)| period.cutoff(today)),
        );
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(options.jobs.unwrap_or(0))
            .build()
            .map_err(|e| Error::Internal(format!("starting worker threads: {e}")))?;
        let dns = options.dns.as_ref().map(MailStage::start).transpose()?;
        Ok(Cleaner {
            options,
            policy,
            pool,
            dns,
        })
    }

    /// The options this cleaner judges with.
    pub fn options(&self) -> &CleanOptions {
        &self.options
    }

    /// Cleans the contacts `reader` gives (named `name` in messages), pushing every decided
    /// batch of rows to `sink` in input order, and returns the counts. Setting `stop` to a
    /// non-zero value (a signal's number) ends the run with [`Error::Interrupted`].
    ///
    /// # Errors
    /// The input cannot be read as a contact list (see [`Source::from_reader`]), a read
    /// fails, the sink fails, or the run was stopped.
    pub fn clean(
        &self,
        reader: impl Read + Send + 'static,
        name: &str,
        sink: &mut (dyn Sink + Send),
        stop: &AtomicUsize,
    ) -> Result<Tally, Error> {
        let source = Source::from_reader(reader, name, &self.options.read)?;
        let mut tally = Tally::default();
        let state = RunState {
            duplicates: DuplicateSet::with_capacity(0),
            skip: 0,
            checkpoints: None,
        };
        self.run(source, None, state, &mut [sink, &mut tally], stop)?;
        Ok(tally)
    }

    /// Cleans an open source: the pipeline with its state (a fresh one, or a checkpoint's)
    /// and its sinks. With DNS, `prefetch` (the same input opened a second time) lets a
    /// thread submit domains ahead of the rows. Returns the number of rows read.
    ///
    /// # Errors
    /// As [`Cleaner::clean`]; more email columns than a row can carry.
    pub fn run(
        &self,
        source: Source,
        prefetch: Option<Source>,
        state: RunState,
        sinks: &mut [&mut (dyn Sink + Send)],
        stop: &AtomicUsize,
    ) -> Result<u64, Error> {
        if source.email_columns.len() > MAX_EMAIL_COLUMNS {
            return Err(Error::TooManyEmailColumns {
                found: source.email_columns.len(),
                most: MAX_EMAIL_COLUMNS,
            });
        }
        let email_columns = source.email_columns.clone();
        let checker = Checker {
            policy: &self.policy,
            keep_legacy_carrier: self.options.keep_legacy_carrier,
            email_columns: &email_columns,
            last_contact_column: source.last_contact_column,
            header_width: source.header.as_ref().map(|_| source.width),
            cell_encoding: source.dialect.cell_encoding,
            max_record_bytes: source.max_record_bytes,
            max_columns: source.max_columns,
        };
        for sink in sinks.iter_mut() {
            sink.begin(&source)?;
        }
        let dns = self.dns.as_ref().map(|stage| stage as &dyn DomainStage);
        let run = pipeline::Run {
            source,
            prefetch,
            checker: &checker,
            dns,
            state,
        };
        let rows = pipeline::run(run, &self.pool, sinks, stop)?;
        for sink in sinks.iter_mut() {
            sink.finish()?;
        }
        Ok(rows)
    }

    /// How many distinct domains the cleaner has seen.
    pub fn unique_domains(&self) -> u64 {
        self.policy.unique_domains()
    }

    /// Ends the cleaner: stops DNS, writes the rest of its persistent cache and returns its
    /// figures (`None` without DNS).
    ///
    /// # Errors
    /// [`Error::DnsUnavailable`] when lookups were needed and no name server answered: the
    /// DNS outcomes of the run are then not worth keeping.
    pub fn finish(self) -> Result<Option<DnsStats>, Error> {
        self.dns.map(MailStage::finish).transpose()
    }
}

/// Checks one address as `clean` checks an email cell, without the network: repairs
/// (width, spaces, wrappers, `mailto:`, case of the domain, IDN), syntax, and the policy
/// rules that need no DNS (special-use and disposable domains, role accounts, free mail,
/// typo suggestions, legacy carrier forms). Uses [`CleanOptions::default`]'s rules.
///
/// ```
/// use listclean::{Flags, Reason, check_address};
///
/// let checked = check_address(" ｔａｒｏ＠Example-Shoji.co.jp ")?;
/// assert_eq!(checked.address, "taro@example-shoji.co.jp");
/// assert!(checked.flags.contains(Flags::NORMALIZED));
///
/// let typo = check_address("hanako@yahooo.co.jp")?;
/// assert!(typo.flags.contains(Flags::TYPO));
/// assert_eq!(typo.suggestion, Some("yahoo.co.jp"));
///
/// assert_eq!(check_address("info@@example-shoji.co.jp").unwrap_err().code(),
///            "syntax.multiple_at_signs");
/// # Ok::<(), listclean::Reason>(())
/// ```
///
/// # Errors
/// The [`Reason`] the address would be rejected with.
pub fn check_address(text: &str) -> Result<Checked, Reason> {
    static POLICY: LazyLock<Policy> = LazyLock::new(Policy::default);
    let checker = Checker {
        policy: &POLICY,
        keep_legacy_carrier: false,
        email_columns: &[],
        last_contact_column: None,
        header_width: None,
        cell_encoding: crate::read::encoding::CellEncoding::Utf8,
        max_record_bytes: usize::MAX,
        max_columns: usize::MAX,
    };
    checker.check_text(text)
}
