//! The CSV dialect of a file, and the one place CSV readers and writers are built from it,
//! so the outputs are written the way the input was (delimiter, line ending, quoting).

use std::io::Read;

use crate::read::encoding::CellEncoding;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    pub delimiter: u8,
    /// Lines end in CRLF (Excel on Windows) rather than LF.
    pub crlf: bool,
    /// Every field was quoted, as many CRM exports do; otherwise only where needed.
    pub quote_all: bool,
    /// The encoding of the bytes the parser sees and the writer writes.
    pub cell_encoding: CellEncoding,
}

impl Dialect {
    /// A reader that hands out raw records: no header handling, ragged rows allowed
    /// (rows are checked against the header by the pipeline, with a reason).
    pub fn reader<R: Read>(&self, input: R) -> csv::Reader<R> {
        csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(256 * 1024)
            .from_reader(input)
    }

    /// A writer into memory, for one batch of output rows.
    pub fn writer(&self, buffer: Vec<u8>) -> csv::Writer<Vec<u8>> {
        csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .flexible(true)
            .terminator(if self.crlf {
                csv::Terminator::CRLF
            } else {
                csv::Terminator::Any(b'\n')
            })
            .quote_style(if self.quote_all {
                csv::QuoteStyle::Always
            } else {
                csv::QuoteStyle::Necessary
            })
            .from_writer(buffer)
    }
}
