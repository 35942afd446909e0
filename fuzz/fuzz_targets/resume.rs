//! `--resume` on damaged work files: whatever bytes a stopped run's partial outputs, its
//! duplicate journal or its checkpoint hold, resuming never panics, and either refuses
//! (exit 65) or writes exactly what an uninterrupted run writes.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use listclean::checkpoint::{CheckpointPaths, InputIdentity, State, file_id};
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

/// Lays the stopped run's work files into `dir` as they were, made to belong to this folder:
/// the checkpoint names the copies' input and files (their inodes), so that what is tested
/// is the damage, not the copy.
fn lay_out(dir: &Path, template: &Template) {
    std::fs::write(dir.join("list.csv"), list()).expect("the list");
    for (name, content) in &template.work {
        std::fs::write(dir.join(name), content).expect("a work file");
    }
    let state_path = dir.join(WORK_FILES[3]);
    let mut state: State =
        serde_json::from_slice(&std::fs::read(&state_path).expect("the checkpoint"))
            .expect("a checkpoint");
    state.input = InputIdentity::of(&dir.join("list.csv")).expect("the input");
    let id = |name: &str| file_id(&std::fs::metadata(dir.join(name)).expect("a work file"));
    state.cleaned.file = id(WORK_FILES[0]);
    state.rejected.file = id(WORK_FILES[1]);
    state.journal.file = id(WORK_FILES[2]);
    // Saved as a run saves it (sealed).
    state
        .save(&CheckpointPaths::new(dir, "list".as_ref()))
        .expect("written");
}

fuzz_target!(|data: &[u8]| {
    let Some((&[which, at_high, at_low, how], bytes)) = data.split_first_chunk::<4>() else {
        return;
    };
    let template = &*TEMPLATE;
    let dir = tempfile::tempdir().expect("a folder");
    lay_out(dir.path(), template);
    let name = WORK_FILES[usize::from(which) % WORK_FILES.len()];
    let path = dir.path().join(name);
    let mut damaged = std::fs::read(&path).expect("a work file");
    let at = (usize::from(at_high) << 8 | usize::from(at_low)) % (damaged.len() + 1);
    match how % 4 {
        0 => damaged.truncate(at),
        1 => {
            let end = (at + bytes.len()).min(damaged.len());
            damaged[at..end].copy_from_slice(&bytes[..end - at]);
        }
        2 => damaged.splice(at..at, bytes.iter().copied()).for_each(drop),
        // Left as it was: the resume must then go through.
        _ => {}
    }
    // Written into the same file (its inode stays the checkpoint's).
    std::fs::write(&path, &damaged).expect("the damage");
    match clean::run(&config(dir.path(), true), &Arc::default(), &mut |_| {}) {
        Ok(report) => {
            assert!(report.conservation_ok);
            let read = |name: &str| std::fs::read(dir.path().join(name)).expect("an output");
            assert!(
                read("list.cleaned.csv") == template.cleaned,
                "cleaned differs"
            );
            assert!(
                read("list.rejected.csv") == template.rejected,
                "rejected differs"
            );
        }
        Err(error) => {
            assert_eq!(error.exit_code(), 65, "{error}");
            assert!(how % 4 != 3, "an undamaged checkpoint is refused: {error}");
        }
    }
});
