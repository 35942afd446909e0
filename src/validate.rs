//! Validating: is a normalized address acceptable to the mail systems that matter?
//!
//! A practical subset of RFC 5321, stricter than the RFCs where real senders are: an ASCII
//! dot-atom local part of at most 64 octets, a host-name domain of at least two labels
//! whose top-level domain exists (the public suffix list holds it, or it is a special-use
//! name, which [`crate::policy`] judges), no quoted strings, comments or IP literals, at
//! most 254 octets in all. Normalization happened before ([`crate::normalize`]); what the
//! domain is for (disposable, special use, DNS) is decided after ([`crate::policy`],
//! [`crate::dns`]).

use crate::address::Address;
use crate::normalize::{LOOKALIKE_DASHES, normalize};
use crate::policy::lists::is_legacy_carrier;
use crate::verdict::{Flags, Reason, SyntaxError};
use psl::Psl;

/// Checks the syntax of a normalized address.
///
/// Returns [`Flags::LEGACY_CARRIER`] for a pre-2009 docomo/ezweb address when
/// `keep_legacy_carrier` is set, otherwise no flags.
///
/// # Errors
/// [`Reason::Syntax`] with the first problem found, or [`Reason::LegacyCarrierAddress`].
pub fn validate(address: &Address<'_>, keep_legacy_carrier: bool) -> Result<Flags, Reason> {
    validate_with(address, keep_legacy_carrier, false)
}

/// [`validate`], told whether the domain is already known to be well formed, which spares
/// the look at it.
pub(crate) fn validate_with(
    address: &Address<'_>,
    keep_legacy_carrier: bool,
    well_formed_domain: bool,
) -> Result<Flags, Reason> {
    let (local, domain) = (address.local(), address.domain());
    if address.as_str().len() <= 254
        && plain_local(local.as_bytes())
        && (well_formed_domain || plain_domain(domain.as_bytes()))
    {
        return Ok(Flags::NONE);
    }
    check_domain(domain).map_err(Reason::Syntax)?;
    let mut flags = Flags::NONE;
    match check_local(local) {
        Ok(()) => {}
        // The dots are what the legacy form forgives, not the length: the limit of 64 holds
        // for every local part (the dot rules are looked at first, so it is looked at here).
        Err(SyntaxError::LeadingDot | SyntaxError::TrailingDot | SyntaxError::ConsecutiveDots)
            if local.len() > 64 =>
        {
            return Err(Reason::Syntax(SyntaxError::LocalTooLong {
                len: local.len(),
            }));
        }
        Err(SyntaxError::LeadingDot | SyntaxError::TrailingDot | SyntaxError::ConsecutiveDots)
            if is_legacy_carrier(domain) && local.bytes().all(|b| b == b'.' || is_atext(b)) =>
        {
            if !keep_legacy_carrier {
                return Err(Reason::LegacyCarrierAddress);
            }
            flags.insert(Flags::LEGACY_CARRIER);
        }
        Err(e) => return Err(Reason::Syntax(e)),
    }
    let len = address.as_str().len();
    if len > 254 {
        return Err(Reason::Syntax(SyntaxError::TooLong { len }));
    }
    Ok(flags)
}

/// Normalizes and validates one cell: the whole per-address syntax path.
///
/// # Errors
/// What [`normalize`] or [`validate`] finds.
///
/// ```
/// use listclean::validate::check_syntax;
/// assert_eq!(check_syntax(" ＴＡＲＯ＠Example．jp").unwrap().as_str(), "TARO@example.jp");
/// assert_eq!(check_syntax("taro(at)example.jp").unwrap_err().code(), "syntax.no_at_sign");
/// ```
pub fn check_syntax(cell: &str) -> Result<Address<'_>, Reason> {
    let address = normalize(cell)?;
    validate(&address, false)?;
    Ok(address)
}

/// What an address byte may be, for the one-pass checks of the common case.
const ATEXT: u8 = 1;
const DOT: u8 = 2;
/// A lowercase letter, a digit or a hyphen.
const LDH: u8 = 4;

