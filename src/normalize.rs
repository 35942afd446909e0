//! Normalizing: repair what a person or a spreadsheet did to an address cell.
//!
//! Owns the repairs (full width, stray spaces and invisible characters, quotes, brackets and
//! trailing punctuation, Excel's `="…"`, `mailto:`, display names, domain case and IDN). It
//! refuses to guess: a cell with several addresses, an obfuscated `(at)`, an annotation or
//! a look-alike dash in the domain is returned as an error, not repaired. Whether the
//! repaired address is acceptable is [`crate::validate`]'s job.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

use crate::address::{Address, split};
use crate::verdict::{Reason, SyntaxError};

/// Characters that are invisible and never part of an address: zero-width space and
/// joiners, word joiner, and a BOM left inside a cell by an earlier bad conversion.
const INVISIBLE: &[char] = &['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}'];

/// What separates several addresses written into one cell.
const SEPARATORS: &[char] = &[',', ';', ' ', '/', '|', '\u{3001}', '\n', '\r', '\t'];

/// Characters that stand where a hyphen belongs when a Japanese IME or a JIS table was
/// involved. NFKC maps the full-width hyphen-minus but none of these, so they are
/// rejected for a human to look at rather than guessed at (in a domain, by
/// [`crate::normalize`], before IDNA would turn them into punycode).
pub(crate) const LOOKALIKE_DASHES: &[char] = &[
    '\u{2010}', '\u{2011}', '\u{2012}', '\u{2013}', '\u{2014}', '\u{2015}', '\u{2212}', '\u{30FC}',
    '\u{FF70}', '\u{301C}', '\u{FF5E}',
];

/// Notes that people write in an email cell for "no address": none, unknown, same as
/// above, not applicable, left the company, no @ sign. Compared after NFKC, without case
/// and surrounding spaces or full stops.
const PLACEHOLDERS: &[&str] = &[
    "-",
    "--",
    "---",
    "ー",
    "―",
    "—",
    "×",
    "x",
    "なし",
    "無し",
    "ナシ",
    "不明",
    "同上",
    "未定",
    "未登録",
    "未入力",
    "退職",
    "退社",
    "n/a",
    "#n/a",
    "na",
    "none",
    "null",
    "nil",
    "tbd",
    "unknown",
    "no email",
    "noemail",
    "no mail",
    "@マーク無し",
    "@マークなし",
    "@なし",
    "メールなし",
    "アドレスなし",
    "メールアドレスなし",
];

/// The note a cell holds in place of an address, if it is one people write for "none"
/// (`なし`, `不明`, `同上`, `N/A`, `-`, `＠マーク無し`, `退職`), as written.
pub fn placeholder(cell: &str) -> Option<String> {
    let trimmed = cell.trim_matches(|c: char| c.is_whitespace() || matches!(c, '.' | '。'));
    if trimmed.is_empty() || trimmed.chars().count() > 12 {
        return None;
    }
    let folded: String = trimmed.nfkc().collect::<String>().to_lowercase();
    PLACEHOLDERS
        .contains(&folded.as_str())
        .then(|| trimmed.to_owned())
}

/// Quotes and brackets, as (opening, closing), that wrap a whole address and are removed:
/// straight and curly quotes (a word processor's autocorrect, or the same quote at both
/// ends), square brackets, and the brackets Japanese text quotes with. NFKC has already
/// made `＂` and `｢｣` of their full-width and half-width forms.
const WRAPPERS: &[(char, char)] = &[
    ('"', '"'),
    ('\'', '\''),
    ('`', '`'),
    ('[', ']'),
    ('\u{201C}', '\u{201D}'), // “ ”
    ('\u{201D}', '\u{201D}'),
    ('\u{201C}', '\u{201C}'),
    ('\u{2018}', '\u{2019}'), // ‘ ’
    ('\u{2019}', '\u{2019}'),
    ('\u{2018}', '\u{2018}'),
    ('\u{300C}', '\u{300D}'), // 「 」
    ('\u{300E}', '\u{300F}'), // 『 』
    ('\u{3010}', '\u{3011}'), // 【 】
    ('\u{3008}', '\u{3009}'), // 〈 〉
    ('\u{300A}', '\u{300B}'), // 《 》
    ('\u{3014}', '\u{3015}'), // 〔 〕
];

