//! The pipeline: runs the stages over batches of rows and decides a [`Verdict`] per row.
//!
//! A reader thread fills batches of raw records (`batch`). Each batch is checked in
//! parallel with rayon (`check`): normalize, validate and the per-address policy, which
//! depend on nothing but the row. Its domains go to the DNS stage, which resolves them while
//! later batches are read and checked; with a file, `prefetch` runs further ahead still.
//! Then, in input order, one thread decides each row (`decide`): DNS outcome, duplicates
//! (which depend on the rows before), status and flags. Decided batches go to the sinks
//! (the output writer, the report tally), and the batch goes back to the reader to be
//! reused, so memory stays flat however long the file.
//!
//! [`Verdict`]: crate::verdict::Verdict

mod batch;
mod check;
mod decide;
mod prefetch;

use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::checkpoint;
pub use crate::dns::mail::DomainStage;
use crate::error::Error;
use crate::policy::DuplicateSet;
use crate::read::Source;
use crate::read::records::Records;

pub use batch::{Batch, EmailCell, Row};
pub use check::Checker;
pub(crate) use check::same_bytes;
use decide::{Decider, DnsOutcomes};

/// Rows per batch: large enough that handing batches between threads costs nothing next
/// to the work in them, small enough to keep memory and progress fine-grained.
pub(crate) const BATCH_ROWS: usize = 4096;
/// Batches read ahead of the decision step (and so ahead of DNS answers).
const READ_AHEAD: usize = 4;
/// Email columns a row may have; the usable ones are kept as bits of a `u64`.
pub const MAX_EMAIL_COLUMNS: usize = 64;

/// Where decided rows go, in input order: the caller's own, or the library's (the
/// cleaned and rejected files, the report's counts). A sink is told of the input once
/// ([`Sink::begin`]), then gets every decided batch, then is told the input ended.
/// [`EachRow`] makes a sink of a closure that takes one row at a time.
pub trait Sink {
    /// Called once, before the first batch, with the input's shape (its header, column
    /// names and email columns).
    ///
    /// # Errors
    /// Whatever stops the sink.
    fn begin(&mut self, source: &Source) -> Result<(), Error> {
        let _ = source;
        Ok(())
    }

    /// Takes a batch of decided rows, in input order.
    ///
    /// # Errors
    /// Whatever stops the sink, such as a failed write.
    fn batch(&mut self, batch: &Batch) -> Result<(), Error>;

    /// Called once after the last batch of a run that was not stopped.
    ///
    /// # Errors
    /// Whatever stops the sink.
    fn finish(&mut self) -> Result<(), Error> {
        Ok(())
    }

    /// Makes everything taken so far durable and records in `state` what resuming needs.
    ///
    /// # Errors
    /// Whatever stops the sink, such as a failed write.
    #[doc(hidden)]
    fn checkpoint(&mut self, state: &mut checkpoint::State) -> Result<(), Error> {
        let _ = state;
        Ok(())
    }
}

/// A sink that hands each decided row to a closure.
pub struct EachRow<F>(pub F);

impl<F: FnMut(Row<'_>) -> Result<(), Error>> Sink for EachRow<F> {
    fn batch(&mut self, batch: &Batch) -> Result<(), Error> {
        batch.rows().try_for_each(&mut self.0)
    }
}

/// What one run of the pipeline reads and judges with.
pub struct Run<'a> {
    pub source: Source,
    /// With DNS, the same input opened a second time: a thread reads it ahead of the rows,
    /// submitting each new domain as soon as it appears, so that lookups overlap with the
    /// row work instead of following it.
    pub prefetch: Option<Source>,
    pub checker: &'a Checker<'a>,
    pub dns: Option<&'a dyn DomainStage>,
    pub state: RunState,
}

