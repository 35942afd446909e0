//! The CSV writer: the sink that turns decided rows into the cleaned and rejected files.
//!
//! Rows are written in the input's dialect and encoding (or the output encoding asked
//! for), so the cleaned file imports wherever the original did. Batches are formatted in
//! parallel and written by a thread of their own.

use std::sync::OnceLock;
use std::thread::JoinHandle;

use crossbeam_channel::{Sender, bounded};
use rayon::prelude::*;

use super::atomic::{AtomicFile, OutputPaths, Partial};
use super::{CLEANED_COLUMNS, Output, REJECTED_COLUMNS};
use crate::checkpoint::Mark;
use crate::error::Error;
use crate::formula::is_formula;
use crate::pipeline::{Batch, EmailCell, Row, Sink, same_bytes};
use crate::read::dialect::Dialect;
use crate::read::encoding::{self, Encoding};
use crate::read::records::Record;
use crate::validate::is_address_byte;
use crate::verdict::{Flags, Lang, Status, Verdict};

/// Rows formatted by one task: enough to amortize the task, few enough to spread a batch
/// over the cores.
const FORMAT_CHUNK: usize = 1024;

/// Formatted rows for the cleaned file and the rejected file, in output bytes.
type Chunk = (Vec<u8>, Vec<u8>);

/// What the writer thread is asked to do.
enum Message {
    Rows(Vec<Chunk>),
    /// Make everything written so far durable, and say how long both files are.
    Sync(Sender<Result<(Mark, Mark), Error>>),
}

/// How output rows are shaped.
#[derive(Debug, Clone)]
pub struct OutputFormat {
    pub dialect: Dialect,
    pub encoding: Encoding,
    /// The input's header cells as read; `None` for a file without one.
    pub header: Option<Vec<Vec<u8>>>,
    /// Column names for `reject_detail`.
    pub names: Vec<String>,
    /// The number of cells a row is padded to.
    pub width: usize,
    /// The last columns of the input that an earlier run appended (its `email_status`,
    /// `email_flags`, `email_suggestion`, or its reject columns): left out, since this run
    /// writes its own. 0 or 3.
    pub replaced: usize,
    pub email_columns: Vec<usize>,
    pub lang: Lang,
    /// Prefix cells a spreadsheet would run as a formula with `'`.
    pub formula_guard: bool,
}

/// The sink writing `<stem>.cleaned.csv` and `<stem>.rejected.csv`.
pub struct CsvOutput {
    format: OutputFormat,
    /// For each record field, its index among the email columns.
    email_index: Vec<Option<usize>>,
    chunks: Option<Sender<Message>>,
    writer: Option<JoinHandle<Result<(AtomicFile, AtomicFile), Error>>>,
    /// Status and flag codes, and valid addresses, go out without a look for what to quote.
    codes_unquoted: bool,
    addresses_unquoted: bool,
    kept_ends: KeptEnds,
    /// The first character the output encoding could not hold, if any.
    unmappable: OnceLock<char>,
}

