//! Files that appear whole or not at all: every output is written under a temporary name
//! beside its final one, and renamed into place only after an fsync ([`commit_all`]), so a
//! failed or interrupted run never leaves a half-written file under a final name.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use super::direct;
use crate::checkpoint::{Mark, open_work_file};
use crate::error::Error;
use crate::sys::file::start_writeback;

/// The fixed names a checkpointed run writes its outputs under, and for `--resume` the
/// marks the checkpoint recorded of them: what they must hold, and where to cut them back.
#[derive(Debug, Clone)]
pub struct Partial {
    pub cleaned: PathBuf,
    pub rejected: PathBuf,
    pub marks: Option<(Mark, Mark)>,
}

/// The paths of a run's outputs.
#[derive(Debug, Clone)]
pub struct OutputPaths {
    pub cleaned: PathBuf,
    pub rejected: PathBuf,
    pub report: PathBuf,
}

/// The folder of an output's temporary file, and how its hidden name starts
/// (`.<name>.`); a random part and [`TEMPORARY_SUFFIX`] follow.
fn temporary_place(path: &Path) -> (&Path, String) {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    (dir, format!(".{name}."))
}

const TEMPORARY_SUFFIX: &str = ".tmp";

impl OutputPaths {
    pub fn new(dir: &Path, stem: &std::ffi::OsStr) -> OutputPaths {
        let named = |suffix| dir.join(crate::sys::file::name("", stem, suffix));
        OutputPaths {
            cleaned: named(".cleaned.csv"),
            rejected: named(".rejected.csv"),
            report: named(".report.json"),
        }
    }

    /// Removes the temporary files of these outputs that a run killed with `kill -9` (which
    /// cannot clean up after itself) left behind: the hidden `.<name>.*.tmp` beside each,
    /// not written for an hour. Best effort: what cannot be removed stays.
    pub fn remove_stale_temporaries(&self) {
        for path in [&self.cleaned, &self.rejected, &self.report] {
            crate::sys::file::remove_left_temporaries(path);
        }
    }
}

/// Times the lock file may change under a run taking it before it gives up (waiting for
/// another run to let go of it has no such bound).
const MAX_LOCK_TRIES: usize = 100;

/// The lock a run holds on its set of outputs (`<stem>.*` in one folder) while it writes
/// them, so that two runs never write the same files, work files included: a hidden
/// `.<stem>.lock` beside them, locked with `flock`, and removed by its holder when the run
/// ends. A run that locks the file checks that it is still the one under that name (not
/// one an ending run just removed), else it starts over.
#[derive(Debug)]
pub struct OutputLock {
    file: File,
    path: PathBuf,
}

impl OutputLock {
    /// Takes the lock on the outputs named `stem` in `dir`. When another run holds it:
    /// with `wait`, waits for it (looking at `stop` every 100 ms: a non-zero value gives
    /// up); without, fails at once.
    ///
    /// # Errors
    /// [`Error::Busy`] when another run holds the lock and `wait` is false;
    /// [`Error::Interrupted`] when `stop` is set while waiting; [`Error::Create`] when the
    /// lock file cannot be opened.
    pub fn take(
        dir: &Path,
        stem: &std::ffi::OsStr,
        wait: bool,
        stop: &std::sync::atomic::AtomicUsize,
    ) -> Result<OutputLock, Error> {
        let path = dir.join(crate::sys::file::name(".", stem, ".lock"));
        let fail = |source| Error::Create {
            path: path.clone(),
            source,
        };
        let mut changed = 0;
        while changed < MAX_LOCK_TRIES {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(fail)?;
            match file.try_lock() {
                Ok(()) if same_file(&file, &path) => return Ok(OutputLock { file, path }),
                // The run that held it removed it meanwhile: lock the one there now.
                Ok(()) => changed += 1,
                Err(std::fs::TryLockError::WouldBlock) if wait => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::Busy {
                        what: dir.join(stem).display().to_string(),
                    });
                }
                Err(std::fs::TryLockError::Error(source)) => return Err(fail(source)),
            }
            match stop.load(std::sync::atomic::Ordering::Relaxed) {
                0 => std::thread::sleep(std::time::Duration::from_millis(100)),
                signal => return Err(Error::Interrupted { signal }),
            }
        }
        // The lock file kept changing under us, which no run does: a file system whose
        // files cannot be told apart.
        Err(fail(std::io::Error::other(
            "the lock file keeps changing; cannot tell whether another run holds it",
        )))
    }
}

