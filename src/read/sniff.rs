//! Sniffing the CSV dialect from the first lines: delimiter, line ending and quoting.

use crate::read::dialect::LineEnding;

/// The delimiters we sniff for, in order of preference when the evidence ties.
pub const DELIMITERS: [u8; 4] = [b',', b'\t', b';', b'|'];

/// The lines of a sample, with quoted newlines kept inside their line. Quotes are
/// followed the way CSV does, so a comma or newline inside quotes does not count.
fn logical_lines(sample: &str, limit: usize) -> Vec<&str> {
    let mut lines = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, b) in sample.bytes().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => {
                lines.push(&sample[start..i]);
                start = i + 1;
                if lines.len() == limit {
                    return lines;
                }
            }
            _ => {}
        }
    }
    // The last line is only complete if the sample ended the file; a partial one would
    // skew the counts, so it is used only when it is all we have.
    if lines.is_empty() && start < sample.len() {
        lines.push(&sample[start..]);
    }
    lines
}

fn count_outside_quotes(line: &str, delimiter: u8) -> usize {
    let mut quoted = false;
    line.bytes()
        .filter(|&b| {
            if b == b'"' {
                quoted = !quoted;
            }
            !quoted && b == delimiter
        })
        .count()
}

/// Picks the delimiter that splits the most lines into the same number of fields.
///
/// For each candidate, the most common per-line count (the mode) is taken; a candidate
/// scores by how many lines share that mode, and only counts if the mode is non-zero.
/// A file with one column has no delimiter to find: `,` is returned.
pub fn delimiter(sample: &str) -> u8 {
    let lines = logical_lines(sample, 50);
    let mut best = (b',', 0usize, 0usize);
    for &delimiter in &DELIMITERS {
        let counts: Vec<usize> = lines
            .iter()
            .map(|l| count_outside_quotes(l, delimiter))
            .collect();
        let mut sorted = counts.clone();
        sorted.sort_unstable();
        let (mut mode, mut mode_len) = (0, 0);
        for chunk in sorted.chunk_by(|a, b| a == b) {
            if chunk.len() > mode_len || (chunk.len() == mode_len && chunk[0] > mode) {
                (mode, mode_len) = (chunk[0], chunk.len());
            }
        }
        if mode > 0 && (mode_len > best.1 || (mode_len == best.1 && mode > best.2)) {
            best = (delimiter, mode_len, mode);
        }
    }
    best.0
}

/// Excel's first line `sep=X` (written by Excel in locales whose lists use `;`, and
/// understood by it everywhere), which names the delimiter. Returns the delimiter and the
/// line's length with its line ending; `None` unless the first line is exactly `sep=`
/// and one ASCII character that can be a delimiter.
pub fn excel_sep_line(sample: &str) -> Option<(u8, usize)> {
    let rest = sample.strip_prefix("sep=")?;
    let &delimiter = rest.as_bytes().first()?;
    if !delimiter.is_ascii() || matches!(delimiter, b'\r' | b'\n' | b'"') {
        return None;
    }
    let ending = match &rest.as_bytes()[1..] {
        [] => 0,
        [b'\r', b'\n', ..] => 2,
        [b'\r' | b'\n', ..] => 1,
        _ => return None,
    };
    Some((delimiter, "sep=".len() + 1 + ending))
}

/// How lines end, judged by the first line break outside quotes: CRLF, LF, or a CR alone
/// (old Mac files). A sample with no line break is taken as LF.
pub fn line_ending(sample: &str) -> LineEnding {
    let bytes = sample.as_bytes();
    let mut quoted = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => return LineEnding::Lf,
            b'\r' if !quoted => {
                return match bytes.get(i + 1) {
                    Some(b'\n') => LineEnding::CrLf,
                    _ => LineEnding::Cr,
                };
            }
            _ => {}
        }
    }
    LineEnding::Lf
}

/// Whether the writer of the file quoted every field (as Salesforce and many CRMs do):
/// true when the first lines all start and end with a quote and every delimiter sits
/// between quotes.
pub fn quotes_everything(sample: &str, delimiter: u8) -> bool {
    let lines = logical_lines(sample, 5);
    let delimiter = delimiter as char;
    let between = format!("\"{delimiter}\"");
    !lines.is_empty()
        && lines.iter().all(|line| {
            let line = line.trim_end_matches('\r');
            line.len() >= 2
                && line.starts_with('"')
                && line.ends_with('"')
                && count_outside_quotes(line, delimiter as u8) == line.matches(&between).count()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_delimiters() {
        let cases = [
            ("id,email\n1,a@x.jp\n2,b@x.jp\n", b','),
            ("id\temail\tnote\n1\ta@x.jp\tx, y\n", b'\t'),
            (
                "id;email;name\n1;a@x.jp;\"Smith, John\"\n2;b@x.jp;Lee\n",
                b';',
            ),
            ("id|email\n1|a@x.jp\n", b'|'),
            ("email\na@x.jp\n", b','),
            ("\"a,b\";c;d\n\"e,f\";g;h\n", b';'),
        ];
        for (sample, expected) in cases {
            assert_eq!(delimiter(sample) as char, expected as char, "{sample:?}");
        }
    }

    #[test]
    fn reads_excels_sep_line() {
        let cases = [
            ("sep=;\r\nname;email\r\n", Some((b';', 7))),
            ("sep=,\nname,email\n", Some((b',', 6))),
            ("sep=\t\rname\temail\r", Some((b'\t', 6))),
            ("sep=|", Some((b'|', 5))),
            ("sep=;;\r\n", None),
            ("sep=\r\n", None),
            ("Sep=;\n", None),
            ("sep=、\n", None),
            ("name,email\n", None),
            ("sep", None),
        ];
        for (sample, expected) in cases {
            assert_eq!(excel_sep_line(sample), expected, "{sample:?}");
        }
    }

    #[test]
    fn sniffs_line_endings_and_quoting() {
        for (sample, expected) in [
            ("a,b\r\n1,2\r\n", LineEnding::CrLf),
            ("a,b\n1,2\r\n", LineEnding::Lf),
            ("a,b\r1,2\r", LineEnding::Cr),
            ("a,b\r", LineEnding::Cr),
            ("\"x\r\ny\",b\r1,2\r", LineEnding::Cr),
            ("a,b", LineEnding::Lf),
        ] {
            assert_eq!(line_ending(sample), expected, "{sample:?}");
        }
        assert!(quotes_everything("\"a\",\"b\"\r\n\"1\",\"x, y\"\r\n", b','));
        assert!(!quotes_everything("a,\"b\"\n", b','));
    }
}
