//! What the pipeline decides about a row: a [`Verdict`], and for a rejection the [`Reason`].
//!
//! A rejected row is data, not an error. Every reason has a stable code (written to the
//! `reject_reason` column, counted in the report, documented in the README) and a sentence
//! in English (`Display`) or Japanese ([`Reason::sentence`]), both from
//! [`crate::messages`]. The codes are an interface:
//! a test pins every one of them.

use std::fmt;

pub use crate::messages::Lang;

/// How sendable a kept address is, written to `email_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Syntax and policy passed and DNS says the domain receives mail.
    Valid,
    /// Sendable but with a known risk (role account, stale contact, likely typo, ...).
    Risky,
    /// Not verified: DNS was skipped or could not answer this time.
    Unknown,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Valid, Status::Risky, Status::Unknown];

    /// The stable code written to `email_status`.
    pub fn code(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Risky => "risky",
            Status::Unknown => "unknown",
        }
    }
}

bitflags::bitflags! {
    /// Remarks on a kept row, written `;`-separated to `email_flags`.
    ///
    /// A small bit set rather than a `Vec<String>`: it is built for millions of rows.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
    pub struct Flags: u16 {
        /// The address was changed to make it valid (width, spaces, wrappers, case, IDN).
        const NORMALIZED = 1 << 0;
        /// A role account (info@, sales@, ...): reaches a function, not a person.
        const ROLE = 1 << 1;
        /// A free-mail or consumer carrier address.
        const FREE = 1 << 2;
        /// The domain looks like a typo of a well-known domain; see the suggestion column.
        const TYPO = 1 << 3;
        /// Not contacted within the `--stale-after` period.
        const STALE = 1 << 4;
        /// A pre-2009 docomo/ezweb address kept by `--keep-legacy-carrier`.
        const LEGACY_CARRIER = 1 << 5;
        /// DNS could not say whether the domain receives mail.
        const DNS_UNKNOWN = 1 << 6;
        /// The address begins with a character a spreadsheet reads as a formula.
        const FORMULA_RISK = 1 << 7;
        /// Another email column of the row held an unusable address, which was cleared.
        const OTHER_ADDRESS_REMOVED = 1 << 8;
    }
}

impl Flags {
    /// Every flag with its code, in the order they are written (their bits' order).
    pub const ALL: &'static [(Flags, &'static str)] = &[
        (Flags::NORMALIZED, "normalized"),
        (Flags::ROLE, "role"),
        (Flags::FREE, "free"),
        (Flags::TYPO, "typo"),
        (Flags::STALE, "stale"),
        (Flags::LEGACY_CARRIER, "legacy_carrier"),
        (Flags::DNS_UNKNOWN, "dns_unknown"),
        (Flags::FORMULA_RISK, "formula_risk"),
        (Flags::OTHER_ADDRESS_REMOVED, "other_address_removed"),
    ];
}

impl Flags {
    pub const NONE: Flags = Flags::empty();

    /// The places in [`Flags::ALL`] of the flags that are set, in order.
    pub fn indices(self) -> impl Iterator<Item = usize> {
        // `ALL` lists the flags in bit order, so a set bit's number is its place.
        let mut bits = self.bits();
        std::iter::from_fn(move || {
            let place = (bits != 0).then(|| bits.trailing_zeros() as usize)?;
            bits &= bits - 1;
            Some(place)
        })
    }

    /// The codes of the flags that are set, in the fixed order of [`Flags::ALL`].
    pub fn codes(self) -> impl Iterator<Item = &'static str> {
        self.indices()
            .filter_map(|place| Flags::ALL.get(place).map(|(_, code)| *code))
    }

    /// The codes joined with `;`, as the `email_flags` column holds them; most rows have
    /// none or one, which need no allocation.
    pub fn joined(self) -> std::borrow::Cow<'static, str> {
        let mut codes = self.codes();
        match (codes.next(), codes.next()) {
            (None, _) => "".into(),
            (Some(only), None) => only.into(),
            (Some(first), Some(second)) => {
                let mut joined = format!("{first};{second}");
                for code in codes {
                    joined.push(';');
                    joined.push_str(code);
                }
                joined.into()
            }
        }
    }

    /// Whether these flags make a kept address risky on their own.
    pub fn is_risky(self) -> bool {
        [
            Flags::ROLE,
            Flags::TYPO,
            Flags::STALE,
            Flags::LEGACY_CARRIER,
            // Kept as it is, the address is a cell a spreadsheet would run as a formula.
            Flags::FORMULA_RISK,
        ]
        .iter()
        .any(|flag| self.contains(*flag))
    }
}