impl Drop for OutputLock {
    /// Removes the lock file while still holding it; the lock goes with the descriptor.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// Whether `file` is the file `path` names now.
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

/// A file written under a temporary name beside its final one, and renamed into place
/// by [`commit_all`]. Dropped uncommitted, the temporary file is removed.
pub struct AtomicFile {
    temp: Temp,
    path: PathBuf,
    /// Bytes written so far.
    written: u64,
    /// Bytes the system was asked to start writing to disk.
    handed: u64,
    /// The buffer of direct writes, for a large file written past the page cache.
    staged: Option<direct::Staged>,
    /// For a resumable file: the hash of every byte written, and which file it is, for a
    /// checkpoint's [`Mark`].
    marked: Option<Box<(xxhash_rust::xxh3::Xxh3, (u64, u64))>>,
}

/// Every so many bytes, the system is asked to start writing them to disk while the run
/// goes on, so that the fsync at the end finds little left to wait for.
const HAND_TO_DISK_EVERY: u64 = 8 << 20;

enum Temp {
    /// A temporary file with a random name, removed if the run does not finish.
    Random(NamedTempFile),
    /// A partial file with a fixed name that outlives a failed run, for `--resume`.
    Kept { file: File, path: PathBuf },
}

impl AtomicFile {
    /// # Errors
    /// [`Error::Create`] when the temporary file cannot be created.
    pub fn create(path: &Path) -> Result<AtomicFile, Error> {
        let (dir, prefix) = temporary_place(path);
        let temp = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(TEMPORARY_SUFFIX)
            .permissions(output_permissions())
            .tempfile_in(dir)
            .map_err(|source| Error::Create {
                path: path.to_owned(),
                source,
            })?;
        Ok(AtomicFile {
            temp: Temp::Random(temp),
            path: path.to_owned(),
            written: 0,
            handed: 0,
            staged: None,
            marked: None,
        })
    }

    /// Writes the file past the system's page cache where the system allows it, for a
    /// large output the run does not read back (see `direct`).
    #[must_use]
    pub fn past_page_cache(mut self) -> AtomicFile {
        self.staged = direct::Staged::start(self.file());
        self
    }

    /// A file written under the fixed name `partial`, which stays if the run fails so that
    /// `--resume` can go on with it. With `keep`, the existing partial file must be the one
    /// the checkpoint marked, with its bytes: it is cut back to the mark and written after;
    /// without, it is started afresh (whatever was under its name, a link included, goes).
    ///
    /// # Errors
    /// [`Error::Create`], or [`Error::Resume`] when the partial file is not as the
    /// checkpoint left it (another file or a link in its place, cut short, other bytes).
    pub fn resumable(path: &Path, partial: &Path, keep: Option<Mark>) -> Result<AtomicFile, Error> {
        let fail = |source| Error::Create {
            path: partial.to_owned(),
            source,
        };
        let (file, hasher) = open_work_file(partial, keep, "the partial output")?;
        let written = keep.map_or(0, |mark| mark.len);
        #[cfg(unix)]
        file.set_permissions(output_permissions()).map_err(fail)?;
        let id = crate::checkpoint::file_id(&file.metadata().map_err(fail)?);
        Ok(AtomicFile {
            temp: Temp::Kept {
                file,
                path: partial.to_owned(),
            },
            path: path.to_owned(),
            written,
            handed: written,
            staged: None,
            marked: Some(Box::new((hasher, id))),
        })
    }

    fn file(&mut self) -> &mut File {
        self.temp.file()
    }

    fn failed(&self, source: std::io::Error) -> Error {
        Error::Write {
            path: self.path.clone(),
            source,
        }
    }

    /// # Errors
    /// [`Error::Write`].
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.written += bytes.len() as u64;
        if let Some(marked) = &mut self.marked {
            marked.0.update(bytes);
        }
        if let Some(staged) = &mut self.staged {
            return staged
                .write(self.temp.file(), bytes)
                .map_err(|e| self.failed(e));
        }
        self.file().write_all(bytes).map_err(|e| self.failed(e))?;
        if self.written - self.handed >= HAND_TO_DISK_EVERY {
            let (from, to) = (self.handed, self.written);
            start_writeback(self.file(), from, to - from);
            self.handed = to;
        }
        Ok(())
    }