impl CsvOutput {
    /// Creates both files (under temporary names) and writes their starts: the BOM, Excel's
    /// `sep=` line and the header, as the input had them.
    ///
    /// # Errors
    /// [`Error::Create`] or [`Error::Write`].
    pub fn create(
        paths: &OutputPaths,
        format: OutputFormat,
        partial: Option<&Partial>,
    ) -> Result<CsvOutput, Error> {
        let (mut cleaned, mut rejected) = match partial {
            None => (
                AtomicFile::create(&paths.cleaned)?.past_page_cache(),
                AtomicFile::create(&paths.rejected)?.past_page_cache(),
            ),
            Some(partial) => (
                AtomicFile::resumable(
                    &paths.cleaned,
                    &partial.cleaned,
                    partial.marks.map(|m| m.0),
                )?,
                AtomicFile::resumable(
                    &paths.rejected,
                    &partial.rejected,
                    partial.marks.map(|m| m.1),
                )?,
            ),
        };
        let resuming = partial.is_some_and(|p| p.marks.is_some());
        let bom = format.encoding.bom();
        if !resuming {
            let mut start = bom.to_vec();
            if let Some(line) = format.dialect.sep_line() {
                encoding::convert(
                    &line,
                    format.dialect.cell_encoding,
                    format.encoding,
                    &mut start,
                );
            }
            cleaned.write_all(&start)?;
            rejected.write_all(&start)?;
        }
        let unmappable = OnceLock::new();
        if let Some(header) = format.header.as_ref().filter(|_| !resuming) {
            for (file, extra) in [
                (&mut cleaned, CLEANED_COLUMNS),
                (&mut rejected, REJECTED_COLUMNS),
            ] {
                let mut row = Vec::new();
                let cells = header
                    .iter()
                    .map(Vec::as_slice)
                    .chain(std::iter::repeat(&b""[..]));
                for (i, cell) in cells
                    .take(format.width - format.replaced)
                    .chain(extra.map(str::as_bytes))
                    .enumerate()
                {
                    // A header is copied like any cell: guarded too.
                    let guard: &[u8] = if format.formula_guard && is_formula(cell) {
                        b"'"
                    } else {
                        b""
                    };
                    format
                        .dialect
                        .push_field_after(&mut row, guard, cell, i == 0);
                }
                format.dialect.end_row(&mut row);
                let mut encoded = Vec::new();
                convert_noting(&row, &format, &mut encoded, &unmappable);
                file.write_all(&encoded)?;
            }
        }
        let mut email_index = vec![None; format.width];
        for (i, &col) in format.email_columns.iter().enumerate() {
            if col >= email_index.len() {
                email_index.resize(col + 1, None);
            }
            email_index[col] = Some(i);
        }
        let (tx, rx) = bounded::<Message>(2);
        let writer = std::thread::spawn(move || {
            for message in rx {
                match message {
                    Message::Rows(chunks) => {
                        for (c, r) in chunks {
                            cleaned.write_all(&c)?;
                            rejected.write_all(&r)?;
                        }
                    }
                    Message::Sync(reply) => {
                        let lengths = cleaned.sync().and_then(|c| Ok((c, rejected.sync()?)));
                        let failed = lengths.is_err();
                        let _ = reply.send(lengths);
                        if failed {
                            return Err(Error::Internal("syncing the outputs failed".into()));
                        }
                    }
                }
            }
            Ok((cleaned, rejected))
        });
        let codes_unquoted = !format
            .dialect
            .may_quote(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b';'));
        let addresses_unquoted = !format.dialect.may_quote(is_address_byte);
        let mut output = CsvOutput {
            format,
            email_index,
            chunks: Some(tx),
            writer: Some(writer),
            codes_unquoted,
            addresses_unquoted,
            kept_ends: KeptEnds::default(),
            unmappable,
        };
        output.kept_ends = KeptEnds::new(&output);
        Ok(output)
    }

    fn join(&mut self) -> Result<(AtomicFile, AtomicFile), Error> {
        self.chunks = None;
        match self.writer.take() {
            Some(handle) => handle
                .join()
                .map_err(|_| Error::Internal("the writer thread panicked".into()))?,
            None => Err(Error::Internal("the output was already finished".into())),
        }
    }

    fn format_rows(&self, batch: &Batch, rows: std::ops::Range<usize>) -> Chunk {
        let mut cleaned = Vec::with_capacity(rows.len() * 160);
        let mut rejected = Vec::new();
        for i in rows {
            let row = batch.row(i);
            match row.verdict {
                Verdict::Keep { .. } => self.write_kept(&row, &mut cleaned),
                Verdict::Reject { .. } => self.write_rejected(&row, &mut rejected),
            }
        }
        let convert = |bytes: Vec<u8>| {
            if self.needs_conversion() {
                let mut out = Vec::with_capacity(bytes.len() * 2);
                convert_noting(&bytes, &self.format, &mut out, &self.unmappable);
                out
            } else {
                bytes
            }
        };
        (convert(cleaned), convert(rejected))
    }

    fn needs_conversion(&self) -> bool {
        use encoding::CellEncoding as C;
        !matches!(
            (self.format.dialect.cell_encoding, self.format.encoding),
            (C::Utf8, Encoding::Utf8 | Encoding::Utf8Bom) | (C::Cp932, Encoding::Cp932)
        )
    }

    /// Writes a kept row: the cells with the email columns cleaned, then the status
    /// columns. A row that needs no change is copied through as it was read.
    fn write_kept(&self, row: &Row<'_>, out: &mut Vec<u8>) {
        let Verdict::Keep {
            status,
            flags,
            suggestion,
        } = row.verdict
        else {
            return;
        };
        let dialect = &self.format.dialect;
        let record = row.record;
        let fields = if self.format.header.is_some() {
            self.format.width - self.format.replaced
        } else {
            self.format.width.max(record.len())
        };
        let cell = |f: usize| match self
            .email_index
            .get(f)
            .copied()
            .flatten()
            .map(|i| row.email_cell(i))
        {
            Some(EmailCell::Address(address)) => Cell::Address(address),
            Some(EmailCell::Cleared) => Cell::Address(b""),
            Some(EmailCell::Original) | None => Cell::Other(record.field(f)),
        };
        // Only the email cells can differ from the row as read, and only a cell that needs
        // a formula guard makes the others differ.
        let unchanged = record.len() == fields
            && self.format.email_columns.iter().enumerate().all(|(i, &f)| {
                match row.email_cell(i) {
                    EmailCell::Address(address) => same_bytes(address, record.field(f)),
                    EmailCell::Cleared => record.field(f).is_empty(),
                    EmailCell::Original => true,
                }
            })
            && !self.any_needs_guard(record);
        if unchanged {
            out.extend_from_slice(record.raw());
        } else {
            // No quote in the row as read means no cell holds a delimiter, quote or line
            // break: the other cells then go out as they are, without a look for what to quote.
            let unquoted =
                !dialect.quote_all && record.len() == fields && has_no_quote(record.raw());
            for f in 0..fields {
                match cell(f) {
                    Cell::Address(address) => self.push_address(out, address, f == 0),
                    Cell::Other(value) if unquoted => {
                        if f > 0 {
                            out.push(dialect.delimiter);
                        }
                        if self.needs_guard(value) {
                            out.push(b'\'');
                        }
                        out.extend_from_slice(value);
                    }
                    Cell::Other(value) => self.push_guarded(out, value, f == 0),
                }
            }
        }
        if suggestion.is_none() && fields > 0 {
            out.extend_from_slice(self.kept_ends.get(*status, *flags));
            return;
        }
        self.write_kept_end(out, *status, *flags, row.suggested_address(), fields == 0);
    }

    /// Writes the status columns of a kept row, and ends it.
    fn write_kept_end(
        &self,
        out: &mut Vec<u8>,
        status: Status,
        flags: Flags,
        suggestion: Option<String>,
        first: bool,
    ) {
        self.push_code(out, status.code().as_bytes(), first);
        self.push_flags(out, flags);
        // A suggestion is the address's local part at another domain: `=h@gmail.com` is
        // written by this tool, not kept from the input, so it is guarded.
        self.push_guarded(out, suggestion.unwrap_or_default().as_bytes(), false);
        self.format.dialect.end_row(out);
    }

    /// Writes a rejected row: its cells as they were, then the reject columns. Cells beyond
    /// the header's width (a row with too many cells) go after the reject columns, so that
    /// those stay aligned and no cell is lost.
    fn write_rejected(&self, row: &Row<'_>, out: &mut Vec<u8>) {
        let Verdict::Reject { reason, column, .. } = row.verdict else {
            return;
        };
        let dialect = &self.format.dialect;
        let record = row.record;
        let width = if self.format.header.is_some() {
            self.format.width
        } else {
            record.len().max(1)
        };
        let kept = width - self.format.replaced;
        if record.too_large {
            // Only the row's first bytes were kept: they go in the first cell.
            self.push_guarded(out, record.raw(), true);
            for _ in 1..kept {
                dialect.push_field(out, b"", false);
            }
        } else if record.len() == kept && !self.any_needs_guard(record) {
            out.extend_from_slice(record.raw());
        } else {
            for f in 0..kept {
                self.push_guarded(out, record.field(f), f == 0);
            }
        }
        self.push_code(out, reason.code().as_bytes(), false);
        let sentence = reason.sentence(self.format.lang);
        let mut detail = match column {
            Some(i) => {
                let name = self
                    .format
                    .names
                    .get(self.format.email_columns[*i])
                    .map_or("", String::as_str);
                // Joined by hand: `format!` cost more than the rest of a rejected row.
                let mut detail = String::with_capacity(name.len() + 2 + sentence.len());
                detail.push_str(name);
                detail.push_str(": ");
                detail.push_str(&sentence);
                detail
            }
            None => sentence,
        };
        let suggestion = row.suggested_address();
        // The reason is about the domain as written (it does not exist, or it is a
        // disposable one: typo domains are often registered as such); the typo is why.
        if let Some(suggestion) = &suggestion {
            detail += &crate::messages::reasons::did_you_mean(suggestion, self.format.lang);
        }
        // The detail starts with the column's name, which the file chose: guarded like a
        // cell, as is the suggestion (see `write_kept_end`).
        self.push_guarded(
            out,
            &encoding::encode_cell(&detail, dialect.cell_encoding),
            false,
        );
        self.push_guarded(out, suggestion.unwrap_or_default().as_bytes(), false);
        if !record.too_large {
            for f in width..record.len() {
                self.push_guarded(out, record.field(f), false);
            }
        }
        dialect.end_row(out);
    }

    /// Writes a status, flag or reason code.
    fn push_code(&self, out: &mut Vec<u8>, code: &[u8], first: bool) {
        if self.codes_unquoted {
            self.format.dialect.push_unquoted(out, code, first);
        } else {
            self.format.dialect.push_field(out, code, first);
        }
    }

    /// Writes the `email_flags` cell: the flag codes joined with `;`.
    fn push_flags(&self, out: &mut Vec<u8>, flags: Flags) {
        if !self.codes_unquoted {
            self.push_code(out, flags.joined().as_bytes(), false);
            return;
        }
        out.push(self.format.dialect.delimiter);
        for (i, code) in flags.codes().enumerate() {
            if i > 0 {
                out.push(b';');
            }
            out.extend_from_slice(code.as_bytes());
        }
    }

    /// Writes a valid address, or an empty cell.
    fn push_address(&self, out: &mut Vec<u8>, address: &[u8], first: bool) {
        if self.addresses_unquoted {
            self.format.dialect.push_unquoted(out, address, first);
        } else {
            self.format.dialect.push_field(out, address, first);
        }
    }

    /// Whether a cell goes out with a leading `'`, because a spreadsheet would run it as a
    /// formula (OWASP "CSV injection"): cells starting with `=`, `+`, `-`, `@`, tab or CR.
    fn needs_guard(&self, cell: &[u8]) -> bool {
        self.format.formula_guard && is_formula(cell)
    }

    /// Whether any cell of a record [needs a guard](CsvOutput::needs_guard). Asked of every
    /// row written, so the cells are first told apart by their first byte, which the reader
    /// [marked](Record::marks), and only a cell whose first byte can start a formula gets
    /// the full look: most rows have none, the rest one or two (a phone number's `+`).
    // Inlined into its two callers: called for every row, the call's set-up (saving
    // registers, passing the record) cost a fifth as much as the look itself.
    #[inline(always)]
    fn any_needs_guard(&self, record: Record<'_>) -> bool {
        if !self.format.formula_guard {
            return false;
        }
        let mut marks = record.marks();
        if marks != 0 && record.len() > 64 {
            // Cells share marks past the 64th.
            return record.iter().any(is_formula);
        }
        while marks != 0 {
            if is_formula(record.field(marks.trailing_zeros() as usize)) {
                return true;
            }
            marks &= marks - 1;
        }
        false
    }

    /// Writes a cell, guarded when it [needs it](CsvOutput::needs_guard).
    fn push_guarded(&self, out: &mut Vec<u8>, cell: &[u8], first: bool) {
        let prefix: &[u8] = if self.needs_guard(cell) { b"'" } else { b"" };
        self.format
            .dialect
            .push_field_after(out, prefix, cell, first);
    }
}

