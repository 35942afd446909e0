//! The formula guard's rules (OWASP "CSV injection"): which cells a spreadsheet would run
//! as a formula. One place, used by the reader (which marks the cells that may start one as
//! it splits a line) and by every writer (which guards them).

/// Whether a spreadsheet would read a cell starting like this as a formula that can do
/// harm. A sign before nothing but digits, spaces and `.-+()/` is a phone number or a
/// number (`+81 3-1234-5678`, `-12.5`, a lone `-`): no function, reference or command can
/// be written with those, and guarding them would put a `'` into every international
/// phone number a CRM imports. Excel's text formula `="0312345678"`, which keeps leading
/// zeros, yields its text and nothing else: it is left as written too.
pub fn is_formula(cell: &[u8]) -> bool {
    match cell.first() {
        Some(b'=') => !is_text_formula(cell),
        Some(b'@' | b'\t' | b'\r') => true,
        Some(b'+' | b'-') => !cell.iter().all(|&b| NUMBER_BYTES[usize::from(b)]),
        _ => false,
    }
}

/// The bytes a phone number or a number is written with: `0-9`, space and `.-+()/`. A
/// table, since a third of the rows have a phone number starting with `+` to look through.
static NUMBER_BYTES: [bool; 256] = {
    let mut set = [false; 256];
    let mut b = 0;
    while b < 256 {
        set[b] = matches!(
            b as u8,
            b'0'..=b'9' | b' ' | b'.' | b'-' | b'+' | b'(' | b')' | b'/'
        );
        b += 1;
    }
    set
};

/// Whether a cell starting with this byte may be a [formula](is_formula); a cell that
/// starts with any other byte (or is empty) is not one. The reader marks the cells that
/// start so, as it splits a line.
pub const fn may_start_formula(first: Option<u8>) -> bool {
    matches!(first, Some(b'=' | b'@' | b'\t' | b'\r' | b'+' | b'-'))
}

/// `="…"` with no other quote: a formula whose value is its text.
fn is_text_formula(cell: &[u8]) -> bool {
    cell.len() >= 3
        && cell.starts_with(b"=\"")
        && cell.ends_with(b"\"")
        && !cell[2..cell.len() - 1].contains(&b'"')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formulas_are_told_by_their_first_byte_first() {
        for (cell, formula) in [
            (&b"=1+2"[..], true),
            (b"=\"0312345678\"", false),
            (b"@SUM(A1)", true),
            (b"\tx", true),
            (b"\rx", true),
            (b"+81 3-1234-5678", false),
            (b"+cmd", true),
            (b"-12.5", false),
            (b"-", false),
            (b"-x", true),
            (b"taro@acme.jp", false),
            (b"", false),
        ] {
            assert_eq!(is_formula(cell), formula, "{}", cell.escape_ascii());
            assert_eq!(
                may_start_formula(cell.first().copied()),
                !cell.is_empty() && b"=@\t\r+-".contains(&cell[0])
            );
        }
    }

    proptest! {
        #[test]
        fn no_formula_starts_with_another_byte(cell in proptest::collection::vec(any::<u8>(), 0..12)) {
            prop_assert!(!is_formula(&cell) || may_start_formula(cell.first().copied()));
        }
    }
}
