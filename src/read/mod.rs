//! Reading: from an input's bytes to raw records, with everything the later stages need
//! to know about the file (encoding, dialect, header, which columns hold addresses).
//!
//! Owns opening the input, detecting its encoding and dialect, the header decision and
//! column detection. It never interprets a cell beyond that: normalizing and checking
//! addresses belong to the stages after it.
//!
//! Every input passes the [`format`](mod@format) check when it is opened, which picks the reader of
//! its rows: a [`RowReader`] fills [`records::Records`] (cells, line numbers, raw bytes)
//! whatever the format, and the header and email columns are found the same way for all.
//! CSV is the one format read today (`csv`, with [`encoding`], [`dialect`] and the
//! sniffing in [`sniff`]); a workbook is refused with advice.

mod csv;
pub mod columns;
pub mod dialect;
pub mod encoding;
pub mod format;
pub mod records;
pub mod sniff;

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::error::Error;
use crate::read::dialect::Dialect;
use csv::CsvOpened;
use encoding::{CellEncoding, Encoding};
use format::Format;
use records::{Record, Records};

/// An input that a run can stop while it is read: every read first looks at the stop flag
/// (an endless input, `/dev/zero` or a record that never ends, is read a chunk at a time),
/// and a pipe or standard input, which can wait for data for as long as its writer likes,
/// is waited for in short polls with a look at the flag between them (a signal does not
/// end a waiting read: the handler lets it restart).
pub struct Stoppable<R> {
    inner: R,
    stop: Arc<AtomicUsize>,
    /// Whether reads may wait: a pipe, a terminal, standard input.
    waits: bool,
}

impl Stoppable<File> {
    /// A file that `stop` can stop.
    pub fn file(file: File, stop: &Arc<AtomicUsize>) -> Stoppable<File> {
        let waits = file.metadata().map_or(true, |m| !m.is_file());
        Stoppable {
            inner: file,
            stop: Arc::clone(stop),
            waits,
        }
    }
}

impl Stoppable<io::Stdin> {
    /// Standard input that `stop` can stop.
    pub fn stdin(stop: &Arc<AtomicUsize>) -> Stoppable<io::Stdin> {
        Stoppable {
            inner: io::stdin(),
            stop: Arc::clone(stop),
            waits: true,
        }
    }
}

impl<R: Read + std::os::fd::AsFd> Read for Stoppable<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.stop.load(Ordering::Relaxed) != 0 {
                return Err(io::Error::other("the run was stopped"));
            }
            #[cfg(target_os = "linux")]
            if self.waits {
                match crate::sys::file::read_within(self.inner.as_fd(), buf, STOP_CHECK)? {
                    Some(n) => return Ok(n),
                    None => continue,
                }
            }
            return self.inner.read(buf);
        }
    }
}

/// Opens an input file. For a run that can be stopped (`stoppable`), a pipe is opened
/// without waiting for its writer (which a signal could not interrupt); its reads wait
/// instead, in [`Stoppable`]'s short polls.
fn open_file(path: &std::path::Path, stoppable: bool) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    if stoppable
        && std::fs::metadata(path).is_ok_and(|m| {
            use std::os::unix::fs::FileTypeExt;
            m.file_type().is_fifo()
        })
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stoppable;
    options.open(path)
}

/// How often a wait for input looks whether the run is stopping.
#[cfg(target_os = "linux")]
const STOP_CHECK: std::time::Duration = std::time::Duration::from_millis(100);

/// How much of the input is read up front to detect its encoding: enough that a file
/// whose first rows are plain ASCII still shows its Japanese further down.
pub const DETECT_BYTES: usize = 1 << 20;
/// How many rows are looked at to find the email column by content.
pub(crate) const SAMPLE_ROWS: usize = 1000;
/// How far down a header after a title is looked for.
const LATE_HEADER_ROWS: usize = 10;

/// Where the contacts come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    Path(PathBuf),
}

impl Input {
    /// A name for messages.
    pub fn describe(&self) -> String {
        match self {
            Input::Stdin => "standard input".into(),
            Input::Path(path) => path.display().to_string(),
        }
    }

    /// The stem output files are named after: `contacts.csv` → `contacts`.
    ///
    /// The file's own bytes, not a text made of them: a name that is not UTF-8 (CP932 from a
    /// Windows share) keeps them, so that two such lists never share their outputs.
    pub fn stem(&self) -> std::ffi::OsString {
        match self {
            Input::Stdin => "stdin".into(),
            _ if self.is_descriptor() => "stdin".into(),
            Input::Path(path) => path
                .file_stem()
                .map_or_else(|| "output".into(), std::ffi::OsStr::to_os_string),
        }
    }
}

