//! Checkpoints: a run killed with SIGKILL at arbitrary points and resumed each time ends
//! with outputs byte for byte those of a run never interrupted. A slowed lab DNS server
//! makes the run long enough to be killed several times.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::Workdir;
use crate::support::labdns::{LabConfig, LabDns};

const ROWS: usize = 3000;

fn input() -> String {
    // Excel's `sep=` line first: the outputs repeat it once, however often the run resumes.
    let mut text = String::from("sep=,\nid,name,email\n");
    for i in 0..ROWS {
        // Half the rows on a domain with MX, half on 300 domains that do not exist, each
        // looked up once: with 25 ms per answer and 4 in flight that takes about 2 s.
        let email = if i % 2 == 0 {
            format!("user{i}@acme-corp.com")
        } else {
            format!("u{i}@gone{}.acme-corp.com", i % 300)
        };
        text += &format!("{i},Name {i},{email}\n");
    }
    text
}

fn run(dir: &Workdir, out: &str, lab: &LabDns, extra: &[&str]) -> std::process::Child {
    let resolver = lab.addr().to_string();
    Command::new(env!("CARGO_BIN_EXE_listclean"))
        .current_dir(dir.path(""))
        .args([
            "clean",
            "list.csv",
            "-o",
            out,
            "--quiet",
            "--resolver",
            &resolver,
        ])
        .args([
            "--dns-concurrency",
            "4",
            "--dns-timeout",
            "2",
            "--checkpoint-every",
            "100",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting listclean")
}

#[test]
fn killed_runs_resume_to_identical_outputs() {
    let lab = LabDns::start(LabConfig {
        zones: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/dns")),
        delay: Duration::from_millis(25),
    })
    .expect("starting the lab DNS server");
    let dir = Workdir::new();
    dir.write("list.csv", input());
    assert!(run(&dir, "reference", &lab, &[]).wait().unwrap().success());

    // Kill points from a fixed pseudo-random sequence, so a failure can be replayed.
    let mut seed: u64 = 0x5eed;
    let mut kills = 0;
    for _ in 0..4 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let after = Duration::from_millis(150 + (seed >> 33) % 500);
        let resume = dir.path("killed/.list.checkpoint.json").exists();
        let mut child = run(
            &dir,
            "killed",
            &lab,
            &[if resume { "--resume" } else { "--checkpoint" }],
        );
        std::thread::sleep(after);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(
        kills >= 2,
        "the run finished too early to be killed ({kills} kills)"
    );
    let resume = if dir.path("killed/.list.checkpoint.json").exists() {
        "--resume"
    } else {
        "--checkpoint"
    };
    assert!(
        run(&dir, "killed", &lab, &[resume])
            .wait()
            .unwrap()
            .success()
    );

    for name in ["list.cleaned.csv", "list.rejected.csv"] {
        let reference = std::fs::read(dir.path("reference").join(name)).unwrap();
        let resumed = std::fs::read(dir.path("killed").join(name)).unwrap();
        assert!(reference.starts_with(b"sep=,\nid,name,email,"), "{name}");
        assert!(reference == resumed, "{name} differs after {kills} kills");
    }
    let report = |run: &str| -> serde_json::Value {
        let path = dir.path(run).join("list.report.json");
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    };
    let (reference, resumed) = (report("reference"), report("killed"));
    assert_eq!(resumed["rows_in"], ROWS);
    for counts in ["status", "flags", "reasons", "unique_domains"] {
        assert_eq!(
            resumed[counts], reference[counts],
            "{counts} after {kills} kills"
        );
    }
    assert!(
        !dir.path("killed/.list.checkpoint.json").exists(),
        "the checkpoint is removed after success"
    );
}

#[test]
fn resuming_without_a_checkpoint_is_refused() {
    let dir = Workdir::new();
    dir.write("list.csv", "id,email\n1,a@acme.jp\n");
    let first = dir.clean("list.csv", &["--no-dns", "--checkpoint"]);
    assert_eq!(first.code(), 0, "{}", first.stderr());
    // A finished run leaves no checkpoint to resume.
    let again = dir.clean("list.csv", &["--no-dns", "--resume"]);
    assert_eq!(again.code(), 65, "{}", again.stderr());
    assert!(
        again.stderr().contains("cannot resume"),
        "{}",
        again.stderr()
    );
}

#[test]
fn a_changed_suppression_list_is_not_resumed_with() {
    // An unsubscribe added after the checkpoint would be missed by the rows already
    // written: the resume is refused. A folder where the rejected file should go makes the
    // first run fail at its end, leaving its checkpoint behind.
    let dir = Workdir::new();
    dir.write("list.csv", "id,email\n1,a@acme.jp\n2,b@acme.jp\n");
    dir.write("unsubscribed.txt", "b@acme.jp\n");
    std::fs::create_dir(dir.path("list.rejected.csv")).unwrap();
    let args = ["--no-dns", "--suppress", "unsubscribed.txt"];
    let first = dir.clean(
        "list.csv",
        &[&args[..], &["--checkpoint", "--checkpoint-every", "1"]].concat(),
    );
    assert_eq!(first.code(), 74, "{}", first.stderr());
    assert!(dir.path(".list.checkpoint.json").exists());

    dir.write("unsubscribed.txt", "b@acme.jp\na@acme.jp\n");
    let changed = dir.clean("list.csv", &[&args[..], &["--resume"]].concat());
    assert_eq!(changed.code(), 65, "{}", changed.stderr());
    assert!(
        changed
            .stderr()
            .contains("suppression lists that have changed"),
        "{}",
        changed.stderr()
    );

    // The same list as at the checkpoint resumes.
    dir.write("unsubscribed.txt", "b@acme.jp\n");
    std::fs::remove_dir(dir.path("list.rejected.csv")).unwrap();
    let same = dir.clean("list.csv", &[&args[..], &["--resume"]].concat());
    assert_eq!(same.code(), 0, "{}", same.stderr());
}

/// A run that stops after checkpoints, its work files left for `--resume`: a folder where
/// the rejected file should go makes it fail at its very end.
fn stopped_run(dir: &Workdir) {
    let rows: String = (1..=500).map(|i| format!("{i},u{i}@acme.jp\n")).collect();
    dir.write("list.csv", format!("id,email\n{rows}"));
    std::fs::create_dir(dir.path("list.rejected.csv")).unwrap();
    let first = dir.clean(
        "list.csv",
        &["--no-dns", "--checkpoint", "--checkpoint-every", "100"],
    );
    assert_eq!(first.code(), 74, "{}", first.stderr());
    std::fs::remove_dir(dir.path("list.rejected.csv")).unwrap();
}

/// What the checkpoint recorded is checked before anything is resumed: a work file replaced
/// by a link, or with other bytes than the checkpoint's, is refused with a clear message,
/// and nothing is written through a link.
#[test]
fn resume_refuses_work_files_that_are_not_as_left() {
    for (name, damage) in [
        ("a link", "link"),
        ("zeros", "zeros"),
        ("random bytes in the journal", "journal"),
    ] {
        let dir = Workdir::new();
        stopped_run(&dir);
        let victim = dir.write("victim.txt", "not to be touched\n");
        let partial = dir.path(".list.cleaned.csv.partial");
        match damage {
            "link" => {
                std::fs::remove_file(&partial).unwrap();
                std::os::unix::fs::symlink(&victim, &partial).unwrap();
            }
            "zeros" => {
                use std::io::{Seek, Write};
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&partial)
                    .unwrap();
                file.seek(std::io::SeekFrom::Start(100)).unwrap();
                file.write_all(&[0; 4096]).unwrap();
            }
            _ => {
                use std::io::{Seek, Write};
                let journal = dir.path(".list.duplicates.partial");
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&journal)
                    .unwrap();
                file.seek(std::io::SeekFrom::Start(32)).unwrap();
                file.write_all(b"0123456789abcdef0123456789abcdef").unwrap();
            }
        }
        let resumed = dir.clean("list.csv", &["--no-dns", "--resume"]);
        assert_eq!(resumed.code(), 65, "{name}: {}", resumed.stderr());
        assert!(
            resumed.stderr().contains("cannot resume"),
            "{name}: {}",
            resumed.stderr()
        );
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "not to be touched\n",
            "{name}"
        );
        assert!(resumed.cleaned.is_none(), "{name}: nothing published");
        // Started afresh, the same run goes through.
        let fresh = dir.clean("list.csv", &["--no-dns", "--checkpoint"]);
        assert_eq!(fresh.code(), 0, "{name}: {}", fresh.stderr());
        assert_eq!(fresh.cleaned_rows().len(), 501, "{name}");
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "not to be touched\n"
        );
    }
}

