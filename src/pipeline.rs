//! The pipeline: runs the stages over batches of rows and decides a [`Verdict`] per row.
//!
//! A reader thread fills batches of raw records. Each batch is checked in parallel (rayon):
//! normalize, validate and the per-address policy, which depend on nothing but the row.
//! Its domains go to the DNS stage, which resolves them while later batches are read and
//! checked. Then, in input order, one thread decides each row: DNS outcome, duplicates
//! (which depend on the rows before), status and flags. Decided batches go to the sinks
//! (the output writer, the report tally), and the batch goes back to the reader to be
//! reused, so memory stays flat however long the file.

use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_channel::{Receiver, Sender, bounded};
use rayon::prelude::*;

use crate::dns::DomainOutcome;
use crate::error::Error;
use crate::normalize::normalize;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::checkpoint;
use crate::policy::{DuplicateSet, Policy};
use crate::read::Source;
use crate::read::encoding::{CellEncoding, decode_cell};
use crate::read::records::{Record, Records};
use crate::validate::validate;
use crate::verdict::{Flags, Reason, RowProblem, Status, Verdict};

/// Rows per batch: large enough that handing batches between threads costs nothing next
/// to the work in them, small enough to keep memory and progress fine-grained.
const BATCH_ROWS: usize = 4096;
/// Batches read ahead of the decision step (and so ahead of DNS answers).
const READ_AHEAD: usize = 4;
/// Email columns a row may have; the usable ones are kept as bits of a `u64`.
pub const MAX_EMAIL_COLUMNS: usize = 64;

/// Where decided rows go. The output files are one sink, the report tally another.
pub trait Sink {
    /// Takes a batch of decided rows, in input order.
    ///
    /// # Errors
    /// Whatever stops the sink, such as a failed write.
    fn batch(&mut self, batch: &Batch) -> Result<(), Error>;

    /// Makes everything taken so far durable and records in `state` what resuming needs.
    ///
    /// # Errors
    /// Whatever stops the sink, such as a failed write.
    fn checkpoint(&mut self, state: &mut crate::checkpoint::State) -> Result<(), Error> {
        let _ = state;
        Ok(())
    }
}

/// Answers the pipeline needs from the DNS stage.
///
/// The pipeline submits each domain about once (it remembers what it submitted and the
/// outcomes it got), possibly from more than one thread.
pub trait DomainStage: Send + Sync {
    /// Starts checking a domain, if it was never asked about. Must not block for long.
    fn submit(&self, domain: &str);
    /// The domain's final outcome; with `wait`, blocks until there is one.
    fn outcome(&self, domain: &str, wait: bool) -> Option<DomainOutcome>;
    /// How many submitted domains have no final outcome yet.
    fn backlog(&self) -> usize;
}

/// What is known about one email cell after the per-row checks.
#[derive(Debug, Default)]
pub struct CellEval {
    /// The normalized address when the cell is one; `None` when even splitting failed.
    candidate: Option<Candidate>,
    /// Why the cell cannot be used, if it cannot.
    error: Option<Reason>,
}

#[derive(Debug)]
struct Candidate {
    /// The normalized text, or `None` when it equals the cell byte for byte.
    changed: Option<Box<str>>,
    at: usize,
    key: u128,
    flags: Flags,
    suggestion: Option<&'static str>,
}

impl Candidate {
    fn text<'a>(&'a self, cell: &'a [u8]) -> &'a str {
        match &self.changed {
            Some(text) => text,
            // Unchanged means the cell already was a valid, hence ASCII, address.
            None => std::str::from_utf8(cell).unwrap_or_default(),
        }
    }
}

/// One row's checks and, once decided, its verdict.
#[derive(Debug)]
pub struct RowEval {
    line: u64,
    /// A problem with the whole row (encoding, CSV shape) found before any address check.
    broken: Option<Reason>,
    stale: bool,
    verdict: Verdict,
    /// Bit `i` is set when email column `i` holds a usable address.
    usable: u64,
}

