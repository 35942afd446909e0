//! Property tests: whatever the input, `clean` never panics, never loses a row, and the
//! outputs hold every input row's cells.

use std::sync::Arc;

use listclean::cmd::clean;
use listclean::config::{CleanConfig, Input};
use listclean::normalize::normalize;
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
