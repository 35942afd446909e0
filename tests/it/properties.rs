//! Property tests: whatever the input, `clean` never panics, never loses a row, and the
//! outputs hold every input row's cells; and the per-address check agrees with an
//! independent parser, `email_address`, but for the deliberate differences listed in
//! tests/data/README.md.

use std::sync::Arc;

use email_address::{EmailAddress, Options};
use listclean::cmd::clean;
use listclean::config::CleanConfig;
use listclean::normalize::normalize;
use listclean::read::Input;
use listclean::validate::validate;
use listclean::verdict::Flags;
use proptest::prelude::*;

use crate::support::{Workdir, rows};

fn config(dir: &Workdir, input: &str) -> CleanConfig {
    let mut config = CleanConfig::new(Input::Path(dir.path(input)));
    config.output_dir = Some(dir.path("out"));
    config.formula_guard = false;
    config.options.jobs = Some(2);
    config
}

/// Cells as people and spreadsheets write them: addresses good and bad, quotes, commas,
/// line breaks, full width, Japanese.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,8}@[a-z]{1,8}\\.(com|co\\.jp|jp)",
        " ?[A-Za-z0-9._+-]{0,10}[@＠]?[a-zA-Z0-9.-]{0,10}[.,;]? ?",
        "[\"',;\\n\\r\\t ａ-ｚ＠．山田太郎<>()=+@-]{0,12}",
        any::<String>().prop_map(|s| s.chars().filter(|c| *c != '\0').take(20).collect()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn every_row_comes_out_once_with_its_cells(table in prop::collection::vec((cell(), cell()), 1..40)) {
        let dir = Workdir::new();
        let mut input = Vec::new();
        {
            let mut writer = csv::Writer::from_writer(&mut input);
            writer.write_record(["id", "email", "note"]).unwrap();
            for (i, (email, note)) in table.iter().enumerate() {
                writer.write_record([i.to_string().as_str(), email.as_str(), note.as_str()]).unwrap();
            }
        }
        dir.write("in.csv", &input);
        let mut config = config(&dir, "in.csv");
        config.options.read.email_columns = vec!["email".into()];
        let report = clean::run(&config, &Arc::default(), &mut |_| {}).unwrap();
        prop_assert!(report.conservation_ok);
        prop_assert_eq!(report.rows_in, table.len() as u64);
        let cleaned = rows(&std::fs::read(dir.path("out/in.cleaned.csv")).unwrap());
        let rejected = rows(&std::fs::read(dir.path("out/in.rejected.csv")).unwrap());
        let mut seen = vec![0; table.len()];
        for row in cleaned.iter().skip(1) {
            let i: usize = row[0].parse().unwrap();
            seen[i] += 1;
            let expected = normalize(&table[i].0).unwrap();
            prop_assert_eq!(&row[1], expected.as_str());
            prop_assert_eq!(&row[2], &table[i].1);
        }
        for row in rejected.iter().skip(1) {
            let i: usize = row[0].parse().unwrap();
            seen[i] += 1;
            prop_assert_eq!(&row[1], &table[i].0);
            prop_assert_eq!(&row[2], &table[i].1);
        }
        prop_assert!(seen.iter().all(|&n| n == 1), "rows seen {:?}", seen);
    }

    #[test]
    fn any_bytes_give_outputs_or_a_clear_error(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        let dir = Workdir::new();
        dir.write("bytes.csv", &bytes);
        match clean::run(&config(&dir, "bytes.csv"), &Arc::default(), &mut |_| {}) {
            Ok(report) => {
                prop_assert!(report.conservation_ok);
                prop_assert_eq!(report.rows_in, report.rows_cleaned + report.rows_rejected);
            }
            // Unusable input is a documented data error, never a panic or an internal error.
            Err(e) => prop_assert!(matches!(e.exit_code(), 65 | 64), "{}", e),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// `email_address` as an oracle for the per-address check (normalize, then validate).

/// `email_address` at its strictest: a domain of two labels or more, no IP literal, no
/// display name, a local part of at most 64 octets.
const STRICT: Options = Options {
    minimum_sub_domains: 2,
    allow_domain_literal: false,
    allow_display_text: false,
    allow_long_local_parts: false,
};

fn oracle_accepts(address: &str) -> bool {
    EmailAddress::parse_with_options(address, STRICT).is_ok()
}

/// Internationalized domain labels as written, and their A-labels.
const U_LABELS: &[(&str, &str)] = &[
    ("münchen", "xn--mnchen-3ya"),
    ("bücher", "xn--bcher-kva"),
    ("日本語", "xn--wgv71a119e"),
    ("コーヒー", "xn--tck2c4fb"),
    ("ドメイン名例", "xn--eckwd4c7cu47r2wf"),
    ("пример", "xn--e1afmkfd"),
    ("例え", "xn--r8jz45g"),
];

/// Top-level domains as written, and as listclean writes them.
const TLDS: &[(&str, &str)] = &[
    ("com", "com"),
    ("co.jp", "co.jp"),
    ("ne.jp", "ne.jp"),
    ("org", "org"),
    ("io", "io"),
    ("みんな", "xn--q9jyb4c"),
    ("xn--q9jyb4c", "xn--q9jyb4c"),
    ("рф", "xn--p1ai"),
];

/// What wraps an address in a cell and normalization takes off.
const WRAPPERS: &[(&str, &str)] = &[
    ("", ""),
    ("  ", " "),
    ("mailto:", ""),
    ("<", ">"),
    ("Taro Yamada <", ">"),
    ("山田太郎＜", "＞"),
    ("\"", "\""),
    ("「", "」"),
    ("", "."),
    ("\u{3000}", "\u{3000}"),
    ("\u{200B}", ","),
];

/// An address as people have them, as written in a cell (full-width forms, capitals in the
/// domain, U-labels, wrappers), with the address listclean must make of it.
fn realistic() -> impl Strategy<Value = (String, String)> {
    let host = "[a-z0-9]{1,12}(-[a-z0-9]{1,6})?";
    let domain = prop_oneof![
        3 => (host, any::<u16>()).prop_map(|(label, caps)| {
            // Capitals, which normalization lowercases.
            let written = label
                .chars()
                .enumerate()
                .map(|(i, c)| if caps >> (i % 16) & 1 == 1 { c.to_ascii_uppercase() } else { c })
                .collect();
            (written, label)
        }),
        1 => prop::sample::select(U_LABELS).prop_map(|(u, a)| (u.to_owned(), a.to_owned())),
    ];
    (
        "[a-zA-Z0-9]{1,12}([._+-][a-zA-Z0-9]{1,8}){0,2}",
        prop::option::of(host),
        domain,
        prop::sample::select(TLDS),
        any::<u64>(),
        prop::sample::select(WRAPPERS),
    )
        .prop_map(
            |(local, sub, (written, ascii), (tld, tld_ascii), wide, (open, close))| {
                let sub = sub.map(|s| format!("{s}.")).unwrap_or_default();
                let address = format!("{local}@{sub}{written}.{tld}");
                // Full-width forms of the ASCII characters, which NFKC folds back.
                let address: String = address
                    .chars()
                    .enumerate()
                    .map(|(i, c)| match c {
                        '!'..='~' if wide >> (i % 64) & 1 == 1 => {
                            char::from_u32(u32::from(c) - 0x21 + 0xFF01).unwrap_or(c)
                        }
                        _ => c,
                    })
                    .collect();
                (
                    format!("{open}{address}{close}"),
                    format!("{local}@{sub}{ascii}.{tld_ascii}"),
                )
            },
        )
}

/// Cells of every shape: the realistic ones, odd ASCII, quoted local parts, U-labels and
/// A-labels good and bad, long parts, the legacy carrier forms, and anything at all.
fn any_shape() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => realistic().prop_map(|(cell, _)| cell),
        1 => "[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\"\\\\ (),:;<>\\[\\]-]{0,16}@[a-z0-9]{1,8}\\.(com|jp)",
        1 => "[a-z0-9]{1,8}@[a-z0-9]{1,6}([+_$&'=:\\[\\]-]{1,2}[a-zA-Z0-9]{1,6})?\\.[a-z0-9]{1,6}([+_$&'=-][a-z0-9]{1,6})?\\.(com|jp)",
        1 => "\"[a-z .@\\\\\"]{0,10}\"@[a-z]{1,8}\\.com",
        1 => "[a-z]{1,8}@[a-z]{0,3}(日本語|コーヒー|bücher|ÄÖÜ|straße|ﬁ|ⅷ|ς|é|e\u{301}|\u{200D}|−|ー|⒈)[a-z]{0,3}\\.(jp|de|рф|みんな|[a-z]{2})",
        1 => "[a-z]{1,8}@(xn--[a-z0-9-]{0,12}|xn--wgv71a119e|[a-z]{2}--[a-z]{1,4}|[a-z]{1,8})\\.(jp|com|xn--q9jyb4c|xn--[a-z0-9]{1,8}|[a-z0-9]{1,3})",
        // Near the limits: 64 octets of local part, 63 of a label, 253 of a domain, 254 in all.
        1 => "[a-z]{60,66}@([a-z]{58,64}\\.){1,4}(com|jp)",
        // The legacy carrier forms: dots at either end or doubled, short and long.
        2 => "\\.?[a-zA-Z0-9_-]{1,40}(\\.{1,2}[a-zA-Z0-9_-]{1,40}){0,2}\\.?@(docomo|ezweb|DoCoMo)\\.ne\\.jp\\.?",
        1 => any::<String>().prop_map(|s| s.chars().take(24).collect()),
        1 => ("\\PC{1,8}", "\\PC{1,12}").prop_map(|(local, domain)| format!("{local}@{domain}")),
    ]
}

/// A class of addresses that `email_address` accepts as written and listclean refuses on
/// purpose; each is a row of the table in tests/data/README.md, which tells why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// `email_address` takes any non-ASCII character for a letter, anywhere: it has no
    /// rules for them (no NFKC, IDNA or SMTPUTF8), so it judges no cell that holds one.
    /// `realistic_addresses_are_kept` covers the non-ASCII cells listclean must keep.
    NonAscii,
    QuotedLocalPart,
    DomainNotLdh,
    ReservedHyphens,
    /// Refused for its top-level domain: the code says so, whatever the rule. Real ones are
    /// held to `realistic_addresses_are_kept`.
    TopLevelDomain,
    LengthLimits,
}