impl Default for RowEval {
    fn default() -> RowEval {
        RowEval {
            line: 0,
            broken: None,
            stale: false,
            verdict: Verdict::Keep {
                status: Status::Unknown,
                flags: Flags::NONE,
                suggestion: None,
            },
            usable: 0,
        }
    }
}

/// A batch of rows moving through the pipeline; reused from one batch to the next.
#[derive(Default)]
pub struct Batch {
    records: Records,
    len: usize,
    rows: Vec<RowEval>,
    cells: Vec<CellEval>,
    /// The record fields of the email columns; the number of cells per row.
    email_columns: Vec<usize>,
    columns: usize,
}

/// A decided row, as the sinks see it.
pub struct Row<'a> {
    pub record: Record<'a>,
    /// The line the row starts on (1-based, the header being line 1).
    pub line: u64,
    pub verdict: &'a Verdict,
    cells: &'a [CellEval],
    usable: u64,
    email_columns: &'a [usize],
}

/// What a sink writes into an email cell of a kept row.
pub enum EmailCell<'a> {
    /// The cell as it was (empty, or this column's address was never looked at).
    Original,
    /// The normalized address.
    Address(&'a str),
    /// Cleared: the cell held an address that cannot be used.
    Cleared,
}

impl<'a> Row<'a> {
    /// What goes into the `i`-th email column of a kept row.
    pub fn email_cell(&self, i: usize) -> EmailCell<'a> {
        let cell = &self.cells[i];
        if self.usable & (1 << i) != 0
            && let Some(candidate) = &cell.candidate
        {
            return EmailCell::Address(candidate.text(self.record.field(self.email_columns[i])));
        }
        match cell.error {
            Some(Reason::Empty) | None => EmailCell::Original,
            Some(_) => EmailCell::Cleared,
        }
    }

    /// The row's address: the kept address, or the one the rejection is about, if the
    /// cell could be read as one.
    pub fn address(&self) -> Option<&'a str> {
        let column = match self.verdict {
            Verdict::Keep { .. } => self.usable.trailing_zeros() as usize,
            Verdict::Reject {
                column: Some(column),
                ..
            } => *column,
            Verdict::Reject { column: None, .. } => return None,
        };
        let candidate = self.cells.get(column)?.candidate.as_ref()?;
        Some(candidate.text(self.record.field(self.email_columns[column])))
    }

    /// The full suggested address for the row's verdict: the address's local part at the
    /// well-known domain its domain is probably a typo of.
    pub fn suggested_address(&self) -> Option<String> {
        let (column, domain) = match self.verdict {
            Verdict::Keep {
                suggestion: Some(domain),
                ..
            } => (self.usable.trailing_zeros() as usize, domain),
            Verdict::Reject {
                suggestion: Some(domain),
                column: Some(column),
                ..
            } => (*column, domain),
            _ => return None,
        };
        let candidate = self.cells.get(column)?.candidate.as_ref()?;
        let text = candidate.text(self.record.field(self.email_columns[column]));
        Some(format!("{}@{}", &text[..candidate.at], domain))
    }
}

impl Batch {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The decided rows, in input order.
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        (0..self.len).map(|i| self.row(i))
    }

    /// The `i`-th decided row.
    pub fn row(&self, i: usize) -> Row<'_> {
        let row = &self.rows[i];
        Row {
            record: self.records.get(i),
            line: row.line,
            verdict: &row.verdict,
            cells: &self.cells[i * self.columns..(i + 1) * self.columns],
            usable: row.usable,
            email_columns: &self.email_columns,
        }
    }

    /// The domains whose DNS outcome this batch's decision needs.
    fn domains(&self) -> impl Iterator<Item = &str> {
        self.rows[..self.len]
            .iter()
            .enumerate()
            .flat_map(move |(i, row)| {
                let cells = &self.cells[i * self.columns..(i + 1) * self.columns];
                cells
                    .iter()
                    .enumerate()
                    .filter_map(move |(col, cell)| match cell {
                        CellEval {
                            candidate: Some(c),
                            error: None,
                        } if row.broken.is_none() => Some(
                            &c.text(self.records.get(i).field(self.email_columns[col]))[c.at + 1..],
                        ),
                        _ => None,
                    })
            })
    }
}

