//! The ordered step: decides each checked row, in input order, from its checks, its
//! domains' DNS outcomes and the addresses kept before it.

use rustc_hash::FxHashMap;

use super::DomainStage;
use super::batch::{Batch, Candidate, CellEval, RowEval};
use crate::dns::DomainOutcome;
use crate::policy::DuplicateSet;
use crate::read::records::Record;
use crate::verdict::{Flags, Reason, Status, Verdict};

/// The ordered step: decides each row of a checked batch.
pub(super) struct Decider<'a> {
    pub(super) duplicates: DuplicateSet,
    pub(super) dns: Option<Answers<'a>>,
    /// With checkpoints, the duplicate-set entries added by the batch being decided, for
    /// the journal.
    pub(super) journaling: bool,
    pub(super) kept: Vec<u128>,
}

/// The DNS answers the pipeline has seen, so that each domain goes to the DNS stage about
/// once, and rows look their domain up without taking the stage's lock.
pub(super) struct Answers<'a> {
    pub(super) dns: &'a dyn DomainStage,
    /// Keyed by the domain's 64-bit hash.
    known: FxHashMap<u64, DomainOutcome>,
}

impl<'a> Answers<'a> {
    pub(super) fn new(dns: &'a dyn DomainStage) -> Answers<'a> {
        Answers {
            dns,
            known: FxHashMap::default(),
        }
    }

    /// The domain's final outcome, waiting for it if need be. The domain's text is worked
    /// out only for a domain not seen before.
    fn outcome<'d>(&mut self, hash: u64, domain: impl FnOnce() -> &'d str) -> DomainOutcome {
        if let Some(outcome) = self.known.get(&hash) {
            return *outcome;
        }
        let outcome = self
            .dns
            .outcome(domain(), true)
            .unwrap_or(DomainOutcome::Unknown);
        self.known.insert(hash, outcome);
        outcome
    }
}

impl Decider<'_> {
    pub(super) fn decide(&mut self, batch: &mut Batch) {
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
            // Only DNS needs the record: for its domain's text.
            let record = self.dns.is_some().then(|| batch.records.get(i));
            row.verdict = self.decide_row(row, cells, record, &batch.email_columns);
        }
    }

    fn decide_row(
        &mut self,
        row: &mut RowEval,
        cells: &[CellEval],
        record: Option<Record<'_>>,
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
                    // Without DNS there is no outcome to look up, and no domain text needed.
                    let (outcome, rejection) = match (&mut self.dns, record) {
                        (Some(answers), Some(record)) => {
                            let cell = record.field(email_columns[col]);
                            let domain = || c.text(cell).get(c.at + 1..).unwrap_or_default();
                            let outcome = answers.outcome(c.domain_hash, domain);
                            (outcome, dns_rejection(outcome, domain))
                        }
                        _ => (DomainOutcome::Unknown, None),
                    };
                    match rejection {
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
fn dns_rejection<'d>(outcome: DomainOutcome, domain: impl Fn() -> &'d str) -> Option<Reason> {
    let domain = || domain().to_owned();
    match outcome {
        DomainOutcome::Deliverable | DomainOutcome::Unknown => None,
        DomainOutcome::NotFound => Some(Reason::DomainNotFound { domain: domain() }),
        DomainOutcome::NullMx => Some(Reason::NullMx { domain: domain() }),
        DomainOutcome::NoMailHost => Some(Reason::NoMailHost { domain: domain() }),
    }
}