impl Input {
    /// Whether the input can be read a second time: a regular file. Standard input and a
    /// pipe given by name (`<(zcat list.csv.gz)`, a FIFO) cannot; a second reader would
    /// take rows from the first.
    pub fn can_read_twice(&self) -> bool {
        matches!(self, Input::Path(path) if std::fs::metadata(path).is_ok_and(|m| m.is_file()))
    }

    /// Whether the input is a pipe or descriptor given by a system name
    /// (`<(zcat list.csv.gz)` is `/dev/fd/63`; `/dev/stdin`): its name means nothing to the
    /// user and its folder is no place for outputs, so both are those of standard input.
    pub fn is_descriptor(&self) -> bool {
        !self.can_read_twice()
            && matches!(self, Input::Path(path) if path.starts_with("/dev") || path.starts_with("/proc"))
    }
}

/// How to read the input. Every `None` means "detect it".
#[derive(Debug, Clone)]
pub struct ReadOptions {
    pub encoding: Option<Encoding>,
    pub delimiter: Option<u8>,
    pub no_header: bool,
    /// `--email-column` values: header names or 1-based numbers.
    pub email_columns: Vec<String>,
    /// `--last-contact-column`.
    pub last_contact_column: Option<String>,
    /// A row longer than this is rejected as malformed instead of being held in memory.
    /// Default 1 MiB.
    pub max_record_bytes: usize,
    /// A row with more cells than this is rejected as malformed instead of being held (an
    /// Excel export of whole rows has 16,384 cells a row, nearly all empty). Default 4,096.
    pub max_columns: usize,
}

impl Default for ReadOptions {
    fn default() -> ReadOptions {
        ReadOptions {
            encoding: None,
            delimiter: None,
            no_header: false,
            email_columns: Vec::new(),
            last_contact_column: None,
            max_record_bytes: 1 << 20,
            max_columns: 4096,
        }
    }
}

/// Hands out an input's records, in order, whatever its format.
pub trait RowReader: Send {
    /// Appends up to `rows` records to `batch`; returns how many. 0 at the end of the
    /// input.
    ///
    /// # Errors
    /// A read that fails, or an input that cannot be split into rows (a quote left open
    /// at its end).
    fn read(&mut self, batch: &mut Records, rows: usize) -> Result<usize, Error>;
}

/// An open input, positioned at its first data row.
pub struct Source {
    /// The input's name, for messages.
    pub what: String,
    pub encoding: Encoding,
    /// The encoding was guessed from a first part of the input that was all ASCII, and
    /// the rest could not be looked at (standard input): rows in another encoding show up
    /// only as encoding errors.
    pub encoding_from_ascii: bool,
    pub dialect: Dialect,
    /// The header's cells as read (in the cells' encoding), if the file has one.
    pub header: Option<Vec<Vec<u8>>>,
    /// Column names for messages: the header's, or "column N".
    pub names: Vec<String>,
    /// The number of columns rows are expected to have.
    pub width: usize,
    pub email_columns: Vec<usize>,
    /// In a file read without a header, a row among the first few whose email cell names
    /// an email column (`メールアドレス`): the header, after a title or blank rows that were
    /// taken for data. Its row number and that cell.
    pub late_header: Option<(u64, String)>,
    pub last_contact_column: Option<usize>,
    pub max_record_bytes: usize,
    pub max_columns: usize,
    rows: Box<dyn RowReader>,
    /// The rows read to learn the file's shape, handed out first.
    replay: Records,
    replayed: usize,
    bytes_read: Arc<AtomicU64>,
    /// The input's size in bytes, when it is a file.
    size: Option<u64>,
}

impl Source {
    /// Opens the input and reads enough of it to learn its shape.
    ///
    /// # Errors
    /// A missing or unreadable input, an empty or header-only input, a file that is not
    /// CSV (an Excel workbook, a ZIP, PDF or gzip file), no email column, or a named column
    /// that does not exist.
    pub fn open(input: &Input, options: &ReadOptions) -> Result<Source, Error> {
        Source::open_until(input, options, None)
    }

