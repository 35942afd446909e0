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