/// Why an address fails the syntax check. Written as `syntax.<code>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SyntaxError {
    NoAtSign,
    MultipleAtSigns,
    EmptyLocalPart,
    LocalTooLong {
        len: usize,
    },
    TooLong {
        len: usize,
    },
    LeadingDot,
    TrailingDot,
    ConsecutiveDots,
    InvalidCharacter {
        ch: char,
    },
    NonAsciiLocalPart,
    LookalikeCharacter {
        ch: char,
    },
    QuotedLocalPart,
    Whitespace,
    Comment,
    /// Text stuck to the end of the address (`taro@acme.co.jp退職`), which would otherwise
    /// become part of an internationalized top-level domain.
    Annotation {
        text: String,
    },
    EmptyDomain,
    DomainLabel {
        label: String,
    },
    DomainInvalidCharacter {
        ch: char,
    },
    DomainLookalikeCharacter {
        ch: char,
    },
    DomainTooLong {
        len: usize,
    },
    SingleLabelDomain,
    NumericTld,
    InvalidTld {
        tld: String,
    },
    IpLiteral,
    InvalidIdn,
}

impl SyntaxError {
    /// The stable code, including the `syntax.` prefix.
    pub fn code(&self) -> &'static str {
        use SyntaxError::*;
        match self {
            NoAtSign => "syntax.no_at_sign",
            MultipleAtSigns => "syntax.multiple_at_signs",
            EmptyLocalPart => "syntax.empty_local_part",
            LocalTooLong { .. } => "syntax.local_too_long",
            TooLong { .. } => "syntax.too_long",
            LeadingDot => "syntax.leading_dot",
            TrailingDot => "syntax.trailing_dot",
            ConsecutiveDots => "syntax.consecutive_dots",
            InvalidCharacter { .. } => "syntax.invalid_character",
            NonAsciiLocalPart => "syntax.non_ascii_local_part",
            LookalikeCharacter { .. } => "syntax.lookalike_character",
            QuotedLocalPart => "syntax.quoted_local_part",
            Whitespace => "syntax.whitespace",
            Comment | Annotation { .. } => "syntax.comment",
            EmptyDomain => "syntax.empty_domain",
            DomainLabel { .. } => "syntax.domain_label",
            DomainInvalidCharacter { .. } => "syntax.domain_invalid_character",
            DomainLookalikeCharacter { .. } => "syntax.domain_lookalike_character",
            DomainTooLong { .. } => "syntax.domain_too_long",
            SingleLabelDomain => "syntax.single_label_domain",
            NumericTld => "syntax.numeric_tld",
            InvalidTld { .. } => "syntax.invalid_tld",
            IpLiteral => "syntax.ip_literal",
            InvalidIdn => "syntax.invalid_idn",
        }
    }
}

/// Why a row was rejected. Each variant carries what its sentence needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The email cell is empty (or holds only white space).
    Empty,
    /// The email cell holds a note that stands for "no address" (`なし`, `不明`, `同上`,
    /// `N/A`, `-`, `＠マーク無し`, `退職`) rather than an address.
    Placeholder {
        text: String,
    },
    Syntax(SyntaxError),
    /// Several addresses share one cell.
    MultipleAddresses,
    /// A pre-2009 docomo/ezweb address with dots RFC 5321 forbids.
    LegacyCarrierAddress,
    /// A domain reserved by RFC 2606/6761 (example.com, .test, .invalid, ...), by JPRS
    /// (example.jp, example.co.jp, ...) or by ICANN for private use (.internal).
    SpecialUseDomain {
        domain: String,
    },
    /// A byte sequence is invalid in the file's encoding.
    EncodingError,
    /// The cell, valid in the file's encoding, holds U+FFFD: a character lost before the
    /// file was made (an earlier export or copy), which no encoding given now brings back.
    DamagedText,
    /// The row itself is broken at the CSV level.
    MalformedRow {
        problem: RowProblem,
    },
    /// An earlier row already holds this address.
    Duplicate {
        first_row: u64,
    },
    /// A throw-away mailbox provider.
    DisposableDomain {
        domain: String,
    },
    /// The domain is a slip of the finger on a well-known one (`gmial.com`) that receives
    /// mail all the same (typo-squatters register them to collect it), or that the
    /// disposable list names: mail meant for the well-known domain would go astray.
    TypoDomain {
        domain: String,
    },
    /// On a `--suppress` list.
    Suppressed,
    /// A role account, rejected because of `--reject-role`.
    RoleAccount,
    /// DNS says the domain does not exist (NXDOMAIN).
    DomainNotFound {
        domain: String,
    },
    /// The domain publishes a null MX (RFC 7505): it accepts no mail.
    NullMx {
        domain: String,
    },
    /// No MX and no public address to fall back to (RFC 5321 §5.1).
    NoMailHost {
        domain: String,
        /// Its MX records name only `localhost`, rather than there being none (and no
        /// public address either).
        only_localhost: bool,
    },
}