/// How a kept row without a suggestion ends (its status columns and line ending), for
/// every status and set of flags, as [`CsvOutput::write_kept_end`] writes it. Nearly every
/// row is kept with one of a few such ends: one copy costs a fraction of writing the cells.
#[derive(Default)]
struct KeptEnds {
    bytes: Vec<u8>,
    /// Where each end is in `bytes`, at [`KeptEnds::index`].
    spans: Vec<(usize, usize)>,
}

impl KeptEnds {
    const FLAG_SETS: usize = 1 << Flags::ALL.len();

    fn new(output: &CsvOutput) -> KeptEnds {
        let mut ends = KeptEnds {
            bytes: Vec::new(),
            spans: vec![(0, 0); Status::ALL.len() * KeptEnds::FLAG_SETS],
        };
        for status in Status::ALL {
            for bits in 0..KeptEnds::FLAG_SETS {
                let flags = Flags::ALL
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| bits & 1 << i != 0)
                    .fold(Flags::NONE, |flags, (_, (flag, _))| flags | *flag);
                let start = ends.bytes.len();
                output.write_kept_end(&mut ends.bytes, status, flags, None, false);
                ends.spans[KeptEnds::index(status, flags)] = (start, ends.bytes.len());
            }
        }
        ends
    }

    fn index(status: Status, flags: Flags) -> usize {
        status as usize * KeptEnds::FLAG_SETS + usize::from(flags.bits())
    }

    fn get(&self, status: Status, flags: Flags) -> &[u8] {
        let (start, end) = self.spans[KeptEnds::index(status, flags)];
        &self.bytes[start..end]
    }
}

