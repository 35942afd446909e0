//! Records as read: a CSV parser over raw bytes that fills batches of records, keeping
//! both each record's raw bytes (so a row nobody changes is written back byte for byte)
//! and its fields unescaped (for the checks). Most lines need no unescaping: their fields
//! are read in place, between the delimiters (and quotes) of the raw bytes.
//!
//! A batch is a handful of flat buffers, reused from batch to batch: no allocation per
//! record. A record larger than the limit is not held in memory: it is skipped to its end
//! and handed on as [`Record::too_large`], with only its first bytes kept.

use std::io::{self, Read};

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};

use super::encoding::CellEncoding;
use crate::sys::simd::{Masks, byte_masks};

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

/// The bytes whose cells are marked as records are read: those that may start a
/// spreadsheet formula, which the output's formula guard looks for in every row written.
/// Marking them while the line is split, where each cell's start is at hand, makes the
/// guard's first look at a row one test rather than a pass over its cells.
static MARKED_STARTS: [bool; 256] = {
    let mut set = [false; 256];
    let mut b = 0;
    while b < 256 {
        set[b] = crate::formula::may_start_formula(Some(b as u8));
        b += 1;
    }
    set
};

/// The mark of cell `i` whose first byte (or, for an empty cell, the byte after it) is
/// `first`: bit `i % 64`, so that a record of more than 64 cells shares bits.
fn mark(first: u8, i: usize) -> u64 {
    u64::from(MARKED_STARTS[usize::from(first)]) << (i % 64)
}

/// A batch of records.
#[derive(Debug, Default)]
pub struct Records {
    /// The records' raw bytes and, after those of a record whose fields the parser read,
    /// its unescaped fields. Lines read one after another are copied together, line
    /// endings and all.
    bytes: Vec<u8>,
    /// Per field: where it starts and ends in its record's field bytes; `cells[..cells_used]`.
    /// The buffer is kept at its size and only grows, so that splitting a line makes room
    /// once per chunk of bytes rather than per field.
    cells: Vec<(usize, usize)>,
    cells_used: usize,
    spans: Vec<Span>,
}

/// Where one record of a batch is in its buffers.
#[derive(Debug, Clone, Copy)]
struct Span {
    /// Its raw bytes in `bytes`.
    raw: (usize, usize),
    /// Its field bytes in `bytes`: its raw bytes again, unless the parser read it.
    fields: (usize, usize),
    /// Its fields in `cells`.
    cells: (usize, usize),
    /// Its [marks](Record::marks).
    marks: u64,
    line: u64,
    too_large: bool,
    too_wide: bool,
}

/// One record of a batch.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    raw: &'a [u8],
    fields: &'a [u8],
    /// Where each field starts and ends in `fields`.
    cells: &'a [(usize, usize)],
    marks: u64,
    /// The line the record starts on, 1-based.
    pub line: u64,
    /// The record was longer than the limit, or had more fields than the limit: it has no
    /// fields and `raw` holds only its first bytes.
    pub too_large: bool,
    /// Of a record [too large](Record::too_large): it was the number of fields.
    pub too_wide: bool,
}

