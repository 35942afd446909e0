//! Records as read: a CSV parser over raw bytes that fills batches of records, keeping
//! both each record's raw bytes (so a row nobody changes is written back byte for byte)
//! and its fields unescaped (for the checks). Most lines need no unescaping: their fields
//! are read in place, between the delimiters of the raw bytes.
//!
//! A batch is a handful of flat buffers, reused from batch to batch: no allocation per
//! record. A record larger than the limit is not held in memory: it is skipped to its end
//! and handed on as [`Record::too_large`], with only its first bytes kept.

use std::io::{self, Read};

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};

use super::encoding::CellEncoding;

/// How many bytes of a too-large record are kept, at most, so that the rejected file
/// shows which row it was.
const KEPT_OF_TOO_LARGE: usize = 1024;

/// How many of a too-large record's first bytes to keep: up to [`KEPT_OF_TOO_LARGE`], cut
/// where a character ends in the record's encoding, so that the rejected file stays valid
/// in it. Only bytes before the cut are looked at (the rest may not have been read).
fn kept_len(record: &[u8], encoding: CellEncoding) -> usize {
    let max = KEPT_OF_TOO_LARGE.min(record.len());
    match encoding {
        CellEncoding::Utf8 => {
            // The last character may be cut: find its first byte, at most 3 bytes back,
            // and see whether all its bytes are in.
            for back in 1..=max.min(3) {
                let b = record[max - back];
                let len = match b {
                    0x80..=0xBF => continue,
                    0xF0.. => 4,
                    0xE0.. => 3,
                    0xC0.. => 2,
                    _ => 1,
                };
                return if len > back { max - back } else { max };
            }
            max
        }
        CellEncoding::Cp932 => {
            // A trail byte can look like anything, so characters are walked from the start.
            let mut at = 0;
            while at < max {
                let len = match record[at] {
                    0x81..=0x9F | 0xE0..=0xFC => 2,
                    _ => 1,
                };
                if at + len > max {
                    break;
                }
                at += len;
            }
            at
        }
    }
}
/// The read buffer; it grows to hold a record longer than this, up to the record limit.
const READ_BUFFER: usize = 256 * 1024;

/// A batch of records.
#[derive(Debug, Default)]
pub struct Records {
    raw: Vec<u8>,
    /// Unescaped field bytes of the records the parser read: `fields[..fields_used]`. The
    /// buffer is kept at its size and only grows, so the parser always has room without
    /// zeroing memory per record. A plain line's fields are its raw bytes and are not copied.
    fields: Vec<u8>,
    fields_used: usize,
    /// Per field: where it ends, relative to its record's first field byte;
    /// `field_ends[..ends_used]`, kept at its size like `fields`.
    field_ends: Vec<usize>,
    ends_used: usize,
    spans: Vec<Span>,
}

/// Where one record of a batch is in its buffers.
#[derive(Debug, Clone, Copy)]
struct Span {
    raw: (usize, usize),
    /// Its fields in `fields`, or `None` when they are its raw bytes with a delimiter
    /// between each two.
    fields: Option<(usize, usize)>,
    ends: (usize, usize),
    line: u64,
    too_large: bool,
}

/// One record of a batch.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    raw: &'a [u8],
    fields: &'a [u8],
    ends: &'a [usize],
    /// 1 when a delimiter stands between each two fields in `fields`, else 0.
    gap: usize,
    /// The line the record starts on, 1-based.
    pub line: u64,
    /// The record was longer than the limit: its fields are empty and `raw` holds only its
    /// first bytes.
    pub too_large: bool,
}

impl<'a> Record<'a> {
    /// The number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `i`-th field, unescaped.
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 {
            0
        } else {
            self.ends[i - 1] + self.gap
        };
        self.fields.get(start..end)
    }

    /// The `i`-th field, or an empty one past the end of a short row.
    pub fn field(&self, i: usize) -> &'a [u8] {
        self.get(i).unwrap_or_default()
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let field = self.fields.get(start..end).unwrap_or_default();
            start = end + self.gap;
            field
        })
    }

    /// Marks the fields whose first byte is in `set` (`set[b]` true): bit `i % 64` for field
    /// `i`, so a record of more than 64 fields shares bits. One pass without a branch per
    /// field, for a look at the few fields that may matter. An empty field's place holds the
    /// byte after it, so its bit may be set too.
    pub fn starting_with(&self, set: &[bool; 256]) -> u64 {
        let Some((_, inner)) = self.ends.split_last() else {
            return 0;
        };
        let mark = |at: usize| u64::from(self.fields.get(at).is_some_and(|&b| set[usize::from(b)]));
        inner.iter().enumerate().fold(mark(0), |marks, (i, &end)| {
            marks | mark(end + self.gap) << ((i + 1) % 64)
        })
    }

    /// The record as it was in the input, without its line ending.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// All field bytes, unescaped, one after the other, possibly with a delimiter between
    /// each two: for looking through every cell at once.
    pub fn field_bytes(&self) -> &'a [u8] {
        self.fields
    }
}