/// Whether `c` opens or closes one of the [`WRAPPERS`].
fn is_wrapper(c: char) -> bool {
    WRAPPERS
        .iter()
        .any(|&(open, close)| c == open || c == close)
}

/// What may wrap one piece of a cell holding several addresses (`"a@x.jp"`, `(a@x.jp)`),
/// besides [`WRAPPERS`].
const PIECE_WRAPPING: &[char] = &['(', ')', ':', '.', '\u{3002}'];

/// Punctuation that sticks to the end of an address copied from a sentence or a list.
const TRAILING: &[char] = &[',', ';', ':', '.', '\u{3002}', '\u{3001}'];

/// Normalizes one email cell.
///
/// Returns the candidate address, borrowed from `cell` when nothing changed. The domain
/// of the result is lowercase ASCII in A-label form; the local part keeps its case and
/// may still be invalid.
///
/// # Errors
/// [`Reason::Empty`] for a blank cell, [`Reason::DamagedText`] for a cell holding U+FFFD
/// (the mark of an earlier failed decode), [`Reason::MultipleAddresses`], and
/// [`Reason::Syntax`] for what cannot be split into one local part and one domain.
///
/// ```
/// use listclean::normalize::normalize;
/// let address = normalize("山田太郎＜Taro@EXAMPLE．co．jp＞").unwrap();
/// assert_eq!(address.as_str(), "Taro@example.co.jp");
/// ```
pub fn normalize(cell: &str) -> Result<Address<'_>, Reason> {
    if let Some(at) = already_normal(cell.as_bytes()) {
        return Ok(Address::from_parts(Cow::Borrowed(cell), at));
    }
    repair(cell)
}

/// Where the `@` is when a cell needs no repair, as most cells do: ASCII, a letter or digit
/// at either end, not a `mailto:` link, one `@`, no parentheses and a lowercase domain.
/// [`normalize_once`] would return such a cell unchanged; one pass over its bytes says so.
fn already_normal(cell: &[u8]) -> Option<usize> {
    let (first, last) = (cell.first()?, cell.last()?);
    if !first.is_ascii_alphanumeric()
        || !last.is_ascii_alphanumeric()
        || cell
            .get(..7)
            .is_some_and(|head| head.eq_ignore_ascii_case(b"mailto:"))
    {
        return None;
    }
    crate::sys::simd::simple_address_at(cell)
}

/// [`normalize`] for a cell that may need repairs.
fn repair(cell: &str) -> Result<Address<'_>, Reason> {
    let address = normalize_once(cell)?;
    if address.is_borrowed() {
        return Ok(address);
    }
    // A repair can uncover another (IDNA drops an invisible character that hid trailing
    // punctuation): repeat until nothing changes, so that normalizing twice is normalizing
    // once. Real cells settle in one or two rounds.
    let mut current = address.into_owned();
    for _ in 0..4 {
        let next = normalize_once(current.as_str())?;
        if next.as_str() == current.as_str() {
            break;
        }
        current = next.into_owned();
    }
    Ok(current)
}

fn normalize_once(cell: &str) -> Result<Address<'_>, Reason> {
    let mut text: Cow<'_, str> = Cow::Borrowed(cell);
    if !cell.is_ascii() {
        if cell.contains('\u{FFFD}') {
            return Err(Reason::DamagedText);
        }
        let folded: String = cell.nfkc().filter(|c| !INVISIBLE.contains(c)).collect();
        if folded != cell {
            text = Cow::Owned(folded);
        }
    }
    // Before unwrapping, which keeps only the last `<…>` of a cell: `A <a@x.jp>, B <b@y.jp>`
    // would otherwise come out as `b@y.jp`, silently dropping the first address.
    if memchr::memchr_iter(b'@', text.as_bytes()).nth(1).is_some() && holds_several_addresses(&text)
    {
        return Err(Reason::MultipleAddresses);
    }
    if let Some(note) = note_after_address(&text) {
        return Err(Reason::Syntax(SyntaxError::Annotation {
            text: note.into(),
        }));
    }
    text = unwrap(text);
    if text.is_empty() {
        return Err(Reason::Empty);
    }
    let parentheses = memchr::memchr2(b'(', b')', text.as_bytes()).is_some();
    let (local, domain) = split(&text).map_err(Reason::Syntax)?;
    if parentheses {
        return Err(Reason::Syntax(SyntaxError::Comment));
    }
    let at = local.len();
    let domain = normalize_domain(domain).map_err(Reason::Syntax)?;
    if let Cow::Owned(domain) = domain {
        text = Cow::Owned(format!("{local}@{domain}"));
    }
    Ok(Address::from_parts(text, at))
}