    /// Makes what was written durable; returns its mark for a checkpoint (its hash only
    /// for a file made [resumable](AtomicFile::resumable)).
    ///
    /// # Errors
    /// [`Error::Write`].
    pub fn sync(&mut self) -> Result<Mark, Error> {
        self.finish_staged()?;
        self.file().sync_data().map_err(|e| self.failed(e))?;
        let (hash, file) = self
            .marked
            .as_ref()
            .map_or((0, (0, 0)), |marked| (marked.0.digest(), marked.1));
        Ok(Mark {
            len: self.written,
            hash,
            file,
        })
    }

    /// Writes out what direct writes left in their buffer; the file is written as usual
    /// from then on.
    fn finish_staged(&mut self) -> Result<(), Error> {
        if let Some(mut staged) = self.staged.take() {
            staged
                .finish(self.temp.file())
                .map_err(|e| self.failed(e))?;
        }
        Ok(())
    }

    /// Makes the data durable and checks that the final name can be taken (no folder has
    /// it), so that only the rename is left to do.
    fn seal(&mut self) -> Result<(), Error> {
        self.finish_staged()?;
        self.file().sync_all().map_err(|e| self.failed(e))?;
        // What is published is what this run wrote: a file whose size is not that was
        // written by someone else meanwhile, and is not put in place.
        let on_disk = self.file().metadata().map_err(|e| self.failed(e))?.len();
        if on_disk != self.written {
            return Err(Error::Write {
                path: self.path.clone(),
                source: std::io::Error::other(format!(
                    "{on_disk} bytes on disk where this run wrote {}: the file was changed \
                     by someone else meanwhile",
                    self.written
                )),
            });
        }
        if self.path.is_dir() {
            return Err(Error::Write {
                path: self.path.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::IsADirectory,
                    "a folder has that name",
                ),
            });
        }
        Ok(())
    }

    fn rename(self) -> Result<(), Error> {
        let path = self.path;
        let fail = |source| Error::Write {
            path: path.clone(),
            source,
        };
        match self.temp {
            Temp::Random(temp) => temp.persist(&path).map(drop).map_err(|e| fail(e.error))?,
            Temp::Kept { path: partial, .. } => std::fs::rename(&partial, &path).map_err(fail)?,
        }
        sync_dir(&path);
        Ok(())
    }
}

impl Temp {
    fn file(&mut self) -> &mut File {
        match self {
            Temp::Random(temp) => temp.as_file_mut(),
            Temp::Kept { file, .. } => file,
        }
    }
}

/// Puts a set of files in place together: every one is synced and checked first, and only
/// then are they renamed, so that a failure (a full disk, a folder where a file should go)
/// leaves the earlier set whole instead of half replaced.
///
/// # Errors
/// [`Error::Write`] when a file cannot be synced or renamed; before any rename, when it is
/// a sync or the check that fails.
pub fn commit_all<const N: usize>(mut files: [AtomicFile; N]) -> Result<(), Error> {
    for file in &mut files {
        file.seal()?;
    }
    for file in files {
        file.rename()?;
    }
    Ok(())
}

/// Outputs are ordinary files, readable by others like any file the user creates (the
/// temporary-file default, owner only, would surprise an import job run as another user).
#[cfg(unix)]
fn output_permissions() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o644)
}

/// Syncs the folder so the rename itself survives a crash. Best effort: not every file
/// system lets a folder be opened for that.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = File::open(dir)
    {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file someone else wrote into while the run wrote it is not put in place, and the
    /// earlier file under its name stays.
    #[test]
    fn a_file_changed_by_another_writer_is_not_published() {
        let dir = tempfile::tempdir().expect("a folder");
        let path = dir.path().join("list.cleaned.csv");
        std::fs::write(&path, "earlier\n").expect("an earlier output");
        let mut file = AtomicFile::create(&path).expect("created");
        file.write_all(b"id,email\n1,a@acme.jp\n").expect("written");
        let temp = match &file.temp {
            Temp::Random(temp) => temp.path().to_owned(),
            Temp::Kept { path, .. } => path.clone(),
        };
        std::fs::OpenOptions::new()
            .append(true)
            .open(&temp)
            .and_then(|mut other| other.write_all(b"2,someone-else@acme.jp\n"))
            .expect("another writer");
        let error = commit_all([file]).expect_err("refused");
        assert!(error.to_string().contains("list.cleaned.csv"), "{error}");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "earlier\n");
    }
}