impl Refusal {
    const ALL: [Refusal; 6] = [
        Refusal::NonAscii,
        Refusal::QuotedLocalPart,
        Refusal::DomainNotLdh,
        Refusal::ReservedHyphens,
        Refusal::TopLevelDomain,
        Refusal::LengthLimits,
    ];

    /// The name in the first column of the table in tests/data/README.md.
    fn name(self) -> &'static str {
        match self {
            Refusal::NonAscii => "non-ascii",
            Refusal::QuotedLocalPart => "quoted-local-part",
            Refusal::DomainNotLdh => "domain-not-ldh",
            Refusal::ReservedHyphens => "reserved-hyphens",
            Refusal::TopLevelDomain => "top-level-domain",
            Refusal::LengthLimits => "length-limits",
        }
    }

    /// The class of `parsed` (accepted by `email_address`) that allows listclean's refusal
    /// `code`, if any.
    fn of(parsed: &EmailAddress, code: &str) -> Option<Refusal> {
        let (local, domain) = (parsed.local_part(), parsed.domain());
        let labels: Vec<&str> = domain.split('.').collect();
        let class = if !parsed.as_str().is_ascii() {
            Refusal::NonAscii
        } else if local.starts_with('"') {
            Refusal::QuotedLocalPart
        } else if code == "syntax.domain_invalid_character"
            && domain
                .bytes()
                .any(|b| !b.is_ascii_alphanumeric() && b != b'-' && b != b'.')
        {
            Refusal::DomainNotLdh
        } else if matches!(code, "syntax.domain_label" | "syntax.invalid_idn")
            && labels.iter().any(|label| label.get(2..4) == Some("--"))
        {
            Refusal::ReservedHyphens
        } else if matches!(code, "syntax.invalid_tld" | "syntax.numeric_tld") {
            Refusal::TopLevelDomain
        } else if (code == "syntax.too_long" && parsed.as_str().len() > 254)
            || (code == "syntax.domain_too_long" && domain.len() > 253)
        {
            Refusal::LengthLimits
        } else {
            return None;
        };
        Some(class)
    }
}