/// The per-row checks, shared by the worker threads.
pub struct Checker<'a> {
    pub policy: &'a Policy,
    pub keep_legacy_carrier: bool,
    pub email_columns: &'a [usize],
    pub last_contact_column: Option<usize>,
    /// Columns the header has; `None` without a header, when ragged rows are normal.
    pub header_width: Option<usize>,
    pub cell_encoding: CellEncoding,
    pub max_record_bytes: usize,
}

impl Checker<'_> {
    fn eval(&self, record: Record<'_>, row: &mut RowEval, cells: &mut [CellEval]) {
        row.line = record.line;
        row.broken = self.broken(record);
        row.stale = false;
        row.usable = 0;
        for cell in cells.iter_mut() {
            *cell = CellEval::default();
        }
        if row.broken.is_some() {
            return;
        }
        for (cell, &col) in cells.iter_mut().zip(self.email_columns) {
            *cell = self.eval_cell(record.field(col));
        }
        if let Some(col) = self.last_contact_column {
            row.stale = decode_cell(record.field(col), self.cell_encoding)
                .is_some_and(|date| self.policy.is_stale(&date));
        }
    }

    fn broken(&self, record: Record<'_>) -> Option<Reason> {
        let malformed = |problem| Some(Reason::MalformedRow { problem });
        if record.too_large {
            return malformed(RowProblem::TooLarge {
                limit: self.max_record_bytes,
            });
        }
        if memchr_nul(record.field_bytes()) {
            return malformed(RowProblem::NulByte);
        }
        if let Some(expected) = self.header_width
            && record.len() > expected
            && record.iter().skip(expected).any(|cell| !cell.is_empty())
        {
            return malformed(RowProblem::TooManyFields {
                expected,
                found: record.len(),
            });
        }
        if !is_valid_text(record, self.cell_encoding) {
            return Some(Reason::EncodingError);
        }
        None
    }

    fn eval_cell(&self, cell: &[u8]) -> CellEval {
        let Some(text) = decode_cell(cell, self.cell_encoding) else {
            return CellEval {
                candidate: None,
                error: Some(Reason::EncodingError),
            };
        };
        let address = match normalize(&text) {
            Ok(address) => address,
            Err(reason) => {
                return CellEval {
                    candidate: None,
                    error: Some(reason),
                };
            }
        };
        let mut candidate = Candidate {
            changed: (address.as_str().as_bytes() != cell).then(|| address.as_str().into()),
            at: address.local().len(),
            key: address.key(),
            flags: Flags::NONE,
            suggestion: None,
        };
        if candidate.changed.is_some() {
            candidate.flags.insert(Flags::NORMALIZED);
        }
        if address.as_str().starts_with(['=', '+', '-']) {
            candidate.flags.insert(Flags::FORMULA_RISK);
        }
        let error = match validate(&address, self.keep_legacy_carrier) {
            Err(reason) => Some(reason),
            Ok(flags) => {
                let (remarks, suggestion) = self.policy.check_with_suggestion(&address);
                candidate.suggestion = suggestion;
                match remarks {
                    Ok(remarks) => {
                        candidate.flags.insert(flags | remarks.flags);
                        None
                    }
                    Err(reason) => Some(reason),
                }
            }
        };
        CellEval {
            candidate: Some(candidate),
            error,
        }
    }
}

fn memchr_nul(bytes: &[u8]) -> bool {
    bytes.contains(&0)
}

