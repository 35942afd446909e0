//! Checkpoints: what a long run records so that, after a crash or a `kill -9`, `--resume`
//! continues where it stopped and the final outputs are byte for byte those of a run that
//! was never interrupted.
//!
//! A checkpoint is written atomically every so many rows, only after everything it counts
//! is on disk: the outputs written so far (their lengths are recorded, and anything after
//! them is cut off on resume), the journal of addresses kept so far (for the duplicate
//! check), and the report's counters. The input is identified by its size, modification
//! time and a hash of its first MiB, and the run by a fingerprint of the options that shape
//! the outputs; a checkpoint that matches neither is refused.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::policy::DuplicateSet;

const VERSION: u32 = 4;

/// What a checkpoint records of a work file (a partial output, the duplicate journal), so
/// that `--resume` takes it only as it was left: its length at the checkpoint, a hash of
/// its bytes up to there, and which file it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub len: u64,
    /// xxh3 of the first `len` bytes.
    pub hash: u64,
    /// Device and inode: the same file, not one put in its place.
    pub file: (u64, u64),
}

impl Mark {
    /// Checks that `file` is the file marked, with the marked bytes first, and returns the
    /// hash state of those bytes, to go on from.
    ///
    /// # Errors
    /// Why the file is not the one marked, in words for [`Error::Resume`].
    pub fn verify(&self, file: &mut File) -> Result<xxhash_rust::xxh3::Xxh3, String> {
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot look at it: {e}"))?;
        if !meta.is_file() || file_id(&meta) != self.file {
            return Err("it is not the file the checkpoint wrote (replaced since)".into());
        }
        if meta.len() < self.len {
            return Err("it is cut short".into());
        }
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        let mut rest = self.len;
        let mut buf = vec![0; 1 << 20];
        io::Seek::seek(file, io::SeekFrom::Start(0)).map_err(|e| e.to_string())?;
        while rest > 0 {
            let n = rest.min(buf.len() as u64) as usize;
            file.read_exact(&mut buf[..n])
                .map_err(|e| format!("cannot read it: {e}"))?;
            hasher.update(&buf[..n]);
            rest -= n as u64;
        }
        if hasher.digest() != self.hash {
            return Err("its bytes changed since the checkpoint".into());
        }
        Ok(hasher)
    }
}

/// Opens a work file for a run: a new one (`None`), or the one a checkpoint marked, checked
/// against its mark and cut back to it, positioned at its end. `what` names it in a
/// refusal. Returns the file and the hash of its bytes so far, to go on from.
///
/// # Errors
/// [`Error::Create`] when a new one cannot be made; [`Error::Resume`] when the marked one
/// cannot be opened or is not as the checkpoint left it.
pub fn open_work_file(
    path: &Path,
    mark: Option<Mark>,
    what: &str,
) -> Result<(File, xxhash_rust::xxh3::Xxh3), Error> {
    let fail = |source| Error::Create {
        path: path.to_owned(),
        source,
    };
    let refuse = |why: String| Error::Resume {
        path: path.to_owned(),
        why: format!("{what}: {why}"),
    };
    let Some(mark) = mark else {
        let file = crate::sys::file::open_no_follow(path, true).map_err(fail)?;
        return Ok((file, xxhash_rust::xxh3::Xxh3::new()));
    };
    let mut file = crate::sys::file::open_no_follow(path, false)
        .map_err(|e| refuse(format!("cannot open it: {e}")))?;
    let hasher = mark.verify(&mut file).map_err(refuse)?;
    file.set_len(mark.len).map_err(fail)?;
    io::Seek::seek(&mut file, io::SeekFrom::End(0)).map_err(fail)?;
    Ok((file, hasher))
}

/// The device and inode of a file's metadata (zeros where the system has none).
pub fn file_id(meta: &fs::Metadata) -> (u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        (0, 0)
    }
}

/// Where a checkpointed run keeps its state, beside its outputs.
#[derive(Debug, Clone)]
pub struct CheckpointPaths {
    pub state: PathBuf,
    pub journal: PathBuf,
    pub cleaned: PathBuf,
    pub rejected: PathBuf,
}

impl CheckpointPaths {
    pub fn new(dir: &Path, stem: &std::ffi::OsStr) -> CheckpointPaths {
        let hidden = |suffix| dir.join(crate::sys::file::name(".", stem, suffix));
        CheckpointPaths {
            state: hidden(".checkpoint.json"),
            journal: hidden(".duplicates.partial"),
            cleaned: hidden(".cleaned.csv.partial"),
            rejected: hidden(".rejected.csv.partial"),
        }
    }

    /// Whether a work file of a checkpointed run is there (a partial output or the journal).
    pub fn any_work_file(&self) -> bool {
        [&self.journal, &self.cleaned, &self.rejected]
            .iter()
            .any(|path| fs::symlink_metadata(path).is_ok())
    }

    /// Removes every file of the checkpoint (after a run that finished).
    pub fn remove(&self) {
        for path in [&self.state, &self.journal, &self.cleaned, &self.rejected] {
            let _ = fs::remove_file(path);
        }
    }
}

