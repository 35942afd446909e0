//! A stop is prompt wherever a run may wait or loop: on a pipe whose writer stalls, on an
//! input that never ends, on a record that never ends, on a suppression list that never
//! ends. Each case gets SIGTERM and must end with 143, its temporary files removed, long
//! before its input would have ended on its own.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Workdir, terminate};

/// How long a run may take to stop: generous for a loaded machine, and far shorter than
/// the inputs below would keep a run that missed the signal going (they never end).
const PROMPT: Duration = Duration::from_secs(5);

fn start(dir: &Workdir, args: &[&str], stdin: Stdio) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_listclean"))
        .arg("clean")
        .args(args)
        .args(["--no-dns", "-q", "-o"])
        .arg(dir.path("out"))
        .stdin(stdin)
        .stderr(Stdio::piped())
        .spawn()
        .expect("the run starts")
}

/// Sends SIGTERM once the run holds the lock on its outputs `stem` (its signal handlers are
/// in place by then) and has had a moment to block, and checks it ended promptly with 143
/// and left no file behind.
fn stops(dir: &Workdir, child: std::process::Child, stem: &str, case: &str) {
    let lock = dir.path(&format!("out/.{stem}.lock"));
    let start = Instant::now();
    while !lock.exists() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(lock.exists(), "{case}: the run never started");
    std::thread::sleep(Duration::from_millis(200));
    let sent = Instant::now();
    let output = terminate(child, case);
    assert!(
        sent.elapsed() < PROMPT,
        "{case}: {:?} to stop",
        sent.elapsed()
    );
    assert_eq!(
        output.status.code(),
        Some(143),
        "{case}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let left: Vec<_> = std::fs::read_dir(dir.path("out"))
        .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{case}: left behind {left:?}");
}

#[test]
fn a_pipe_whose_writer_stalls() {
    let dir = Workdir::new();
    let fifo = dir.path("ff");
    let name = std::ffi::CString::new(fifo.to_str().expect("a UTF-8 path")).expect("no NUL");
    // SAFETY: a valid, NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
    let writer = std::thread::spawn(move || {
        let mut pipe = std::fs::OpenOptions::new()
            .write(true)
            .open(&fifo)
            .expect("the pipe opens");
        let _ = pipe.write_all(b"id,email\n1,a@acme.jp\n2,b@acme.jp\n");
        // The writer stalls with the pipe open, long past the test.
        std::thread::sleep(Duration::from_secs(30));
    });
    let child = start(
        &dir,
        &[dir.path("ff").to_str().expect("UTF-8")],
        Stdio::null(),
    );
    stops(&dir, child, "ff", "a stalled pipe");
    drop(writer);
}

#[test]
fn an_input_that_never_ends() {
    let dir = Workdir::new();
    let child = start(&dir, &["/dev/zero"], Stdio::null());
    stops(&dir, child, "stdin", "/dev/zero");
}

#[test]
fn a_record_on_standard_input_that_never_ends() {
    let dir = Workdir::new();
    let mut child = start(&dir, &["-"], Stdio::piped());
    let mut stdin = child.stdin.take().expect("its input");
    std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        // Until the run is gone: a line that never ends.
        while stdin.write_all(&chunk).is_ok() {}
    });
    stops(&dir, child, "stdin", "a never-ending line");
}

#[test]
fn a_suppression_list_that_never_ends() {
    let dir = Workdir::new();
    dir.write("list.csv", "id,email\n1,a@acme.jp\n");
    let list = dir.path("list.csv");
    let child = start(
        &dir,
        &[list.to_str().expect("UTF-8"), "--suppress", "/dev/zero"],
        Stdio::null(),
    );
    stops(&dir, child, "list", "--suppress /dev/zero");
}