/// Whether every cell of a record is valid in its encoding.
///
/// For UTF-8 one pass over the whole record does: the concatenation of the cells is valid
/// and no cell starts with a continuation byte exactly when every cell is valid.
fn is_valid_text(record: Record<'_>, encoding: CellEncoding) -> bool {
    match encoding {
        CellEncoding::Utf8 => {
            std::str::from_utf8(record.field_bytes()).is_ok()
                && record
                    .iter()
                    .all(|cell| cell.first().is_none_or(|b| b & 0xC0 != 0x80))
        }
        CellEncoding::Cp932 => record
            .iter()
            .all(|cell| decode_cell(cell, encoding).is_some()),
    }
}

/// The ordered step: decides each row of a checked batch.
struct Decider<'a> {
    duplicates: DuplicateSet,
    dns: Option<Answers<'a>>,
    /// With checkpoints, the duplicate-set entries added by the batch being decided, for
    /// the journal.
    journaling: bool,
    kept: Vec<u128>,
}

/// The DNS answers the pipeline has seen, so that each domain goes to the DNS stage about
/// once, and rows look their domain up without taking the stage's lock.
struct Answers<'a> {
    dns: &'a dyn DomainStage,
    known: FxHashMap<Box<str>, DomainOutcome>,
}

impl<'a> Answers<'a> {
    fn new(dns: &'a dyn DomainStage) -> Answers<'a> {
        Answers {
            dns,
            known: FxHashMap::default(),
        }
    }

    /// The domain's final outcome, waiting for it if need be.
    fn outcome(&mut self, domain: &str) -> DomainOutcome {
        if let Some(outcome) = self.known.get(domain) {
            return *outcome;
        }
        let outcome = self
            .dns
            .outcome(domain, true)
            .unwrap_or(DomainOutcome::Unknown);
        self.known.insert(domain.into(), outcome);
        outcome
    }
}

impl Decider<'_> {
    fn decide(&mut self, batch: &mut Batch) {
        let columns = batch.columns;
        // The duplicate set is far larger than the caches: ask for the slot of the row a
        // few rows ahead, so it has arrived by the time that row is decided.
        const AHEAD: usize = 8;
        let key = |i: usize| {
            batch
                .cells
                .get(i * columns)
                .and_then(|c| c.candidate.as_ref())
                .map(|c| c.key)
        };
        for i in 0..AHEAD.min(batch.len) {
            if let Some(key) = key(i) {
                self.duplicates.prefetch(key);
            }
        }
        for i in 0..batch.len {
            if let Some(key) = key(i + AHEAD).filter(|_| i + AHEAD < batch.len) {
                self.duplicates.prefetch(key);
            }
            let cells = &batch.cells[i * columns..(i + 1) * columns];
            let row = &mut batch.rows[i];
            if let Some(reason) = row.broken.clone() {
                row.verdict = Verdict::Reject {
                    reason,
                    column: None,
                    suggestion: None,
                };
                continue;
            }
            row.verdict = self.decide_row(row, cells, batch.records.get(i), &batch.email_columns);
        }
    }

