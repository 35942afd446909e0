//! The ordered step: decides each checked row, in input order, from its checks, its
//! domains' DNS outcomes and the addresses kept before it.

use std::sync::atomic::AtomicUsize;

use super::DomainStage;
use super::batch::{Batch, Candidate, CellEval, RowEval};
use crate::dns::DomainOutcome;
use crate::policy::{DuplicateSet, prefetch};
use crate::read::records::Records;
use crate::verdict::{Flags, Reason, Status, Verdict};

/// The ordered step: decides each row of a checked batch.
pub(super) struct Decider<'a> {
    pub(super) duplicates: DuplicateSet,
    pub(super) dns: Option<Answers<'a>>,
    /// With checkpoints, the duplicate-set entries added by the batch being decided, for
    /// the journal.
    pub(super) journaling: bool,
    pub(super) kept: Vec<u128>,
    /// 1 when the input has a header, which is row 1 in a spreadsheet.
    pub(super) header_rows: u64,
}

/// The DNS answers the pipeline has seen, so that each domain goes to the DNS stage about
/// once, and rows look their domain up without taking the stage's lock.
pub(super) struct Answers<'a> {
    pub(super) dns: &'a dyn DomainStage,
    known: Known,
    /// Non-zero when the run is stopping: a wait for DNS then ends without an outcome.
    stop: &'a AtomicUsize,
    /// Addresses whose domain's outcome was already known.
    pub(super) repeats: u64,
}

impl<'a> Answers<'a> {
    pub(super) fn new(dns: &'a dyn DomainStage, stop: &'a AtomicUsize) -> Answers<'a> {
        Answers {
            dns,
            known: Known::default(),
            stop,
            repeats: 0,
        }
    }

    /// The domain's final outcome, waiting for it if need be (unknown if the run stops
    /// meanwhile). The domain's text is worked out only for a domain not seen before.
    fn outcome<'d>(&mut self, hash: u64, domain: impl FnOnce() -> &'d str) -> DomainOutcome {
        if let Some(outcome) = self.known.get(hash) {
            self.repeats += 1;
            return outcome;
        }
        let outcome = self
            .dns
            .outcome(domain(), Some(self.stop))
            .unwrap_or(DomainOutcome::Unknown);
        self.known.insert(hash, outcome);
        outcome
    }
}

/// Outcomes by domain hash, looked up once per row: open addressing in one `Vec<u64>`, so
/// that the slot a row will need can be fetched into the cache a few rows ahead, as for the
/// duplicate set. A slot holds the hash with its low byte replaced by the outcome's place in
/// [`DomainOutcome::ALL`] plus one; zero marks an empty slot.
#[derive(Default)]
struct Known {
    slots: Vec<u64>,
    len: usize,
}

impl Known {
    fn get(&self, hash: u64) -> Option<DomainOutcome> {
        let place = (self.slots[self.find(hash)?] & 0xff).checked_sub(1)?;
        DomainOutcome::ALL.get(place as usize).copied()
    }

    fn insert(&mut self, hash: u64, outcome: DomainOutcome) {
        if (self.len + 1) * 2 > self.slots.len() {
            let size = (self.slots.len() * 2).max(1024);
            let old = std::mem::replace(&mut self.slots, vec![0; size]);
            self.len = 0;
            for slot in old.into_iter().filter(|&slot| slot != 0) {
                self.put(slot);
            }
        }
        // Every outcome is in the list.
        let place = DomainOutcome::ALL.iter().position(|&o| o == outcome);
        self.put(hash & !0xff | (place.map_or(0, |p| p as u64) + 1));
    }

    /// Stores a slot's value where its hash belongs, unless that hash is already there.
    fn put(&mut self, value: u64) {
        let mut i = self.home(value);
        while self.slots[i] != 0 {
            if self.slots[i] & !0xff == value & !0xff {
                return;
            }
            i = (i + 1) % self.slots.len();
        }
        self.slots[i] = value;
        self.len += 1;
    }

    /// The slot holding `hash`, if any.
    fn find(&self, hash: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mut i = self.home(hash);
        loop {
            match self.slots[i] {
                0 => return None,
                slot if slot & !0xff == hash & !0xff => return Some(i),
                _ => i = (i + 1) % self.slots.len(),
            }
        }
    }

    /// Where a hash starts probing: its high bits, by a multiply-shift. The low byte is left
    /// out, since a stored slot has the outcome there.
    fn home(&self, hash: u64) -> usize {
        ((u128::from(hash & !0xff) * self.slots.len() as u128) >> 64) as usize
    }

    fn prefetch(&self, hash: u64) {
        if !self.slots.is_empty() {
            prefetch(&self.slots[self.home(hash)]);
        }
    }
}