/// A note in brackets after the address (`taro@acme.co.jp <mobile>`, `Taro <taro@acme.co.jp>
/// <note>`): the last `<…>` of the cell holds no `@` and something with an `@` comes
/// before it. Taking the note for the address would call the cell one without an `@`.
fn note_after_address(text: &str) -> Option<&str> {
    let text = text.trim_end();
    let open = text.strip_suffix('>')?.rfind('<')?;
    let inner = text[open + 1..text.len() - 1].trim();
    let before = &text[..open];
    (!inner.is_empty() && !inner.contains('@') && before.contains('@')).then_some(&text[open..])
}

/// Removes what wraps an address, repeatedly, until nothing more comes off: white space,
/// `mailto:`, `Name <addr>`, wrapping quotes and trailing punctuation.
fn unwrap(mut text: Cow<'_, str>) -> Cow<'_, str> {
    // Most cells start and end with a letter or digit and are not a `mailto:` link: then
    // there is nothing to unwrap, and the loop below is skipped on the hot path.
    let bytes = text.as_bytes();
    if bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && !bytes
            .get(..7)
            .is_some_and(|head| head.eq_ignore_ascii_case(b"mailto:"))
    {
        return text;
    }
    loop {
        let before = text.len();
        text = map_borrowed(text, |s| {
            let s = s.trim();
            let s = strip_prefix_ignore_case(s, "mailto:")
                .map(|rest| rest.split('?').next().unwrap_or(rest))
                .unwrap_or(s);
            let s = display_name_removed(s);
            let s = excel_hyperlink_removed(s);
            let s = excel_text_formula_removed(s);
            let s = wrapping_quotes_removed(s);
            s.trim_start_matches([',', ';', ':'])
                .trim_end_matches(TRAILING)
        });
        if text.len() == before {
            return text;
        }
    }
}

/// Applies a slicing function to a `Cow`, keeping it borrowed when it was borrowed.
fn map_borrowed<'a>(text: Cow<'a, str>, f: impl Fn(&str) -> &str) -> Cow<'a, str> {
    match text {
        Cow::Borrowed(s) => Cow::Borrowed(f(s)),
        Cow::Owned(s) => {
            let sliced = f(&s);
            if sliced.len() == s.len() {
                Cow::Owned(s)
            } else {
                Cow::Owned(sliced.to_owned())
            }
        }
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s[prefix.len()..].trim_start())
}

/// `Yamada Taro <taro@example.jp>` → `taro@example.jp`; the name may hold anything.
///
/// Empty brackets hold nothing, and come off alone: `taro@example.jp <>` →
/// `taro@example.jp`, and `Yamada Taro <>` → `Yamada Taro`, which has no `@`. Taking the
/// empty brackets for the address would call a cell with an address in it empty.
fn display_name_removed(s: &str) -> &str {
    match s.strip_suffix('>').map(|inner| (inner, inner.rfind('<'))) {
        Some((inner, Some(open))) => match inner[open + 1..].trim() {
            "" => inner[..open].trim(),
            address => address,
        },
        _ => s,
    }
}

/// `=HYPERLINK("mailto:taro@example.jp","Taro")` → `mailto:taro@example.jp`, whose
/// `mailto:` comes off next: the link Excel makes of an address, exported as its formula.
/// The arguments may be separated by `;` (Excel in locales whose lists use it).
fn excel_hyperlink_removed(s: &str) -> &str {
    let Some(call) = s
        .strip_prefix('=')
        .and_then(|rest| strip_prefix_ignore_case(rest.trim_start(), "HYPERLINK("))
    else {
        return s;
    };
    let Some(target) = call
        .trim_end()
        .strip_suffix(')')
        .and_then(|args| args.trim_start().strip_prefix('"'))
    else {
        return s;
    };
    match target.find('"') {
        Some(end) => &target[..end],
        None => s,
    }
}