    fn decide_row(
        &mut self,
        row: &mut RowEval,
        cells: &[CellEval],
        record: Record<'_>,
        email_columns: &[usize],
    ) -> Verdict {
        let mut first_problem: Option<(usize, Reason, Option<&'static str>)> = None;
        let mut primary: Option<(usize, &Candidate, DomainOutcome)> = None;
        let mut flags = Flags::NONE;
        for (col, cell) in cells.iter().enumerate() {
            let problem = match cell {
                CellEval {
                    candidate: Some(c),
                    error: None,
                } => {
                    let domain = &c.text(record.field(email_columns[col]))[c.at + 1..];
                    let outcome = match &mut self.dns {
                        Some(answers) => answers.outcome(domain),
                        None => DomainOutcome::Unknown,
                    };
                    match dns_rejection(outcome, domain) {
                        None => {
                            row.usable |= 1 << col;
                            if c.flags.contains(Flags::NORMALIZED) {
                                flags.insert(Flags::NORMALIZED);
                            }
                            primary.get_or_insert((col, c, outcome));
                            continue;
                        }
                        Some(reason) => (reason, c.suggestion),
                    }
                }
                CellEval {
                    error: Some(reason),
                    candidate,
                } => (
                    reason.clone(),
                    candidate.as_ref().and_then(|c| c.suggestion),
                ),
                CellEval {
                    error: None,
                    candidate: None,
                } => continue,
            };
            let (reason, suggestion) = problem;
            if reason != Reason::Empty {
                flags.insert(Flags::OTHER_ADDRESS_REMOVED);
            }
            let replaces = match &first_problem {
                None => true,
                Some((_, previous, _)) => *previous == Reason::Empty && reason != Reason::Empty,
            };
            if replaces {
                first_problem = Some((col, reason, suggestion));
            }
        }
        let Some((col, candidate, outcome)) = primary else {
            let (column, reason, suggestion) = first_problem.unwrap_or((0, Reason::Empty, None));
            return Verdict::Reject {
                reason,
                column: Some(column),
                suggestion,
            };
        };
        match self.duplicates.first_seen(candidate.key, row.line) {
            Ok(entry) if self.journaling => self.kept.push(entry),
            Ok(_) => {}
            Err(first_line) => {
                row.usable = 0;
                return Verdict::Reject {
                    reason: Reason::Duplicate { first_line },
                    column: Some(col),
                    suggestion: None,
                };
            }
        }
        flags.insert(candidate.flags);
        if row.stale {
            flags.insert(Flags::STALE);
        }
        if self.dns.is_some() && outcome == DomainOutcome::Unknown {
            flags.insert(Flags::DNS_UNKNOWN);
        }
        let status = if flags.is_risky() {
            Status::Risky
        } else if outcome == DomainOutcome::Deliverable {
            Status::Valid
        } else {
            Status::Unknown
        };
        Verdict::Keep {
            status,
            flags,
            suggestion: candidate.suggestion,
        }
    }
}

/// The rejection DNS proves, if any. "Unknown" never rejects.
fn dns_rejection(outcome: DomainOutcome, domain: &str) -> Option<Reason> {
    let domain = domain.to_owned();
    match outcome {
        DomainOutcome::Deliverable | DomainOutcome::Unknown => None,
        DomainOutcome::NotFound => Some(Reason::DomainNotFound { domain }),
        DomainOutcome::NullMx => Some(Reason::NullMx { domain }),
        DomainOutcome::NoMailHost => Some(Reason::NoMailHost { domain }),
    }
}

/// Runs the pipeline over `source`, pushing every decided batch to each sink in turn.
/// Returns the number of rows read.
///
/// # Errors
/// A read error, or the first error of a sink.
///
/// With DNS, `prefetch` (the same input opened a second time) lets a thread run ahead of
/// the rows, submitting each new domain as soon as it appears, so that lookups overlap with
/// the row work instead of following it.
#[allow(clippy::too_many_arguments)]
pub fn run(
    source: Source,
    prefetch: Option<Source>,
    stop: &AtomicUsize,
    pool: &rayon::ThreadPool,
    checker: &Checker<'_>,
    dns: Option<&dyn DomainStage>,
    state: RunState,
    sinks: &mut [&mut (dyn Sink + Send)],
) -> Result<u64, Error> {
    let columns = checker.email_columns.len();
    let RunState {
        duplicates,
        skip,
        mut checkpoints,
    } = state;
    let (full_tx, full_rx) = bounded::<Batch>(READ_AHEAD);
    let (empty_tx, empty_rx) = bounded::<Batch>(READ_AHEAD + 2);
    for _ in 0..READ_AHEAD + 2 {
        empty_tx
            .send(Batch {
                email_columns: checker.email_columns.to_vec(),
                columns,
                ..Batch::default()
            })
            .map_err(|_| Error::Internal("batch pool closed".into()))?;
    }
    let done = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || read_batches(source, skip, stop, empty_rx, full_tx));
        if let (Some(prefetch), Some(dns)) = (prefetch, dns) {
            let done = &done;
            scope.spawn(move || prefetch_domains(prefetch, checker, dns, stop, done));
        }
        let mut decider = Decider {
            duplicates,
            dns: dns.map(Answers::new),
            journaling: checkpoints.is_some(),
            kept: Vec::new(),
        };
        let result = process(
            &full_rx,
            &empty_tx,
            pool,
            checker,
            &mut decider,
            checkpoints.as_mut(),
            skip,
            sinks,
        );
        // The prefetcher stops when it sees this.
        done.store(1, Ordering::Relaxed);
        // Unblock the reader if processing stopped early.
        drop(full_rx);
        drop(empty_tx);
        let read = reader
            .join()
            .map_err(|_| Error::Internal("the reader thread panicked".into()))?;
        let rows = read?;
        result.map(|()| rows)
    })
}

