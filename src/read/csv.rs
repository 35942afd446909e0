//! Opening a CSV (or TSV) file: its encoding, its dialect, and a reader of its records.
//!
//! The encoding is told from the first MiB (and, for a file whose first MiB is plain
//! ASCII, from the first other bytes further on); the delimiter, line ending and quoting
//! from the first 64 KiB. The records themselves are split by [`super::records`].

use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use super::ReadOptions;
use super::dialect::Dialect;
use super::encoding::{self, CellEncoding, Encoding, Transcoder};
use super::records::{RecordReader, Records};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use super::{DETECT_BYTES, RowReader, SAMPLE_ROWS, Stoppable, sniff};
use crate::error::Error;

/// A CSV input, opened: what was told of it, its reader, and the first rows read to learn
/// its shape.
pub(super) struct CsvOpened {
    pub encoding: Encoding,
    /// The encoding was guessed from a first part of the input that was all ASCII, and
    /// the rest could not be looked at (standard input).
    pub encoding_from_ascii: bool,
    pub dialect: Dialect,
    pub rows: CsvRows,
    pub replay: Records,
}

/// The records of a CSV input, after the ones read to learn its shape.
pub(super) struct CsvRows {
    reader: RecordReader<Box<dyn Read + Send>>,
    what: String,
}

impl RowReader for CsvRows {
    fn read(&mut self, batch: &mut Records, rows: usize) -> Result<usize, Error> {
        let before = batch.len();
        self.reader
            .read(batch, rows)
            .map_err(|source| Error::Read {
                what: self.what.clone(),
                source,
            })?;
        if batch.is_empty()
            && let Some(line) = self.reader.unterminated_quote()
        {
            return Err(Error::UnterminatedQuote {
                what: self.what.clone(),
                line,
            });
        }
        Ok(batch.len() - before)
    }
}

/// Opens a CSV input whose first bytes (up to [`DETECT_BYTES`]) are `prefix` and whose
/// rest `raw` gives; `rescan` is the file, when it can be read a second time.
///
/// # Errors
/// A read that fails.
pub(super) fn open(
    prefix: Vec<u8>,
    raw: impl Read + Send + 'static,
    what: &str,
    rescan: Option<(&Path, Option<&Arc<AtomicUsize>>)>,
    options: &ReadOptions,
) -> Result<CsvOpened, Error> {
    let read_error = |source| Error::Read {
        what: what.to_owned(),
        source,
    };
    let mut encoding = options
        .encoding
        .unwrap_or_else(|| encoding::detect(&prefix));
    // A sample of plain ASCII says nothing about the encoding: a large list whose
    // romanised names come first shows its CP932 only further down. A file is scanned
    // on to its first other bytes; standard input cannot be read twice, so its guess
    // stays, and is said to be one.
    let mut encoding_from_ascii = false;
    // (UTF-16 of ASCII text is ASCII bytes too, but its detection is already sure.)
    if options.encoding.is_none()
        && encoding == Encoding::Utf8
        && prefix.len() == DETECT_BYTES
        && prefix.is_ascii()
    {
        match rescan {
            Some((path, stop)) => {
                if let Some(window) = scan_past(path, prefix.len() as u64, stop)? {
                    encoding = encoding::utf8_or_cp932(&window);
                }
            }
            // A pipe given by name (`<(zcat …)`, a FIFO) is like standard input.
            None => encoding_from_ascii = true,
        }
    }
    let bom = if prefix.starts_with(encoding.bom()) {
        encoding.bom().len()
    } else {
        0
    };
    let sample_text = sample_text(&prefix[bom..], encoding);
    // Excel's `sep=;` line names the delimiter; it is neither header nor row.
    let sep_line = sniff::excel_sep_line(&sample_text);
    let sample_text = &sample_text[sep_line.map_or(0, |(_, len)| len)..];
    let delimiter = options
        .delimiter
        .or(sep_line.map(|(delimiter, _)| delimiter))
        .unwrap_or_else(|| sniff::delimiter(sample_text));
    let dialect = Dialect {
        delimiter,
        line_ending: sniff::line_ending(sample_text),
        quote_all: sniff::quotes_everything(sample_text, delimiter),
        cell_encoding: encoding.cell_encoding(delimiter),
        sep_line: sep_line.is_some(),
    };
    let stream = Cursor::new(prefix).chain(raw);
    let mut stream: Box<dyn Read + Send> = Box::new(stream);
    // Skip the BOM: it is not part of the first cell.
    io::copy(&mut (&mut stream).take(bom as u64), &mut io::sink()).map_err(read_error)?;
    let needs_transcoding = dialect.cell_encoding == CellEncoding::Utf8
        && !matches!(encoding, Encoding::Utf8 | Encoding::Utf8Bom);
    if needs_transcoding {
        stream = Box::new(Transcoder::new(stream, encoding));
    }
    // The `sep=` line is ASCII, so it is as long in the parser's bytes as in the sample;
    // rows are numbered from the line after it.
    let mut first_line = 1;
    if let Some((_, len)) = sep_line {
        io::copy(&mut (&mut stream).take(len as u64), &mut io::sink()).map_err(read_error)?;
        first_line = 2;
    }
    let mut reader = RecordReader::new(stream, delimiter, options.max_record_bytes)
        .max_columns(options.max_columns)
        .starting_at_line(first_line)
        .in_encoding(dialect.cell_encoding);
    let mut replay = Records::default();
    reader
        .read(&mut replay, SAMPLE_ROWS + 1)
        .map_err(read_error)?;
    Ok(CsvOpened {
        encoding,
        encoding_from_ascii,
        dialect,
        rows: CsvRows {
            reader,
            what: what.to_owned(),
        },
        replay,
    })
}

/// Scans a file from `offset` to its first bytes that are not ASCII and returns a
/// detection sample from there, or `None` if it is ASCII to the end. Opened on its own,
/// so the reader's position is untouched.
fn scan_past(
    path: &std::path::Path,
    offset: u64,
    stop: Option<&Arc<AtomicUsize>>,
) -> Result<Option<Vec<u8>>, Error> {
    let mut file = File::open(path).map_err(|source| Error::Open {
        path: path.to_owned(),
        source,
    })?;
    let read_error = |source| Error::Read {
        what: path.display().to_string(),
        source,
    };
    file.seek(SeekFrom::Start(offset)).map_err(read_error)?;
    // A scan of a large ASCII file reads all of it: a stop must not wait for its end.
    match stop {
        Some(stop) => {
            encoding::first_non_ascii(Stoppable::file(file, stop), DETECT_BYTES).map_err(read_error)
        }
        None => encoding::first_non_ascii(file, DETECT_BYTES).map_err(read_error),
    }
}

/// The first 64 KiB of the input as text, for sniffing the dialect.
fn sample_text(bytes: &[u8], encoding: Encoding) -> String {
    let bytes = &bytes[..bytes.len().min(64 * 1024)];
    let mut text = Vec::new();
    Transcoder::new(
        bytes,
        match encoding {
            Encoding::Utf8Bom => Encoding::Utf8,
            other => other,
        },
    )
    .read_to_end(&mut text)
    .ok();
    String::from_utf8_lossy(&text).into_owned()
}
