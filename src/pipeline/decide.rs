//! The ordered step: decides each checked row, in input order, from its checks, its
//! domains' DNS outcomes and the addresses kept before it.

use std::sync::atomic::AtomicUsize;

use super::DomainStage;
use super::batch::{Batch, Candidate, CellEval, RowEval};
use crate::dns::DomainOutcome;
use crate::policy::DuplicateSet;
use crate::read::records::Records;
use crate::sys::memory::prefetch_cache_line;
use crate::verdict::{Flags, Reason, Status, Verdict};

/// The ordered step: decides each row of a checked batch.
pub(super) struct Decider<'a> {
    pub(super) duplicates: DuplicateSet,
    pub(super) dns: Option<DnsOutcomes<'a>>,
    /// With checkpoints, the duplicate-set entries added by the batch being decided, for
    /// the journal.
    pub(super) journaling: bool,
    pub(super) kept: Vec<u128>,
    /// 1 when the input has a header, which is row 1 in a spreadsheet.
    pub(super) header_rows: u64,
}

/// The DNS answers the pipeline has seen, so that each domain goes to the DNS stage about
/// once, and rows look their domain up without taking the stage's lock.
pub(super) struct DnsOutcomes<'a> {
    pub(super) dns: &'a dyn DomainStage,
    known: OutcomeTable,
    /// Non-zero when the run is stopping: a wait for DNS then ends without an outcome.
    stop: &'a AtomicUsize,
    /// Addresses whose domain's outcome was already known.
    pub(super) repeats: u64,
}

impl<'a> DnsOutcomes<'a> {
    pub(super) fn new(dns: &'a dyn DomainStage, stop: &'a AtomicUsize) -> DnsOutcomes<'a> {
        DnsOutcomes {
            dns,
            known: OutcomeTable::default(),
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
struct OutcomeTable {
    slots: Vec<u64>,
    len: usize,
}

impl OutcomeTable {
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
            prefetch_cache_line(&self.slots[self.home(hash)]);
        }
    }
}