impl Records {
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    pub fn clear(&mut self) {
        self.raw.clear();
        self.fields_used = 0;
        self.ends_used = 0;
        self.spans.clear();
    }

    /// The `i`-th record.
    pub fn get(&self, i: usize) -> Record<'_> {
        let span = self.spans[i];
        let raw = &self.raw[span.raw.0..span.raw.1];
        let (fields, gap) = match span.fields {
            Some((start, end)) => (&self.fields[start..end], 0),
            None => (raw, 1),
        };
        Record {
            raw,
            fields,
            ends: &self.field_ends[span.ends.0..span.ends.1],
            gap,
            line: span.line,
            too_large: span.too_large,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = Record<'_>> {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Appends a copy of a record from another batch.
    pub fn push(&mut self, record: Record<'_>) {
        let raw_start = self.raw.len();
        self.raw.extend_from_slice(record.raw);
        let fields_start = (record.gap == 0).then(|| {
            let start = self.fields_used;
            self.fields.truncate(start);
            self.fields.extend_from_slice(record.fields);
            self.fields_used = self.fields.len();
            start
        });
        let ends_start = self.ends_used;
        self.field_ends.truncate(ends_start);
        self.field_ends.extend_from_slice(record.ends);
        self.ends_used = self.field_ends.len();
        self.end_record(
            raw_start,
            fields_start,
            ends_start,
            record.line,
            record.too_large,
        );
    }

    /// Ends a record whose raw bytes were just appended from `raw_start`, its fields from
    /// `fields_start` (`None` for a plain line's) and its field ends from `ends_start`.
    fn end_record(
        &mut self,
        raw_start: usize,
        fields_start: Option<usize>,
        ends_start: usize,
        line: u64,
        too_large: bool,
    ) {
        self.spans.push(Span {
            raw: (raw_start, self.raw.len()),
            fields: fields_start.map(|start| (start, self.fields_used)),
            ends: (ends_start, self.ends_used),
            line,
            too_large,
        });
    }
}

/// Reads records from a byte stream with csv-core.
pub struct RecordReader<R> {
    input: R,
    parser: Reader,
    buf: Vec<u8>,
    /// Unread bytes are `buf[pos..filled]`.
    pos: usize,
    filled: usize,
    eof: bool,
    /// The line the next byte is on.
    line: u64,
    max_record_bytes: usize,
    done: bool,
    /// The quote and delimiter bytes, to tell whether the last record left a quote open.
    quote: u8,
    delimiter: u8,
    /// The last byte counted was a CR, so an LF first in the next bytes ends the same line.
    pending_cr: bool,
    /// Set when the input ended inside a quoted field: the line that field started on.
    unterminated: Option<u64>,
    /// Where the fields of a too-large record go, to be dropped.
    scratch: Vec<u8>,
    scratch_ends: Vec<usize>,
    /// The parser has read a record, so it is past anything it treats specially at the
    /// very start (a BOM), and plain lines may be split without it.
    started: bool,
    /// Whether plain lines skip the parser: always, but in tests that compare both ways.
    plain_lines: bool,
    /// The encoding of the bytes read, to cut a too-large record between characters.
    encoding: CellEncoding,
}

impl<R: Read> RecordReader<R> {
    pub fn new(input: R, delimiter: u8, max_record_bytes: usize) -> RecordReader<R> {
        RecordReader {
            input,
            parser: ReaderBuilder::new().delimiter(delimiter).build(),
            buf: vec![0; READ_BUFFER],
            pos: 0,
            filled: 0,
            eof: false,
            line: 1,
            max_record_bytes,
            done: false,
            quote: b'"',
            delimiter,
            pending_cr: false,
            unterminated: None,
            scratch: vec![0; 4096],
            scratch_ends: vec![0; 256],
            started: false,
            plain_lines: true,
            encoding: CellEncoding::Utf8,
        }
    }

    /// Says what encoding the input's bytes are in (UTF-8 unless told), so that the part
    /// kept of a too-large record ends between characters.
    pub fn in_encoding(mut self, encoding: CellEncoding) -> RecordReader<R> {
        self.encoding = encoding;
        self
    }

