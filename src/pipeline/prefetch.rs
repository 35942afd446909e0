//! Reading ahead for DNS: a second pass over the input that submits each new domain as
//! soon as it appears, so that lookups overlap with the row work instead of following it.

use std::sync::atomic::{AtomicUsize, Ordering};

use rustc_hash::FxHashSet;

use super::batch::{CellEval, RowEval};
use super::{BATCH_ROWS, Checker, DomainStage};
use crate::read::Source;
use crate::read::records::Records;

/// While DNS has at least this many lookups waiting, running further ahead gains nothing.
const PREFETCH_SATURATED: usize = 4096;

/// Reads the input ahead of the pipeline and submits each new domain to DNS.
///
/// It stops at the end of the input, when the run ends or is stopped, and when DNS answers
/// everything it submits at once (a warm persistent cache): then DNS is not what the run
/// waits for, and reading the file twice would only cost time.
pub(super) fn prefetch_domains(
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
                    let domain = c.domain(record.field(col));
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
