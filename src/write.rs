//! Writing: the sink that turns decided rows into the cleaned and rejected files.
//!
//! Rows are written in the input's dialect and encoding (or `--output-encoding`), so the
//! cleaned file imports wherever the original did. Batches are formatted in parallel and
//! written by a thread of their own. Every file is written under a temporary name in the
//! destination folder and renamed into place only by [`CsvOutput::finish`], after an
//! fsync: a failed or interrupted run never leaves a half-written file under a final name.
//! The cleaned and rejected files, the large ones, are written past the page cache where the
//! system allows it ([`direct`]).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::thread::JoinHandle;

use crossbeam_channel::{Sender, bounded};
use rayon::prelude::*;
use tempfile::NamedTempFile;

mod direct;

use crate::dialect::Dialect;
use crate::error::Error;
use crate::formula::is_formula;
use crate::pipeline::{Batch, EmailCell, Row, Sink, same_bytes};
use crate::read::encoding::{self, Encoding};
use crate::read::records::Record;
use crate::validate::is_address_byte;
use crate::verdict::{Flags, Lang, Status, Verdict};

/// Columns appended to the cleaned file.
pub const CLEANED_COLUMNS: [&str; 3] = ["email_status", "email_flags", "email_suggestion"];
/// Columns appended to the rejected file.
pub const REJECTED_COLUMNS: [&str; 3] = ["reject_reason", "reject_detail", "suggestion"];

/// Rows formatted by one task: enough to amortize the task, few enough to spread a batch
/// over the cores.
const FORMAT_CHUNK: usize = 1024;

/// Formatted rows for the cleaned file and the rejected file, in output bytes.
type Chunk = (Vec<u8>, Vec<u8>);

/// What the writer thread is asked to do.
enum Message {
    Rows(Vec<Chunk>),
    /// Make everything written so far durable, and say how long both files are.
    Sync(Sender<Result<(u64, u64), Error>>),
}

/// The fixed names a checkpointed run writes its outputs under, and for `--resume` the
/// lengths to cut them back to.
#[derive(Debug, Clone)]
pub struct Partial {
    pub cleaned: PathBuf,
    pub rejected: PathBuf,
    pub lengths: Option<(u64, u64)>,
}

/// The paths of a run's outputs.
#[derive(Debug, Clone)]
pub struct OutputPaths {
    pub cleaned: PathBuf,
    pub rejected: PathBuf,
    pub report: PathBuf,
}

/// The folder of an output's temporary file, and how its hidden name starts
/// (`.<name>.`); a random part and [`TEMPORARY_SUFFIX`] follow.
fn temporary_place(path: &Path) -> (&Path, String) {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    (dir, format!(".{name}."))
}

const TEMPORARY_SUFFIX: &str = ".tmp";

/// How long a temporary output may go unwritten before a later run takes it for one a
/// killed run left behind: a run still going writes its own every few seconds.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

impl OutputPaths {
    pub fn new(dir: &Path, stem: &str) -> OutputPaths {
        OutputPaths {
            cleaned: dir.join(format!("{stem}.cleaned.csv")),
            rejected: dir.join(format!("{stem}.rejected.csv")),
            report: dir.join(format!("{stem}.report.json")),
        }
    }

    /// Removes the temporary files of these outputs that a run killed with `kill -9` (which
    /// cannot clean up after itself) left behind: the hidden `.<name>.*.tmp` beside each,
    /// not written for an hour. Best effort: what cannot be removed stays.
    pub fn remove_stale_temporaries(&self) {
        for path in [&self.cleaned, &self.rejected, &self.report] {
            let (dir, prefix) = temporary_place(path);
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let file_name = entry.file_name();
                let file_name = file_name.to_string_lossy();
                let stale = || {
                    entry
                        .metadata()
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|modified| modified.elapsed().ok())
                        .is_some_and(|age| age > STALE_AFTER)
                };
                if file_name.starts_with(&prefix)
                    && file_name.ends_with(TEMPORARY_SUFFIX)
                    && stale()
                {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }
}

/// A file written under a temporary name beside its final one, and renamed into place
/// by [`commit_all`]. Dropped uncommitted, the temporary file is removed.
pub struct AtomicFile {
    temp: Temp,
    path: PathBuf,
    /// Bytes written so far.
    written: u64,
    /// Bytes the system was asked to start writing to disk.
    handed: u64,
    /// The buffer of direct writes, for a large file written past the page cache.
    staged: Option<direct::Staged>,
}

/// Every so many bytes, the system is asked to start writing them to disk while the run
/// goes on, so that the fsync at the end finds little left to wait for.
const HAND_TO_DISK_EVERY: u64 = 8 << 20;

enum Temp {
    /// A temporary file with a random name, removed if the run does not finish.
    Random(NamedTempFile),
    /// A partial file with a fixed name that outlives a failed run, for `--resume`.
    Kept { file: File, path: PathBuf },
}

impl AtomicFile {
    /// # Errors
    /// [`Error::Create`] when the temporary file cannot be created.
    pub fn create(path: &Path) -> Result<AtomicFile, Error> {
        let (dir, prefix) = temporary_place(path);
        let temp = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(TEMPORARY_SUFFIX)
            .permissions(output_permissions())
            .tempfile_in(dir)
            .map_err(|source| Error::Create {
                path: path.to_owned(),
                source,
            })?;
        Ok(AtomicFile {
            temp: Temp::Random(temp),
            path: path.to_owned(),
            written: 0,
            handed: 0,
            staged: None,
        })
    }