static CLASSES: [u8; 256] = {
    let mut classes = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        let byte = b as u8;
        if is_atext(byte) {
            classes[b] |= ATEXT;
        }
        if byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-' {
            classes[b] |= LDH;
        }
        b += 1;
    }
    classes[b'.' as usize] = DOT;
    classes
};

/// Whether every byte has one of `classes`, without a branch per byte.
fn all_in(bytes: &[u8], classes: u8) -> bool {
    bytes
        .iter()
        .fold(true, |ok, &b| ok & (CLASSES[usize::from(b)] & classes != 0))
}

/// A local part [`check_local`] accepts, told in one pass: atext and single inner dots,
/// at most 64 octets.
fn plain_local(local: &[u8]) -> bool {
    let (Some(&first), Some(&last)) = (local.first(), local.last()) else {
        return false;
    };
    if local.len() > 64 || first == b'.' || last == b'.' {
        return false;
    }
    common_local(local) || plain_local_bytewise(local)
}

/// The rest of [`plain_local`], one byte at a time.
fn plain_local_bytewise(local: &[u8]) -> bool {
    // One pass without a branch per byte: each byte atext or a dot, no dot after a dot.
    let (ok, _) = local.iter().fold((true, false), |(ok, after_dot), &b| {
        let class = CLASSES[usize::from(b)];
        let dot = class & DOT != 0;
        (ok & (class & (ATEXT | DOT) != 0) & !(dot & after_dot), dot)
    });
    ok
}

/// Whether a local part of eight bytes or more is made of letters, digits, `.`, `-`, `_`
/// and `+` only, with no dot after a dot: what nearly every local part is, told eight
/// bytes at a time. When not, [`plain_local_bytewise`] has the last word.
fn common_local(local: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let Some(last) = local.last_chunk::<8>() else {
        return false;
    };
    // The bytes that are not common, and a dot after a dot, in one word; and its dots.
    let look = |word: &[u8; 8]| {
        let word = u64::from_le_bytes(*word);
        let dots = bytes_in(word, b'.', b'.');
        let common = bytes_in(word | 0x2020_2020_2020_2020, b'a', b'z')
            | bytes_in(word, b'0', b'9')
            | bytes_in(word, b'-', b'-')
            | bytes_in(word, b'_', b'_')
            | bytes_in(word, b'+', b'+')
            | dots;
        ((!common & HIGH) | (dots & dots << 8), dots)
    };
    let (words, tail) = local.as_chunks::<8>();
    let (mut odd, mut previous_dots) = (0, 0);
    for word in words {
        let (word_odd, dots) = look(word);
        // A dot at the start of the word after a dot at the end of the one before.
        odd |= word_odd | (dots & previous_dots >> 56);
        previous_dots = dots;
    }
    if !tail.is_empty() {
        // The last eight bytes, overlapping the word before: they hold the pair across
        // from it, and looking at a byte twice changes nothing.
        odd |= look(last).0;
    }
    odd == 0
}

/// The high bit of each byte of `word` from `low` to `high`, and no other bit. Exact: a
/// byte with its high bit set is never in the range, and no sum carries into the next
/// byte.
fn bytes_in(word: u64, low: u8, high: u8) -> u64 {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const EACH: u64 = 0x0101_0101_0101_0101;
    let seven = word & LOW7;
    let at_least_low = seven + EACH * u64::from(0x80 - low);
    let past_high = seven + EACH * u64::from(0x7f - high);
    at_least_low & !past_high & !word & HIGH
}

/// A domain [`check_domain`] accepts, told in one pass for the common case: at most 253
/// octets of lowercase LDH labels of 1 to 63 octets, no hyphen at either end of a label
/// nor in its third and fourth places, and a top-level domain of two or more letters that
/// the public suffix list holds. A-labels and special-use names are left to the full
/// check.
fn plain_domain(domain: &[u8]) -> bool {
    if domain.len() > 253 || !all_in(domain, LDH | DOT) {
        return false;
    }
    let mut labels = domain.split(|&b| b == b'.');
    let Some(tld) = labels.next_back() else {
        return false;
    };
    let plain_label = |label: &[u8]| {
        matches!((label.first(), label.last()), (Some(&first), Some(&last)) if first != b'-' && last != b'-')
            && label.len() <= 63
            && label.get(2..4) != Some(b"--")
    };
    let mut others = 0;
    for label in labels {
        if !plain_label(label) {
            return false;
        }
        others += 1;
    }
    others >= 1
        && tld.len() >= 2
        && tld.len() <= 63
        && tld.iter().all(u8::is_ascii_lowercase)
        && is_listed_tld(tld)
}