/// The endings of a checkpointed run's work files, after `.<stem>`.
const WORK_FILE_ENDINGS: [&str; 5] = [
    ".cleaned.csv.partial",
    ".rejected.csv.partial",
    ".duplicates.partial",
    ".checkpoint.json",
    ".checkpoint.json.tmp",
];

/// The stem of the run a work file belongs to (`.<stem><ending>`), if it is one.
fn work_file_stem(name: &std::ffi::OsStr) -> Option<&std::ffi::OsStr> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let rest = name.as_bytes().strip_prefix(b".")?;
        WORK_FILE_ENDINGS
            .iter()
            .find_map(|ending| rest.strip_suffix(ending.as_bytes()))
            .map(std::ffi::OsStr::from_bytes)
    }
    #[cfg(not(unix))]
    {
        let rest = name.to_str()?.strip_prefix('.')?;
        WORK_FILE_ENDINGS
            .iter()
            .find_map(|ending| rest.strip_suffix(ending))
            .map(std::ffi::OsStr::new)
    }
}

/// Removes from `dir` the work files of checkpointed runs that were abandoned (killed, and
/// never resumed: often a list named after its day): a run's whole set, when none of them
/// was written for an hour and no run holds its outputs' lock, but never those of the
/// outputs named `stem`, which `--resume` may want. Best effort.
pub fn remove_abandoned(dir: &Path, stem: &std::ffi::OsStr) {
    use crate::sys::file::{ABANDONED_AFTER, unwritten_for};
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    // By the stem of the run that wrote them (its name's bytes, which need not be UTF-8):
    // its files, and whether one is recent.
    let mut runs: std::collections::BTreeMap<std::ffi::OsString, (Vec<PathBuf>, bool)> =
        Default::default();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(their) = work_file_stem(&name) else {
            continue;
        };
        if their == stem || their.is_empty() {
            continue;
        }
        let run = runs.entry(their.to_os_string()).or_default();
        run.0.push(entry.path());
        run.1 |= !unwritten_for(&entry, ABANDONED_AFTER);
    }
    for (their, (files, recent)) in runs {
        // A run that still holds its lock is only slow (a pipe, a pause): its files stay.
        let lock = dir.join(crate::sys::file::name(".", &their, ".lock"));
        let held = File::open(&lock).is_ok_and(|file| file.try_lock().is_err());
        if !recent && !held {
            for file in files {
                let _ = fs::remove_file(file);
            }
        }
    }
}

/// Which input a checkpoint belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputIdentity {
    pub size: u64,
    pub modified_ns: u128,
    /// xxh3 of the first MiB.
    pub head_hash: u64,
}

impl InputIdentity {
    /// # Errors
    /// [`Error::Read`] when the input cannot be examined.
    pub fn of(path: &Path) -> Result<InputIdentity, Error> {
        let fail = |source| Error::Read {
            what: path.display().to_string(),
            source,
        };
        let meta = fs::metadata(path).map_err(fail)?;
        let modified_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let mut head = Vec::with_capacity(1 << 20);
        File::open(path)
            .and_then(|f| f.take(1 << 20).read_to_end(&mut head))
            .map_err(fail)?;
        Ok(InputIdentity {
            size: meta.len(),
            modified_ns,
            head_hash: xxhash_rust::xxh3::xxh3_64(&head),
        })
    }
}

/// What a checkpoint records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    pub input: InputIdentity,
    /// A hash of the options that shape the outputs.
    pub fingerprint: u64,
    /// Rows decided and written.
    pub rows: u64,
    /// The partial cleaned and rejected files.
    pub cleaned: Mark,
    pub rejected: Mark,
    /// Entries in the duplicate journal, and the journal.
    pub journal_entries: u64,
    pub journal: Mark,
    /// The report's counts so far, as the counting sink records them: kept as JSON so
    /// that checkpoints need not know what the sinks count.
    pub tally: serde_json::Value,
    /// A hash of everything above, as written: a checkpoint changed since (by hand, or
    /// damaged yet still JSON) is refused rather than resumed from with rows it does not
    /// hold.
    #[serde(default)]
    pub seal: u64,
}

impl State {
    /// Reads a checkpoint, refusing one of another input or other options.
    ///
    /// # Errors
    /// [`Error::Resume`] saying why the checkpoint cannot be used.
    pub fn load(
        paths: &CheckpointPaths,
        input: &InputIdentity,
        fingerprint: u64,
    ) -> Result<State, Error> {
        let refuse = |why: String| Error::Resume {
            path: paths.state.clone(),
            why,
        };
        let text = fs::read(&paths.state).map_err(|e| refuse(format!("cannot read it: {e}")))?;
        let state: State =
            serde_json::from_slice(&text).map_err(|e| refuse(format!("it is damaged: {e}")))?;
        if state.sealed() != state.seal {
            return Err(refuse("it was changed since it was written".into()));
        }
        if state.version != VERSION {
            return Err(refuse(format!(
                "it is of format {}, not {VERSION}",
                state.version
            )));
        }
        if state.input != *input {
            return Err(refuse(
                "the input file has changed since the checkpoint".into(),
            ));
        }
        if state.fingerprint != fingerprint {
            return Err(refuse(
                "it was made with other options, or suppression lists that have changed since; \
                 run again with the same ones, or start afresh"
                    .into(),
            ));
        }
        Ok(state)
    }