/// A cell of a kept row: a cleaned email cell, or any other cell.
enum Cell<'a> {
    Address(&'a [u8]),
    Other(&'a [u8]),
}

/// Whether a row as read has no quote byte, so its cells are its bytes between delimiters.
fn has_no_quote(raw: &[u8]) -> bool {
    memchr::memchr(b'"', raw).is_none()
}

/// Converts output from the cells' encoding into the output encoding, noting the first
/// character the output encoding cannot hold (looked for only until one is noted).
fn convert_noting(
    bytes: &[u8],
    format: &OutputFormat,
    out: &mut Vec<u8>,
    unmappable: &OnceLock<char>,
) {
    let lossy = encoding::convert(bytes, format.dialect.cell_encoding, format.encoding, out);
    if lossy
        && unmappable.get().is_none()
        && let Some(c) = encoding::first_unmappable(bytes)
    {
        let _ = unmappable.set(c);
    }
}

impl Output for CsvOutput {
    /// Waits for the writes to end and returns the cleaned and rejected files, still under
    /// their temporary names: [`super::commit_all`] puts them in place with the report.
    ///
    /// # Errors
    /// The first write error.
    fn finish(mut self: Box<Self>) -> Result<[AtomicFile; 2], Error> {
        let (cleaned, rejected) = self.join()?;
        Ok([cleaned, rejected])
    }

    /// The first character the output encoding could not hold: it and any others went out
    /// as HTML numeric references.
    fn unmappable(&self) -> Option<char> {
        self.unmappable.get().copied()
    }
}

impl Drop for CsvOutput {
    /// An output dropped unfinished (an error, an interruption) waits for its writer, whose
    /// temporary files are then removed: nothing half-written is left behind.
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = self.join();
        }
    }
}

