//! The validated configuration of the `clean` command. The binary builds it from the
//! command line; the library never reads arguments or environment variables.

use std::path::PathBuf;

use crate::cleaner::CleanOptions;
use crate::messages::Lang;
use crate::read::Input;
use crate::read::encoding::Encoding;

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
    /// When another run is writing the same outputs, wait for it instead of failing.
    pub wait_lock: bool,
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
            wait_lock: false,
        }
    }
}
