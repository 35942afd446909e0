//! Peer suites: the Japanese cases, isemail and python-email-validator (tests/data/syntax).
//!
//! Every Japanese case must give its listed action and output. For isemail and
//! python-email-validator every row's verdict is asserted: it must agree with the suite,
//! or be listed in the table of deliberate differences in tests/data/README.md, with the
//! code we give and the reason.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use listclean::policy::is_special_use;
use listclean::read::encoding::{self, Transcoder};
use listclean::validate::check_syntax;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

/// Rows of a TSV (quoted the way Python's csv module writes) as maps from column name to
/// raw field.
fn tsv(name: &str) -> Vec<HashMap<String, String>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .from_path(format!("{DATA}/syntax/{name}"))
        .expect("reading a peer suite");
    let header: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(String::from)
        .collect();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.expect("a TSV row").iter().map(String::from))
                .collect()
        })
        .collect()
}

/// Fields are JSON string bodies. `None` for a lone surrogate, which a Rust string cannot hold.
fn unescape(field: &str) -> Option<String> {
    serde_json::from_str(&format!("\"{field}\"")).ok()
}

/// Our verdict on one cell: the code of the rejection, or "accept".
fn verdict(cell: &str) -> String {
    match check_syntax(cell) {
        Ok(address) if is_special_use(address.domain()) => "special_use_domain".into(),
        Ok(_) => "accept".into(),
        Err(reason) => reason.code().into(),
    }
}

/// Decodes raw file bytes the way the reader does; `None` when they are invalid.
fn decode(bytes: &[u8]) -> Option<String> {
    let encoding = encoding::detect(bytes);
    let body = bytes.strip_prefix(encoding.bom()).unwrap_or(bytes);
    let mut utf8 = Vec::new();
    Transcoder::new(body, encoding)
        .read_to_end(&mut utf8)
        .ok()?;
    String::from_utf8(utf8).ok()
}

#[test]
fn japanese_cases_give_their_action_and_output() {
    // The suite's reason names, and the codes we give for them.
    let codes: BTreeMap<&str, &[&str]> = BTreeMap::from([
        (
            "legacy_carrier_rfc_violation",
            &["legacy_carrier_address"][..],
        ),
        (
            "local_part_dot_rule",
            &[
                "syntax.consecutive_dots",
                "syntax.leading_dot",
                "syntax.trailing_dot",
            ][..],
        ),
        ("quoted_local_part", &["syntax.quoted_local_part"][..]),
        (
            "non_ascii_local_part(smtputf8)",
            &["syntax.non_ascii_local_part"][..],
        ),
        (
            "non_ascii_lookalike_in_local_part",
            &["syntax.lookalike_character"][..],
        ),
        ("internal_whitespace", &["syntax.whitespace"][..]),
        ("decode_error_replacement_char", &["damaged_text"][..]),
        ("comment_or_annotation", &["syntax.comment"][..]),
        ("multiple_addresses_in_cell", &["multiple_addresses"][..]),
        ("no_at_sign", &["syntax.no_at_sign"][..]),
        ("multiple_at_signs", &["syntax.multiple_at_signs"][..]),
        (
            "domain_invalid_character",
            &["syntax.domain_invalid_character"][..],
        ),
        ("single_label_domain", &["syntax.single_label_domain"][..]),
    ]);
    let rows = tsv("japanese.tsv");
    assert_eq!(rows.len(), 62);
    let mut failures = Vec::new();
    for row in &rows {
        let id = &row["id"];
        let input = match row["input_bytes_hex"].as_str() {
            "" => unescape(&row["input"]).expect("a Japanese case is valid text"),
            hex => {
                let bytes: Vec<u8> = (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex bytes"))
                    .collect();
                decode(&bytes).unwrap_or_default()
            }
        };
        let got = check_syntax(&input)
            .map(|a| a.as_str().to_owned())
            .map_err(|r| r.code());
        let ok = match row["expected_action"].as_str() {
            "accept" => got.as_deref() == Ok(input.as_str()),
            "normalize" => got.as_deref() == Ok(row["expected_output"].as_str()),
            "reject" => got
                .as_ref()
                .is_err_and(|code| codes[row["reason_code"].as_str()].contains(code)),
            other => panic!("unknown action {other}"),
        };
        if !ok {
            failures.push(format!(
                "{id} {input:?}: expected {} {} {}, got {got:?}",
                row["expected_action"], row["expected_output"], row["reason_code"]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The deliberate differences: case id → (the code we give, the reason).
fn differences() -> HashMap<String, (String, String)> {
    let text =
        std::fs::read_to_string(format!("{DATA}/README.md")).expect("reading tests/data/README.md");
    text.lines()
        .filter(|line| line.starts_with("| ise-") || line.starts_with("| pev-"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            assert_eq!(cells.len(), 5, "a difference row has 5 cells: {line}");
            let ours = cells[3].trim_matches('`').to_owned();
            assert!(!cells[4].is_empty(), "a difference needs a reason: {line}");
            (cells[0].to_owned(), (ours, cells[4].to_owned()))
        })
        .collect()
}

/// Checks every row of a suite against its own verdict and the listed differences.
fn check_suite(
    name: &str,
    input_column: &str,
    suite_accepts: impl Fn(&HashMap<String, String>) -> bool,
) {
    let listed = differences();
    let mut problems = Vec::new();
    let mut checked = 0;
    for row in tsv(name) {
        let id = &row["case_id"];
        let Some(input) = unescape(&row[input_column]) else {
            continue; // A lone surrogate: no Rust string, so no CSV cell, can hold it.
        };
        checked += 1;
        let ours = verdict(&input);
        let theirs = suite_accepts(&row);
        let agree = (ours == "accept") == theirs;
        match (agree, listed.get(id)) {
            (true, None) => {}
            (true, Some(_)) => problems.push(format!(
                "{id}: listed as a difference but we agree with the suite"
            )),
            (false, None) => problems.push(format!(
                "| {id} | `{}` | {} | `{ours}` | ? |",
                row[input_column],
                if theirs { "valid" } else { "invalid" }
            )),
            (false, Some((code, _))) if *code != ours => problems.push(format!(
                "{id}: listed with `{code}` but we now give `{ours}`"
            )),
            (false, Some(_)) => {}
        }
    }
    assert!(checked > 250, "only {checked} rows of {name} were checked");
    assert!(problems.is_empty(), "{name}:\n{}", problems.join("\n"));
}

#[test]
fn isemail_rows_agree_or_are_listed() {
    // isemail's own threshold: categories below 16 (valid, DNS warning, RFC 5321) pass.
    check_suite("isemail.tsv", "address", |row| {
        row["category_value"].parse::<u32>().expect("a category") < 16
    });
}

#[test]
fn python_email_validator_rows_agree_or_are_listed() {
    check_suite("python_email_validator.tsv", "input", |row| {
        row["default_outcome"] == "valid"
    });
}