/// What is wrong with a row that cannot be read as a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowProblem {
    /// More cells than the header, and the extra cells are not empty.
    TooManyFields { expected: usize, found: usize },
    /// The row holds a NUL byte, which no spreadsheet or CRM keeps intact.
    NulByte,
    /// The row is longer than `--max-record-bytes`.
    TooLarge { limit: usize },
    /// The row has more cells than `--max-columns`.
    TooManyColumns { limit: usize },
}

impl Reason {
    /// Every code, for the README table and the test that pins them.
    pub const CODES: &'static [&'static str] = &[
        "empty",
        "placeholder",
        "syntax.*",
        "multiple_addresses",
        "legacy_carrier_address",
        "special_use_domain",
        "encoding_error",
        "damaged_text",
        "malformed_row",
        "duplicate",
        "disposable_domain",
        "typo_domain",
        "suppressed",
        "role_account",
        "domain_not_found",
        "null_mx",
        "no_mail_host",
    ];

    /// The stable code written to `reject_reason`.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Empty => "empty",
            Reason::Placeholder { .. } => "placeholder",
            Reason::Syntax(e) => e.code(),
            Reason::MultipleAddresses => "multiple_addresses",
            Reason::LegacyCarrierAddress => "legacy_carrier_address",
            Reason::SpecialUseDomain { .. } => "special_use_domain",
            Reason::EncodingError => "encoding_error",
            Reason::DamagedText => "damaged_text",
            Reason::MalformedRow { .. } => "malformed_row",
            Reason::Duplicate { .. } => "duplicate",
            Reason::DisposableDomain { .. } => "disposable_domain",
            Reason::TypoDomain { .. } => "typo_domain",
            Reason::Suppressed => "suppressed",
            Reason::RoleAccount => "role_account",
            Reason::DomainNotFound { .. } => "domain_not_found",
            Reason::NullMx { .. } => "null_mx",
            Reason::NoMailHost { .. } => "no_mail_host",
        }
    }

    /// Whether the cell holds no address at all: empty, or a note standing for none.
    pub fn is_no_address(&self) -> bool {
        matches!(self, Reason::Empty | Reason::Placeholder { .. })
    }

    /// Whether sending to this row would bounce (as opposed to being unwanted).
    ///
    /// Used for the report's estimated bounce rate of the uncleaned list: duplicates,
    /// suppressed and disposable addresses are unwanted, but they do not bounce.
    pub fn would_bounce(&self) -> bool {
        matches!(
            self,
            Reason::Syntax(_)
                | Reason::MultipleAddresses
                | Reason::LegacyCarrierAddress
                | Reason::SpecialUseDomain { .. }
                | Reason::EncodingError
                | Reason::DamagedText
                | Reason::DomainNotFound { .. }
                | Reason::NullMx { .. }
                | Reason::NoMailHost { .. }
        )
    }

    /// The human sentence for `reject_detail`, from the message catalogue.
    pub fn sentence(&self, lang: Lang) -> String {
        crate::messages::reason(self, lang)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sentence(Lang::En))
    }
}

/// What [`crate::check_address`] says of an address that may be sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The address as repaired and normalized.
    pub address: String,
    /// Its remarks: repaired, role, free mail, typo, ...
    pub flags: Flags,
    /// A well-known domain the address's domain is probably a typo of.
    pub suggestion: Option<&'static str>,
}