fn read_batches(
    mut source: Source,
    skip: u64,
    stop: &AtomicUsize,
    empty: Receiver<Batch>,
    full: Sender<Batch>,
) -> Result<u64, Error> {
    // Resuming: the rows before the checkpoint are read again (lines stay right) and
    // passed over.
    let mut rows = 0;
    let mut skipped = Records::default();
    while rows < skip {
        let n = source.read_batch(&mut skipped, BATCH_ROWS.min((skip - rows) as usize))?;
        if n == 0 {
            return Err(Error::Internal(format!(
                "the input ended before the checkpoint's row {skip}"
            )));
        }
        rows += n as u64;
    }
    while let Ok(mut batch) = empty.recv() {
        match stop.load(Ordering::Relaxed) {
            0 => {}
            signal => return Err(Error::Interrupted { signal }),
        }
        batch.len = source.read_batch(&mut batch.records, BATCH_ROWS)?;
        if batch.len == 0 {
            break;
        }
        rows += batch.len as u64;
        if full.send(batch).is_err() {
            break;
        }
    }
    Ok(rows)
}

/// Checks batches as they arrive, and decides them on a thread of its own, in order, so
/// that the ordered step overlaps with the parallel checks of the batches after it. The
/// channel between the two is the look-ahead: with DNS, the decider waits for a batch's
/// answers while the batches behind it are read, checked and their domains submitted.
#[allow(clippy::too_many_arguments)]
fn process(
    full: &Receiver<Batch>,
    empty: &Sender<Batch>,
    pool: &rayon::ThreadPool,
    checker: &Checker<'_>,
    decider: &mut Decider<'_>,
    mut checkpoints: Option<&mut Checkpoints>,
    mut rows: u64,
    sinks: &mut [&mut (dyn Sink + Send)],
) -> Result<(), Error> {
    let (checked_tx, checked_rx) = bounded::<Batch>(READ_AHEAD);
    let dns = decider.dns.as_ref().map(|answers| answers.dns);
    std::thread::scope(|scope| {
        let deciding = scope.spawn(move || -> Result<(), Error> {
            for mut batch in checked_rx {
                decider.decide(&mut batch);
                pool.install(|| sinks.iter_mut().try_for_each(|sink| sink.batch(&batch)))?;
                rows += batch.len as u64;
                if let Some(checkpoints) = checkpoints.as_deref_mut() {
                    for entry in decider.kept.drain(..) {
                        checkpoints.journal.append(entry)?;
                    }
                    if rows >= checkpoints.next {
                        checkpoints.save(rows, sinks)?;
                    }
                }
                // The reader may have stopped (end of input); the batch is then dropped.
                let _ = empty.send(batch);
            }
            Ok(())
        });
        // Each domain goes to DNS once, as soon as its first row is checked.
        let mut asked: FxHashSet<Box<str>> = FxHashSet::default();
        while let Ok(mut batch) = full.recv() {
            pool.install(|| check(&mut batch, checker));
            if let Some(dns) = dns {
                for domain in batch.domains() {
                    if !asked.contains(domain) {
                        asked.insert(domain.into());
                        dns.submit(domain);
                    }
                }
            }
            if checked_tx.send(batch).is_err() {
                break; // The decider stopped; its error says why.
            }
        }
        drop(checked_tx);
        deciding
            .join()
            .map_err(|_| Error::Internal("the deciding thread panicked".into()))?
    })
}

