//! `--resume` on damaged work files: whatever bytes a stopped run's partial outputs, its
//! duplicate journal or its checkpoint hold, resuming never panics, and either refuses
//! (exit 65) or writes exactly what an uninterrupted run writes.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use listclean::cmd::clean;
use listclean::config::CleanConfig;
use listclean::read::Input;

const WORK_FILES: [&str; 4] = [
    ".list.cleaned.csv.partial",
    ".list.rejected.csv.partial",
    ".list.duplicates.partial",
    ".list.checkpoint.json",
];

fn config(dir: &Path, resume: bool) -> CleanConfig {
    let mut config = CleanConfig::new(Input::Path(dir.join("list.csv")));
    config.output_dir = Some(dir.to_owned());
    config.options.jobs = Some(1);
    config.checkpoint_every = Some(50);
    config.resume = resume;
    config
}

fn list() -> String {
    let rows: String = (0..400)
        .map(|i| format!("{i},u{}@acme{}.jp\n", i % 350, i % 7))
        .collect();
    format!("id,email\n{rows}bad@@acme.jp\n")
}

/// The work files a stopped run leaves, and what an uninterrupted run writes.
struct Template {
    work: Vec<(PathBuf, Vec<u8>)>,
    cleaned: Vec<u8>,
    rejected: Vec<u8>,
    _dir: tempfile::TempDir,
}

static TEMPLATE: LazyLock<Template> = LazyLock::new(|| {
    let whole = tempfile::tempdir().expect("a folder");
    std::fs::write(whole.path().join("list.csv"), list()).expect("the list");
    clean::run(&config(whole.path(), false), &Arc::default(), &mut |_| {}).expect("a run");
    let stopped = tempfile::tempdir().expect("a folder");
    std::fs::write(stopped.path().join("list.csv"), list()).expect("the list");
    // A folder where the rejected file goes stops the run at its very end.
    std::fs::create_dir(stopped.path().join("list.rejected.csv")).expect("a folder");
    assert!(clean::run(&config(stopped.path(), false), &Arc::default(), &mut |_| {}).is_err());
    let work = WORK_FILES
        .iter()
        .map(|name| {
            let path = stopped.path().join(name);
            let bytes = std::fs::read(&path).expect("a work file");
            (PathBuf::from(name), bytes)
        })
        .collect();
    Template {
        work,
        cleaned: std::fs::read(whole.path().join("list.cleaned.csv")).expect("cleaned"),
        rejected: std::fs::read(whole.path().join("list.rejected.csv")).expect("rejected"),
        _dir: whole,
    }
});

fuzz_target!(|data: &[u8]| {
    let Some((&[which, at_high, at_low, how], bytes)) = data.split_first_chunk::<4>() else {
        return;
    };
    let template = &*TEMPLATE;
    let dir = tempfile::tempdir().expect("a folder");
    std::fs::write(dir.path().join("list.csv"), list()).expect("the list");
    for (name, content) in &template.work {
        std::fs::write(dir.path().join(name), content).expect("a work file");
    }
    let (name, content) = &template.work[usize::from(which) % template.work.len()];
    let mut damaged = content.clone();
    let at = (usize::from(at_high) << 8 | usize::from(at_low)) % (damaged.len() + 1);
    match how % 3 {
        0 => damaged.truncate(at),
        1 => {
            let end = (at + bytes.len()).min(damaged.len());
            damaged[at..end].copy_from_slice(&bytes[..end - at]);
        }
        _ => damaged.splice(at..at, bytes.iter().copied()).for_each(drop),
    }
    std::fs::write(dir.path().join(name), &damaged).expect("the damage");
    match clean::run(&config(dir.path(), true), &Arc::default(), &mut |_| {}) {
        Ok(report) => {
            assert!(report.conservation_ok);
            let read = |name: &str| std::fs::read(dir.path().join(name)).expect("an output");
            assert!(read("list.cleaned.csv") == template.cleaned, "cleaned differs");
            assert!(read("list.rejected.csv") == template.rejected, "rejected differs");
        }
        Err(error) => assert_eq!(error.exit_code(), 65, "{error}"),
    }
});
