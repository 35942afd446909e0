//! Writing CSV fields in a file's [`Dialect`]: the one place output fields are quoted,
//! as the input was (always, or where RFC 4180 needs it).
//!
//! Hand-written rather than `csv-core`'s `Writer`, which was measured slower: on the cells
//! of 2,000 contact rows (`benches/fields.rs`, criterion, a 2-core virtual machine), 158 µs
//! here against 175 µs through `csv-core` (1.11×). A field that carries the formula guard's
//! `'` is also written as the prefix and the cell without joining them first, which
//! `csv-core` cannot do (it decides the quoting from each piece it is given), and codes and
//! addresses that never need quotes skip the look for special bytes.

use crate::read::dialect::Dialect;

impl Dialect {
    /// Appends one field to an output row, after a delimiter unless it is the row's first.
    /// Quotes it as the input did: always, or when it holds a delimiter, a quote or a line
    /// break (RFC 4180).
    pub fn push_field(&self, out: &mut Vec<u8>, field: &[u8], first: bool) {
        self.push_field_after(out, b"", field, first);
    }

    /// [`Dialect::push_field`] for a field made of `prefix` then `field`, without joining
    /// them first.
    pub fn push_field_after(&self, out: &mut Vec<u8>, prefix: &[u8], field: &[u8], first: bool) {
        if !first {
            out.push(self.delimiter);
        }
        // Fields are short: a plain loop beats a SIMD search's set-up. Every special byte
        // but the delimiter sorts at or below `"`, so one compare clears most bytes.
        let special = |bytes: &[u8]| {
            bytes
                .iter()
                .any(|&b| b == self.delimiter || (b <= b'"' && matches!(b, b'"' | b'\n' | b'\r')))
        };
        if !(self.quote_all || special(prefix) || special(field)) {
            out.extend_from_slice(prefix);
            out.extend_from_slice(field);
            return;
        }
        out.push(b'"');
        for piece in prefix
            .split_inclusive(|&b| b == b'"')
            .chain(field.split_inclusive(|&b| b == b'"'))
        {
            out.extend_from_slice(piece);
            if piece.last() == Some(&b'"') {
                out.push(b'"');
            }
        }
        out.push(b'"');
    }

    /// Whether a field made only of bytes in `set` may need quotes: always when every field
    /// is quoted, otherwise only if the delimiter is in the set. (A set of codes or of
    /// valid addresses holds no quote or line break.)
    pub fn may_quote(&self, set: fn(u8) -> bool) -> bool {
        self.quote_all || set(self.delimiter)
    }

    /// Appends a field known to need no quotes, as [`Dialect::may_quote`] tells.
    pub fn push_unquoted(&self, out: &mut Vec<u8>, field: &[u8], first: bool) {
        if !first {
            out.push(self.delimiter);
        }
        out.extend_from_slice(field);
    }

    /// Excel's `sep=X` line for the outputs, with its line ending, if the input had one.
    pub fn sep_line(&self) -> Option<Vec<u8>> {
        self.sep_line.then(|| {
            let mut line = b"sep=".to_vec();
            line.push(self.delimiter);
            self.end_row(&mut line);
            line
        })
    }

    /// Ends an output row.
    pub fn end_row(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.line_ending.bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::dialect::LineEnding;
    use crate::read::encoding::CellEncoding;

    #[test]
    fn quotes_like_rfc_4180() {
        let dialect = Dialect {
            delimiter: b',',
            line_ending: LineEnding::CrLf,
            quote_all: false,
            cell_encoding: CellEncoding::Utf8,
            sep_line: false,
        };
        let mut out = Vec::new();
        for (i, field) in ["a", "b,c", "say \"hi\"", "", "line\nbreak"]
            .iter()
            .enumerate()
        {
            dialect.push_field(&mut out, field.as_bytes(), i == 0);
        }
        dialect.end_row(&mut out);
        assert_eq!(out, b"a,\"b,c\",\"say \"\"hi\"\"\",,\"line\nbreak\"\r\n");
        let all = Dialect {
            quote_all: true,
            ..dialect
        };
        let mut out = Vec::new();
        all.push_field(&mut out, b"x", true);
        all.push_field(&mut out, b"", false);
        assert_eq!(out, b"\"x\",\"\"");
    }
}