impl Sink for CsvOutput {
    fn checkpoint(&mut self, state: &mut crate::checkpoint::State) -> Result<(), Error> {
        let (reply, answer) = bounded(1);
        let sent = self
            .chunks
            .as_ref()
            .is_some_and(|tx| tx.send(Message::Sync(reply)).is_ok());
        match answer.recv() {
            Ok(Ok((cleaned, rejected))) if sent => {
                state.cleaned = cleaned;
                state.rejected = rejected;
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            _ => self
                .join()
                .and(Err(Error::Internal("the writer stopped early".into()))),
        }
    }

    fn batch(&mut self, batch: &Batch) -> Result<(), Error> {
        let starts: Vec<usize> = (0..batch.len()).step_by(FORMAT_CHUNK).collect();
        let chunks: Vec<Chunk> = starts
            .par_iter()
            .map(|&start| self.format_rows(batch, start..batch.len().min(start + FORMAT_CHUNK)))
            .collect();
        let sent = self
            .chunks
            .as_ref()
            .is_some_and(|tx| tx.send(Message::Rows(chunks)).is_ok());
        if sent {
            return Ok(());
        }
        // The writer stopped: its error says why.
        match self.join() {
            Err(e) => Err(e),
            Ok(_) => Err(Error::Internal("the writer stopped early".into())),
        }
    }
}
