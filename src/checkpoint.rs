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

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::policy::DuplicateSet;

const VERSION: u32 = 2;

/// Where a checkpointed run keeps its state, beside its outputs.
#[derive(Debug, Clone)]
pub struct CheckpointPaths {
    pub state: PathBuf,
    pub journal: PathBuf,
    pub cleaned: PathBuf,
    pub rejected: PathBuf,
}

impl CheckpointPaths {
    pub fn new(dir: &Path, stem: &str) -> CheckpointPaths {
        let hidden = |suffix: &str| dir.join(format!(".{stem}.{suffix}"));
        CheckpointPaths {
            state: hidden("checkpoint.json"),
            journal: hidden("duplicates.partial"),
            cleaned: hidden("cleaned.csv.partial"),
            rejected: hidden("rejected.csv.partial"),
        }
    }

    /// Removes every file of the checkpoint (after a run that finished).
    pub fn remove(&self) {
        for path in [&self.state, &self.journal, &self.cleaned, &self.rejected] {
            let _ = fs::remove_file(path);
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
    pub cleaned_bytes: u64,
    pub rejected_bytes: u64,
    /// Entries in the duplicate journal.
    pub journal_entries: u64,
    /// The report's counts so far, as the counting sink records them: kept as JSON so
    /// that checkpoints need not know what the sinks count.
    pub tally: serde_json::Value,
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
        let json = serde_json::to_vec(self).map_err(|e| Error::Internal(e.to_string()))?;
        let mut file = File::create(&temp).map_err(fail)?;
        file.write_all(&json)
            .and_then(|()| file.sync_all())
            .map_err(fail)?;
        fs::rename(&temp, &paths.state).map_err(fail)
    }

    pub fn new(input: InputIdentity, fingerprint: u64) -> State {
        State {
            version: VERSION,
            input,
            fingerprint,
            rows: 0,
            cleaned_bytes: 0,
            rejected_bytes: 0,
            journal_entries: 0,
            tally: serde_json::Value::Null,
        }
    }
}

/// The append-only record of the addresses kept so far, one 16-byte entry each (the
/// duplicate set's tag and line), from which `--resume` rebuilds the duplicate set.
pub struct Journal {
    file: BufWriter<File>,
    path: PathBuf,
    entries: u64,
}

impl Journal {
    /// Opens the journal, keeping its first `entries` entries (none for a fresh run), and
    /// returns them loaded into a duplicate set of room for `capacity` addresses.
    ///
    /// # Errors
    /// [`Error::Create`], or [`Error::Resume`] when it is shorter than the checkpoint says.
    pub fn open(
        path: &Path,
        entries: u64,
        capacity: usize,
    ) -> Result<(Journal, DuplicateSet), Error> {
        let fail = |source| Error::Create {
            path: path.to_owned(),
            source,
        };
        let mut duplicates = DuplicateSet::with_capacity(capacity);
        if entries > 0 {
            let bytes = fs::read(path).map_err(fail)?;
            let wanted = entries as usize * 16;
            if bytes.len() < wanted {
                return Err(Error::Resume {
                    path: path.to_owned(),
                    why: "the duplicate journal is cut short".into(),
                });
            }
            for entry in bytes[..wanted].chunks_exact(16) {
                let mut raw = [0u8; 16];
                raw.copy_from_slice(entry);
                // Entries were unique when journaled; one seen again would only repeat itself.
                let _ = duplicates.insert_entry(u128::from_le_bytes(raw));
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(path)
            .map_err(fail)?;
        file.set_len(entries * 16).map_err(fail)?;
        let mut file = BufWriter::new(file);
        io::Seek::seek(&mut file, io::SeekFrom::End(0)).map_err(fail)?;
        Ok((
            Journal {
                file,
                path: path.to_owned(),
                entries,
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
        self.file
            .write_all(&entry.to_le_bytes())
            .map_err(|source| Error::Write {
                path: self.path.clone(),
                source,
            })
    }

    /// Makes every appended entry durable; returns how many there are.
    ///
    /// # Errors
    /// [`Error::Write`].
    pub fn sync(&mut self) -> Result<u64, Error> {
        let fail = |source| Error::Write {
            path: self.path.clone(),
            source,
        };
        self.file.flush().map_err(fail)?;
        self.file.get_ref().sync_data().map_err(fail)?;
        Ok(self.entries)
    }
}