impl<'a> Record<'a> {
    /// The number of fields.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// The `i`-th field, unescaped.
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        let &(start, end) = self.cells.get(i)?;
        self.fields.get(start..end)
    }

    /// The `i`-th field, or an empty one past the end of a short row.
    pub fn field(&self, i: usize) -> &'a [u8] {
        self.get(i).unwrap_or_default()
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        let fields = self.fields;
        self.cells
            .iter()
            .map(move |&(start, end)| fields.get(start..end).unwrap_or_default())
    }

    /// Marks the fields whose first byte [may start a
    /// formula](crate::formula::may_start_formula): bit `i % 64` for field `i`, so a record of
    /// more than 64 fields shares bits. Found as the record was read, for a look at the few
    /// fields that may matter. An empty field's place holds the byte after it, so its bit
    /// may be set too; a too-large record has none.
    pub fn marks(&self) -> u64 {
        self.marks
    }

    /// The record as it was in the input, without its line ending.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// All field bytes, unescaped, for looking through every cell at once: the cells one
    /// after the other, with nothing but delimiters and quotes before, between and after
    /// them.
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
        self.bytes.clear();
        self.cells_used = 0;
        self.spans.clear();
    }

    /// The `i`-th record.
    pub fn get(&self, i: usize) -> Record<'_> {
        let span = &self.spans[i];
        Record {
            raw: &self.bytes[span.raw.0..span.raw.1],
            fields: &self.bytes[span.fields.0..span.fields.1],
            cells: &self.cells[span.cells.0..span.cells.1],
            marks: span.marks,
            line: span.line,
            too_large: span.too_large,
            too_wide: span.too_wide,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = Record<'_>> {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Appends a copy of a record from another batch.
    pub fn push(&mut self, record: Record<'_>) {
        let raw_start = self.bytes.len();
        self.bytes.extend_from_slice(record.raw);
        let fields_start = if std::ptr::eq(record.fields, record.raw) {
            raw_start
        } else {
            let start = self.bytes.len();
            self.bytes.extend_from_slice(record.fields);
            start
        };
        let cells_start = self.cells_used;
        self.cells_used += record.cells.len();
        self.make_room(self.cells_used);
        self.cells[cells_start..self.cells_used].copy_from_slice(record.cells);
        self.spans.push(Span {
            raw: (raw_start, raw_start + record.raw.len()),
            fields: (fields_start, fields_start + record.fields.len()),
            cells: (cells_start, self.cells_used),
            marks: record.marks,
            line: record.line,
            too_large: record.too_large,
            too_wide: record.too_wide,
        });
    }

    /// Grows `cells` to at least `len` entries (it never shrinks).
    fn make_room(&mut self, len: usize) {
        if self.cells.len() < len {
            let grown = len.max(self.cells.len() * 2);
            self.cells.resize(grown, (0, 0));
        }
    }

    /// Appends a record the parser read: its raw bytes, its unescaped fields one after the
    /// other and where each ends among them.
    fn push_parsed(
        &mut self,
        raw: &[u8],
        fields: &[u8],
        ends: &[usize],
        line: u64,
        (too_large, too_wide): (bool, bool),
    ) {
        let raw_start = self.bytes.len();
        self.bytes.extend_from_slice(raw);
        let fields_start = self.bytes.len();
        self.bytes.extend_from_slice(fields);
        let cells_start = self.cells_used;
        self.cells_used += ends.len();
        self.make_room(self.cells_used);
        let mut start = 0;
        let mut marks = 0;
        for (i, (cell, &end)) in self.cells[cells_start..self.cells_used]
            .iter_mut()
            .zip(ends)
            .enumerate()
        {
            *cell = (start, end);
            // The byte after the last field is past the end: nothing to mark.
            if let Some(&first) = fields.get(start) {
                marks |= mark(first, i);
            }
            start = end;
        }
        self.spans.push(Span {
            raw: (raw_start, fields_start),
            fields: (fields_start, self.bytes.len()),
            cells: (cells_start, self.cells_used),
            marks,
            line,
            too_large,
            too_wide,
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
    /// More fields than this make a record [too wide](Record::too_wide).
    max_columns: usize,
    done: bool,
    /// The quote and delimiter bytes, to tell whether the last record left a quote open.
    quote: u8,
    delimiter: u8,
    /// The last byte counted was a CR, so an LF first in the next bytes ends the same line.
    pending_cr: bool,
    /// Set when the input ended inside a quoted field: the line that field started on.
    unterminated: Option<u64>,
    /// Where the parser writes a record's unescaped fields, and where each ends.
    out: Vec<u8>,
    out_ends: Vec<usize>,
    /// The parser has read a record, so it is past anything it treats specially at the
    /// very start (a BOM), and unquoted lines may be split without it.
    started: bool,
    /// Whether unquoted lines skip the parser: always, but in tests that compare both ways.
    unquoted_lines: bool,
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
            max_columns: usize::MAX,
            done: false,
            quote: b'"',
            delimiter,
            pending_cr: false,
            unterminated: None,
            out: Vec::new(),
            out_ends: Vec::new(),
            started: false,
            unquoted_lines: true,
            encoding: CellEncoding::Utf8,
        }
    }

    /// Says what encoding the input's bytes are in (UTF-8 unless told), so that the part
    /// kept of a too-large record ends between characters.
    pub fn in_encoding(mut self, encoding: CellEncoding) -> RecordReader<R> {
        self.encoding = encoding;
        self
    }

    /// Makes a record with more than `max` fields [too large](Record::too_large), its fields
    /// dropped as they are read: a row of a million empty cells costs nothing to hold.
    pub fn max_columns(mut self, max: usize) -> RecordReader<R> {
        self.max_columns = max;
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
        // A batch is bounded by its cells as well as its rows: wide rows make short batches.
        while n < max && records.cells_used < BATCH_CELLS {
            if self.started && self.unquoted_lines {
                n += self.read_unquoted_lines(records, max - n);
                if n == max {
                    break;
                }
            }
            if !self.read_one(records)? {
                break;
            }
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

    /// Reads one record into `records` with the parser. Returns false at the end of the
    /// input.
    fn read_one(&mut self, records: &mut Records) -> io::Result<bool> {
        if self.done {
            return Ok(false);
        }
        self.started = true;
        // The record's unescaped fields so far are `out[..out_len]`, and where each ends
        // `out_ends[..ends_len]`.
        let (mut out_len, mut ends_len) = (0, 0);
        // Where the record's first byte is in `buf`, once the parser has passed the blank
        // lines and line-ending bytes that come before it.
        let mut start: Option<usize> = None;
        let mut line = self.line;
        // The first bytes of a record that turned out too large; its fields are dropped.
        let mut kept: Option<Vec<u8>> = None;
        let mut too_wide = false;
        let mut quoting = Quoting::FieldStart;
        loop {
            if self.pos == self.filled && !self.eof {
                let keep_from = match (start, &kept) {
                    (Some(s), None) if self.filled - s >= self.max_record_bytes => {
                        let keep = kept_len(&self.buf[s..self.filled], self.encoding);
                        kept = Some(self.buf[s..s + keep].to_vec());
                        quoting = quoting.feed(&self.buf[s..self.pos], self.delimiter, self.quote);
                        self.pos
                    }
                    (Some(s), None) => s,
                    _ => self.pos,
                };
                self.refill(keep_from)?;
                start = start.map(|s| s.saturating_sub(keep_from));
                continue;
            }
            // A record too large to keep is still parsed to its end, its fields written over
            // and over at the start of the output.
            let skipping = kept.is_some();
            if skipping {
                (out_len, ends_len) = (0, 0);
            }
            // Room for at least 4 KiB more (or as much again as this record has so far).
            let want = out_len + out_len.max(4096);
            if self.out.len() < want {
                self.out.resize(want, 0);
            }
            let want = ends_len + ends_len.max(64);
            if self.out_ends.len() < want {
                self.out_ends.resize(want, 0);
            }
            let input = &self.buf[self.pos..self.filled];
            let (result, nin, nout, nend) = self.parser.read_record(
                input,
                &mut self.out[out_len..],
                &mut self.out_ends[ends_len..],
            );
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
            out_len += nout;
            ends_len += nend;
            if kept.is_none() && ends_len > self.max_columns {
                // Too many fields: the record is kept as its first bytes, as a too large one
                // is, and its fields are dropped from here on.
                let s = start.unwrap_or(self.pos);
                let keep = kept_len(&self.buf[s..self.pos], self.encoding);
                kept = Some(self.buf[s..s + keep].to_vec());
                quoting = quoting.feed(&self.buf[s..self.pos], self.delimiter, self.quote);
                too_wide = true;
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
                    if too_large {
                        (out_len, ends_len) = (0, 0);
                    }
                    records.push_parsed(
                        raw,
                        &self.out[..out_len],
                        &self.out_ends[..ends_len],
                        line,
                        (too_large, too_wide),
                    );
                    return Ok(true);
                }
                ReadRecordResult::End => {
                    self.done = true;
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
    /// Reads simple lines without the parser, as most are, up to `max` of them: each with
    /// its line ending already in the buffer, within the record limit, and with fields that
    /// are either free of quotes or wholly quoted (`"Tokyo, Inc."`) with neither a line
    /// break nor a doubled quote inside. Splitting such a line is all the parser would do,
    /// a byte at a time; this does it with vectorized searches, and leaves each field where
    /// it is in the line. Stops at the first other record, which is the parser's, or at the
    /// end of the buffered bytes. Returns how many records it read.
    fn read_unquoted_lines(&mut self, records: &mut Records, max: usize) -> usize {
        // The lines read are copied in one go at the end, with what is between them: the
        // byte at `buf[run]` goes to `records.bytes[base]`.
        let run = self.pos;
        let base = records.bytes.len();
        let mut n = 0;
        while n < max && records.cells_used < BATCH_CELLS {
            let input = &self.buf[self.pos..self.filled];
            let blank = input
                .iter()
                .take_while(|&&b| b == b'\n' || b == b'\r')
                .count();
            let line = &input[blank..];
            // A record may not be longer than the limit: its line must end within reach.
            let reach = &line[..line.len().min(self.max_record_bytes)];
            let first = records.cells_used;
            let Some((end, count, marks)) = split_line(
                reach,
                self.delimiter,
                self.quote,
                &mut records.cells,
                first,
                self.max_columns,
            ) else {
                break;
            };
            if count > self.max_columns {
                // The parser's, which drops its fields.
                break;
            }
            if blank > 0 {
                self.pending_cr = advance_lines(&mut self.line, &input[..blank], self.pending_cr);
            }
            let start = base + (self.pos + blank - run);
            records.spans.push(Span {
                raw: (start, start + end),
                fields: (start, start + end),
                cells: (first, first + count),
                marks,
                line: self.line,
                too_large: false,
                too_wide: false,
            });
            records.cells_used += count;
            // The line holds no line break before its ending, so only that byte counts (and
            // a CR just before the line cannot pair with it).
            self.line += 1;
            self.pending_cr = line[end] == b'\r';
            self.pos += blank + end + 1;
            n += 1;
        }
        // In pieces: glibc's memcpy moves a block of more than a few KiB with `rep movsb`,
        // which callgrind counts as an instruction per byte, so that the copy would look
        // many times dearer than it is; pieces go through its vector loop.
        for piece in self.buf[run..self.pos].chunks(1024) {
            records.bytes.extend_from_slice(piece);
        }
        n
    }
}

/// Cells a batch holds at most (16 bytes each, 4 MiB in all), however wide its rows: a
/// batch of 4,096 ordinary rows holds about 40,000.
const BATCH_CELLS: usize = 1 << 18;

/// How many bytes [`split_line`] looks at together.
const CHUNK: usize = crate::sys::simd::CHUNK;

/// Splits the line at the start of `input` if it is simple (see
/// [`RecordReader::read_unquoted_lines`]): writes where each field starts and ends, within the
/// line, into `cells` from `first` on (growing it as needed) and returns where the line
/// break is, the number of fields and their [marks](Record::marks). `None` for any other
/// line, or none in `input`.
///
/// Rather than a search per field, and one for the line break, a chunk of bytes is looked
/// at a time for delimiters, and for quotes and line breaks together.
fn split_line(
    input: &[u8],
    delimiter: u8,
    quote: u8,
    cells: &mut Vec<(usize, usize)>,
    first: usize,
    max_fields: usize,
) -> Option<(usize, usize, u64)> {
    let mut count = 0;
    let mut marks = 0;
    let mut field_start = 0;
    let mut at = 0;
    let mut room = &mut cells[first..];
    loop {
        // A line of more fields is the parser's, which drops them as it reads: none is
        // held here.
        if count > max_fields {
            return None;
        }
        let masks = masks_at(input, at, delimiter, quote)?;
        // Room for this chunk's fields: one per delimiter and one more.
        if room.len() < count + CHUNK + 1 {
            let grown = (first + count + CHUNK + 1).max(cells.len() * 2);
            cells.resize(grown, (0, 0));
            room = &mut cells[first..];
        }
        // The delimiters before the first quote or line break; all of them if there is none.
        let stops = masks.stops;
        let mut delimiters = masks.delimiters & (stops & stops.wrapping_neg()).wrapping_sub(1);
        while delimiters != 0 {
            let end = at + delimiters.trailing_zeros() as usize;
            room[count] = (field_start, end);
            marks |= mark(input[field_start], count);
            count += 1;
            field_start = end + 1;
            delimiters &= delimiters - 1;
        }
        if stops == 0 {
            at += CHUNK;
            continue;
        }
        let stop = at + stops.trailing_zeros() as usize;
        if input[stop] != quote {
            room[count] = (field_start, stop);
            marks |= mark(input[field_start], count);
            return Some((stop, count + 1, marks));
        }
        // A quote opens a quoted field only as its first byte; elsewhere the parser reads
        // it as a character.
        if stop != field_start {
            return None;
        }
        // The field ends at the next quote, with no line break before it.
        let mut from = stop + 1;
        let close = loop {
            let masks = masks_at(input, from, delimiter, quote)?;
            if masks.stops != 0 {
                break from + masks.stops.trailing_zeros() as usize;
            }
            from += CHUNK;
        };
        if input[close] != quote {
            return None;
        }
        room[count] = (stop + 1, close);
        marks |= mark(input[stop + 1], count);
        count += 1;
        // A quote after it would be a doubled one, to unescape; any other byte text after
        // the closing quote: both the parser's.
        match input.get(close + 1) {
            Some(&b) if b == delimiter => {
                field_start = close + 2;
                at = close + 2;
            }
            Some(b'\n' | b'\r') => return Some((close + 1, count, marks)),
            _ => return None,
        }
    }
}

/// The [`Masks`] of the chunk at `at` in `input`, or of what is left of it; `None` past its
/// end.
fn masks_at(input: &[u8], at: usize, delimiter: u8, quote: u8) -> Option<Masks> {
    let rest = input.get(at..)?;
    if let Some(chunk) = rest.first_chunk::<CHUNK>() {
        return Some(byte_masks(chunk, delimiter, quote));
    }
    if rest.is_empty() {
        return None;
    }
    let mut last = [0; CHUNK];
    last[..rest.len()].copy_from_slice(rest);
    Some(byte_masks(&last, delimiter, quote).within((1 << rest.len()) - 1))
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
        unquoted_lines: bool,
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
        reader.unquoted_lines = unquoted_lines;
        let mut records = Records::default();
        while reader.read(&mut records, 2).unwrap() > 0 {}
        let rows = records
            .iter()
            .map(|r| {
                for (i, field) in r.iter().enumerate() {
                    if field
                        .first()
                        .is_some_and(|&b| MARKED_STARTS[usize::from(b)])
                    {
                        assert_ne!(r.marks() & 1 << (i % 64), 0, "field {i} is not marked");
                    }
                }
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
    fn marks_are_the_fields_that_may_start_a_formula() {
        let set = &MARKED_STARTS;
        let wide: Vec<u8> = (0..70)
            .map(|i| if i == 66 { "=x" } else { "a" })
            .collect::<Vec<_>>()
            .join(",")
            .into_bytes();
        let input = [
            b"id,=1+2,x,+81 3,@a,-,\t\n".as_slice(),
            b"=a,\"b,c\",\"+q\",,\"\",-1\n",
            b"plain,line,no,marks\n",
            b"\"=quoted\",x\r\n",
            &wide,
            b"\n",
        ]
        .concat();
        for unquoted_lines in [true, false] {
            let mut reader = RecordReader::new(&input[..], b',', 1 << 20);
            reader.unquoted_lines = unquoted_lines;
            let mut records = Records::default();
            while reader.read(&mut records, 3).unwrap() > 0 {}
            assert_eq!(records.len(), 5);
            let marks: Vec<u64> = records.iter().map(|r| r.marks()).collect();
            assert_eq!([marks[0], marks[2], marks[3]], [0b1111010, 0, 1]);
            // Fields 3 and 4 are empty: their places hold field 5's `-`.
            assert_eq!(marks[1] & 0b100111, 0b100101);
            assert_eq!(marks[4], 1 << (66 % 64));
            for record in records.iter() {
                let marks = record.marks();
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
        fn unquoted_lines_read_as_the_parser_reads_them(
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

    #[test]
    fn quoted_fields_are_read_in_place_as_the_parser_reads_them() {
        let long = "x".repeat(40);
        let many = vec!["\"q\""; 70].join(",");
        let lines = [
            // In place: each field free of quotes or quoted whole.
            "1,\"Matsuda Kagaku Co., Ltd.\",a@x.jp\n".to_string(),
            "\"\",\"a\",,\"\"\n".to_string(),
            format!("\"{long},{long}\",\"{long}\"\r\n"),
            format!("{many}\n"),
            "\"last\"\r".to_string(),
            // The parser's: a doubled quote, text after a closing quote, a quote inside a
            // field, a line break inside quotes.
            "\"say \"\"hi\"\"\",b\n".to_string(),
            "\"a\"b,c\n".to_string(),
            "a\"b\",\"c\"\n".to_string(),
            "\"two\nlines\",x\n".to_string(),
        ];
        let input = lines.concat();
        let in_place = [true, true, true, true, true, false, false, false, false];
        for chunk in [usize::MAX, 5, 33] {
            let (rows, open) = read_chunked(input.as_bytes(), chunk, 1 << 20, true);
            assert_eq!(
                (rows.clone(), open),
                read_chunked(input.as_bytes(), chunk, 1 << 20, false)
            );
            assert_eq!(rows.len(), lines.len());
            assert_eq!(rows[0].1[1], "Matsuda Kagaku Co., Ltd.");
            assert_eq!(rows[1].1, ["", "a", "", ""]);
            assert_eq!(rows[3].1.len(), 70);
            assert_eq!(rows[5].1[0], "say \"hi\"");
        }
        // Fields read in place are the line's own bytes, the others unescaped copies.
        let mut reader = RecordReader::new(input.as_bytes(), b',', 1 << 20);
        let mut records = Records::default();
        while reader.read(&mut records, 3).unwrap() > 0 {}
        // The first record is the parser's (it may start with a byte order mark).
        for (i, record) in records.iter().enumerate().skip(1) {
            let same = std::ptr::eq(record.field_bytes(), record.raw());
            assert_eq!(same, in_place[i], "line {i}");
        }
    }

    #[test]
    fn an_unclosed_quote_is_reported() {
        let (rows, open) = read_all(b"a,b\n\"c,d\ne,f\n", 1 << 20);
        assert_eq!(rows.len(), 2);
        assert_eq!(open, Some(2));
    }
}
