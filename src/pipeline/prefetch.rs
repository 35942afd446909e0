//! Reading ahead for DNS: a second pass over the input that submits each new domain as
//! soon as it appears, so that lookups overlap with the row work instead of following it.

use std::sync::atomic::{AtomicUsize, Ordering};

use rustc_hash::FxHashSet;

use super::{BATCH_ROWS, Checker, DomainStage};
use crate::normalize::normalize;
use crate::policy;
use crate::read::Source;
use crate::read::encoding::decode_cell;
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
    let mut records = Records::default();
    let mut seen: FxHashSet<u64> = FxHashSet::default();
    let mut answered_at_once = 0;
    let running = || stop.load(Ordering::Relaxed) == 0 && done.load(Ordering::Relaxed) == 0;
    while running() && answered_at_once < 3 {
        match source.read_batch(&mut records, BATCH_ROWS) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut new = 0;
        for record in records.iter() {
            for &col in checker.email_columns {
                new += usize::from(submit_if_new(checker, record.field(col), &mut seen, dns));
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

/// Submits the domain of an email cell when it was not submitted before and the address
/// passes the per-address checks, as the pipeline will submit it. Only an address whose
/// domain is new is checked beyond normalizing: most rows cost a normalization and a hash.
/// The whole-row checks are left out, so a row rejected whole (a NUL byte, too many cells)
/// may still have its domain looked up.
fn submit_if_new(
    checker: &Checker<'_>,
    cell: &[u8],
    seen: &mut FxHashSet<u64>,
    dns: &dyn DomainStage,
) -> bool {
    let Some(text) = decode_cell(cell, checker.cell_encoding) else {
        return false;
    };
    let Ok(address) = normalize(&text) else {
        return false;
    };
    let hash = policy::domain_hash(address.domain());
    if seen.contains(&hash) || checker.judge(&address, hash).0.is_err() {
        return false;
    }
    seen.insert(hash);
    dns.submit(address.domain());
    true
}