/// The decision for one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The row goes to the cleaned file.
    Keep {
        status: Status,
        flags: Flags,
        suggestion: Option<&'static str>,
    },
    /// The row goes to the rejected file. `column` is the email column the reason is about.
    Reject {
        reason: Reason,
        column: Option<usize>,
        suggestion: Option<&'static str>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_listed_in_bit_order_and_joined_in_that_order() {
        for (i, (flag, _)) in Flags::ALL.iter().enumerate() {
            assert_eq!(*flag, Flags::from_bits_retain(1 << i));
        }
        let mut flags = Flags::FORMULA_RISK;
        flags.insert(Flags::NORMALIZED);
        flags.insert(Flags::FREE);
        assert_eq!(flags.joined(), "normalized;free;formula_risk");
        assert_eq!(Flags::NONE.joined(), "");
        assert_eq!(Flags::STALE.joined(), "stale");
    }

    #[test]
    fn reason_codes_are_stable() {
        let domain = || "x.jp".to_string();
        let cases: Vec<(Reason, &str)> = vec![
            (Reason::Empty, "empty"),
            (
                Reason::Placeholder {
                    text: "なし".into(),
                },
                "placeholder",
            ),
            (Reason::Syntax(SyntaxError::NoAtSign), "syntax.no_at_sign"),
            (Reason::MultipleAddresses, "multiple_addresses"),
            (Reason::LegacyCarrierAddress, "legacy_carrier_address"),
            (
                Reason::SpecialUseDomain { domain: domain() },
                "special_use_domain",
            ),
            (Reason::EncodingError, "encoding_error"),
            (Reason::DamagedText, "damaged_text"),
            (
                Reason::MalformedRow {
                    problem: RowProblem::NulByte,
                },
                "malformed_row",
            ),
            (Reason::Duplicate { first_row: 2 }, "duplicate"),
            (
                Reason::DisposableDomain { domain: domain() },
                "disposable_domain",
            ),
            (Reason::TypoDomain { domain: domain() }, "typo_domain"),
            (Reason::Suppressed, "suppressed"),
            (Reason::RoleAccount, "role_account"),
            (
                Reason::DomainNotFound { domain: domain() },
                "domain_not_found",
            ),
            (Reason::NullMx { domain: domain() }, "null_mx"),
            (
                Reason::NoMailHost {
                    domain: domain(),
                    only_localhost: true,
                },
                "no_mail_host",
            ),
        ];
        for (reason, code) in &cases {
            assert_eq!(reason.code(), *code);
            assert!(!reason.sentence(Lang::En).is_empty());
            assert!(!reason.sentence(Lang::Ja).is_empty());
        }
        assert_eq!(cases.len(), Reason::CODES.len());
    }

    #[test]
    fn syntax_codes_are_stable() {
        use SyntaxError::*;
        let cases = [
            (NoAtSign, "syntax.no_at_sign"),
            (MultipleAtSigns, "syntax.multiple_at_signs"),
            (EmptyLocalPart, "syntax.empty_local_part"),
            (LocalTooLong { len: 65 }, "syntax.local_too_long"),
            (TooLong { len: 255 }, "syntax.too_long"),
            (LeadingDot, "syntax.leading_dot"),
            (TrailingDot, "syntax.trailing_dot"),
            (ConsecutiveDots, "syntax.consecutive_dots"),
            (InvalidCharacter { ch: ',' }, "syntax.invalid_character"),
            (NonAsciiLocalPart, "syntax.non_ascii_local_part"),
            (LookalikeCharacter { ch: '−' }, "syntax.lookalike_character"),
            (QuotedLocalPart, "syntax.quoted_local_part"),
            (Whitespace, "syntax.whitespace"),
            (Comment, "syntax.comment"),
            (EmptyDomain, "syntax.empty_domain"),
            (DomainLabel { label: "-a".into() }, "syntax.domain_label"),
            (
                DomainInvalidCharacter { ch: ',' },
                "syntax.domain_invalid_character",
            ),
            (
                DomainLookalikeCharacter { ch: '−' },
                "syntax.domain_lookalike_character",
            ),
            (DomainTooLong { len: 300 }, "syntax.domain_too_long"),
            (SingleLabelDomain, "syntax.single_label_domain"),
            (NumericTld, "syntax.numeric_tld"),
            (InvalidTld { tld: "x1".into() }, "syntax.invalid_tld"),
            (IpLiteral, "syntax.ip_literal"),
            (InvalidIdn, "syntax.invalid_idn"),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code);
        }
    }

    #[test]
    fn flags_are_written_in_a_fixed_order() {
        let flags = Flags::ROLE | Flags::NORMALIZED | Flags::DNS_UNKNOWN;
        assert_eq!(
            flags.codes().collect::<Vec<_>>(),
            ["normalized", "role", "dns_unknown"]
        );
        assert!(flags.is_risky());
        assert!(!(Flags::NORMALIZED | Flags::FREE).is_risky());
    }
}
