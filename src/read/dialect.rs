//! The CSV dialect of a file: its delimiter, line ending, quoting and encoding as sniffed
//! when it is opened, so that the outputs are written the way the input was (by
//! [`crate::write::fields`]).

use super::encoding::CellEncoding;

/// How the lines of a file end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    /// Excel on Windows.
    CrLf,
    /// Classic Mac OS, and Excel for Mac's "CSV (Macintosh)".
    Cr,
}

impl LineEnding {
    pub fn bytes(self) -> &'static [u8] {
        match self {
            LineEnding::Lf => b"\n",
            LineEnding::CrLf => b"\r\n",
            LineEnding::Cr => b"\r",
        }
    }
}

/// How a CSV file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    pub delimiter: u8,
    pub line_ending: LineEnding,
    /// Every field was quoted, as many CRM exports do; otherwise only where needed.
    pub quote_all: bool,
    /// The encoding of the bytes the parser sees and the writer writes.
    pub cell_encoding: CellEncoding,
    /// The file started with Excel's `sep=X` line, which the outputs repeat so that Excel
    /// opens them the same way.
    pub sep_line: bool,
}