impl Decider<'_> {
    pub(super) fn decide(&mut self, batch: &mut Batch) {
        let columns = batch.columns;
        // The duplicate set is far larger than the caches: ask for the slot of the row a
        // few rows ahead, so it has arrived by the time that row is decided.
        const AHEAD: usize = 8;
        let ahead = |decider: &Decider<'_>, i: usize| {
            let Some(c) = batch
                .cells
                .get(i * columns)
                .and_then(|c| c.candidate.as_ref())
            else {
                return;
            };
            decider.duplicates.prefetch(c.key);
            if let Some(answers) = &decider.dns {
                answers.known.prefetch(c.domain_hash);
            }
        };
        for i in 0..AHEAD.min(batch.len) {
            ahead(self, i);
        }
        for i in 0..batch.len {
            if i + AHEAD < batch.len {
                ahead(self, i + AHEAD);
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
            // Only DNS needs the record: for the text of a domain not seen before.
            let record = self.dns.is_some().then_some((&batch.records, i));
            // Numbered as a spreadsheet numbers it (a quoted line break is no new row).
            let number = self.header_rows + batch.first_row + i as u64 + 1;
            row.verdict = self.decide_row(row, number, cells, record, &batch.email_columns);
        }
    }

    fn decide_row(
        &mut self,
        row: &mut RowEval,
        number: u64,
        cells: &[CellEval],
        record: Option<(&Records, usize)>,
        email_columns: &[usize],
    ) -> Verdict {
        // A contact who unsubscribed or bounced hard under any of their addresses is not
        // to be mailed at another: the whole row goes, before any address counts as kept.
        if let Some(column) = cells
            .iter()
            .position(|cell| cell.error == Some(Reason::Suppressed))
        {
            return Verdict::Reject {
                reason: Reason::Suppressed,
                column: Some(column),
                suggestion: None,
            };
        }
        let mut first_problem: Option<(usize, Reason, Option<&'static str>)> = None;
        let mut primary: Option<(usize, &Candidate, DomainOutcome)> = None;
        let mut flags = Flags::NONE;
        for (col, cell) in cells.iter().enumerate() {
            let problem = match cell {
                CellEval {
                    candidate: Some(c),
                    error: None,
                } => {
                    // Without DNS there is no outcome to look up, and no domain text needed.
                    let (outcome, rejection) = match (&mut self.dns, record) {
                        (Some(answers), Some(record)) => {
                            let (records, i) = record;
                            let domain = || c.domain(records.get(i).field(email_columns[col]));
                            let outcome = answers.outcome(c.domain_hash, domain);
                            (outcome, dns_rejection(outcome, domain))
                        }
                        _ => (DomainOutcome::Unknown, None),
                    };
                    match rejection.map_or_else(|| self.first_seen(c, number), Err) {
                        Ok(()) => {
                            row.usable |= 1 << col;
                            if c.flags.contains(Flags::NORMALIZED) {
                                flags.insert(Flags::NORMALIZED);
                            }
                            primary.get_or_insert((col, c, outcome));
                            continue;
                        }
                        Err(reason @ Reason::Duplicate { .. }) => (reason, None),
                        Err(reason) => (reason, c.suggestion),
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
        let Some((_, candidate, outcome)) = primary else {
            let (column, reason, suggestion) = first_problem.unwrap_or((0, Reason::Empty, None));
            return Verdict::Reject {
                reason,
                column: Some(column),
                suggestion,
            };
        };
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

impl Decider<'_> {
    /// Records an address that is otherwise usable as kept on row `number`; a duplicate
    /// when an earlier row kept it. The same address twice in one row (main and sub
    /// column) is one contact's, not a duplicate.
    fn first_seen(&mut self, candidate: &Candidate, number: u64) -> Result<(), Reason> {
        match self.duplicates.first_seen(candidate.key, number) {
            Ok(entry) => {
                if self.journaling {
                    self.kept.push(entry);
                }
                Ok(())
            }
            Err(first_row) if first_row == number => Ok(()),
            Err(first_row) => Err(Reason::Duplicate { first_row }),
        }
    }
}

/// The rejection DNS proves, if any. "Unknown" never rejects.
fn dns_rejection<'d>(outcome: DomainOutcome, domain: impl Fn() -> &'d str) -> Option<Reason> {
    let domain = || domain().to_owned();
    match outcome {
        DomainOutcome::Deliverable | DomainOutcome::Unknown => None,
        DomainOutcome::NotFound => Some(Reason::DomainNotFound { domain: domain() }),
        DomainOutcome::NullMx => Some(Reason::NullMx { domain: domain() }),
        DomainOutcome::NoMailHost => Some(Reason::NoMailHost { domain: domain() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_outcomes_are_found_again() {
        let mut known = Known::default();
        let hash = |i: u64| xxhash_rust::xxh3::xxh3_64(&i.to_le_bytes());
        let outcome = |i: u64| DomainOutcome::ALL[i as usize % DomainOutcome::ALL.len()];
        for i in 0..5000 {
            assert_eq!(known.get(hash(i)), None);
            known.insert(hash(i), outcome(i));
        }
        for i in 0..5000 {
            assert_eq!(known.get(hash(i)), Some(outcome(i)), "{i}");
        }
        assert_eq!(known.get(hash(5000)), None);
    }
}