/// `="taro@example.jp"` → `"taro@example.jp"`, whose quotes come off next: a formula
/// whose value is the text, which is how Excel users keep a cell from being converted.
fn excel_text_formula_removed(s: &str) -> &str {
    match s.strip_prefix('=') {
        Some(quoted) if quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"') => {
            quoted
        }
        _ => s,
    }
}

/// `"taro@example.jp"`, `“taro@example.jp”` or `「taro@example.jp」` → `taro@example.jp`, but
/// `"taro"@example.jp` is left alone: that is a quoted local part, which validation rejects.
fn wrapping_quotes_removed(s: &str) -> &str {
    let (Some(first), Some(last)) = (s.chars().next(), s.chars().next_back()) else {
        return s;
    };
    // Most cells reaching here start with a letter or digit: no wrapper to look up.
    if first.is_ascii_alphanumeric() {
        return s;
    }
    for &(open, close) in WRAPPERS {
        if first == open && last == close && s.len() >= open.len_utf8() + close.len_utf8() {
            let inner = &s[open.len_utf8()..s.len() - close.len_utf8()];
            if !inner.contains([open, close]) {
                return inner.trim();
            }
        }
    }
    s
}

/// Whether a cell (not yet unwrapped) holds two or more addresses: pieces, split at
/// separators, angle brackets and the non-ASCII [`WRAPPERS`], with something on both sides
/// of an `@`.
///
/// A display name may repeat the address it names (`a@x.jp <a@x.jp>`): that cell holds one
/// address. Any other second address counts, whatever its shape: `A <a@x.jp>, B <b@x.jp>`,
/// `<a@x.jp>; <b@x.jp>`, `a@x.jp <b@y.jp>`. An `@` with nothing on one side (`@taro <t@x.jp>`)
/// is not an address; a cell like `a@@x.jp` is left to the syntax check.
fn holds_several_addresses(text: &str) -> bool {
    let mut addresses = text
        .split(|c: char| {
            SEPARATORS.contains(&c) || c == '<' || c == '>' || (!c.is_ascii() && is_wrapper(c))
        })
        .map(|piece| {
            let piece = piece.trim_matches(|c| PIECE_WRAPPING.contains(&c) || is_wrapper(c));
            strip_prefix_ignore_case(piece, "mailto:").unwrap_or(piece)
        })
        .filter(|piece| {
            piece
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        });
    let (Some(first), Some(second)) = (addresses.next(), addresses.next()) else {
        return false;
    };
    let name_repeats_address = addresses.next().is_none()
        && first.eq_ignore_ascii_case(second)
        && text.matches('<').count() == 1
        && text
            .trim_end_matches(|c: char| c.is_whitespace() || TRAILING.contains(&c))
            .ends_with('>');
    !name_repeats_address
}

/// Lowercases the domain and converts an internationalized domain to A-labels (UTS #46).
/// U+3002 (the ideographic full stop, and U+FF61 after NFKC) counts as a dot here only.
fn normalize_domain(domain: &str) -> Result<Cow<'_, str>, SyntaxError> {
    if domain.is_ascii() {
        return Ok(if domain.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(domain.to_ascii_lowercase())
        } else {
            Cow::Borrowed(domain)
        });
    }
    let dotted = domain.replace('\u{3002}', ".");
    let dotted = dotted.trim_end_matches('.');
    if let Some(ch) = dotted.chars().find(|c| c.is_whitespace()) {
        return Err(if ch == ' ' {
            SyntaxError::Whitespace
        } else {
            SyntaxError::DomainInvalidCharacter { ch }
        });
    }
    if dotted.is_ascii() {
        return Ok(Cow::Owned(dotted.to_ascii_lowercase()));
    }
    if let Some(ch) = lookalike_dash(dotted) {
        return Err(SyntaxError::DomainLookalikeCharacter { ch });
    }
    let ascii = idna::domain_to_ascii(dotted).map_err(|_| SyntaxError::InvalidIdn)?;
    // A top-level domain is all ASCII (`jp`) or all not (`みんな`, `xn--q9jyb4c`): one that
    // mixes them (an A-label with ASCII before its `-`) is a note stuck to the address
    // (`jp退職`, `com宛`, `jp【旧】`), not a domain.
    let tld = ascii.rsplit('.').next().unwrap_or_default();
    if tld
        .strip_prefix("xn--")
        .is_some_and(|rest| rest.contains('-'))
    {
        let written = dotted.rsplit('.').next().unwrap_or(dotted);
        let note = written.find(|c: char| !c.is_ascii()).unwrap_or(0);
        return Err(SyntaxError::Annotation {
            text: written[note..].to_owned(),
        });
    }
    Ok(Cow::Owned(ascii))
}

