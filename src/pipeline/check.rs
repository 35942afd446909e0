//! The per-row checks, run on the worker threads: whole-row problems (encoding, shape),
//! then normalize, validate and the per-address policy for each email cell.

use std::borrow::Cow;

use super::batch::{Candidate, CellEval, RowEval};
use crate::address::Address;
use crate::normalize::normalize;
use crate::policy::{self, Policy, lists};
use crate::read::encoding::{CellEncoding, decode_cell, is_valid_cell};
use crate::read::records::Record;
use crate::sys::memory::AsciiText;
use crate::validate::validate_with;
use crate::verdict::{Checked, Flags, Reason, RowProblem, SyntaxError};

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
    pub max_columns: usize,
}

impl Checker<'_> {
    pub(super) fn eval(&self, record: Record<'_>, row: &mut RowEval, cells: &mut [CellEval]) {
        // Most rows are ASCII without a NUL byte, which one pass tells; only the others get
        // the precise looks.
        let ascii = AsciiText::new(record.field_bytes());
        row.broken = self.broken(record, ascii.is_some());
        row.stale = false;
        row.unread_date = false;
        row.usable = 0;
        row.removed.clear();
        if row.broken.is_some() {
            cells.fill_with(CellEval::default);
            return;
        }
        let text = |cell| self.text(cell, ascii);
        for (cell, &col) in cells.iter_mut().zip(self.email_columns) {
            *cell = match text(record.field(col)) {
                Some(text) => self.eval_cell(record.field(col), &text),
                None => CellEval {
                    candidate: None,
                    error: Some(Reason::EncodingError),
                },
            };
        }
        if let Some(col) = self.last_contact_column
            && let Some(date) = text(record.field(col))
        {
            match self.policy.is_stale(&date) {
                Some(stale) => row.stale = stale,
                None => row.unread_date = true,
            }
        }
    }

    /// A cell of the record as text; `ascii` holds the record's cells when every one is
    /// ASCII.
    fn text<'c>(&self, cell: &'c [u8], ascii: Option<AsciiText<'c>>) -> Option<Cow<'c, str>> {
        if let Some(text) = ascii.and_then(|ascii| ascii.text_of(cell)) {
            return Some(Cow::Borrowed(text));
        }
        decode_cell(cell, self.cell_encoding)
    }

    fn broken(&self, record: Record<'_>, ascii: bool) -> Option<Reason> {
        let malformed = |problem| Some(Reason::MalformedRow { problem });
        if record.too_large && record.too_wide {
            return malformed(RowProblem::TooManyColumns {
                limit: self.max_columns,
            });
        }
        if record.too_large {
            return malformed(RowProblem::TooLarge {
                limit: self.max_record_bytes,
            });
        }
        if !ascii && memchr_nul(record.field_bytes()) {
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
        if !ascii && !is_valid_text(record, self.cell_encoding) {
            return Some(Reason::EncodingError);
        }
        None
    }

    /// Checks one email cell, given as read and as text.
    fn eval_cell(&self, cell: &[u8], text: &str) -> CellEval {
        let address = match normalize(text) {
            Ok(address) => address,
            Err(reason) => {
                // A note in place of an address is told apart from a broken address only
                // once the cell failed as one: most cells never pay for the look.
                let reason = match crate::normalize::placeholder(text) {
                    Some(text) => Reason::Placeholder { text },
                    None => reason,
                };
                return CellEval {
                    candidate: None,
                    error: Some(reason),
                };
            }
        };
        // The domain's table entry is fetched while the key is worked out.
        let domain_hash = policy::domain_hash(address.domain());
        self.policy.prefetch_domain(domain_hash);
        let mut candidate = Candidate {
            changed: (!same_bytes(address.as_str().as_bytes(), cell))
                .then(|| address.as_str().into()),
            at: address.local().len(),
            key: address.key(),
            domain_hash,
            flags: Flags::NONE,
            suggestion: None,
        };
        if candidate.changed.is_some() {
            candidate.flags.insert(Flags::NORMALIZED);
        }
        if address.as_str().starts_with(['=', '+', '-']) {
            candidate.flags.insert(Flags::FORMULA_RISK);
        }
        // Before any other check: whatever else is wrong with the address (a legacy
        // carrier form, a disposable domain), its owner asked not to be mailed, and the
        // row is rejected whole for it.
        if self.policy.is_suppressed(candidate.key) {
            return CellEval {
                candidate: Some(candidate),
                error: Some(Reason::Suppressed),
            };
        }
        let (verdict, suggestion) = self.judge(&address, candidate.domain_hash);
        candidate.suggestion = suggestion;
        let error = match verdict {
            Ok(flags) => {
                candidate.flags.insert(flags);
                None
            }
            Err(reason) => Some(reason),
        };
        CellEval {
            candidate: Some(candidate),
            error,
        }
    }

    /// The checks of one address on its own, as an email cell of a row gets them.
    pub(crate) fn check_text(&self, text: &str) -> Result<Checked, Reason> {
        match self.eval_cell(text.as_bytes(), text) {
            CellEval {
                candidate: Some(candidate),
                error: None,
            } => Ok(Checked {
                address: candidate.text(text.as_bytes()).to_owned(),
                flags: candidate.flags,
                suggestion: candidate.suggestion,
            }),
            CellEval {
                error: Some(reason),
                ..
            } => Err(reason),
            CellEval { error: None, .. } => Err(Reason::Empty),
        }
    }

    /// Whether a normalized address can be sent to, as far as the row alone tells: its
    /// syntax, then the per-address policy (suppression aside, which `eval_cell` looks at
    /// first). Returns its flags or why not, and a likely correction of its domain.
    pub(super) fn judge(
        &self,
        address: &Address<'_>,
        domain_hash: u64,
    ) -> (Result<Flags, Reason>, Option<&'static str>) {
        // The role check needs only the local part: done first, it gives the domain's
        // table entry, asked for by `eval_cell`, time to arrive from memory.
        let role = lists::is_role(address.local());
        let known = self.policy.cached_facts(domain_hash);
        let syntax = match validate_with(address, self.keep_legacy_carrier, known.well_formed()) {
            Ok(flags) => flags,
            // A domain that ends in no real top-level domain is most often a slip of the
            // finger (gmail.con): the suggestion says which.
            Err(reason @ Reason::Syntax(SyntaxError::InvalidTld { .. })) => {
                let suggestion = self.policy.suggestion(address.domain(), domain_hash);
                return (Err(reason), suggestion);
            }
            Err(reason) => return (Err(reason), None),
        };
        let (remarks, suggestion) =
            self.policy
                .check_with_suggestion(address, domain_hash, known, role);
        (remarks.map(|remarks| syntax | remarks.flags), suggestion)
    }
}