    /// Writes the file past the system's page cache where the system allows it, for a
    /// large output the run does not read back (see [`direct`]).
    #[must_use]
    pub fn past_page_cache(mut self) -> AtomicFile {
        self.staged = direct::Staged::start(self.file());
        self
    }

    /// A file written under the fixed name `partial`, which stays if the run fails so that
    /// `--resume` can go on with it. With `keep`, an existing partial file is cut to that
    /// many bytes and written after; without, it is started afresh.
    ///
    /// # Errors
    /// [`Error::Create`], or [`Error::Resume`] when the partial file is shorter than `keep`.
    pub fn resumable(path: &Path, partial: &Path, keep: Option<u64>) -> Result<AtomicFile, Error> {
        let fail = |source| Error::Create {
            path: partial.to_owned(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(keep.is_none());
        let mut file = options.open(partial).map_err(fail)?;
        let written = match keep {
            Some(len) => {
                let actual = file.metadata().map_err(fail)?.len();
                if actual < len {
                    return Err(Error::Resume {
                        path: partial.to_owned(),
                        why: "the partial output is cut short".into(),
                    });
                }
                file.set_len(len).map_err(fail)?;
                std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0)).map_err(fail)?;
                len
            }
            None => 0,
        };
        #[cfg(unix)]
        file.set_permissions(output_permissions()).map_err(fail)?;
        Ok(AtomicFile {
            temp: Temp::Kept {
                file,
                path: partial.to_owned(),
            },
            path: path.to_owned(),
            written,
            handed: written,
            staged: None,
        })
    }

    fn file(&mut self) -> &mut File {
        self.temp.file()
    }

    fn failed(&self, source: std::io::Error) -> Error {
        Error::Write {
            path: self.path.clone(),
            source,
        }
    }

    /// # Errors
    /// [`Error::Write`].
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.written += bytes.len() as u64;
        if let Some(staged) = &mut self.staged {
            return staged
                .write(self.temp.file(), bytes)
                .map_err(|e| self.failed(e));
        }
        self.file().write_all(bytes).map_err(|e| self.failed(e))?;
        if self.written - self.handed >= HAND_TO_DISK_EVERY {
            let (from, to) = (self.handed, self.written);
            start_writeback(self.file(), from, to - from);
            self.handed = to;
        }
        Ok(())
    }

    /// Makes what was written durable; returns its length.
    ///
    /// # Errors
    /// [`Error::Write`].
    pub fn sync(&mut self) -> Result<u64, Error> {
        self.finish_staged()?;
        self.file().sync_data().map_err(|e| self.failed(e))?;
        Ok(self.written)
    }

    /// Writes out what direct writes left in their buffer; the file is written as usual
    /// from then on.
    fn finish_staged(&mut self) -> Result<(), Error> {
        if let Some(mut staged) = self.staged.take() {
            staged
                .finish(self.temp.file())
                .map_err(|e| self.failed(e))?;
        }
        Ok(())
    }

    /// Makes the data durable and checks that the final name can be taken (no folder has
    /// it), so that only the rename is left to do.
    fn seal(&mut self) -> Result<(), Error> {
        self.finish_staged()?;
        self.file().sync_all().map_err(|e| self.failed(e))?;
        if self.path.is_dir() {
            return Err(Error::Write {
                path: self.path.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::IsADirectory,
                    "a folder has that name",
                ),
            });
        }
        Ok(())
    }

    fn rename(self) -> Result<(), Error> {
        let path = self.path;
        let fail = |source| Error::Write {
            path: path.clone(),
            source,
        };
        match self.temp {
            Temp::Random(temp) => temp.persist(&path).map(drop).map_err(|e| fail(e.error))?,
            Temp::Kept { path: partial, .. } => std::fs::rename(&partial, &path).map_err(fail)?,
        }
        sync_dir(&path);
        Ok(())
    }
}

