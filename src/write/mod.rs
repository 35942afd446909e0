//! Writing: the sinks that turn decided rows into the cleaned and rejected files.
//!
//! - [`atomic`]: files that appear whole or not at all, replacing an earlier run's set
//!   together.
//! - [`csv`]: the CSV writer, in the input's dialect and encoding.
//! - [`fields`]: CSV fields written in a file's dialect.
//! - `direct`: the cleaned and rejected files, the large ones, written past the page cache
//!   where the system allows it.
//!
//! Every format's writer is an [`Output`]: the command creates one with [`create`] and
//! knows nothing else of its format.

pub mod atomic;
pub mod csv;
mod direct;
pub mod fields;

pub use atomic::{AtomicFile, OutputLock, OutputPaths, Partial, commit_all};
pub use csv::{CsvOutput, OutputFormat};

use crate::error::Error;
use crate::pipeline::Sink;

/// Columns appended to the cleaned file.
pub const CLEANED_COLUMNS: [&str; 3] = ["email_status", "email_flags", "email_suggestion"];
/// Columns appended to the rejected file.
pub const REJECTED_COLUMNS: [&str; 3] = ["reject_reason", "reject_detail", "suggestion"];

/// The writer of a run's cleaned and rejected files, whatever their format: a sink of
/// decided rows that, when the rows are done, hands back its files to be put in place.
pub trait Output: Sink + Send {
    /// Writes what is left and hands back the cleaned and rejected files, not yet in
    /// place: the caller commits them with the report ([`commit_all`]).
    ///
    /// # Errors
    /// A write that failed.
    fn finish(self: Box<Self>) -> Result<[AtomicFile; 2], Error>;

    /// The first character the output encoding could not hold, if any.
    fn unmappable(&self) -> Option<char> {
        None
    }
}

/// Creates the writer of a run's outputs at `paths`; with `partial`, under the fixed names
/// a checkpointed run writes to.
///
/// # Errors
/// A file that cannot be created.
pub fn create(
    paths: &OutputPaths,
    format: OutputFormat,
    partial: Option<&Partial>,
) -> Result<Box<dyn Output>, Error> {
    Ok(Box::new(CsvOutput::create(paths, format, partial)?))
}
