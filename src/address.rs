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
        if self.local().bytes().any(|b| b.is_ascii_uppercase()) {
            key_of(self.local(), self.domain())
        } else {
            xxhash_rust::xxh3::xxh3_128(self.text.as_bytes())
        }
    }
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