    /// [`Source::open`], for a run that `stop` can stop (set to non-zero, by a signal
    /// handler): reading standard input then gives up waiting for data when it is set,
    /// with an error; so does the read of a named pipe, which may wait as long as standard input.
    ///
    /// # Errors
    /// As [`Source::open`].
    pub fn open_until(
        input: &Input,
        options: &ReadOptions,
        stop: Option<&Arc<AtomicUsize>>,
    ) -> Result<Source, Error> {
        let what = input.describe();
        let raw: Box<dyn Read + Send> = match (input, stop) {
            (Input::Stdin, Some(stop)) => Box::new(Stoppable::stdin(stop)),
            (Input::Stdin, None) => Box::new(io::stdin()),
            (Input::Path(path), stop) => {
                let file =
                    open_file(path, stop.is_some()).map_err(|source| match source.kind() {
                        io::ErrorKind::NotFound => Error::InputMissing { path: path.clone() },
                        _ => Error::Open {
                            path: path.clone(),
                            source,
                        },
                    })?;
                match stop {
                    Some(stop) => Box::new(Stoppable::file(file, stop)),
                    None => Box::new(file),
                }
            }
        };
        // A file can be read again to look past a long ASCII start; a pipe cannot.
        let rescan = match input {
            Input::Path(path) if input.can_read_twice() => Some(path.as_path()),
            Input::Path(_) | Input::Stdin => None,
        };
        let size = match input {
            Input::Path(path) => std::fs::metadata(path).ok().map(|m| m.len()),
            Input::Stdin => None,
        };
        Source::from_stream(raw, what, rescan.map(|path| (path, stop)), size, options)
    }

    /// Reads contacts from any reader: a file, standard input, bytes in memory. Nothing is
    /// read a second time, so a long first part of plain ASCII decides the encoding (as
    /// for standard input).
    ///
    /// ```
    /// use listclean::read::ReadOptions;
    /// use listclean::read::Source;
    ///
    /// let csv = "name,email\nTaro,taro@example-shoji.co.jp\n";
    /// let source = Source::from_reader(csv.as_bytes(), "memory", &ReadOptions::default())?;
    /// assert_eq!(source.email_columns, [1]);
    /// # Ok::<(), listclean::error::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Source::open`], but for the errors of opening a file.
    pub fn from_reader(
        reader: impl Read + Send + 'static,
        name: &str,
        options: &ReadOptions,
    ) -> Result<Source, Error> {
        Source::from_stream(Box::new(reader), name.to_owned(), None, None, options)
    }