/// Whether a lowercase top-level domain is one the public suffix list holds a rule for
/// (`com`, `jp`, `tokyo`, `xn--p1ai`), so that a domain under it can exist: `con`, `cmo`
/// and `jpn` are typos that no DNS answer will save. The list's implicit `*` rule, which
/// makes any unknown label a suffix, does not count.
///
/// One look-up in the list's generated `match`, about twenty instructions, paid once per
/// domain: a domain already in the per-domain facts table skips the syntax check. When it
/// fails, the full check has the last word with [`is_listed_under`], which also knows the
/// TLDs the list names only through a wildcard (`*.ck`, `*.er`).
fn is_listed_tld(tld: &[u8]) -> bool {
    psl::List.find(std::iter::once(tld)).typ.is_some()
}

/// Whether the top-level domain of a lowercase domain is in the public suffix list: listed
/// on its own ([`is_listed_tld`]), or only through a wildcard (`x.ck` under `*.ck`,
/// `www.ck` by its exception). For the wildcard the last two labels are looked up, which
/// is slower (the second label is looked for among the TLD's own rules, hundreds of them
/// under `jp`), so it comes second.
fn is_listed_under(domain: &[u8]) -> bool {
    let mut labels = domain.rsplit(|&b| b == b'.');
    let Some(tld) = labels.next() else {
        return false;
    };
    is_listed_tld(tld)
        || labels
            .next()
            .is_some_and(|second| psl::List.find([tld, second].into_iter()).typ.is_some())
}

fn check_local(local: &str) -> Result<(), SyntaxError> {
    if local.is_empty() {
        return Err(SyntaxError::EmptyLocalPart);
    }
    if !local.is_ascii() {
        if let Some(ch) = local.chars().find(|c| LOOKALIKE_DASHES.contains(c)) {
            return Err(SyntaxError::LookalikeCharacter { ch });
        }
        if local.chars().any(char::is_whitespace) {
            return Err(SyntaxError::Whitespace);
        }
        return Err(SyntaxError::NonAsciiLocalPart);
    }
    // One pass over the bytes: characters first, then where the dots are.
    let bytes = local.as_bytes();
    let mut previous_dot = false;
    let mut consecutive_dots = false;
    for &b in bytes {
        if b == b'.' {
            consecutive_dots |= previous_dot;
            previous_dot = true;
            continue;
        }
        previous_dot = false;
        if !is_atext(b) {
            return Err(if b.is_ascii_whitespace() {
                SyntaxError::Whitespace
            } else {
                SyntaxError::InvalidCharacter { ch: b as char }
            });
        }
    }
    if bytes[0] == b'.' {
        return Err(SyntaxError::LeadingDot);
    }
    if previous_dot {
        return Err(SyntaxError::TrailingDot);
    }
    if consecutive_dots {
        return Err(SyntaxError::ConsecutiveDots);
    }
    if local.len() > 64 {
        return Err(SyntaxError::LocalTooLong { len: local.len() });
    }
    Ok(())
}

/// Whether a byte may be part of an address this module accepts.
pub fn is_address_byte(b: u8) -> bool {
    is_atext(b) || b == b'.' || b == b'@'
}

/// RFC 5322 `atext`: what a dot-atom may hold besides dots.
const fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(b, b'!' | b'#'..=b'\'' | b'*' | b'+' | b'-' | b'/' | b'=' | b'?' | b'^'..=b'`' | b'{'..=b'~')
}

/// Whether a domain passes the syntax check on its own.
pub(crate) fn is_well_formed_domain(domain: &str) -> bool {
    // Most domains are plain, which the one-pass check tells for less.
    plain_domain(domain.as_bytes()) || check_domain(domain).is_ok()
}