    /// Numbers the input's lines from `line` rather than 1, for an input whose first lines
    /// were read before it (Excel's `sep=` line).
    pub fn starting_at_line(mut self, line: u64) -> RecordReader<R> {
        self.line = line;
        self
    }

    /// The line a quoted field started on when the input ended inside it, if it did.
    pub fn unterminated_quote(&self) -> Option<u64> {
        self.unterminated
    }

    /// Reads up to `max` records into `records` (appending). Returns how many were read;
    /// 0 at the end of the input.
    ///
    /// # Errors
    /// An I/O error from the input.
    pub fn read(&mut self, records: &mut Records, max: usize) -> io::Result<usize> {
        let mut n = 0;
        while n < max && self.read_one(records)? {
            n += 1;
        }
        Ok(n)
    }

    /// Moves `buf[keep_from..filled]` to the front and reads more behind it, growing the
    /// buffer when what is kept fills it.
    fn refill(&mut self, keep_from: usize) -> io::Result<()> {
        self.buf.copy_within(keep_from..self.filled, 0);
        self.filled -= keep_from;
        self.pos -= keep_from;
        if self.filled == self.buf.len() {
            let doubled = self.buf.len() * 2;
            self.buf.resize(doubled, 0);
        }
        loop {
            match self.input.read(&mut self.buf[self.filled..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            return Ok(());
        }
    }

    /// Reads one record into `records`. Returns false at the end of the input.
    fn read_one(&mut self, records: &mut Records) -> io::Result<bool> {
        if self.done {
            return Ok(false);
        }
        if self.started && self.plain_lines && self.read_plain_line(records) {
            return Ok(true);
        }
        self.started = true;
        let (field_start, ends_start) = (records.fields_used, records.ends_used);
        // Where the record's first byte is in `buf`, once the parser has passed the blank
        // lines and line-ending bytes that come before it.
        let mut start: Option<usize> = None;
        let mut line = self.line;
        // The first bytes of a record that turned out too large; its fields are dropped.
        let mut kept: Option<Vec<u8>> = None;
        let mut quoting = Quoting::FieldStart;
        loop {
            if self.pos == self.filled && !self.eof {
                let keep_from = match (start, &kept) {
                    (Some(s), None) if self.filled - s >= self.max_record_bytes => {
                        let keep = kept_len(&self.buf[s..self.filled], self.encoding);
                        kept = Some(self.buf[s..s + keep].to_vec());
                        quoting = quoting.feed(&self.buf[s..self.pos], self.delimiter, self.quote);
                        records.fields_used = field_start;
                        records.ends_used = ends_start;
                        self.pos
                    }
                    (Some(s), None) => s,
                    _ => self.pos,
                };
                self.refill(keep_from)?;
                start = start.map(|s| s.saturating_sub(keep_from));
                continue;
            }
            let skipping = kept.is_some();
            let (out_len, ends_len) = (records.fields_used, records.ends_used);
            if !skipping {
                // Room for at least 4 KiB more (or as much again as this record has so far).
                let want = out_len + (out_len - field_start).max(4096);
                if records.fields.len() < want {
                    records.fields.resize(want.max(records.fields.len() * 2), 0);
                }
                let want = ends_len + (ends_len - ends_start).max(64);
                if records.field_ends.len() < want {
                    records
                        .field_ends
                        .resize(want.max(records.field_ends.len() * 2), 0);
                }
            }
            let input = &self.buf[self.pos..self.filled];
            let (result, nin, nout, nend) = if skipping {
                self.parser
                    .read_record(input, &mut self.scratch, &mut self.scratch_ends)
            } else {
                self.parser.read_record(
                    input,
                    &mut records.fields[out_len..],
                    &mut records.field_ends[ends_len..],
                )
            };
            let consumed = &input[..nin];
            let mut rest = consumed;
            if start.is_none() {
                let blank = consumed
                    .iter()
                    .take_while(|&&b| b == b'\n' || b == b'\r')
                    .count();
                self.pending_cr =
                    advance_lines(&mut self.line, &consumed[..blank], self.pending_cr);
                line = self.line;
                rest = &consumed[blank..];
                if blank < nin || result == ReadRecordResult::Record {
                    start = Some(self.pos + blank);
                }
            }
            // Quoting is followed only where an unclosed quote matters: a record too large
            // to keep, and the last record (below).
            if skipping {
                quoting = quoting.feed(rest, self.delimiter, self.quote);
            }
            self.pending_cr = advance_lines(&mut self.line, rest, self.pending_cr);
            self.pos += nin;
            if !skipping {
                records.fields_used = out_len + nout;
                records.ends_used = ends_len + nend;
            }
            match result {
                ReadRecordResult::Record => {
                    // Inside a quoted field at the end of the input: a quote was opened and
                    // never closed, and this "record" swallowed the rest of the file.
                    if self.eof && self.pos == self.filled {
                        if kept.is_none() {
                            let raw = &self.buf[start.unwrap_or(self.pos)..self.pos];
                            quoting = Quoting::FieldStart.feed(raw, self.delimiter, self.quote);
                        }
                        if quoting == Quoting::Quoted {
                            self.unterminated = Some(line);
                        }
                    }
                    // The parser ends a record on the first byte of its line ending; at the
                    // end of the input it ends one with no line ending at all, whose last
                    // bytes may be a line break inside an unclosed quote, and must stay.
                    let ended_by_line_break =
                        nin > 0 && matches!(consumed.last(), Some(b'\r' | b'\n'));
                    // A record that fit in the buffer can still be over the limit.
                    let whole = self.pos - start.unwrap_or(self.pos);
                    if kept.is_none() && whole > self.max_record_bytes {
                        let s = start.unwrap_or(self.pos);
                        let keep = kept_len(&self.buf[s..s + whole], self.encoding);
                        kept = Some(self.buf[s..s + keep].to_vec());
                        records.fields_used = field_start;
                        records.ends_used = ends_start;
                    }
                    let too_large = kept.is_some();
                    let raw = match &kept {
                        Some(kept) => kept.as_slice(),
                        None => {
                            let raw = &self.buf[start.unwrap_or(self.pos)..self.pos];
                            if ended_by_line_break {
                                &raw[..raw.len() - 1]
                            } else {
                                raw
                            }
                        }
                    };
                    let raw_start = records.raw.len();
                    records.raw.extend_from_slice(raw);
                    records.end_record(raw_start, Some(field_start), ends_start, line, too_large);
                    return Ok(true);
                }
                ReadRecordResult::End => {
                    self.done = true;
                    records.fields_used = field_start;
                    records.ends_used = ends_start;
                    return Ok(false);
                }
                ReadRecordResult::InputEmpty
                | ReadRecordResult::OutputFull
                | ReadRecordResult::OutputEndsFull => {}
            }
        }
    }
}

impl<R> RecordReader<R> {
    /// Reads the next record without the parser when it is a simple line, as most are:
    /// its line ending already in the buffer, within the record limit, and each field either
    /// free of quotes or wholly quoted (`"Tokyo, Inc."`, with `""` for a quote) with no line
    /// break inside. Splitting such a line is all the parser would do, a byte at a time; this
    /// does it with vectorized searches. Returns false, having read nothing, for any other
    /// record.
    fn read_plain_line(&mut self, records: &mut Records) -> bool {
        let input = &self.buf[self.pos..self.filled];
        let blank = input
            .iter()
            .take_while(|&&b| b == b'\n' || b == b'\r')
            .count();
        let line = &input[blank..];
        // A record may not be longer than the limit: its line must end within reach.
        let reach = &line[..line.len().min(self.max_record_bytes)];
        let ends_start = records.ends_used;
        let (end, fields_start) = match split_plain(reach, self.delimiter, self.quote, records) {
            Scan::Plain { end, fields } => {
                records.ends_used += fields;
                (end, None)
            }
            Scan::Unended => return false,
            Scan::Quoted => {
                let Some(end) = memchr::memchr2(b'\n', b'\r', reach) else {
                    return false;
                };
                let text = &line[..end];
                let fields_start = records.fields_used;
                let want = fields_start + text.len();
                if records.fields.len() < want {
                    records.fields.resize(want.max(records.fields.len() * 2), 0);
                }
                let Some((len, count)) = split_quoted(
                    text,
                    self.delimiter,
                    self.quote,
                    &mut records.fields[fields_start..want],
                    &mut records.field_ends,
                    ends_start,
                ) else {
                    return false;
                };
                records.fields_used += len;
                records.ends_used += count;
                (end, Some(fields_start))
            }
        };
        let text = &line[..end];
        let raw_start = records.raw.len();
        records.raw.extend_from_slice(text);
        if blank > 0 {
            self.pending_cr = advance_lines(&mut self.line, &input[..blank], self.pending_cr);
        }
        records.end_record(raw_start, fields_start, ends_start, self.line, false);
        // The line holds no line break before its ending, so only that byte counts (and a
        // CR just before the line cannot pair with it).
        self.line += 1;
        self.pending_cr = line[end] == b'\r';
        self.pos += blank + end + 1;
        true
    }
}

/// Sets entry `at` of `ends` (growing it as needed) to `len`.
fn push_end(ends: &mut Vec<usize>, at: usize, len: usize) {
    if at == ends.len() {
        let grown = (ends.len() * 2).max(64);
        ends.resize(grown, 0);
    }
    ends[at] = len;
}

/// What [`split_plain`] found at the start of the input.
enum Scan {
    /// A line without a quote, whose line break is at `end`, with `fields` fields.
    Plain { end: usize, fields: usize },
    /// A line with a quote before its line break (if it has one).
    Quoted,
    /// No line break and no quote in the input.
    Unended,
}

/// Finds the first line of `input` and, if it has no quote, its fields: the bytes between
/// delimiters, which stay where they are in the line. Writes their ends into `records`'
/// field ends; only a [`Scan::Plain`] line counts them.
///
/// Fields are short, so rather than a search per field (and one for the line break),
/// sixteen bytes are looked at a time for all three.
fn split_plain(input: &[u8], delimiter: u8, quote: u8, records: &mut Records) -> Scan {
    let first = records.ends_used;
    let mut count = 0;
    let (chunks, tail) = input.as_chunks::<16>();
    let masks = chunks
        .iter()
        .map(|chunk| byte_masks(chunk, delimiter, quote))
        .chain(std::iter::once_with(|| {
            let mut last = [0; 16];
            last[..tail.len()].copy_from_slice(tail);
            byte_masks(&last, delimiter, quote).within((1 << tail.len()) - 1)
        }));
    for (i, mut masks) in masks.enumerate() {
        // Room for this chunk's fields.
        if records.field_ends.len() < first + count + 17 {
            let grown = (first + count + 17).max(records.field_ends.len() * 2);
            records.field_ends.resize(grown, 0);
        }
        let line_end = (masks.line_ends != 0).then(|| masks.line_ends.trailing_zeros());
        if let Some(end) = line_end {
            masks = masks.within((1 << end) - 1);
        }
        if masks.quotes != 0 {
            return Scan::Quoted;
        }
        let ends = &mut records.field_ends[first..];
        while masks.delimiters != 0 {
            ends[count] = i * 16 + masks.delimiters.trailing_zeros() as usize;
            count += 1;
            masks.delimiters &= masks.delimiters - 1;
        }
        if let Some(end) = line_end {
            let end = i * 16 + end as usize;
            ends[count] = end;
            return Scan::Plain {
                end,
                fields: count + 1,
            };
        }
    }
    Scan::Unended
}

/// Which of sixteen bytes are the delimiter, the quote and a line break, one bit per byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Masks {
    delimiters: u32,
    quotes: u32,
    line_ends: u32,
}

impl Masks {
    /// The masks of the bytes in `bits` only.
    fn within(self, bits: u32) -> Masks {
        Masks {
            delimiters: self.delimiters & bits,
            quotes: self.quotes & bits,
            line_ends: self.line_ends & bits,
        }
    }
}

/// The [`Masks`] of sixteen bytes.
#[cfg(target_arch = "x86_64")]
fn byte_masks(chunk: &[u8; 16], delimiter: u8, quote: u8) -> Masks {
    // SAFETY: SSE2 is part of the x86-64 baseline: every x86-64 processor has it.
    unsafe { byte_masks_sse2(chunk, delimiter, quote) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn byte_masks_sse2(chunk: &[u8; 16], delimiter: u8, quote: u8) -> Masks {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x, _mm_set1_epi8,
    };
    let (low, high) = chunk.split_at(8);
    let low = i64::from_le_bytes(low.try_into().unwrap_or_default());
    let high = i64::from_le_bytes(high.try_into().unwrap_or_default());
    let bytes = _mm_set_epi64x(high, low);
    let equal = |byte: u8| _mm_cmpeq_epi8(bytes, _mm_set1_epi8(byte as i8));
    let line_ends = _mm_or_si128(equal(b'\n'), equal(b'\r'));
    Masks {
        delimiters: _mm_movemask_epi8(equal(delimiter)) as u32,
        quotes: _mm_movemask_epi8(equal(quote)) as u32,
        line_ends: _mm_movemask_epi8(line_ends) as u32,
    }
}

#[cfg(not(target_arch = "x86_64"))]
use byte_masks_portable as byte_masks;

/// [`byte_masks`] a byte at a time: for other processors, and to test the vectorized one.
#[cfg(any(test, not(target_arch = "x86_64")))]
fn byte_masks_portable(chunk: &[u8; 16], delimiter: u8, quote: u8) -> Masks {
    let mask = |wanted: &dyn Fn(u8) -> bool| {
        chunk
            .iter()
            .enumerate()
            .fold(0, |mask, (i, &b)| mask | u32::from(wanted(b)) << i)
    };
    Masks {
        delimiters: mask(&|b| b == delimiter),
        quotes: mask(&|b| b == quote),
        line_ends: mask(&|b| b == b'\n' || b == b'\r'),
    }
}

/// Splits a line with quotes: each field must be free of quotes or quoted whole, with the
/// quotes inside doubled. Writes the unescaped fields into `out` and their ends into `ends`
/// from `first_end`; returns the bytes written and the number of fields. `None` for any
/// other line (a quote inside an unquoted field, text after a closing quote, a quote left
/// open), which the parser reads.
fn split_quoted(
    text: &[u8],
    delimiter: u8,
    quote: u8,
    out: &mut [u8],
    ends: &mut Vec<usize>,
    first_end: usize,
) -> Option<(usize, usize)> {
    let (mut len, mut count, mut pos) = (0, 0, 0);
    loop {
        let mut copy = |bytes: &[u8]| {
            out[len..len + bytes.len()].copy_from_slice(bytes);
            len += bytes.len();
        };
        if text.get(pos) == Some(&quote) {
            pos += 1;
            loop {
                let close = pos + memchr::memchr(quote, &text[pos..])?;
                copy(&text[pos..close]);
                pos = close + 1;
                if text.get(pos) != Some(&quote) {
                    break;
                }
                copy(&[quote]);
                pos += 1;
            }
        } else {
            let to =
                memchr::memchr2(delimiter, quote, &text[pos..]).map_or(text.len(), |i| pos + i);
            if text.get(to) == Some(&quote) {
                return None;
            }
            copy(&text[pos..to]);
            pos = to;
        }
        push_end(ends, first_end + count, len);
        count += 1;
        match text.get(pos) {
            None => return Some((len, count)),
            Some(&b) if b == delimiter => pos += 1,
            Some(_) => return None,
        }
    }
}

/// Adds the line breaks in `bytes` to `line`: LF, CRLF, or a lone CR (old Mac files).
/// `pending_cr` says the bytes before ended in a CR; returns whether these do.
fn advance_lines(line: &mut u64, bytes: &[u8], pending_cr: bool) -> bool {
    match bytes {
        [] => return pending_cr,
        [b'\n'] => {
            *line += u64::from(!pending_cr);
            return false;
        }
        [b'\r'] => {
            *line += 1;
            return true;
        }
        _ => {}
    }
    let lf = memchr::memchr_iter(b'\n', bytes).count();
    let cr = memchr::memchr_iter(b'\r', bytes).count();
    let crlf = if cr == 0 {
        0
    } else {
        memchr::memmem::find_iter(bytes, b"\r\n").count()
    };
    let split_crlf = usize::from(pending_cr && bytes[0] == b'\n');
    *line += (lf + cr - crlf - split_crlf) as u64;
    bytes[bytes.len() - 1] == b'\r'
}

/// Where a CSV parser is within a record's quoting, followed byte by byte the way the
/// parser reads them: a quote opens a quoted field only at the start of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    FieldStart,
    Unquoted,
    Quoted,
    /// In a quoted field, just after a quote: it closes the field or starts an escaped `""`.
    QuotedSawQuote,
}

impl Quoting {
    fn feed(self, bytes: &[u8], delimiter: u8, quote: u8) -> Quoting {
        let ends_field = |b: u8| b == delimiter || b == b'\n' || b == b'\r';
        bytes.iter().fold(self, |state, &b| match state {
            Quoting::FieldStart if b == quote => Quoting::Quoted,
            Quoting::Quoted if b == quote => Quoting::QuotedSawQuote,
            Quoting::Quoted => Quoting::Quoted,
            Quoting::QuotedSawQuote if b == quote => Quoting::Quoted,
            _ if ends_field(b) => Quoting::FieldStart,
            _ => Quoting::Unquoted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Line, fields, raw bytes and whether it was too large, per record.
    type Read = (u64, Vec<String>, String, bool);

    fn read_all(input: &[u8], limit: usize) -> (Vec<Read>, Option<u64>) {
        read_chunked(input, usize::MAX, limit, true)
    }

    /// Reads `input` as if it arrived at most `chunk` bytes at a time.
    fn read_chunked(
        input: &[u8],
        chunk: usize,
        limit: usize,
        plain_lines: bool,
    ) -> (Vec<Read>, Option<u64>) {
        struct Chunks<'a>(&'a [u8], usize);
        impl io::Read for Chunks<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut reader = RecordReader::new(Chunks(input, chunk), b',', limit);
        reader.plain_lines = plain_lines;
        let mut records = Records::default();
        while reader.read(&mut records, 2).unwrap() > 0 {}
        let rows = records
            .iter()
            .map(|r| {
                let fields = r
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect();
                (
                    r.line,
                    fields,
                    String::from_utf8_lossy(r.raw()).into_owned(),
                    r.too_large,
                )
            })
            .collect();
        (rows, reader.unterminated_quote())
    }

    #[test]
    fn starting_with_marks_the_fields_that_start_so() {
        let mut set = [false; 256];
        for b in *b"=+-" {
            set[usize::from(b)] = true;
        }
        let wide: Vec<u8> = (0..70)
            .map(|i| if i == 66 { "=x" } else { "a" })
            .collect::<Vec<_>>()
            .join(",")
            .into_bytes();
        let input = [
            b"id,=1+2,x,+81 3,@a,-\n".as_slice(),
            b"=a,\"b,c\",\"+q\",,\"\",-1\n",
            b"plain,line,no,marks\n",
            b"\"=quoted\",x\r\n",
            &wide,
            b"\n",
        ]
        .concat();
        for plain_lines in [true, false] {
            let mut reader = RecordReader::new(&input[..], b',', 1 << 20);
            reader.plain_lines = plain_lines;
            let mut records = Records::default();
            while reader.read(&mut records, 3).unwrap() > 0 {}
            assert_eq!(records.len(), 5);
            let marks: Vec<u64> = records.iter().map(|r| r.starting_with(&set)).collect();
            assert_eq!([marks[0], marks[2], marks[3]], [0b101010, 0, 1]);
            // Fields 3 and 4 are empty: their places hold field 5's `-`.
            assert_eq!(marks[1] & 0b100111, 0b100101);
            assert_eq!(marks[4], 1 << (66 % 64));
            for record in records.iter() {
                let marks = record.starting_with(&set);
                for (i, field) in record.iter().enumerate() {
                    if field.first().is_some_and(|&b| set[usize::from(b)]) {
                        assert_ne!(marks & 1 << (i % 64), 0, "field {i} is not marked");
                    }
                }
            }
        }
    }

    #[test]
    fn keeps_raw_bytes_and_lines() {
        let (rows, open) = read_all(b"a,\"b,c\"\r\n\r\n\"x\ny\",z\n\nlast", 1 << 20);
        assert_eq!(open, None);
        assert_eq!(
            rows[0],
            (1, vec!["a".into(), "b,c".into()], "a,\"b,c\"".into(), false)
        );
        assert_eq!(
            rows[1],
            (
                3,
                vec!["x\ny".into(), "z".into()],
                "\"x\ny\",z".into(),
                false
            )
        );
        assert_eq!(rows[2], (6, vec!["last".into()], "last".into(), false));
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn too_large_records_are_skipped_not_held() {
        let mut input = b"id,note\n1,short\n2,".to_vec();
        input.extend(std::iter::repeat_n(b'x', 3_000_000));
        input.extend_from_slice(b"\n3,after\n");
        let (rows, _) = read_all(&input, 1 << 20);
        assert_eq!(rows.len(), 4);
        assert!(rows[2].3, "record 2 is too large");
        assert_eq!(rows[2].2.len(), KEPT_OF_TOO_LARGE);
        assert_eq!(
            (rows[3].0, rows[3].1.clone()),
            (4, vec!["3".to_string(), "after".to_string()])
        );
    }

    #[test]
    fn too_large_records_are_cut_between_characters() {
        use encoding_rs::SHIFT_JIS;
        // "あ" is two bytes in CP932 and three in UTF-8; after "2,x" neither divides 1024.
        let japanese = "あ".repeat(3000);
        for (encoding, bytes) in [
            (
                CellEncoding::Cp932,
                SHIFT_JIS.encode(&japanese).0.into_owned(),
            ),
            (CellEncoding::Utf8, japanese.into_bytes()),
        ] {
            for chunk in [usize::MAX, 100] {
                let mut input = b"1,short
2,x"
                .to_vec();
                input.extend_from_slice(&bytes);
                input.extend_from_slice(
                    b"
3,after
",
                );
                let mut reader = RecordReader::new(&input[..], b',', 2000).in_encoding(encoding);
                if chunk != usize::MAX {
                    // The record is found too large while it is still being read.
                    reader.buf = vec![0; chunk];
                }
                let mut records = Records::default();
                while reader.read(&mut records, 2).unwrap() > 0 {}
                let kept = records.get(1);
                assert!(kept.too_large);
                assert!(kept.raw().len() > KEPT_OF_TOO_LARGE - 3, "{encoding:?}");
                assert!(
                    super::super::encoding::is_valid_cell(kept.raw(), encoding),
                    "{encoding:?}: cut inside a character"
                );
                assert_eq!(records.get(2).raw(), b"3,after");
            }
        }
        // Cut points, one by one.
        let utf8 = |text: &str| kept_len(text.as_bytes(), CellEncoding::Utf8);
        let ascii = "a".repeat(1022);
        assert_eq!(utf8(&(ascii.clone() + "あい")), 1022);
        assert_eq!(utf8(&(ascii.clone() + "a" + "あ")), 1023);
        assert_eq!(utf8(&(ascii.clone() + "aa" + "あ")), 1024);
        assert_eq!(utf8(&(ascii.clone() + "é")), 1024);
        assert_eq!(utf8(&(ascii.clone() + "a" + "é")), 1023);
        assert_eq!(utf8("short あ"), 9);
        let cp932 = |bytes: &[u8]| kept_len(bytes, CellEncoding::Cp932);
        let mut bytes = vec![b'a'; 1023];
        bytes.extend_from_slice(b"\x82\xA0\x82\xA0");
        assert_eq!(cp932(&bytes), 1023);
        bytes.insert(0, b'\xB1'); // a one-byte half-width katakana
        assert_eq!(cp932(&bytes), 1024);
        // A trail byte in the lead range (0x82 0x82) does not start a character.
        let mut bytes = vec![b'a'; 1021];
        bytes.extend_from_slice(b"\x82\x82\x82\xA0");
        assert_eq!(cp932(&bytes), 1023);
    }

    #[test]
    fn a_line_break_inside_an_unclosed_quote_stays() {
        // Found by fuzzing: the last record's raw bytes lost the line break that belongs to
        // its (never closed) quoted field.
        let (rows, open) = read_all(b"a,b\n\"x,y\r\n", 1 << 20);
        assert_eq!(open, Some(2));
        assert_eq!(rows[1].2, "\"x,y\r\n");
        assert_eq!(rows[1].1, vec!["x,y\r\n".to_string()]);
    }

    #[test]
    fn quotes_inside_unquoted_fields_are_characters() {
        // Found in review: counting quotes missed an opened quote after a literal one, and
        // flagged a literal one in a last line with no line break.
        let (rows, open) = read_all(b"email,name\na@x.jp,x\"y,\"open\nc@x.jp,z\n", 1 << 20);
        assert_eq!((rows.len(), open), (2, Some(2)));
        let (rows, open) = read_all(b"email,name\na@x.jp,O\"Brien", 1 << 20);
        assert_eq!((rows.len(), open), (2, None));
        let (_, open) = read_all(b"a,\"b\"\"c\"", 1 << 20);
        assert_eq!(open, None);
    }

    #[test]
    fn the_record_limit_holds_for_short_records_too() {
        let (rows, _) = read_all(
            &[b"id,note\n1,".as_slice(), &[b'x'; 500], b"\n2,ok\n"].concat(),
            100,
        );
        assert!(rows[1].3, "a 500-byte record is over a 100-byte limit");
        assert_eq!((rows[2].0, rows[2].3), (3, false));
    }

    #[test]
    fn lone_carriage_returns_end_lines() {
        let (rows, _) = read_all(b"a,b\rc,d\r\ne,f\n\rg,h", 1 << 20);
        let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(lines, [1, 2, 3, 5]);
    }

    proptest::proptest! {
        /// Splitting plain lines without the parser changes nothing: the same records,
        /// fields, raw bytes and lines as the parser gives alone.
        #[test]
        fn plain_lines_read_as_the_parser_reads_them(
            input in proptest::collection::vec(
                proptest::sample::select(b"ab,-\"\r\n\xef\xac\x00\x01".to_vec()), 0..200),
            chunk in proptest::sample::select(vec![1, 2, 3, 7, 64, usize::MAX]),
            limit in 1usize..64,
        ) {
            proptest::prop_assert_eq!(
                read_chunked(&input, chunk, limit, true),
                read_chunked(&input, chunk, limit, false)
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn byte_masks_mark_exactly_the_delimiters_quotes_and_line_breaks(
            chunk in proptest::array::uniform16(proptest::sample::select(b",\";a\x00\xff\r\n".to_vec())),
            delimiter in proptest::sample::select(b",;\t".to_vec()),
        ) {
            proptest::prop_assert_eq!(
                byte_masks(&chunk, delimiter, b'"'),
                byte_masks_portable(&chunk, delimiter, b'"')
            );
        }
    }

    #[test]
    fn an_unclosed_quote_is_reported() {
        let (rows, open) = read_all(b"a,b\n\"c,d\ne,f\n", 1 << 20);
        assert_eq!(rows.len(), 2);
        assert_eq!(open, Some(2));
    }
}
