//! The errors that stop a run, each with the exit code the binary returns for it.
//!
//! A problem with one row is not an error: it is a rejected row ([`crate::verdict`]).

use std::io;
use std::path::PathBuf;

/// Exit codes, after BSD `sysexits.h`, documented in the README.
pub mod exit {
    pub const OK: i32 = 0;
    pub const USAGE: i32 = 64;
    pub const DATA: i32 = 65;
    pub const NO_INPUT: i32 = 66;
    pub const SOFTWARE: i32 = 70;
    pub const CANT_CREATE: i32 = 73;
    pub const IO: i32 = 74;
    pub const TEMP_FAIL: i32 = 75;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: no such file", path.display())]
    InputMissing { path: PathBuf },
    #[error("opening {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("reading {what}")]
    Read {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("{what} is empty: there is nothing to clean")]
    EmptyInput { what: String },
    #[error("{what} is {kind}, not a CSV file: {advice}")]
    NotCsv {
        what: String,
        kind: &'static str,
        advice: &'static str,
    },
    #[error(
        "the first row of {what}, its header, is over the limit of {limit} a row may have, so \
         its columns cannot be found (an Excel export of whole rows has 16,384 cells)"
    )]
    HeaderTooLarge { what: String, limit: String },
    #[error("{what} has a header but no rows, and no column of the header names an email column")]
    HeaderOnly { what: String },
    #[error("no email column found in {what} (columns: {columns})")]
    NoEmailColumn { what: String, columns: String },
    #[error(
        "no column of addresses found (columns: {columns}); give a CSV with an email column, or \
         one address per line"
    )]
    NoSuppressColumn { columns: String },
    #[error("{role} {spec:?}: no such column in {what} (columns: {columns})")]
    NoSuchColumn {
        /// Which column was asked for: `email column`, `last-contact column`.
        role: &'static str,
        spec: String,
        what: String,
        columns: String,
    },
    #[error("{found} email columns: at most {most} are supported")]
    TooManyEmailColumns { found: usize, most: usize },
    #[error(
        "the DNS cache {} exists and is not a DNS cache (not a redb file); it was left \
         untouched",
        path.display()
    )]
    NotACache { path: std::path::PathBuf },
    #[error(
        "{role} {spec:?}: several columns have that name (columns {numbers}); give the \
         number of the one to use"
    )]
    AmbiguousColumn {
        role: &'static str,
        spec: String,
        numbers: String,
    },
    #[error(
        "a quote opened on line {line} of {what} is never closed, so everything after it would \
         be read as one cell; close or remove that quote and run again"
    )]
    UnterminatedQuote { what: String, line: u64 },
    #[error(
        "the suppression list {} is the input itself, so every row would be suppressed",
        path.display()
    )]
    SuppressIsInput { path: PathBuf },
    #[error("reading the suppression list {}", path.display())]
    Suppress {
        path: PathBuf,
        #[source]
        source: Box<Error>,
    },
    #[error("creating {}", path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("writing {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("DNS is unavailable: {detail}")]
    DnsUnavailable { detail: String },
    #[error("starting the DNS stage")]
    DnsSetup {
        #[source]
        source: io::Error,
    },
    #[error(
        "rows were lost: {rows_in} read but {cleaned} cleaned + {rejected} rejected (a bug; please report it)"
    )]
    Conservation {
        rows_in: u64,
        cleaned: u64,
        rejected: u64,
    },
    #[error("cannot resume from {}: {why}", path.display())]
    Resume { path: PathBuf, why: String },
    #[error(
        "another run is writing the outputs {what}.*: its files are left to it, and nothing \
         was written"
    )]
    Busy { what: String },
    #[error("interrupted by signal {signal}: no output was written, earlier outputs are untouched")]
    Interrupted { signal: usize },
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::InputMissing { .. } => exit::NO_INPUT,
            Error::Open { source, .. } if source.kind() == io::ErrorKind::NotFound => {
                exit::NO_INPUT
            }
            Error::Open { .. } | Error::Read { .. } | Error::Write { .. } => exit::IO,
            Error::EmptyInput { .. }
            | Error::NotCsv { .. }
            | Error::HeaderOnly { .. }
            | Error::HeaderTooLarge { .. }
            | Error::NoEmailColumn { .. }
            | Error::NoSuppressColumn { .. }
            | Error::UnterminatedQuote { .. }
            | Error::Resume { .. } => exit::DATA,
            Error::NoSuchColumn { .. }
            | Error::AmbiguousColumn { .. }
            | Error::NotACache { .. }
            | Error::TooManyEmailColumns { .. }
            | Error::SuppressIsInput { .. } => exit::USAGE,
            Error::Suppress { source, .. } => source.exit_code(),
            Error::Create { .. } => exit::CANT_CREATE,
            Error::DnsUnavailable { .. } | Error::Busy { .. } => exit::TEMP_FAIL,
            Error::DnsSetup { .. } | Error::Conservation { .. } | Error::Internal(_) => {
                exit::SOFTWARE
            }
            // The shell convention: 128 + the signal (130 for SIGINT, 143 for SIGTERM).
            Error::Interrupted { signal } => 128 + *signal as i32,
        }
    }
}