impl Decider<'_> {
    /// Decides every row of a checked batch, in order.
    ///
    /// Kept out of the deciding thread's loop: on its own, the per-row loop keeps its
    /// values in registers rather than on the stack among the channel and sink code's.
    #[inline(never)]
    pub(super) fn decide(&mut self, batch: &mut Batch) {
        let Batch {
            records,
            len,
            rows,
            cells,
            email_columns,
            columns,
            first_row,
        } = batch;
        let (len, columns) = (*len, *columns);
        let cells = &cells[..len * columns];
        // The duplicate set is far larger than the caches: ask for the slot of the row a
        // few rows ahead, so it has arrived by the time that row is decided.
        const AHEAD: usize = 8;
        let ahead = |decider: &Decider<'_>, i: usize| {
            if let Some(CellEval {
                candidate: Some(c), ..
            }) = cells.get(i * columns)
            {
                decider.duplicates.prefetch(c.key);
                if let Some(answers) = &decider.dns {
                    answers.known.prefetch(c.domain_hash);
                }
            }
        };
        for i in 0..AHEAD.min(len) {
            ahead(self, i);
        }
        for (i, row) in rows[..len].iter_mut().enumerate() {
            ahead(self, i + AHEAD);
            if let Some(reason) = &row.broken {
                row.verdict = Verdict::Reject {
                    reason: reason.clone(),
                    column: None,
                    suggestion: None,
                };
                continue;
            }
            let place = Place {
                // Numbered as a spreadsheet numbers it (a quoted line break is no new row).
                number: self.header_rows + *first_row + i as u64 + 1,
                records,
                i,
                email_columns,
            };
            self.decide_row(row, &cells[i * columns..(i + 1) * columns], &place);
        }
    }

    /// Decides a row that is not broken: sets its verdict and its usable columns.
    fn decide_row(&mut self, row: &mut RowEval, cells: &[CellEval], place: &Place<'_>) {
        // A contact who unsubscribed or bounced hard under any of their addresses is not
        // to be mailed at another: the whole row goes, before any address counts as kept.
        if let Some(column) = cells
            .iter()
            .position(|cell| matches!(cell.error, Some(Reason::Suppressed)))
        {
            row.verdict = Verdict::Reject {
                reason: Reason::Suppressed,
                column: Some(column),
                suggestion: None,
            };
            return;
        }
        // Most rows have one address, usable as far as its own checks tell, and no DNS to
        // ask: kept, or a duplicate, as the loop below would decide, without its
        // bookkeeping for several cells.
        if let [
            CellEval {
                candidate: Some(c),
                error: None,
            },
        ] = cells
            && self.dns.is_none()
        {
            row.verdict = match self.first_seen(c, place.number) {
                Ok(()) => {
                    row.usable = 1;
                    self.keep(c, Flags::NONE, row.stale, DomainOutcome::Unknown)
                }
                Err(first_row) => Verdict::Reject {
                    reason: Reason::Duplicate { first_row },
                    column: Some(0),
                    suggestion: None,
                },
            };
            return;
        }
        // The reason is only worked out for the problem that makes the verdict, and only
        // when the row is rejected: most rows are kept.
        let mut first_problem: Option<(usize, Problem<'_>)> = None;
        // The first usable address is the row's: the lowest bit of `usable`.
        let mut usable: u64 = 0;
        let mut outcome = DomainOutcome::Unknown;
        let mut flags = Flags::NONE;
        for (col, cell) in cells.iter().enumerate() {
            let problem = match cell {
                CellEval {
                    candidate: Some(c),
                    error: None,
                } => {
                    // Without DNS there is no outcome to look up, and no domain text needed.
                    let found = match &mut self.dns {
                        Some(answers) => {
                            answers.outcome(c.domain_hash, || c.domain(place.cell(col)))
                        }
                        None => DomainOutcome::Unknown,
                    };
                    // A typo of a well-known domain that receives mail anyway takes the
                    // mail meant for the other one.
                    let typo = (found == DomainOutcome::Deliverable
                        && c.flags.contains(Flags::TYPO))
                    .then_some(typo_domain as fn(String) -> Reason);
                    match dns_rejection(found).or(typo) {
                        Some(rejection) => Problem::Dns(rejection),
                        None => match self.first_seen(c, place.number) {
                            Ok(()) => {
                                if usable == 0 {
                                    outcome = found;
                                }
                                usable |= 1 << col;
                                if c.flags.contains(Flags::NORMALIZED) {
                                    flags.insert(Flags::NORMALIZED);
                                }
                                continue;
                            }
                            Err(first_row) => Problem::Duplicate { first_row },
                        },
                    }
                }
                CellEval {
                    error: Some(reason),
                    ..
                } => Problem::Cell(reason),
                CellEval {
                    error: None,
                    candidate: None,
                } => continue,
            };
            if !problem.is_empty() {
                flags.insert(Flags::OTHER_ADDRESS_REMOVED);
                row.removed.push((col, problem.code()));
            }
            let replaces = match &first_problem {
                None => true,
                Some((_, previous)) => previous.is_empty() && !problem.is_empty(),
            };
            if replaces {
                first_problem = Some((col, problem));
            }
        }
        let primary = (usable != 0)
            .then(|| cells[usable.trailing_zeros() as usize].candidate.as_ref())
            .flatten();
        let Some(candidate) = primary else {
            row.removed.clear();
            row.verdict = rejection(first_problem, cells, place);
            return;
        };
        row.usable = usable;
        row.verdict = self.keep(candidate, flags, row.stale, outcome);
    }

    /// The verdict of a kept row, from its primary address, the flags the row's cells
    /// gave on top of that address's own, and the DNS outcome of that address's domain.
    fn keep(
        &self,
        primary: &Candidate,
        mut flags: Flags,
        stale: bool,
        outcome: DomainOutcome,
    ) -> Verdict {
        flags.insert(primary.flags);
        if stale {
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
            suggestion: primary.suggestion,
        }
    }
}

