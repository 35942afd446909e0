//! The test harness: writes input files into a temporary folder and runs the real binary.

#![allow(dead_code)]

pub mod labdns;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A temporary folder to run `listclean` in.
pub struct Workdir {
    dir: TempDir,
}

/// What a run of the binary left behind.
pub struct Run {
    pub output: Output,
    pub cleaned: Option<Vec<u8>>,
    pub rejected: Option<Vec<u8>>,
    pub report: Option<serde_json::Value>,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().expect("creating a temporary folder"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file and returns its path.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("writing a test input");
        path
    }

    /// Runs `listclean clean <input> <args...>` with outputs in this folder.
    pub fn clean(&self, input: &str, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_listclean"))
            .current_dir(self.dir.path())
            .arg("clean")
            .arg(input)
            .args(args)
            .output()
            .expect("running listclean");
        let stem = Path::new(input)
            .file_stem()
            .map_or("stdin".into(), |s| s.to_string_lossy().into_owned());
        self.outputs(&stem, output)
    }

    /// Runs `listclean clean <input> <args...>` with `bytes` on standard input, `input`
    /// being `-` or a name for it (`/dev/stdin`); the outputs are `stdin.*` in this folder.
    pub fn clean_stdin(&self, input: &str, args: &[&str], bytes: &[u8]) -> Run {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_listclean"))
            .current_dir(self.dir.path())
            .arg("clean")
            .arg(input)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting listclean");
        let mut stdin = child.stdin.take().expect("its standard input");
        stdin.write_all(bytes).expect("writing to listclean");
        drop(stdin);
        let output = child.wait_with_output().expect("running listclean");
        self.outputs("stdin", output)
    }

    /// A finished run with the outputs named after `stem`.
    fn outputs(&self, stem: &str, output: Output) -> Run {
        let read = |suffix: &str| std::fs::read(self.path(&format!("{stem}.{suffix}"))).ok();
        Run {
            cleaned: read("cleaned.csv"),
            rejected: read("rejected.csv"),
            report: read("report.json")
                .map(|b| serde_json::from_slice(&b).expect("report is JSON")),
            output,
        }
    }

    /// Runs the binary with arbitrary arguments.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_listclean"))
            .current_dir(self.dir.path())
            .args(args)
            .output()
            .expect("running listclean")
    }
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// The cleaned file's rows (UTF-8), header included, as cells.
    pub fn cleaned_rows(&self) -> Vec<Vec<String>> {
        rows(self.cleaned.as_deref().expect("a cleaned file"))
    }

    pub fn rejected_rows(&self) -> Vec<Vec<String>> {
        rows(self.rejected.as_deref().expect("a rejected file"))
    }

    pub fn report(&self) -> &serde_json::Value {
        self.report.as_ref().expect("a report")
    }
}

/// Parses UTF-8 CSV bytes into rows of cells.
pub fn rows(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
        .records()
        .map(|r| {
            r.expect("valid CSV output")
                .iter()
                .map(String::from)
                .collect()
        })
        .collect()
}

/// The value of `column` (by header name) in each data row.
pub fn column(rows: &[Vec<String>], name: &str) -> Vec<String> {
    let index = rows[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    rows[1..]
        .iter()
        .map(|r| r.get(index).cloned().unwrap_or_default())
        .collect()
}

/// Sends SIGTERM to a running child and waits for it to end, at most 10 s: past that, kills
/// it and fails the test, saying what the run was `waiting_for`.
pub fn terminate(mut child: Child, waiting_for: &str) -> Output {
    // SAFETY: signalling our own child, which has not been waited for yet.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the run did not stop on SIGTERM while waiting for {waiting_for}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// The names of the files in the folder other than `keep`.
pub fn files_besides(dir: &Workdir, keep: &str) -> Vec<String> {
    std::fs::read_dir(dir.path(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != keep)
        .collect()
}
