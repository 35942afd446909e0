//! Golden outputs: the bundled samples, cleaned without DNS, must give exactly the checked-in
//! files in tests/golden/. After a deliberate change, `make golden` rewrites them; review
//! the diff before committing it.

use crate::support::Workdir;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn samples_give_the_golden_outputs() {
    let dir = Workdir::new();
    for stem in ["crm_export_ja", "contacts_en"] {
        let input = format!("{ROOT}/samples/{stem}.csv");
        let run = dir.clean(&input, &["--no-dns", "-o", "."]);
        assert_eq!(run.code(), 0, "{}", run.stderr());
        for kind in ["cleaned", "rejected"] {
            let got = std::fs::read(dir.path(&format!("{stem}.{kind}.csv"))).expect("an output");
            let golden = std::fs::read(format!("{ROOT}/tests/golden/{stem}.{kind}.csv"))
                .expect("a golden file");
            assert!(
                got == golden,
                "{stem}.{kind}.csv differs from tests/golden (run `make golden` and review the diff)"
            );
        }
        let report = run.report();
        assert_eq!(report["conservation_ok"], true);
    }
}