/// Whether two byte strings are equal. Most addresses are the very bytes of their cell
/// (normalizing borrowed it unchanged), which the slices' addresses tell without comparing
/// the bytes.
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    std::ptr::eq(a, b) || a == b
}

fn memchr_nul(bytes: &[u8]) -> bool {
    memchr::memchr(0, bytes).is_some()
}

/// Whether every cell of a record is valid in its encoding.
///
/// For UTF-8 one pass over the whole record does: its field bytes (the cells, with nothing
/// but ASCII delimiters and quotes between them) are valid and no cell starts with a
/// continuation byte exactly when every cell is valid.
fn is_valid_text(record: Record<'_>, encoding: CellEncoding) -> bool {
    match encoding {
        CellEncoding::Utf8 if record.field_bytes().is_ascii() => true,
        CellEncoding::Utf8 => {
            std::str::from_utf8(record.field_bytes()).is_ok()
                && record
                    .iter()
                    .all(|cell| cell.first().is_none_or(|b| b & 0xC0 != 0x80))
        }
        CellEncoding::Cp932 => record.iter().all(|cell| is_valid_cell(cell, encoding)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn same_bytes_compares_contents_wherever_they_are() {
        let row = b"taro@acme.jp,taro@acme.jp";
        let (first, second) = (&row[..12], &row[13..]);
        assert!(super::same_bytes(first, first));
        assert!(super::same_bytes(first, second));
        assert!(!super::same_bytes(first, &row[..11]));
        assert!(!super::same_bytes(first, b"jiro@acme.jp"));
        assert!(super::same_bytes(b"", &row[..0]));
    }
}