    /// Writes the checkpoint atomically: a temporary file, synced, renamed into place.
    ///
    /// # Errors
    /// [`Error::Write`].
    pub fn save(&self, paths: &CheckpointPaths) -> Result<(), Error> {
        let temp = paths.state.with_extension("json.tmp");
        let fail = |source| Error::Write {
            path: paths.state.clone(),
            source,
        };
        let sealed = State {
            seal: self.sealed(),
            ..self.clone()
        };
        let json = serde_json::to_vec(&sealed).map_err(|e| Error::Internal(e.to_string()))?;
        // A new file, whatever was left under the name (a link is never written through).
        let mut file = crate::sys::file::open_no_follow(&temp, true).map_err(fail)?;
        file.write_all(&json)
            .and_then(|()| file.sync_all())
            .map_err(fail)?;
        fs::rename(&temp, &paths.state).map_err(fail)
    }

    /// The seal of this state: the hash of its JSON without a seal.
    fn sealed(&self) -> u64 {
        let unsealed = State {
            seal: 0,
            ..self.clone()
        };
        serde_json::to_vec(&unsealed).map_or(0, |json| xxhash_rust::xxh3::xxh3_64(&json))
    }

    pub fn new(input: InputIdentity, fingerprint: u64) -> State {
        State {
            version: VERSION,
            input,
            fingerprint,
            rows: 0,
            cleaned: Mark::default(),
            rejected: Mark::default(),
            journal_entries: 0,
            journal: Mark::default(),
            tally: serde_json::Value::Null,
            seal: 0,
        }
    }
}

/// The append-only record of the addresses kept so far, one 16-byte entry each (the
/// duplicate set's tag and line), from which `--resume` rebuilds the duplicate set.
pub struct Journal {
    file: BufWriter<File>,
    path: PathBuf,
    entries: u64,
    /// The hash of every entry written, for the checkpoint's [`Mark`].
    hasher: xxhash_rust::xxh3::Xxh3,
    id: (u64, u64),
}

impl Journal {
    /// Opens the journal: with `resume`, the one a checkpoint marked, keeping its first
    /// `entries` entries; otherwise a new one. Returns it with its entries loaded into a
    /// duplicate set of room for `capacity` addresses.
    ///
    /// # Errors
    /// [`Error::Create`], or [`Error::Resume`] when it is not as the checkpoint left it.
    pub fn open(
        path: &Path,
        resume: Option<(u64, Mark)>,
        capacity: usize,
    ) -> Result<(Journal, DuplicateSet), Error> {
        let fail = |source| Error::Create {
            path: path.to_owned(),
            source,
        };
        let mut duplicates = DuplicateSet::with_capacity(capacity);
        if let Some((entries, mark)) = resume
            && entries.checked_mul(16) != Some(mark.len)
        {
            return Err(Error::Resume {
                path: path.to_owned(),
                why: "the duplicate journal: it does not match the checkpoint".into(),
            });
        }
        let (mut file, hasher) =
            open_work_file(path, resume.map(|(_, mark)| mark), "the duplicate journal")?;
        let entries = resume.map_or(0, |(entries, _)| entries);
        if entries > 0 {
            // A piece at a time: a journal of fifty million addresses is 800 MB.
            io::Seek::seek(&mut file, io::SeekFrom::Start(0)).map_err(fail)?;
            let mut reader = io::BufReader::with_capacity(1 << 20, &mut file);
            let mut raw = [0u8; 16];
            for _ in 0..entries {
                reader.read_exact(&mut raw).map_err(fail)?;
                // Entries were unique when journaled; one seen again would only repeat
                // itself.
                let _ = duplicates.insert_entry(u128::from_le_bytes(raw));
            }
        }
        let id = file_id(&file.metadata().map_err(fail)?);
        Ok((
            Journal {
                file: BufWriter::new(file),
                path: path.to_owned(),
                entries,
                hasher,
                id,
            },
            duplicates,
        ))
    }

    /// Records one kept address (a duplicate-set entry).
    ///
    /// # Errors
    /// [`Error::Write`].
    pub fn append(&mut self, entry: u128) -> Result<(), Error> {
        self.entries += 1;
        self.hasher.update(&entry.to_le_bytes());
        self.file
            .write_all(&entry.to_le_bytes())
            .map_err(|source| Error::Write {
                path: self.path.clone(),
                source,
            })
    }

    /// Makes every appended entry durable; returns how many there are, and the journal's
    /// mark.
    ///
    /// # Errors
    /// [`Error::Write`].
    pub fn sync(&mut self) -> Result<(u64, Mark), Error> {
        let fail = |source| Error::Write {
            path: self.path.clone(),
            source,
        };
        self.file.flush().map_err(fail)?;
        self.file.get_ref().sync_data().map_err(fail)?;
        let mark = Mark {
            len: self.entries * 16,
            hash: self.hasher.digest(),
            file: self.id,
        };
        Ok((self.entries, mark))
    }
}