    /// Learns the shape of `raw`: `rescan` is the file it reads, when it may be read again
    /// (with the stop flag of the run, for a long scan), and `size` its length.
    fn from_stream(
        raw: Box<dyn Read + Send>,
        what: String,
        rescan: Option<(&std::path::Path, Option<&Arc<AtomicUsize>>)>,
        size: Option<u64>,
        options: &ReadOptions,
    ) -> Result<Source, Error> {
        let bytes_read = Arc::new(AtomicU64::new(0));
        let mut raw = Counting {
            inner: raw,
            count: Arc::clone(&bytes_read),
        };
        let read_error = |source| Error::Read {
            what: what.clone(),
            source,
        };

        let mut prefix = Vec::with_capacity(DETECT_BYTES);
        (&mut raw)
            .take(DETECT_BYTES as u64)
            .read_to_end(&mut prefix)
            .map_err(read_error)?;
        if prefix.is_empty() {
            return Err(Error::EmptyInput { what });
        }
        let CsvOpened {
            encoding,
            encoding_from_ascii,
            dialect,
            rows,
            replay,
        } = match Format::of(&prefix) {
            Format::Csv => csv::open(prefix, raw, &what, rescan, options)?,
            other => {
                let (kind, advice) = other.refusal();
                return Err(Error::NotCsv { what, kind, advice });
            }
        };
        if replay.is_empty() {
            return Err(Error::EmptyInput { what });
        }
        // A first row too large to hold leaves no header to find the columns by.
        let first = replay.get(0);
        if first.too_large && !options.no_header {
            return Err(Error::HeaderTooLarge {
                what,
                limit: if first.too_wide {
                    format!("{} cells", options.max_columns)
                } else {
                    format!("{} bytes", options.max_record_bytes)
                },
            });
        }
        let decode = |record: Record<'_>| -> Vec<String> {
            record
                .iter()
                .map(|cell| decode_lossy(cell, dialect.cell_encoding))
                .collect()
        };
        let first_text = decode(replay.get(0));
        let mut has_header =
            !options.no_header && !first_text.iter().any(|c| columns::looks_like_address(c));
        // A first row with no address in it is not yet a header: in a file without one, a
        // first row whose address is missing or broken (`taro(at)acme.jp`, empty, なし)
        // would become the header. Unless a cell names an email column, the rows after it
        // tell which column holds addresses, and its cell in that column must read like a
        // column name.
        if has_header
            && options.email_columns.is_empty()
            && !first_text.iter().any(|c| columns::is_email_header(c))
        {
            let rest: Vec<Vec<String>> = replay.iter().skip(1).map(decode).collect();
            has_header = columns::find_email_columns(None, &rest).iter().all(|&col| {
                columns::could_be_header(first_text.get(col).map_or("", String::as_str))
            });
        }
        let (header, replayed) = if has_header {
            (
                Some(replay.get(0).iter().map(<[u8]>::to_vec).collect::<Vec<_>>()),
                1,
            )
        } else {
            (None, 0)
        };
        let header_text = header.as_ref().map(|_| first_text);
        let sample: Vec<Vec<String>> = replay.iter().skip(replayed).map(decode).collect();
        let width = header_text
            .as_ref()
            .map_or_else(|| sample.iter().map(Vec::len).max().unwrap_or(0), Vec::len);
        let names: Vec<String> = match &header_text {
            Some(names) => names.clone(),
            None => (1..=width).map(|n| format!("column {n}")).collect(),
        };
        let all_names = || names.join(", ");
        let resolve =
            |role: &'static str, spec: &str| match columns::resolve(spec, header_text.as_deref()) {
                Ok(col) if col < width => Ok(col),
                Err(several) if several.len() > 1 => Err(Error::AmbiguousColumn {
                    role,
                    spec: spec.into(),
                    numbers: several
                        .iter()
                        .map(|col| (col + 1).to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                }),
                _ => Err(Error::NoSuchColumn {
                    role,
                    spec: spec.into(),
                    what: what.clone(),
                    columns: all_names(),
                }),
            };
        let email_columns = if options.email_columns.is_empty() {
            columns::find_email_columns(header_text.as_deref(), &sample)
        } else {
            options
                .email_columns
                .iter()
                .map(|spec| resolve("email column", spec))
                .collect::<Result<_, _>>()?
        };
        // A header without rows is a list with no contacts today (a nightly export often
        // is one), provided the header names its email column.
        if email_columns.is_empty() && header.is_some() && replay.len() == 1 {
            return Err(Error::HeaderOnly { what });
        }
        if email_columns.is_empty() {
            return Err(Error::NoEmailColumn {
                what,
                columns: all_names(),
            });
        }
        let late_header = (header.is_none() && !options.no_header)
            .then(|| {
                sample
                    .iter()
                    .take(LATE_HEADER_ROWS)
                    .enumerate()
                    .find_map(|(i, row)| {
                        let cell = email_columns
                            .iter()
                            .filter_map(|&col| row.get(col))
                            .find(|cell| columns::is_email_header(cell))?;
                        Some((i as u64 + 1, cell.trim().to_owned()))
                    })
            })
            .flatten();
        let last_contact_column = match &options.last_contact_column {
            Some(spec) => Some(resolve("last-contact column", spec)?),
            None => None,
        };
        Ok(Source {
            what,
            encoding,
            encoding_from_ascii,
            dialect,
            header,
            names,
            width,
            email_columns,
            late_header,
            last_contact_column,
            max_record_bytes: options.max_record_bytes,
            max_columns: options.max_columns,
            rows: Box::new(rows),
            replay,
            replayed,
            bytes_read,
            size,
        })
    }

    /// Reads up to `rows` records into `batch` (which is cleared first).
    /// Returns the number of records read; 0 at the end of the input.
    ///
    /// # Errors
    /// An I/O error while reading, or a quote left open at the end of the input (which
    /// would have swallowed every row after it into one cell).
    pub fn read_batch(&mut self, batch: &mut Records, rows: usize) -> Result<usize, Error> {
        batch.clear();
        while self.replayed < self.replay.len() && batch.len() < rows {
            batch.push(self.replay.get(self.replayed));
            self.replayed += 1;
        }
        if self.replayed == self.replay.len() && !self.replay.is_empty() {
            self.replay = Records::default();
            self.replayed = 0;
        }
        let wanted = rows - batch.len();
        self.rows.read(batch, wanted)?;
        Ok(batch.len())
    }

    /// About how many rows the input has, from its size and the rows sampled; `None` for
    /// standard input.
    pub fn estimated_rows(&self) -> Option<u64> {
        let size = self.size?;
        let sampled: usize = self.replay.iter().map(|r| r.raw().len() + 1).sum();
        let rows = self.replay.len().max(1) as u64;
        Some(size * rows / (sampled.max(1) as u64))
    }

    /// A shared count of the input bytes read so far, for progress reporting.
    pub fn bytes_read(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.bytes_read)
    }
}

/// Decodes a cell for detection and messages, replacing what cannot be decoded.
pub fn decode_lossy(cell: &[u8], encoding: CellEncoding) -> String {
    encoding::decode_cell(cell, encoding)
        .map(|c| c.into_owned())
        .unwrap_or_else(|| String::from_utf8_lossy(cell).into_owned())
}

/// Counts the bytes that pass through, for the progress bar.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