/// Runs the pipeline, pushing every decided batch to each sink in turn. Returns the
/// number of rows read.
///
/// # Errors
/// A read error, the first error of a sink, or [`Error::Interrupted`] once `stop` is set.
pub fn run(
    run: Run<'_>,
    pool: &rayon::ThreadPool,
    sinks: &mut [&mut (dyn Sink + Send)],
    stop: &AtomicUsize,
) -> Result<u64, Error> {
    let Run {
        source,
        prefetch,
        checker,
        dns,
        state,
    } = run;
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
        let reader =
            scope.spawn(move || read_batches(source, skip, checker, stop, empty_rx, full_tx));
        if let (Some(prefetch), Some(dns)) = (prefetch, dns) {
            let done = &done;
            scope.spawn(move || prefetch::prefetch_domains(prefetch, checker, dns, stop, done));
        }
        let mut decider = Decider {
            duplicates,
            dns: dns.map(|dns| DnsOutcomes::new(dns, stop)),
            journaling: checkpoints.is_some(),
            kept: Vec::new(),
            header_rows: u64::from(checker.header_width.is_some()),
        };
        let result = process(
            &full_rx,
            &empty_tx,
            pool,
            checker,
            stop,
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
    checker: &Checker<'_>,
    stop: &AtomicUsize,
    empty: Receiver<Batch>,
    full: Sender<Batch>,
) -> Result<u64, Error> {
    // Resuming: the rows before the checkpoint are read again (lines stay right) and
    // passed over. They are checked, not decided: the report's count of unique domains,
    // which the checks keep, then covers them too.
    let mut rows = 0;
    let mut skipped = Records::default();
    let mut row = batch::RowEval::default();
    let mut cells: Vec<batch::CellEval> = (0..checker.email_columns.len())
        .map(|_| batch::CellEval::default())
        .collect();
    while rows < skip {
        let n = source.read_batch(&mut skipped, BATCH_ROWS.min((skip - rows) as usize))?;
        if n == 0 {
            return Err(Error::Resume {
                path: std::path::PathBuf::from(&source.what),
                why: format!("the input ended before the checkpoint's row {skip}"),
            });
        }
        for record in skipped.iter() {
            checker.eval(record, &mut row, &mut cells);
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
        batch.first_row = rows;
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
    stop: &AtomicUsize,
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
                if let Some(error) = dns.and_then(DomainStage::failure) {
                    return Err(error);
                }
                // A wait for DNS ends early when the run is stopped, leaving the batch
                // decided on answers it did not get: it must not reach the outputs.
                match stop.load(Ordering::Relaxed) {
                    0 => {}
                    signal => return Err(Error::Interrupted { signal }),
                }
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
            if let Some(answers) = &decider.dns {
                answers.dns.answered_from_memory(answers.repeats);
            }
            Ok(())
        });
        while let Ok(mut batch) = full.recv() {
            pool.install(|| check_batch(&mut batch, checker, dns));
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
        (self.state.journal_entries, self.state.journal) = self.journal.sync()?;
        for sink in sinks.iter_mut() {
            sink.checkpoint(&mut self.state)?;
        }
        self.state.rows = rows;
        self.state.save(&self.paths)?;
        self.next = rows + self.every;
        Ok(())
    }
}

/// Runs the per-row checks of a batch on the worker threads. Each domain goes to DNS as
/// soon as the first address that needs it is checked.
fn check_batch(batch: &mut Batch, checker: &Checker<'_>, dns: Option<&dyn DomainStage>) {
    use batch::{CellEval, RowEval};
    use rayon::prelude::*;
    let (len, columns) = (batch.len, batch.columns);
    batch.rows.resize_with(len, RowEval::default);
    batch.cells.resize_with(len * columns, CellEval::default);
    let records = &batch.records;
    batch.rows[..len]
        .par_iter_mut()
        .zip(batch.cells[..len * columns].par_chunks_mut(columns))
        .enumerate()
        .with_min_len(256)
        .for_each(|(i, (row, cells))| {
            let record = records.get(i);
            checker.eval(record, row, cells);
            let Some(dns) = dns else { return };
            for (cell, &col) in cells.iter().zip(checker.email_columns) {
                if let CellEval {
                    candidate: Some(c),
                    error: None,
                } = cell
                    && checker.policy.first_asked(c.domain_hash)
                {
                    dns.submit(c.domain(record.field(col)));
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::read::encoding::CellEncoding;
    use crate::read::{Input, ReadOptions};

    #[test]
    fn rows_passed_over_on_resuming_count_their_domains() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.csv");
        let rows = "id,email\n1,a@early-one.jp\n2,b@early-two.jp\n3,c@late.jp\n4,bad@@x.jp\n";
        std::fs::write(&path, rows).unwrap();
        let source = Source::open(&Input::Path(path), &ReadOptions::default()).unwrap();
        let policy = Policy::default();
        let checker = Checker {
            policy: &policy,
            keep_legacy_carrier: false,
            email_columns: &source.email_columns.clone(),
            last_contact_column: None,
            header_width: Some(source.width),
            cell_encoding: CellEncoding::Utf8,
            max_record_bytes: source.max_record_bytes,
            max_columns: source.max_columns,
        };
        let (full_tx, full_rx) = bounded::<Batch>(1);
        let (empty_tx, empty_rx) = bounded::<Batch>(1);
        empty_tx.send(Batch::default()).unwrap();
        drop(empty_tx);
        let stop = AtomicUsize::new(0);
        // The first two rows are before the checkpoint: passed over, yet counted.
        let read = read_batches(source, 2, &checker, &stop, empty_rx, full_tx).unwrap();
        assert_eq!(read, 4);
        assert_eq!(full_rx.recv().unwrap().len, 2);
        assert_eq!(
            policy.unique_domains(),
            2,
            "the checks of the passed-over rows"
        );
    }
}