#[test]
fn every_class_of_difference_from_email_address_is_listed() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/README.md"))
            .expect("reading tests/data/README.md");
    for name in Refusal::ALL
        .map(Refusal::name)
        .into_iter()
        .chain(["legacy-carrier-dots"])
    {
        assert!(
            readme.contains(&format!("| `{name}` |")),
            "{name} is not listed in tests/data/README.md"
        );
    }
}

/// The legacy carrier forms forgive the dots, not the length: a local part over 64 octets
/// that also breaks a dot rule (`.` + 64 letters `@docomo.ne.jp`) is too long, with
/// `--keep-legacy-carrier` or without (found by the oracle test above).
#[test]
fn legacy_carrier_local_parts_over_64_octets_are_refused() {
    let cell = format!(".{}@docomo.ne.jp", "a".repeat(64));
    let address = normalize(&cell).expect("one address");
    assert_eq!(
        validate(&address, true).map_err(|reason| reason.code()),
        Err("syntax.local_too_long")
    );
    assert_eq!(
        validate(&address, false).map_err(|reason| reason.code()),
        Err("syntax.local_too_long")
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    /// Every address listclean keeps, `email_address` parses too.
    #[test]
    fn kept_addresses_parse_under_email_address(cell in any_shape(), keep_legacy_carrier in any::<bool>()) {
        let Ok(address) = normalize(&cell) else { return Ok(()) };
        let Ok(flags) = validate(&address, keep_legacy_carrier) else { return Ok(()) };
        let checked = if flags.contains(Flags::LEGACY_CARRIER) {
            // `legacy-carrier-dots`: kept on request, these break the dot rules of a
            // dot-atom on purpose. The dots are replaced, so that every other rule (length,
            // characters) is still asked of them.
            format!("{}@{}", address.local().replace('.', "x"), address.domain())
        } else {
            address.as_str().to_owned()
        };
        prop_assert!(
            oracle_accepts(&checked),
            "listclean keeps {:?} (from {:?}), email_address refuses it: {:?}",
            address.as_str(), cell, EmailAddress::parse_with_options(&checked, STRICT)
        );
    }

    /// What `email_address` accepts as written, listclean keeps, but for the classes it
    /// refuses on purpose.
    #[test]
    fn refusals_of_what_email_address_accepts_are_deliberate(cell in any_shape()) {
        let Ok(parsed) = EmailAddress::parse_with_options(&cell, STRICT) else { return Ok(()) };
        let verdict = normalize(&cell).and_then(|address| validate(&address, false));
        if let Err(reason) = verdict {
            prop_assert!(
                Refusal::of(&parsed, reason.code()).is_some(),
                "email_address accepts {:?}, listclean refuses it: {}", cell, reason.code()
            );
        }
    }

    /// Addresses as people have them, however a cell wraps or widens them, are kept as the
    /// plain address, which `email_address` accepts: the oracle for the non-ASCII cells.
    #[test]
    fn realistic_addresses_are_kept((cell, expected) in realistic()) {
        let address = normalize(&cell);
        prop_assert_eq!(address.as_ref().map(|a| a.as_str()), Ok(expected.as_str()), "{:?}", cell);
        if let Ok(address) = address {
            prop_assert_eq!(validate(&address, false).map_err(|r| r.code()), Ok(Flags::NONE), "{:?}", cell);
        }
        prop_assert!(oracle_accepts(&expected), "{:?}", expected);
    }
}