impl Temp {
    fn file(&mut self) -> &mut File {
        match self {
            Temp::Random(temp) => temp.as_file_mut(),
            Temp::Kept { file, .. } => file,
        }
    }
}

/// Puts a set of files in place together: every one is synced and checked first, and only
/// then are they renamed, so that a failure (a full disk, a folder where a file should go)
/// leaves the earlier set whole instead of half replaced.
///
/// # Errors
/// [`Error::Write`] when a file cannot be synced or renamed; before any rename, when it is
/// a sync or the check that fails.
pub fn commit_all<const N: usize>(mut files: [AtomicFile; N]) -> Result<(), Error> {
    for file in &mut files {
        file.seal()?;
    }
    for file in files {
        file.rename()?;
    }
    Ok(())
}

/// Starts writing a range of the file to disk without waiting for it (Linux; elsewhere
/// the fsync at the end does it all). Only a hint: a failure here shows at that fsync.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: a system call on a file descriptor this file owns; it touches no memory.
    unsafe { libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE) };
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

/// Outputs are ordinary files, readable by others like any file the user creates (the
/// temporary-file default, owner only, would surprise an import job run as another user).
#[cfg(unix)]
fn output_permissions() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o644)
}

/// Syncs the folder so the rename itself survives a crash. Best effort: not every file
/// system lets a folder be opened for that.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = File::open(dir)
    {
        let _ = dir.sync_all();
    }
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
    plain_codes: bool,
    plain_addresses: bool,
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
                    partial.lengths.map(|l| l.0),
                )?,
                AtomicFile::resumable(
                    &paths.rejected,
                    &partial.rejected,
                    partial.lengths.map(|l| l.1),
                )?,
            ),
        };
        let resuming = partial.is_some_and(|p| p.lengths.is_some());
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
                    format.dialect.push_field(&mut row, cell, i == 0);
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
        let plain_codes = !format
            .dialect
            .may_quote(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b';'));
        let plain_addresses = !format.dialect.may_quote(is_address_byte);
        let mut output = CsvOutput {
            format,
            email_index,
            chunks: Some(tx),
            writer: Some(writer),
            plain_codes,
            plain_addresses,
            kept_ends: KeptEnds::default(),
            unmappable,
        };
        output.kept_ends = KeptEnds::new(&output);
        Ok(output)
    }

    /// Waits for the writes to end and returns the cleaned and rejected files, still under
    /// their temporary names: [`commit_all`] puts them in place with the report.
    ///
    /// # Errors
    /// The first write error.
    pub fn finish(mut self) -> Result<[AtomicFile; 2], Error> {
        let (cleaned, rejected) = self.join()?;
        Ok([cleaned, rejected])
    }

    /// The first character the output encoding could not hold: it and any others went out
    /// as HTML numeric references.
    pub fn unmappable(&self) -> Option<char> {
        self.unmappable.get().copied()
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
            let plain = !dialect.quote_all && record.len() == fields && is_plain(record.raw());
            for f in 0..fields {
                match cell(f) {
                    Cell::Address(address) => self.push_address(out, address, f == 0),
                    Cell::Other(value) if plain => {
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
        self.push_address(out, suggestion.unwrap_or_default().as_bytes(), false);
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
        dialect.push_field(
            out,
            &encoding::encode_cell(&detail, dialect.cell_encoding),
            false,
        );
        dialect.push_field(out, suggestion.unwrap_or_default().as_bytes(), false);
        if !record.too_large {
            for f in width..record.len() {
                self.push_guarded(out, record.field(f), false);
            }
        }
        dialect.end_row(out);
    }

    /// Writes a status, flag or reason code.
    fn push_code(&self, out: &mut Vec<u8>, code: &[u8], first: bool) {
        if self.plain_codes {
            self.format.dialect.push_unquoted(out, code, first);
        } else {
            self.format.dialect.push_field(out, code, first);
        }
    }

    /// Writes the `email_flags` cell: the flag codes joined with `;`.
    fn push_flags(&self, out: &mut Vec<u8>, flags: Flags) {
        if !self.plain_codes {
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
        if self.plain_addresses {
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
fn is_plain(raw: &[u8]) -> bool {
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
                state.cleaned_bytes = cleaned;
                state.rejected_bytes = rejected;
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
