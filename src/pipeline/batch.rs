//! Batches of rows as they move through the pipeline, and the view of a decided row that
//! the sinks get.

use crate::read::records::{Record, Records};
use crate::verdict::{Flags, Reason, Status, Verdict};

/// What is known about one email cell after the per-row checks.
#[derive(Debug, Default)]
pub struct CellEval {
    /// The normalized address when the cell is one; `None` when even splitting failed.
    pub(super) candidate: Option<Candidate>,
    /// Why the cell cannot be used, if it cannot.
    pub(super) error: Option<Reason>,
}

#[derive(Debug)]
pub(super) struct Candidate {
    /// The normalized text, or `None` when it equals the cell byte for byte.
    pub(super) changed: Option<Box<str>>,
    pub(super) at: usize,
    pub(super) key: u128,
    /// A 64-bit hash of the domain, so that per-row look-ups by domain compare no strings.
    pub(super) domain_hash: u64,
    pub(super) flags: Flags,
    pub(super) suggestion: Option<&'static str>,
}

impl Candidate {
    pub(super) fn text<'a>(&'a self, cell: &'a [u8]) -> &'a str {
        match &self.changed {
            Some(text) => text,
            // Unchanged means the cell already was a valid, hence ASCII, address.
            None => std::str::from_utf8(cell).unwrap_or_default(),
        }
    }

    /// The address's domain, given the cell it came from.
    pub(super) fn domain<'a>(&'a self, cell: &'a [u8]) -> &'a str {
        self.text(cell).get(self.at + 1..).unwrap_or_default()
    }
}

/// One row's checks and, once decided, its verdict.
#[derive(Debug)]
pub struct RowEval {
    /// A problem with the whole row (encoding, CSV shape) found before any address check.
    pub(super) broken: Option<Reason>,
    pub(super) stale: bool,
    /// The last-contact cell holds something that is not a date we can read.
    pub(super) unread_date: bool,
    pub(super) verdict: Verdict,
    /// Bit `i` is set when email column `i` holds a usable address.
    pub(super) usable: u64,
    /// In a kept row, the email columns whose address was removed, with the reason code
    /// each would have been rejected with.
    pub(super) removed: Vec<(usize, &'static str)>,
}

impl Default for RowEval {
    fn default() -> RowEval {
        RowEval {
            broken: None,
            stale: false,
            unread_date: false,
            verdict: Verdict::Keep {
                status: Status::Unknown,
                flags: Flags::NONE,
                suggestion: None,
            },
            usable: 0,
            removed: Vec::new(),
        }
    }
}

/// A batch of rows moving through the pipeline; reused from one batch to the next.
#[derive(Default)]
pub struct Batch {
    pub(super) records: Records,
    pub(super) len: usize,
    pub(super) rows: Vec<RowEval>,
    pub(super) cells: Vec<CellEval>,
    /// The record fields of the email columns; the number of cells per row.
    pub(super) email_columns: Vec<usize>,
    pub(super) columns: usize,
    /// Rows read before this batch.
    pub(super) first_row: u64,
}

/// A decided row, as the sinks see it.
pub struct Row<'a> {
    pub record: Record<'a>,
    pub verdict: &'a Verdict,
    cells: &'a [CellEval],
    usable: u64,
    removed: &'a [(usize, &'static str)],
    email_columns: &'a [usize],
}

/// What a sink writes into an email cell of a kept row.
pub enum EmailCell<'a> {
    /// The cell as it was (empty, or this column's address was never looked at).
    Original,
    /// The normalized address, in the cells' encoding (an address is ASCII in all of them).
    Address(&'a [u8]),
    /// Cleared: the cell held an address that cannot be used.
    Cleared,
}

impl<'a> Row<'a> {
    /// In a kept row, the email columns (by their place among the email columns) whose
    /// address was removed, and the reason code each would have been rejected with.
    pub fn removed(&self) -> &'a [(usize, &'static str)] {
        self.removed
    }

    /// What goes into the `i`-th email column of a kept row.
    pub fn email_cell(&self, i: usize) -> EmailCell<'a> {
        let cell = &self.cells[i];
        if self.usable & (1 << i) != 0
            && let Some(candidate) = &cell.candidate
        {
            let cell = self.record.field(self.email_columns[i]);
            return EmailCell::Address(candidate.changed.as_deref().map_or(cell, str::as_bytes));
        }
        // An address that is not usable was removed: by its checks, by DNS or as a
        // duplicate. A cell that holds no address stays as it was.
        match (&cell.candidate, &cell.error) {
            (None, Some(Reason::Empty) | None) => EmailCell::Original,
            _ => EmailCell::Cleared,
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

    /// The verdicts of the rows, in order.
    pub fn verdicts(&self) -> impl Iterator<Item = &Verdict> {
        self.rows[..self.len].iter().map(|row| &row.verdict)
    }

    /// How many rows have a last-contact cell that is not a date we can read.
    pub fn unread_dates(&self) -> usize {
        self.rows[..self.len]
            .iter()
            .filter(|row| row.unread_date)
            .count()
    }

    /// The `i`-th decided row.
    pub fn row(&self, i: usize) -> Row<'_> {
        let row = &self.rows[i];
        Row {
            record: self.records.get(i),
            verdict: &row.verdict,
            cells: &self.cells[i * self.columns..(i + 1) * self.columns],
            usable: row.usable,
            removed: &row.removed,
            email_columns: &self.email_columns,
        }
    }
}
