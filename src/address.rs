//! An email address after normalization, and the one place that splits an address at `@`.

use std::borrow::Cow;

use crate::verdict::SyntaxError;

/// A candidate address: normalized text whose domain is lowercase ASCII (A-labels).
///
/// It borrows the input cell when normalization changed nothing, which is the common
/// case and keeps the hot path free of allocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address<'a> {
    text: Cow<'a, str>,
    at: usize,
}

impl<'a> Address<'a> {
    /// Builds an address from text that has exactly one `@`.
    ///
    /// # Errors
    /// The same as [`split`].
    pub fn new(text: Cow<'a, str>) -> Result<Address<'a>, SyntaxError> {
        let (local, _) = split(&text)?;
        let at = local.len();
        Ok(Address { text, at })
    }

    /// An address whose only `@` is known to be at byte `at` (the normalizer has just
    /// found it), without looking again.
    pub(crate) fn from_parts(text: Cow<'a, str>, at: usize) -> Address<'a> {
        debug_assert_eq!(text.as_bytes().get(at), Some(&b'@'));
        Address { text, at }
    }

    /// The whole address.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The part before `@`, case kept.
    pub fn local(&self) -> &str {
        &self.text[..self.at]
    }

    /// The part after `@`.
    pub fn domain(&self) -> &str {
        &self.text[self.at + 1..]
    }

    /// Whether the text is borrowed unchanged from the input cell.
    pub fn is_borrowed(&self) -> bool {
        matches!(self.text, Cow::Borrowed(_))
    }

    /// Takes ownership of the text.
    pub fn into_owned(self) -> Address<'static> {
        Address {
            text: Cow::Owned(self.text.into_owned()),
            at: self.at,
        }
    }

    /// The key duplicates and suppression lists are matched on: a 128-bit hash of the
    /// address with the local part lowercased.
    ///
    /// Lowercasing the local part is what users mean by "the same address" (RFC 5321
    /// allows case-sensitive local parts, but no major provider uses them). A fixed-size
    /// hash keeps memory per address fixed however long the addresses are; suppression
    /// lists compare all 128 bits, the duplicate set 64 of them.
    pub fn key(&self) -> u128 {
        // Most local parts have no capital letter: the text is then the key's input as is.
        if has_capital(self.local().as_bytes()) {
            key_of(self.local(), self.domain())
        } else {
            xxhash_rust::xxh3::xxh3_128(self.text.as_bytes())
        }
    }
}

/// Whether any byte is an ASCII capital letter, eight bytes at a time: asked of every
/// address, and most local parts are looked through to the end. The last eight bytes are
/// taken as one word even when that overlaps the word before, which an "any" test allows.
fn has_capital(bytes: &[u8]) -> bool {
    if bytes.len() < 8 {
        return bytes.iter().any(u8::is_ascii_uppercase);
    }
    let (words, _) = bytes.as_chunks::<8>();
    let last = bytes.last_chunk::<8>().copied().unwrap_or_default();
    words
        .iter()
        .chain([&last])
        .any(|word| capital_bytes(u64::from_le_bytes(*word)) != 0)
}

/// The high bit of each byte of `word` that is `A` to `Z`, and no other bit. Exact: each
/// sum stays within its byte, so no carry crosses into the next.
pub(crate) fn capital_bytes(word: u64) -> u64 {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const EACH: u64 = 0x0101_0101_0101_0101;
    let low = word & LOW7;
    let at_least_a = low + EACH * (0x80 - u64::from(b'A'));
    let past_z = low + EACH * (0x80 - u64::from(b'Z') - 1);
    at_least_a & !past_z & !word & HIGH
}

/// The duplicate key of a local part and a lowercase domain; see [`Address::key`].
pub fn key_of(local: &str, domain: &str) -> u128 {
    let mut buf = [0u8; 256];
    let len = local.len() + 1 + domain.len();
    if len <= buf.len() {
        buf[..local.len()].copy_from_slice(local.as_bytes());
        buf[..local.len()].make_ascii_lowercase();
        buf[local.len()] = b'@';
        buf[local.len() + 1..len].copy_from_slice(domain.as_bytes());
        xxhash_rust::xxh3::xxh3_128(&buf[..len])
    } else {
        let joined = format!("{}@{}", local.to_ascii_lowercase(), domain);
        xxhash_rust::xxh3::xxh3_128(joined.as_bytes())
    }
}

/// Splits an address into local part and domain at its only `@`.
///
/// # Errors
/// [`SyntaxError::QuotedLocalPart`] when the address starts with a quote (its `@` may be
/// quoted), [`SyntaxError::NoAtSign`] or [`SyntaxError::MultipleAtSigns`].
///
/// ```
/// use listclean::address::split;
/// assert_eq!(split("taro@example.co.jp"), Ok(("taro", "example.co.jp")));
/// assert!(split("taro(at)example.co.jp").is_err());
/// ```
pub fn split(address: &str) -> Result<(&str, &str), SyntaxError> {
    if address.starts_with('"') {
        return Err(SyntaxError::QuotedLocalPart);
    }
    let bytes = address.as_bytes();
    match memchr::memchr(b'@', bytes) {
        None => Err(SyntaxError::NoAtSign),
        Some(at) if memchr::memchr(b'@', &bytes[at + 1..]).is_some() => {
            Err(SyntaxError::MultipleAtSigns)
        }
        Some(at) => Ok((&address[..at], &address[at + 1..])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_the_only_at_sign() {
        assert_eq!(split("a@b.jp"), Ok(("a", "b.jp")));
        assert_eq!(split("@b.jp"), Ok(("", "b.jp")));
        assert_eq!(split("ab.jp"), Err(SyntaxError::NoAtSign));
        assert_eq!(split("a@@b.jp"), Err(SyntaxError::MultipleAtSigns));
        assert_eq!(split("\"a@b\"@c.jp"), Err(SyntaxError::QuotedLocalPart));
    }

    proptest::proptest! {
        #[test]
        fn capitals_are_found_exactly(bytes in proptest::collection::vec(
            proptest::prop_oneof![
                4 => b'a'..=b'z',
                1 => b'@'..=b'[',
                1 => proptest::num::u8::ANY,
            ],
            0..30,
        )) {
            let expected = bytes.iter().any(u8::is_ascii_uppercase);
            proptest::prop_assert_eq!(has_capital(&bytes), expected);
        }

        #[test]
        fn capital_bytes_marks_exactly_the_capitals(word in proptest::num::u64::ANY) {
            let expected = word
                .to_le_bytes()
                .iter()
                .enumerate()
                .filter(|(_, b)| b.is_ascii_uppercase())
                .fold(0u64, |mask, (i, _)| mask | 0x80 << (8 * i));
            proptest::prop_assert_eq!(capital_bytes(word), expected);
        }
    }

    #[test]
    fn key_ignores_local_part_case_only() {
        let a = Address::new("Taro@example.co.jp".into()).unwrap();
        let b = Address::new("taro@example.co.jp".into()).unwrap();
        let c = Address::new("taro@example.jp".into()).unwrap();
        assert_eq!(a.key(), b.key());
        assert_ne!(a.key(), c.key());
        let long = "a".repeat(300);
        assert_eq!(key_of(&long, "x.jp"), key_of(&long.to_uppercase(), "x.jp"));
    }
}