/// A link where a checkpoint's temporary file goes is replaced, never written through.
#[test]
fn a_link_in_place_of_a_work_file_is_never_written_through() {
    let dir = Workdir::new();
    let rows: String = (1..=300).map(|i| format!("{i},u{i}@acme.jp\n")).collect();
    dir.write("list.csv", format!("id,email\n{rows}"));
    let victim = dir.write("victim.txt", "not to be touched\n");
    for name in [
        ".list.checkpoint.json.tmp",
        ".list.cleaned.csv.partial",
        ".list.duplicates.partial",
    ] {
        std::os::unix::fs::symlink(&victim, dir.path(name)).unwrap();
    }
    let run = dir.clean(
        "list.csv",
        &["--no-dns", "--checkpoint", "--checkpoint-every", "50"],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "not to be touched\n"
    );
    assert!(
        !std::fs::symlink_metadata(dir.path("list.cleaned.csv"))
            .unwrap()
            .is_symlink()
    );
}

/// A run killed before its first checkpoint leaves work files and no checkpoint: `--resume`
/// starts afresh, and says so.
#[test]
fn resume_after_a_kill_before_the_first_checkpoint_starts_afresh() {
    let dir = Workdir::new();
    dir.write("list.csv", "id,email\n1,a@acme.jp\n2,b@acme.jp\n");
    dir.write(".list.cleaned.csv.partial", "id,email,email_status\n");
    dir.write(".list.duplicates.partial", "");
    let run = dir.clean("list.csv", &["--no-dns", "--resume"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(run.stderr().contains("started afresh"), "{}", run.stderr());
    assert_eq!(run.cleaned_rows().len(), 3);
}

/// The work files of an abandoned run are swept up by a later run into the same folder once
/// they have not been written for an hour, whatever their name (lists named after their
/// day are never resumed); a recent one, and the run's own, stay.
#[test]
fn work_files_of_abandoned_runs_are_swept_up() {
    let dir = Workdir::new();
    dir.write("list-1208.csv", "id,email\n1,a@acme.jp\n");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 3600);
    for name in [
        ".list-1207.cleaned.csv.partial",
        ".list-1207.duplicates.partial",
        ".list-1207.checkpoint.json",
    ] {
        let file = std::fs::File::create(dir.path(name)).unwrap();
        file.set_modified(old).unwrap();
    }
    // Kept: a set one of whose files is recent, a set whose run still holds its lock (a
    // slow run), and another program's file.
    dir.write(".list-1206.cleaned.csv.partial", "recent");
    let stale = std::fs::File::create(dir.path(".list-1206.duplicates.partial")).unwrap();
    stale.set_modified(old).unwrap();
    for name in [".list-1205.cleaned.csv.partial", ".download.partial"] {
        std::fs::File::create(dir.path(name))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let lock = std::fs::File::create(dir.path(".list-1205.lock")).unwrap();
    lock.lock().unwrap();
    let run = dir.clean("list-1208.csv", &["--no-dns"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let mut left: Vec<String> = crate::support::files_besides(&dir, "list-1208.csv")
        .into_iter()
        .filter(|name| name.starts_with('.'))
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            ".download.partial",
            ".list-1205.cleaned.csv.partial",
            ".list-1205.lock",
            ".list-1206.cleaned.csv.partial",
            ".list-1206.duplicates.partial",
        ]
    );
}

/// A checkpoint changed by hand (rows and counts moved on together, as if more were done)
/// is refused, never resumed from with rows the partial outputs do not hold.
#[test]
fn a_checkpoint_changed_by_hand_is_refused() {
    let dir = Workdir::new();
    stopped_run(&dir);
    let path = dir.path(".list.checkpoint.json");
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let rows = state["rows"].as_u64().unwrap();
    state["rows"] = (rows + 100).into();
    let counted = state["tally"]["rows"].as_u64().unwrap();
    state["tally"]["rows"] = (counted + 100).into();
    std::fs::write(&path, serde_json::to_vec(&state).unwrap()).unwrap();
    let resumed = dir.clean("list.csv", &["--no-dns", "--resume"]);
    assert_eq!(resumed.code(), 65, "{}", resumed.stderr());
    assert!(
        resumed.stderr().contains("changed since"),
        "{}",
        resumed.stderr()
    );
}