/// Whether the top-level domain of a domain exists: the public suffix list holds it
/// ([`is_listed_under`]), or it is a special-use name (`.test`, `.example`, `.local`, ...),
/// which is not in the list and which policy rejects with a reason of its own.
///
/// Any case: the lists are lowercase, and a domain that reaches the full check may not be
/// (the normalizer lowercases it; a caller of [`validate`] may not have).
fn tld_exists(domain: &str) -> bool {
    if domain.bytes().any(|b| b.is_ascii_uppercase()) {
        return tld_exists(&domain.to_ascii_lowercase());
    }
    is_listed_under(domain.as_bytes())
        || is_special_use_tld(domain.rsplit('.').next().unwrap_or(domain))
}

fn check_domain(domain: &str) -> Result<(), SyntaxError> {
    if domain.is_empty() {
        return Err(SyntaxError::EmptyDomain);
    }
    if domain.starts_with('[') {
        return Err(SyntaxError::IpLiteral);
    }
    let is_ldh = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'.';
    if !domain.bytes().all(is_ldh) {
        let ch = domain
            .chars()
            .find(|&c| !c.is_ascii() || !is_ldh(c as u8))
            .unwrap_or('?');
        return Err(if ch.is_whitespace() {
            SyntaxError::Whitespace
        } else {
            SyntaxError::DomainInvalidCharacter { ch }
        });
    }
    if domain.len() > 253 {
        return Err(SyntaxError::DomainTooLong { len: domain.len() });
    }
    let mut labels = 0;
    let mut last: &[u8] = b"";
    let mut a_label = false;
    for b in domain.as_bytes().split(|&b| b == b'.') {
        // "--" in the third and fourth places is reserved for A-labels (IDNA2008).
        let xn = b.starts_with(b"xn--");
        let reserved = b.get(2..4) == Some(b"--") && !xn;
        if b.is_empty() || b.len() > 63 || b[0] == b'-' || b[b.len() - 1] == b'-' || reserved {
            let label = String::from_utf8_lossy(b).into_owned();
            return Err(SyntaxError::DomainLabel { label });
        }
        a_label |= xn;
        labels += 1;
        last = b;
    }
    if labels < 2 {
        return Err(SyntaxError::SingleLabelDomain);
    }
    if last.iter().all(u8::is_ascii_digit) {
        return Err(SyntaxError::NumericTld);
    }
    // Every top-level domain is letters, or an A-label for an internationalized one; and
    // it exists.
    let shaped =
        last.starts_with(b"xn--") || (last.len() >= 2 && last.iter().all(u8::is_ascii_alphabetic));
    if !shaped || !tld_exists(domain) {
        let tld = String::from_utf8_lossy(last).into_owned();
        return Err(SyntaxError::InvalidTld { tld });
    }
    // An A-label must decode to a valid U-label: `xn--example.com` is not a domain.
    if a_label && idna::domain_to_unicode(domain).1.is_err() {
        return Err(SyntaxError::InvalidIdn);
    }
    Ok(())
}

/// Top-level domains reserved by RFC 2606 and RFC 6761 (and `.local`, `.onion`, `.arpa`),
/// `.internal` (ICANN, for private networks) and IANA's IDN test TLDs: in no public suffix
/// list, and judged as special use by the policy rather than as typos here.
const SPECIAL_USE_TLDS: &[&str] = &[
    "example",
    "test",
    "invalid",
    "localhost",
    "local",
    "onion",
    "arpa",
    "internal",
    // The eleven IDN test TLDs IANA reserves (.テスト, .測試, .пример, ...), as A-labels.
    "xn--kgbechtv",
    "xn--hgbk6aj7f53bba",
    "xn--0zwm56d",
    "xn--g6w251d",
    "xn--80akhbyknj4f",
    "xn--11b5bs3a9aj6g",
    "xn--jxalpdlp",
    "xn--9t4b11yi5a",
    "xn--deba0ad",
    "xn--zckzah",
    "xn--hlcj6aya9esc7a",
];