/// Where a run starts: the duplicate set (empty, or rebuilt from a checkpoint), how many
/// rows a checkpoint already covers, and whether to write checkpoints.
pub struct RunState {
    pub duplicates: DuplicateSet,
    pub skip: u64,
    pub checkpoints: Option<Checkpoints>,
}

/// Writing checkpoints every so many rows.
pub struct Checkpoints {
    pub every: u64,
    pub next: u64,
    pub state: checkpoint::State,
    pub paths: checkpoint::CheckpointPaths,
    pub journal: checkpoint::Journal,
}

impl Checkpoints {
    /// Syncs the journal and every sink, then records the checkpoint: only then does it
    /// count everything up to `rows`.
    fn save(&mut self, rows: u64, sinks: &mut [&mut (dyn Sink + Send)]) -> Result<(), Error> {
        self.state.journal_entries = self.journal.sync()?;
        for sink in sinks.iter_mut() {
            sink.checkpoint(&mut self.state)?;
        }
        self.state.rows = rows;
        self.state.save(&self.paths)?;
        self.next = rows + self.every;
        Ok(())
    }
}

/// While DNS has at least this many lookups waiting, running further ahead gains nothing.
const PREFETCH_SATURATED: usize = 4096;

/// Reads the input ahead of the pipeline and submits each new domain to DNS.
///
/// It stops at the end of the input, when the run ends or is stopped, and when DNS answers
/// everything it submits at once (a warm persistent cache): then DNS is not what the run
/// waits for, and reading the file twice would only cost time.
fn prefetch_domains(
    mut source: Source,
    checker: &Checker<'_>,
    dns: &dyn DomainStage,
    stop: &AtomicUsize,
    done: &AtomicUsize,
) {
    let columns = checker.email_columns.len();
    let mut records = Records::default();
    let mut cells: Vec<CellEval> = (0..columns).map(|_| CellEval::default()).collect();
    let mut row = RowEval::default();
    let mut seen: FxHashSet<Box<str>> = FxHashSet::default();
    let mut answered_at_once = 0;
    let running = || stop.load(Ordering::Relaxed) == 0 && done.load(Ordering::Relaxed) == 0;
    while running() && answered_at_once < 3 {
        match source.read_batch(&mut records, BATCH_ROWS) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut new = 0;
        for record in records.iter() {
            checker.eval(record, &mut row, &mut cells);
            for (cell, &col) in cells.iter().zip(checker.email_columns) {
                if let CellEval {
                    candidate: Some(c),
                    error: None,
                } = cell
                {
                    let domain = &c.text(record.field(col))[c.at + 1..];
                    if row.broken.is_none() && !seen.contains(domain) {
                        seen.insert(domain.into());
                        dns.submit(domain);
                        new += 1;
                    }
                }
            }
        }
        if new > 0 {
            answered_at_once = if dns.backlog() == 0 {
                answered_at_once + 1
            } else {
                0
            };
        }
        while running() && dns.backlog() >= PREFETCH_SATURATED {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

/// Runs the per-row checks of a batch on the worker threads.
fn check(batch: &mut Batch, checker: &Checker<'_>) {
    let (len, columns) = (batch.len, batch.columns);
    batch.rows.resize_with(len, RowEval::default);
    batch.cells.resize_with(len * columns, CellEval::default);
    let records = &batch.records;
    batch.rows[..len]
        .par_iter_mut()
        .zip(batch.cells[..len * columns].par_chunks_mut(columns))
        .enumerate()
        .with_min_len(256)
        .for_each(|(i, (row, cells))| checker.eval(records.get(i), row, cells));
}