/// The prolonged sound mark, full and half width: a letter of Japanese words, at home in a
/// Japanese label (`コーヒー.jp`), unlike the other look-alike dashes, which are
/// punctuation that IDNA2008 disallows in every label.
const PROLONGED_SOUND_MARKS: &[char] = &['\u{30FC}', '\u{FF70}'];

/// The first look-alike dash in a domain that stands for a hyphen: `acme−x.jp` or
/// `acme‐x.jp` anywhere, and `acmeーx.jp`, where `ー` sits among ASCII letters and digits
/// only. UTS #46 would turn them into punycode for a domain that surely does not exist.
fn lookalike_dash(domain: &str) -> Option<char> {
    domain.split('.').find_map(|label| {
        let (mut mark, mut ascii_alphanumeric, mut japanese) = (None, false, false);
        for c in label.chars() {
            if PROLONGED_SOUND_MARKS.contains(&c) {
                mark = mark.or(Some(c));
            } else if LOOKALIKE_DASHES.contains(&c) {
                return Some(c);
            } else {
                ascii_alphanumeric |= c.is_ascii_alphanumeric();
                japanese |= !c.is_ascii();
            }
        }
        mark.filter(|_| ascii_alphanumeric && !japanese)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Normalizing what normalizing gave changes nothing, for cells made of the
        /// wrappers, separators and look-alikes the repairs deal in.
        #[test]
        fn normalizing_is_idempotent(
            cell in "(a@b\\.jp|A@B\\.JP|c@d|<|>| |,|“|”|「|」|=|\"|<>|ーx|mailto:|@|；|、|\\.){0,8}"
        ) {
            if let Ok(once) = normalize(&cell) {
                let once = once.as_str().to_owned();
                proptest::prop_assert_eq!(normalize(&once).map(|a| a.as_str().to_owned()), Ok(once));
            }
        }

        /// The shortcut for cells that need no repair agrees with the repairs.
        #[test]
        fn already_normal_cells_are_what_repair_leaves_alone(
            cell in "[aZ0.@ ()<>\"'+:;,!mailto\u{3000}\u{FF21}\u{200B}]{0,16}"
        ) {
            if let Some(at) = already_normal(cell.as_bytes()) {
                let repaired = repair(&cell);
                proptest::prop_assert_eq!(
                    repaired,
                    Ok(Address::from_parts(Cow::Borrowed(cell.as_str()), at))
                );
            }
        }
    }

    #[test]
    fn placeholders_are_told_from_addresses() {
        for cell in [
            "なし",
            " 不明 ",
            "同上",
            "N/A",
            "-",
            "＠マーク無し",
            "退職",
            "None.",
            "ＵＮＫＮＯＷＮ",
        ] {
            assert_eq!(
                placeholder(cell).as_deref(),
                Some(cell.trim_matches(|c: char| c.is_whitespace() || c == '.')),
                "{cell}"
            );
        }
        for cell in [
            "",
            "taro@acme.jp",
            "なしお@acme.jp",
            "Taro",
            "退職しました（旧アドレス）",
        ] {
            assert_eq!(placeholder(cell), None, "{cell}");
        }
    }

    #[test]
    fn repairs() {
        let cases = [
            ("taro@example.co.jp", "taro@example.co.jp"),
            ("  Taro@Example.CO.JP ", "Taro@example.co.jp"),
            ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏ．ｊｐ", "taro@example.co.jp"),
            ("taro@example。co。jp", "taro@example.co.jp"),
            ("taro@example｡co｡jp", "taro@example.co.jp"),
            ("\u{3000}taro@example.co.jp\u{3000}", "taro@example.co.jp"),
            ("taro@\u{200B}example.co.jp", "taro@example.co.jp"),
            ("mailto:taro@example.co.jp", "taro@example.co.jp"),
            (
                "=HYPERLINK(\"mailto:taro@example.co.jp\",\"Taro\")",
                "taro@example.co.jp",
            ),
            (
                "=hyperlink( \"mailto:Hana@Example.co.jp\" ; \"Hana\" )",
                "Hana@example.co.jp",
            ),
            ("=HYPERLINK(\"taro@example.co.jp\")", "taro@example.co.jp"),
            ("MAILTO:taro@example.co.jp?subject=hi", "taro@example.co.jp"),
            ("山田 太郎 <taro@example.co.jp>", "taro@example.co.jp"),
            ("\"Smith, John\" <john@acme.com>", "john@acme.com"),
            ("<john@acme.com>", "john@acme.com"),
            ("\"john@acme.com\"", "john@acme.com"),
            ("'john@acme.com',", "john@acme.com"),
            ("john@acme.com;", "john@acme.com"),
            ("john@acme.com.", "john@acme.com"),
            (",john@acme.com", "john@acme.com"),
            ("info@日本語.jp", "info@xn--wgv71a119e.jp"),
            ("yamada－taro@example.co.jp", "yamada-taro@example.co.jp"),
            ("“a11@acme.jp”", "a11@acme.jp"),
            ("”a11@acme.jp”", "a11@acme.jp"),
            ("‘a@x.jp’", "a@x.jp"),
            ("「a1@acme.jp」", "a1@acme.jp"),
            ("｢a1@acme.jp｣", "a1@acme.jp"),
            ("『a@x.jp』", "a@x.jp"),
            ("【a2@acme.jp】", "a2@acme.jp"),
            ("[a3@acme.jp]", "a3@acme.jp"),
            ("〈a@x.jp〉", "a@x.jp"),
            ("《a@x.jp》", "a@x.jp"),
            ("〔a@x.jp〕", "a@x.jp"),
            ("「 a@x.jp 」、", "a@x.jp"),
            ("山田＜「a@x.jp」＞", "a@x.jp"),
            ("“a@x.jp” <a@x.jp>", "a@x.jp"),
            // Brackets around the local part alone are not a wrapper; validation refuses them.
            ("「taro」@example.co.jp", "「taro」@example.co.jp"),
            ("=\"ichiro@takahashi.jp\"", "ichiro@takahashi.jp"),
            // Japanese domains keep their prolonged sound mark; a full-width hyphen-minus
            // is a hyphen.
            ("a@コーヒー.jp", "a@xn--tck2c4fb.jp"),
            ("a@ｺｰﾋｰ.jp", "a@xn--tck2c4fb.jp"),
            ("a@日本ーテスト.jp", "a@xn--zckzah9r912wcvb.jp"),
            ("a@コーヒーshop.jp", "a@xn--shop-zm4c4g7kb.jp"),
            ("a@acme－x.jp", "a@acme-x.jp"),
            (" =\" ichiro@takahashi.jp\" ", "ichiro@takahashi.jp"),
            ("d7@acme.jp <>", "d7@acme.jp"),
            ("d7@acme.jp＜ ＞", "d7@acme.jp"),
            // A display name that repeats the address it names, or holds a lone `@`.
            ("a@x.jp <a@x.jp>", "a@x.jp"),
            ("\"a@x.jp\" <A@X.JP>, ", "A@x.jp"),
            ("mailto:a@x.jp <mailto:a@x.jp>", "a@x.jp"),
            ("@taro <t@x.jp>", "t@x.jp"),
            ("\"Yamada, Taro\" <t@x.jp>", "t@x.jp"),
            ("Taro (work) <t@x.jp>", "t@x.jp"),
            ("\"Taro (t@x.jp)\" <t@x.jp>", "t@x.jp"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                normalize(input).map(|a| a.as_str().to_owned()),
                Ok(expected.to_owned()),
                "{input}"
            );
        }
    }

    #[test]
    fn unchanged_cells_are_borrowed() {
        assert!(normalize("taro@example.co.jp").unwrap().is_borrowed());
        assert!(!normalize("taro@Example.co.jp").unwrap().is_borrowed());
    }

    #[test]
    fn refuses_to_guess() {
        use SyntaxError::*;
        let lookalike = |ch| Reason::Syntax(DomainLookalikeCharacter { ch });
        let annotation = |text: &str| Reason::Syntax(Annotation { text: text.into() });
        let cases = [
            ("", Reason::Empty),
            ("  \u{3000}", Reason::Empty),
            (
                "taro@example.co.jp；hanako@example.co.jp",
                Reason::MultipleAddresses,
            ),
            (
                "taro@example.co.jp、hanako@example.jp",
                Reason::MultipleAddresses,
            ),
            ("a@x.com b@y.com", Reason::MultipleAddresses),
            ("<>", Reason::Empty),
            ("Yamada Taro <>", Reason::Syntax(NoAtSign)),
            // A cell of display-name addresses must not come out as its last address.
            (
                "Aさん <c3@acme.jp>, Bさん <c4@acme.jp>",
                Reason::MultipleAddresses,
            ),
            ("<c1@acme.jp>; <c2@acme.jp>", Reason::MultipleAddresses),
            ("<c1@acme.jp><c2@acme.jp>", Reason::MultipleAddresses),
            (
                "Ａ＜c1@acme.jp＞、Ｂ＜c2@acme.jp＞",
                Reason::MultipleAddresses,
            ),
            ("a@x.jp <b@y.jp>", Reason::MultipleAddresses),
            ("\"a@x.jp\" <b@y.jp>", Reason::MultipleAddresses),
            ("<a@x.jp, b@y.jp>", Reason::MultipleAddresses),
            ("mailto:a@x.jp,b@y.jp", Reason::MultipleAddresses),
            ("taro@acme.co.jp <mobile>", annotation("<mobile>")),
            ("Taro <taro@acme.co.jp> <note>", annotation("<note>")),
            ("taro@acme.co.jp\n<携帯>", annotation("<携帯>")),
            ("a@x.jp a@x.jp", Reason::MultipleAddresses),
            ("taro(at)example.co.jp", Reason::Syntax(NoAtSign)),
            ("なし", Reason::Syntax(NoAtSign)),
            ("hoge@@@hoge.co.jp", Reason::Syntax(MultipleAtSigns)),
            ("taro@example.co.jp（自宅）", Reason::Syntax(Comment)),
            ("taro@acme.co.jp退職", annotation("退職")),
            ("t2@acme.co.jp様", annotation("様")),
            ("t3@acme.co.jp【旧】", annotation("【旧】")),
            ("t4@gmail.com宛", annotation("宛")),
            ("t5@acme.co.jp・", annotation("・")),
            ("t6@acme.co.jp※", annotation("※")),
            ("ｔ７＠ａｃｍｅ．ｃｏ．ｊｐ（旧）※", Reason::Syntax(Comment)),
            ("taro\u{FFFD}example.co.jp", Reason::DamagedText),
            ("\"taro\"@example.co.jp", Reason::Syntax(QuotedLocalPart)),
            ("「a@x.jp」「b@y.jp」", Reason::MultipleAddresses),
            ("=\"a\"\"b@x.jp\"", Reason::Syntax(QuotedLocalPart)),
            // Look-alike dashes in a domain are typos, not internationalized domains.
            ("user@acme−x.jp", lookalike('−')),
            ("user@acme‐x.jp", lookalike('‐')),
            ("user@acme‑x.jp", lookalike('‐')),
            ("user@acme–x.jp", lookalike('–')),
            ("user@acme—x.jp", lookalike('—')),
            ("user@acme―x.jp", lookalike('―')),
            ("user@日本−テスト.jp", lookalike('−')),
            ("user2@acmeーx.jp", lookalike('ー')),
            ("user2@acmeｰx.jp", lookalike('ー')),
            ("user2@mail.acme1ー2.co.jp", lookalike('ー')),
            ("ｕｓｅｒ＠ａｃｍｅ−ｘ．ｊｐ", lookalike('−')),
            ("“a@x.jp” <b@y.jp>", Reason::MultipleAddresses),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input), Err(expected), "{input}");
        }
    }

    #[test]
    fn normalizing_twice_changes_nothing() {
        for input in [
            // Found by fuzzing: IDNA drops U+FE0D, which hid trailing colons.
            "tesj@[IP\u{16}\u{16}\u{16}\u{16}\u{16}\u{16}－\u{fe0d}::6:1:\u{16}\u{16}:\u{fe0d}\u{fe0d}::",
            "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏ．ｊｐ",
            " <A@B.JP>, ",
            "info@ドメイン名例．ｊｐ",
        ] {
            let once = normalize(input).unwrap().as_str().to_owned();
            assert_eq!(normalize(&once).unwrap().as_str(), once);
        }
    }
}