/// Whether `tld` is a special-use top-level domain: reserved by RFC 2606 and RFC 6761
/// (and `.local`, `.onion`, `.arpa`), `.internal`, or one of IANA's IDN test TLDs.
pub fn is_special_use_tld(tld: &str) -> bool {
    SPECIAL_USE_TLDS.contains(&tld)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The one-pass checks of the common case accept only what the full checks accept.
        #[test]
        fn plain_parts_pass_the_full_checks(
            local in "[aZ0.+\\-_\"( ]{0,6}",
            domain in "[az0A.\\-]{0,12}(xn--)?[a-z.\\-]{0,4}",
        ) {
            // On ASCII the one-pass local-part check is the full one.
            proptest::prop_assert_eq!(plain_local(local.as_bytes()), check_local(&local).is_ok());
            if plain_domain(domain.as_bytes()) {
                proptest::prop_assert_eq!(check_domain(&domain), Ok(()));
            }
        }
    }

    proptest::proptest! {
        /// Eight bytes at a time, the common local parts are told as one byte at a time.
        #[test]
        fn common_local_parts_are_plain(
            local in proptest::collection::vec(
                proptest::sample::select(b"aZ09.-_+@ ,\"{}\x7f\x80\xff\x00".to_vec()),
                0..30,
            ),
        ) {
            if common_local(&local) {
                proptest::prop_assert!(plain_local_bytewise(&local));
            }
            let common = local.iter().all(|&b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
                && !local.windows(2).any(|pair| pair == b"..");
            proptest::prop_assert_eq!(common_local(&local), common && local.len() >= 8);
        }
    }

    fn check(s: &str) -> Result<Flags, Reason> {
        validate(&Address::new(s.into()).unwrap(), false)
    }

    #[test]
    fn accepts() {
        for s in [
            "taro@example.co.jp",
            "-taro@ezweb.ne.jp",
            "taro--yamada@docomo.ne.jp",
            "a+tag@x.io",
            "o'brien@x.ie",
            "a@xn--wgv71a119e.jp",
            "a@c--n.com",
        ] {
            assert_eq!(check(s), Ok(Flags::NONE), "{s}");
        }
    }

    #[test]
    fn rejects() {
        use SyntaxError::*;
        let syntax = Reason::Syntax;
        let cases = [
            ("@x.jp", syntax(EmptyLocalPart)),
            (".a@x.jp", syntax(LeadingDot)),
            ("a.@x.jp", syntax(TrailingDot)),
            ("a..b@x.jp", syntax(ConsecutiveDots)),
            ("a b@x.jp", syntax(Whitespace)),
            ("a,b@x.jp", syntax(InvalidCharacter { ch: ',' })),
            ("山田@x.jp", syntax(NonAsciiLocalPart)),
            ("yamada−taro@x.jp", syntax(LookalikeCharacter { ch: '−' })),
            ("yamadaーtaro@x.jp", syntax(LookalikeCharacter { ch: 'ー' })),
            (
                &format!("{}@x.jp", "a".repeat(65)),
                syntax(LocalTooLong { len: 65 }),
            ),
            ("a@", syntax(EmptyDomain)),
            ("a@[192.168.0.1]", syntax(IpLiteral)),
            ("a@x,jp", syntax(DomainInvalidCharacter { ch: ',' })),
            ("a@-x.jp", syntax(DomainLabel { label: "-x".into() })),
            ("a@x..jp", syntax(DomainLabel { label: "".into() })),
            ("a@docomo", syntax(SingleLabelDomain)),
            ("a@1.2.3.4", syntax(NumericTld)),
            (
                "a@bad.tld-2",
                syntax(InvalidTld {
                    tld: "tld-2".into(),
                }),
            ),
            ("a@x.y", syntax(InvalidTld { tld: "y".into() })),
            (
                "a@yy--0.jp",
                syntax(DomainLabel {
                    label: "yy--0".into(),
                }),
            ),
            ("a@xn--example.com", syntax(InvalidIdn)),
            (
                "docomo..ab1234yz@docomo.ne.jp",
                Reason::LegacyCarrierAddress,
            ),
            ("foo.bar.@ezweb.ne.jp", Reason::LegacyCarrierAddress),
            ("u3u...chu@example.com", syntax(ConsecutiveDots)),
        ];
        for (s, expected) in cases {
            assert_eq!(check(s), Err(expected), "{s}");
        }
        let long = format!(
            "{}@{}.{}.{}.jp",
            "a".repeat(64),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(60)
        );
        assert_eq!(check(&long), Err(syntax(TooLong { len: long.len() })));
    }

    /// A top-level domain must exist: be in the public suffix list (on its own or by a
    /// wildcard, in any script as an A-label) or be special use, which policy judges.
    #[test]
    fn top_level_domains() {
        let invalid = |tld: &str| Err(Reason::Syntax(SyntaxError::InvalidTld { tld: tld.into() }));
        let cases = [
            // Listed, on their own.
            ("a@example.co.jp", Ok(Flags::NONE)),
            ("a@company1.com", Ok(Flags::NONE)),
            ("a@x.tokyo", Ok(Flags::NONE)),
            ("a@x.zip", Ok(Flags::NONE)),
            ("a@x.eu", Ok(Flags::NONE)),
            // Listed only by a wildcard (`*.ck`, `*.er`), or by an exception to one.
            ("a@x.ck", Ok(Flags::NONE)),
            ("a@www.ck", Ok(Flags::NONE)),
            ("a@x.er", Ok(Flags::NONE)),
            // Internationalized, as A-labels: .рф, .中国, .アマゾン, .مصر.
            ("a@x.xn--p1ai", Ok(Flags::NONE)),
            ("a@xn--wgv71a119e.xn--fiqs8s", Ok(Flags::NONE)),
            ("a@x.xn--cckwcxetd", Ok(Flags::NONE)),
            ("a@x.xn--wgbh1c", Ok(Flags::NONE)),
            // Special use: not listed (or listed), left to policy as before.
            ("a@x.test", Ok(Flags::NONE)),
            ("a@x.example", Ok(Flags::NONE)),
            ("a@x.invalid", Ok(Flags::NONE)),
            ("a@x.localhost", Ok(Flags::NONE)),
            ("a@x.local", Ok(Flags::NONE)),
            ("a@x.internal", Ok(Flags::NONE)),
            ("a@x.onion", Ok(Flags::NONE)),
            ("a@x.arpa", Ok(Flags::NONE)),
            ("a@x.xn--zckzah", Ok(Flags::NONE)),
            ("a@example.com", Ok(Flags::NONE)),
            // Not normalized: the case does not matter.
            ("a@X.JP", Ok(Flags::NONE)),
            ("a@X.Test", Ok(Flags::NONE)),
            ("a@X.CK", Ok(Flags::NONE)),
            // Typos and made-up names.
            ("a@gmail.con", invalid("con")),
            ("a@biz123.con", invalid("con")),
            ("a@example.cmo", invalid("cmo")),
            ("a@yahoo.co.jpn", invalid("jpn")),
            ("a@docomo.ne.jo.jp.xx", invalid("xx")),
            ("a@x.um", invalid("um")),
            ("a@x.ck.con", invalid("con")),
            ("a@GMAIL.CON", invalid("CON")),
            ("a@x.xn--abc", invalid("xn--abc")),
            ("a@x.xn--zckzahx", invalid("xn--zckzahx")),
            ("a@x.testing", invalid("testing")),
            // The legacy-carrier exception does not spare the domain.
            ("a..b@docomo.ne.con", invalid("con")),
        ];
        for (s, expected) in cases {
            assert_eq!(check(s), expected, "{s}");
            let domain = &s[s.find('@').unwrap_or_default() + 1..];
            assert_eq!(is_well_formed_domain(domain), expected.is_ok(), "{domain}");
        }
    }

    #[test]
    fn legacy_carrier_addresses_can_be_kept() {
        let address = Address::new("a..b@docomo.ne.jp".into()).unwrap();
        assert_eq!(validate(&address, true), Ok(Flags::LEGACY_CARRIER));
    }
}
