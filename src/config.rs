//! The validated configuration of a run. The binary builds it from the command line; the
//! library never reads arguments or environment variables.

use std::path::PathBuf;

use crate::cleaner::CleanOptions;
use crate::messages::Lang;
use crate::read::encoding::Encoding;

/// Where the contacts come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    Path(PathBuf),
}

impl Input {
    /// A name for messages.
    pub fn describe(&self) -> String {
        match self {
            Input::Stdin => "standard input".into(),
            Input::Path(path) => path.display().to_string(),
        }
    }

    /// The stem output files are named after: `contacts.csv` → `contacts`.
    pub fn stem(&self) -> String {
        match self {
            Input::Stdin => "stdin".into(),
            _ if self.is_descriptor() => "stdin".into(),
            Input::Path(path) => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "output".into()),
        }
    }
}

impl Input {
    /// Whether the input can be read a second time: a regular file. Standard input and a
    /// pipe given by name (`<(zcat list.csv.gz)`, a FIFO) cannot; a second reader would
    /// take rows from the first.
    pub fn can_read_twice(&self) -> bool {
        matches!(self, Input::Path(path) if std::fs::metadata(path).is_ok_and(|m| m.is_file()))
    }

    /// Whether the input is a pipe or descriptor given by a system name
    /// (`<(zcat list.csv.gz)` is `/dev/fd/63`; `/dev/stdin`): its name means nothing to the
    /// user and its folder is no place for outputs, so both are those of standard input.
    pub fn is_descriptor(&self) -> bool {
        !self.can_read_twice()
            && matches!(self, Input::Path(path) if path.starts_with("/dev") || path.starts_with("/proc"))
    }
}

/// How to read the input. Every `None` means "detect it".
#[derive(Debug, Clone)]
pub struct ReadOptions {
    pub encoding: Option<Encoding>,
    pub delimiter: Option<u8>,
    pub no_header: bool,
    /// `--email-column` values: header names or 1-based numbers.
    pub email_columns: Vec<String>,
    /// `--last-contact-column`.
    pub last_contact_column: Option<String>,
    /// A row longer than this is rejected as malformed instead of being held in memory.
    pub max_record_bytes: usize,
}

impl Default for ReadOptions {
    fn default() -> ReadOptions {
        ReadOptions {
            encoding: None,
            delimiter: None,
            no_header: false,
            email_columns: Vec::new(),
            last_contact_column: None,
            max_record_bytes: 1 << 20,
        }
    }
}

/// Everything the `clean` command needs: where the contacts come from and where the
/// outputs go, around the options that judge the rows.
#[derive(Debug, Clone)]
pub struct CleanConfig {
    pub input: Input,
    /// Where outputs go; `None` is the input's folder (the current folder for stdin).
    pub output_dir: Option<PathBuf>,
    /// How rows are judged.
    pub options: CleanOptions,
    /// `None` keeps the input's encoding.
    pub output_encoding: Option<Encoding>,
    /// Files of addresses never to send to.
    pub suppress: Vec<PathBuf>,
    /// The language of `reject_detail` and the summary.
    pub lang: Lang,
    /// Prefix spreadsheet-formula cells with `'` in the outputs.
    pub formula_guard: bool,
    /// Write a checkpoint every this many rows (`--checkpoint`), so that `--resume` can
    /// continue after a crash.
    pub checkpoint_every: Option<u64>,
    /// Continue from the last checkpoint instead of starting over.
    pub resume: bool,
}

impl CleanConfig {
    /// A configuration with every default, reading `input` and skipping DNS.
    pub fn new(input: Input) -> CleanConfig {
        CleanConfig {
            input,
            output_dir: None,
            options: CleanOptions::default(),
            output_encoding: None,
            suppress: Vec::new(),
            lang: Lang::En,
            formula_guard: true,
            checkpoint_every: None,
            resume: false,
        }
    }
}