/// Where a row is: its number, and its record for the text of its addresses' domains.
struct Place<'b> {
    number: u64,
    records: &'b Records,
    i: usize,
    email_columns: &'b [usize],
}

impl Place<'_> {
    /// The `col`-th email cell of the row, as read.
    fn cell(&self, col: usize) -> &[u8] {
        self.records.get(self.i).field(self.email_columns[col])
    }
}

/// Why a cell's address cannot be kept, until the row turns out to be rejected for it.
#[derive(Clone, Copy)]
enum Problem<'c> {
    /// The cell's own checks failed.
    Cell(&'c Reason),
    Duplicate {
        first_row: u64,
    },
    /// DNS proves the domain takes no mail; the reason is made from the domain's text.
    Dns(fn(String) -> Reason),
}

impl Problem<'_> {
    fn is_empty(&self) -> bool {
        matches!(self, Problem::Cell(Reason::Empty))
    }

    /// The code of the reason the problem gives.
    fn code(&self) -> &'static str {
        match self {
            Problem::Cell(reason) => reason.code(),
            Problem::Duplicate { first_row } => Reason::Duplicate {
                first_row: *first_row,
            }
            .code(),
            Problem::Dns(reason) => reason(String::new()).code(),
        }
    }
}

/// The verdict of a row none of whose addresses can be kept: rejected for its first
/// problem (an empty cell only when there is no other), or as empty when it has none.
#[cold]
fn rejection(
    first_problem: Option<(usize, Problem<'_>)>,
    cells: &[CellEval],
    place: &Place<'_>,
) -> Verdict {
    let Some((column, problem)) = first_problem else {
        return Verdict::Reject {
            reason: Reason::Empty,
            column: Some(0),
            suggestion: None,
        };
    };
    let candidate = cells[column].candidate.as_ref();
    let suggestion = candidate.and_then(|c| c.suggestion);
    let (reason, suggestion) = match problem {
        Problem::Cell(reason) => (reason.clone(), suggestion),
        // A duplicate points at the row it repeats, which carries any suggestion.
        Problem::Duplicate { first_row } => (Reason::Duplicate { first_row }, None),
        Problem::Dns(reason) => {
            let domain = candidate.map_or("", |c| c.domain(place.cell(column)));
            (reason(domain.to_owned()), suggestion)
        }
    };
    Verdict::Reject {
        reason,
        column: Some(column),
        suggestion,
    }
}

impl Decider<'_> {
    /// Records an address that is otherwise usable as kept on row `number`; `Err` with the
    /// row that kept it first when an earlier row did. The same address twice in one row
    /// (main and sub column) is one contact's, not a duplicate.
    fn first_seen(&mut self, candidate: &Candidate, number: u64) -> Result<(), u64> {
        match self.duplicates.first_seen(candidate.key, number) {
            Ok(entry) => {
                if self.journaling {
                    self.kept.push(entry);
                }
                Ok(())
            }
            Err(first_row) if first_row == number => Ok(()),
            Err(first_row) => Err(first_row),
        }
    }
}

/// How to make the rejection DNS proves from the domain's text, if it proves one. "Unknown"
/// never rejects.
fn typo_domain(domain: String) -> Reason {
    Reason::TypoDomain { domain }
}

fn dns_rejection(outcome: DomainOutcome) -> Option<fn(String) -> Reason> {
    match outcome {
        DomainOutcome::Deliverable | DomainOutcome::Unknown => None,
        DomainOutcome::NotFound => Some(|domain| Reason::DomainNotFound { domain }),
        DomainOutcome::NullMx => Some(|domain| Reason::NullMx { domain }),
        DomainOutcome::NoMailHost => Some(|domain| Reason::NoMailHost {
            domain,
            only_localhost: false,
        }),
        DomainOutcome::LocalhostMx => Some(|domain| Reason::NoMailHost {
            domain,
            only_localhost: true,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_outcomes_are_found_again() {
        let mut known = OutcomeTable::default();
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
