//! Which format an input is in, told from its first bytes, not its name: the check every
//! input passes when it is opened, which picks the reader of its rows.

/// What an input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Text: CSV or TSV, in any encoding listclean reads.
    Csv,
    /// An Excel workbook (`.xlsx`, `.xls`).
    Excel,
    /// Another ZIP archive.
    Zip,
    Pdf,
    Gzip,
}

impl Format {
    /// The format of an input that starts with `start`. A workbook given by mistake would
    /// otherwise be read as one broken row after another.
    pub fn of(start: &[u8]) -> Format {
        if start.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
            // The OLE2 compound file of Excel 97-2003 (.xls).
            Format::Excel
        } else if start.starts_with(b"PK\x03\x04") {
            // A ZIP archive; an .xlsx names its parts xl/workbook.xml, xl/worksheets/...
            if memchr::memmem::find(start, b"xl/").is_some() {
                Format::Excel
            } else {
                Format::Zip
            }
        } else if start.starts_with(b"%PDF-") {
            Format::Pdf
        } else if start.starts_with(b"\x1F\x8B") {
            Format::Gzip
        } else {
            Format::Csv
        }
    }

    /// For a format that cannot be read: what it is, and what to do about it.
    pub fn refusal(self) -> (&'static str, &'static str) {
        const SAVE_AS_CSV: &str = "save it as CSV (comma delimited) or CSV UTF-8 first";
        match self {
            Format::Csv => ("CSV", ""),
            Format::Excel => ("an Excel workbook", SAVE_AS_CSV),
            Format::Zip => ("a ZIP archive", "extract the CSV file from it first"),
            Format::Pdf => (
                "a PDF document",
                "export the list from the program that made it as CSV",
            ),
            Format::Gzip => (
                "gzip-compressed",
                "decompress it first (gzip -dc FILE | listclean clean -)",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_binary_formats() {
        let xlsx = b"PK\x03\x04\x14\0\x06\0\x08\0\0\0!\0[Content_Types].xml ... xl/workbook.xml";
        let cases: [(&[u8], Format); 7] = [
            (b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0", Format::Excel),
            (xlsx, Format::Excel),
            (b"PK\x03\x04\x14\0list.csv", Format::Zip),
            (b"%PDF-1.7\n", Format::Pdf),
            (b"\x1F\x8B\x08\0", Format::Gzip),
            (b"name,email\n", Format::Csv),
            (b"PK,email\n", Format::Csv),
        ];
        for (start, expected) in cases {
            assert_eq!(Format::of(start), expected);
        }
    }
}
