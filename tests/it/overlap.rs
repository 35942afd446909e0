//! Runs that overlap: a run owns the outputs it writes. A second run into the same outputs
//! stops at once (exit 75) and touches nothing, or with `--wait-lock` waits for the first.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Workdir, rows};

const ROWS: &str = "id,email\n1,a@acme.jp\n2,b@acme.jp\n";

/// Starts a run that reads standard input into `out/` and stays open (holding its lock)
/// until its input is closed.
fn held_run(dir: &Workdir) -> std::process::Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_listclean"))
        .args(["clean", "-", "--no-dns", "-q", "-o"])
        .arg(dir.path("out"))
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the first run starts");
    let stdin = child.stdin.as_mut().expect("its input");
    stdin.write_all(ROWS.as_bytes()).expect("rows written");
    stdin.flush().expect("flushed");
    // The lock is taken before the input is read.
    let lock = dir.path("out/.stdin.lock");
    let start = Instant::now();
    while !lock.exists() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    child
}

#[test]
fn a_second_run_into_the_same_outputs_stops_without_writing() {
    let dir = Workdir::new();
    let mut first = held_run(&dir);
    let second = dir.clean_stdin("-", &["--no-dns", "-o", "out"], b"id,email\n9,z@acme.jp\n");
    assert_eq!(second.code(), 75, "{}", second.stderr());
    assert!(
        second.stderr().contains("another run"),
        "{}",
        second.stderr()
    );
    assert!(
        second.stderr().contains("--wait-lock"),
        "{}",
        second.stderr()
    );
    drop(first.stdin.take());
    let status = first.wait().expect("the first run ends");
    assert!(status.success());
    // The first run's rows, and only them.
    let cleaned = rows(&std::fs::read(dir.path("out/stdin.cleaned.csv")).expect("its outputs"));
    assert_eq!(cleaned.len(), 3);
}

#[test]
fn wait_lock_waits_for_the_first_run() {
    let dir = Workdir::new();
    let mut first = held_run(&dir);
    let mut second = Command::new(env!("CARGO_BIN_EXE_listclean"))
        .args(["clean", "-", "--no-dns", "-q", "--wait-lock", "-o"])
        .arg(dir.path("out"))
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the second run starts");
    second
        .stdin
        .take()
        .expect("its input")
        .write_all(b"id,email\n9,z@acme.jp\n")
        .expect("written");
    std::thread::sleep(Duration::from_millis(300));
    assert!(second.try_wait().expect("running").is_none(), "it waits");
    drop(first.stdin.take());
    assert!(first.wait().expect("the first ends").success());
    let output = second.wait_with_output().expect("the second ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("waiting for it"),
        "it said it waits: {stderr}"
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let cleaned = rows(&std::fs::read(dir.path("out/stdin.cleaned.csv")).expect("outputs"));
    assert_eq!(
        cleaned.len(),
        2,
        "the second run's outputs replaced the first's"
    );
}
