//! `listclean clean`: read a contact list, check every address, write the cleaned file,
//! the rejected file and the report.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use crate::checkpoint::{self, CheckpointPaths, InputIdentity, Journal};
use crate::cleaner::Cleaner;
use crate::config::CleanConfig;
use crate::error::Error;
use crate::pipeline::{Batch, Checkpoints, RunState, Sink};
use crate::policy::{DuplicateSet, suppress};
use crate::read::Source;
use crate::read::{Input, ReadOptions};
use crate::report::{DomainCount, Outputs, Report, Tally, peak_memory_bytes, plural, ratio};
use crate::write::{
    AtomicFile, CLEANED_COLUMNS, OutputFormat, OutputLock, OutputPaths, Partial, REJECTED_COLUMNS,
    commit_all,
};

/// How far a run has come, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub rows: u64,
    pub bytes_read: u64,
    /// The input's size, when it is a file.
    pub total_bytes: Option<u64>,
}

/// Runs `clean` and returns its report (also written to `<stem>.report.json`). Setting
/// `stop` to a non-zero value (the binary stores the signal's number) stops the run: it
/// then ends with [`Error::Interrupted`] and writes no output.
///
/// # Errors
/// Anything that stops the run: see [`Error`]. Rows with problems are not errors; they
/// go to the rejected file.
pub fn run(
    config: &CleanConfig,
    stop: &Arc<AtomicUsize>,
    on_progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Report, Error> {
    let start = Instant::now();
    let options = &config.options;
    if let Input::Path(path) = &config.input
        && !path.exists()
    {
        return Err(Error::InputMissing { path: path.clone() });
    }
    // The outputs are this run's from the start, before the input is read (a pipe may
    // take its time): no other run writes them, work files included, until they are in
    // place.
    let dir = output_dir(config);
    if !dir.as_os_str().is_empty() {
        std::fs::create_dir_all(&dir).map_err(|source| Error::Create {
            path: dir.clone(),
            source,
        })?;
    }
    let _lock = OutputLock::take(&dir, &config.input.stem(), config.wait_lock, stop)
        .map_err(|e| stopped(stop, e))?;
    let source = Source::open_until(&config.input, &options.read, Some(stop))
        .map_err(|e| stopped(stop, e))?;
    let (suppressed, suppression_lists) =
        suppress::load(&config.suppress, &config.input, Some(stop))
            .map_err(|e| stopped(stop, e))?;
    // What the lists hold, not only their names: a list that changed since a checkpoint
    // (the day's unsubscribes added) must not be resumed with.
    let suppressed_digest = suppressed
        .iter()
        .fold(suppressed.len() as u128, |digest, key| digest ^ key);
    let cleaner = Cleaner::new(options.clone(), suppressed)?;
    let paths = OutputPaths::new(&dir, &config.input.stem());
    paths.remove_stale_temporaries();
    checkpoint::remove_abandoned(&dir, &config.input.stem());
    let checkpoint_files = CheckpointPaths::new(&dir, &config.input.stem());
    let (checkpoint, afresh) = checkpoint_state(config, suppressed_digest, &checkpoint_files)?;
    let output_encoding = config.output_encoding.unwrap_or(source.encoding);
    let format = OutputFormat {
        dialect: source.dialect,
        encoding: output_encoding,
        header: source.header.clone(),
        names: source.names.clone(),
        width: source.width,
        replaced: earlier_run_columns(&source),
        email_columns: source.email_columns.clone(),
        lang: config.lang,
        formula_guard: config.formula_guard,
    };
    let partial = checkpoint.as_ref().map(|(_, state)| Partial {
        cleaned: checkpoint_files.cleaned.clone(),
        rejected: checkpoint_files.rejected.clone(),
        marks: (state.rows > 0).then_some((state.cleaned, state.rejected)),
    });
    let mut output = crate::write::create(&paths, format, partial.as_ref())?;
    let capacity = source.estimated_rows().unwrap_or(0).min(1 << 28) as usize;
    let (run_state, mut tally) = start_state(checkpoint, &checkpoint_files, capacity)?;
    let mut progress = ProgressSink {
        rows: 0,
        bytes: source.bytes_read(),
        total: match &config.input {
            Input::Path(path) => std::fs::metadata(path).ok().map(|m| m.len()),
            Input::Stdin => None,
        },
        on_progress,
    };
    let (input_encoding, dialect, has_header, encoding_from_ascii) = (
        source.encoding,
        source.dialect,
        source.header.is_some(),
        source.encoding_from_ascii,
    );
    let column_names: Vec<String> = source
        .email_columns
        .iter()
        .map(|&c| source.names[c].clone())
        .collect();
    let late_header = source.late_header.clone();
    let utf8_without_bom = config.output_encoding.unwrap_or(source.encoding)
        == crate::read::encoding::Encoding::Utf8
        && source.header.is_some()
        && source.names.iter().any(|name| !name.is_ascii());
    // With DNS, a second reader runs ahead to submit domains early (files only: standard
    // input cannot be read twice). If it cannot open, the run only loses that head start.
    // It is told the encoding found, rather than scanning a long ASCII start again.
    let prefetch = match (&options.dns, &config.input) {
        (Some(_), input) if input.can_read_twice() => {
            let read = ReadOptions {
                encoding: Some(input_encoding),
                ..options.read.clone()
            };
            Source::open(&config.input, &read).ok()
        }
        _ => None,
    };
    let mut sinks: [&mut (dyn Sink + Send); 3] = [output.as_mut(), &mut tally, &mut progress];
    let rows_in = cleaner
        .run(source, prefetch, run_state, &mut sinks, stop)
        .map_err(|e| stopped(stop, e))?;
    let unique_domains = cleaner.unique_domains();
    // Name servers that never answer stop the run (exit 75) before any output is in place.
    let dns = cleaner.finish()?;
    if rows_in != tally.cleaned + tally.rejected || rows_in != tally.rows {
        return Err(Error::Conservation {
            rows_in,
            cleaned: tally.cleaned,
            rejected: tally.rejected,
        });
    }
    let unmappable = output.unmappable();
    let [cleaned, rejected] = output.finish()?;

    let elapsed = start.elapsed().as_secs_f64();
    let (status, flags) = Report::counts(&tally);
    let removed_addresses = tally.removed_by_column(&column_names);
    let mut report = Report {
        input: config.input.describe(),
        encoding: input_encoding.name(),
        output_encoding: output_encoding.name(),
        delimiter: (dialect.delimiter as char).to_string(),
        header: has_header,
        email_columns: column_names,
        rows_in,
        rows_cleaned: tally.cleaned,
        rows_rejected: tally.rejected,
        conservation_ok: true,
        status,
        flags,
        reasons: tally.reasons.clone(),
        removed_addresses,
        unique_domains,
        elapsed_seconds: elapsed,
        rows_per_second: rows_in as f64 / elapsed.max(1e-9),
        peak_memory_bytes: peak_memory_bytes(),
        rejected_share: ratio(tally.rejected, rows_in),
        estimated_bounce_rate: tally.estimated_bounce_rate(),
        warnings: Vec::new(),
        suppression_lists,
        top_rejected_domains: tally
            .worst_domains(10)
            .into_iter()
            .map(|(domain, rows)| DomainCount { domain, rows })
            .collect(),
        dns,
        outputs: Outputs {
            cleaned: paths.cleaned.display().to_string(),
            rejected: paths.rejected.display().to_string(),
            report: paths.report.display().to_string(),
        },
    };
    report.warnings = warnings(
        &report,
        &Unusual {
            encoding_from_ascii,
            unread_dates: tally.unread_dates,
            unmappable,
            late_header,
            afresh,
            utf8_without_bom,
        },
    );
    let mut file = AtomicFile::create(&paths.report)?;
    let json = serde_json::to_vec_pretty(&report).map_err(|e| Error::Internal(e.to_string()))?;
    file.write_all(&json)?;
    file.write_all(b"\n")?;
    // The three files replace an earlier run's together, or not at all.
    commit_all([cleaned, rejected, file])?;
    if config.checkpoint_every.is_some() {
        checkpoint_files.remove();
    }
    Ok(report)
}

/// The error a run ends with: an interruption when a signal stopped it, whatever the read
/// that noticed it said.
fn stopped(stop: &AtomicUsize, error: Error) -> Error {
    match stop.load(Ordering::Relaxed) {
        0 => error,
        signal => Error::Interrupted { signal },
    }
}

/// What the run noticed that the report's counts do not show.
struct Unusual {
    /// `--resume` found work files but no checkpoint (the run was stopped before its
    /// first): it started afresh.
    afresh: bool,
    /// The input's encoding was guessed from a first part that was all ASCII (standard
    /// input), so any encoding error may mean the guess was wrong.
    encoding_from_ascii: bool,
    /// Last-contact cells that are not a date we read.
    unread_dates: u64,
    /// The first character the output encoding could not hold.
    unmappable: Option<char>,
    /// A row that looks like the header, below rows read as data (a title).
    late_header: Option<(u64, String)>,
    /// The outputs are UTF-8 without a BOM and the header is not plain ASCII (Japanese,
    /// say): Excel on Windows would read them as CP932.
    utf8_without_bom: bool,
}

/// The report's warnings, the DNS stage's among them.
fn warnings(report: &Report, unusual: &Unusual) -> Vec<String> {
    let mut warnings = Vec::new();
    if report.rows_in == 0 {
        warnings.push("the input has a header but no rows: the outputs hold only headers".into());
    }
    if report.estimated_bounce_rate > crate::report::BOUNCE_RATE_LIMIT {
        warnings.push(format!(
            "{:.1}% of the input's addresses would bounce, over the {:.0}% at which mailbox providers \
             warn and block senders: send only to the cleaned file",
            report.estimated_bounce_rate * 100.0,
            crate::report::BOUNCE_RATE_LIMIT * 100.0
        ));
    }
    let encoding_errors = report.reasons.get("encoding_error").copied().unwrap_or(0);
    if unusual.encoding_from_ascii && encoding_errors > 0 {
        warnings.push(format!(
            "{} bytes invalid in {}, which was only a guess: the first {} MiB of standard \
             input were plain ASCII; if the input is in another encoding (cp932 from Excel on \
             Japanese Windows, say), give it with --input-encoding",
            plural(encoding_errors, "row has", "rows have"),
            report.encoding,
            crate::read::DETECT_BYTES >> 20
        ));
    } else if encoding_errors * 20 > report.rows_in && encoding_errors > 0 {
        warnings.push(format!(
            "{} bytes invalid in {}: if the file is in another encoding, give it with \
             --input-encoding",
            plural(encoding_errors, "row has", "rows have"),
            report.encoding
        ));
    }
    if unusual.utf8_without_bom {
        warnings.push(
            "the outputs are UTF-8 without a BOM, which Excel on Windows opens as CP932 \
             (garbled text): give --output-encoding utf-8-bom (or cp932) for a file to open in \
             Excel"
                .into(),
        );
    }
    if unusual.afresh {
        warnings.push(
            "--resume found no checkpoint (the earlier run was stopped before its first): the \
             run started afresh"
                .into(),
        );
    }
    if let Some((row, name)) = &unusual.late_header {
        warnings.push(format!(
            "row {row} looks like the header ({name:?} names an email column), but the file was \
             read as having none: if the rows above it are a title or notes, delete them and run \
             again (they and the header row were rejected)"
        ));
    }
    if unusual.unread_dates > 0 {
        warnings.push(format!(
            "{} listclean reads (it reads 2026-03-12, 2026/3/12, 2026年3月12日, 令和8年3月12日, \
             not 03/12/2026): those rows were not judged stale",
            plural(
                unusual.unread_dates,
                "last-contact cell is not a date",
                "last-contact cells are not dates"
            )
        ));
    }
    if let Some(c) = unusual.unmappable {
        warnings.push(format!(
            "{} cannot hold some characters, such as {c:?} (U+{:04X}): they were written as HTML \
             references like &#{};, so nothing is lost; give --output-encoding utf-8-bom to write \
             every character as it is",
            report.output_encoding,
            u32::from(c),
            u32::from(c)
        ));
    }
    for list in &report.suppression_lists {
        if let Some(first) = &list.first_unread {
            warnings.push(format!(
                "the suppression list {} has {} where no address could be read (the first: \
                 {first}): they suppress nothing; check them",
                list.file,
                plural(list.unread_lines, "line", "lines")
            ));
        }
    }
    if let Some(dns) = &report.dns {
        warnings.extend(dns.warnings.iter().cloned());
    }
    warnings
}

/// The checkpoint a run starts from: a fresh one with `--checkpoint`, the last one saved
/// with `--resume`, none otherwise (or for standard input, which cannot be read again).
fn checkpoint_state(
    config: &CleanConfig,
    suppressed_digest: u128,
    files: &CheckpointPaths,
) -> Result<(Option<(u64, checkpoint::State)>, bool), Error> {
    let (Some(every), Input::Path(path)) = (config.checkpoint_every, &config.input) else {
        return Ok((None, false));
    };
    let identity = InputIdentity::of(path)?;
    let fingerprint = fingerprint(config, suppressed_digest);
    // Work files without a checkpoint: a run stopped before its first, with nothing to
    // resume from but nothing wrong either.
    let afresh = config.resume && !files.state.exists() && files.any_work_file();
    let state = if config.resume && !afresh {
        checkpoint::State::load(files, &identity, fingerprint)?
    } else {
        files.remove();
        checkpoint::State::new(identity, fingerprint)
    };
    Ok((Some((every.max(1), state)), afresh))
}

/// Where the pipeline starts: with a checkpoint, from its duplicate journal, its counters
/// (when resuming) and its row count; otherwise from nothing.
fn start_state(
    checkpoint: Option<(u64, checkpoint::State)>,
    files: &CheckpointPaths,
    capacity: usize,
) -> Result<(RunState, Tally), Error> {
    let Some((every, state)) = checkpoint else {
        let duplicates = DuplicateSet::with_capacity(capacity);
        return Ok((
            RunState {
                duplicates,
                skip: 0,
                checkpoints: None,
            },
            Tally::default(),
        ));
    };
    let resume = (state.rows > 0).then_some((state.journal_entries, state.journal));
    let (journal, duplicates) = Journal::open(&files.journal, resume, capacity)?;
    let tally = if state.rows > 0 {
        serde_json::from_value(state.tally.clone()).map_err(|e| Error::Resume {
            path: files.state.clone(),
            why: format!("its counts are damaged: {e}"),
        })?
    } else {
        Tally::default()
    };
    let skip = state.rows;
    let checkpoints = Checkpoints {
        every,
        next: skip + every,
        state,
        paths: files.clone(),
        journal,
    };
    Ok((
        RunState {
            duplicates,
            skip,
            checkpoints: Some(checkpoints),
        },
        tally,
    ))
}

/// A hash of the options that shape the outputs, and of the suppression lists' contents
/// (what they hold, whatever their names or order), so that a checkpoint is only resumed by
/// a run that would have written the same files.
fn fingerprint(config: &CleanConfig, suppressed_digest: u128) -> u64 {
    let shaping = format!(
        "{:?} {:?} {suppressed_digest:x} {:?} {} {} {:?} {} {:?}",
        config.options.read,
        config.output_encoding,
        config.lang,
        config.options.keep_legacy_carrier,
        config.options.reject_role,
        // The period, not the day it counts back from: a resume after midnight is the same run.
        config.options.stale_after.map(|(period, _)| period),
        config.formula_guard,
        config.options.dns
    );
    xxhash_rust::xxh3::xxh3_64(shaping.as_bytes())
}

fn output_dir(config: &CleanConfig) -> PathBuf {
    match (&config.output_dir, &config.input) {
        (Some(dir), _) => dir.clone(),
        (None, input) if input.is_descriptor() => PathBuf::new(),
        (None, Input::Path(path)) => path.parent().map(Path::to_path_buf).unwrap_or_default(),
        (None, Input::Stdin) => PathBuf::new(),
    }
}

/// How many of the input's last columns an earlier run appended (a cleaned or rejected
/// file cleaned again, say with DNS after a run without): 3 when the header ends with
/// one of the sets of names this tool appends and no email column is among them, else 0.
fn earlier_run_columns(source: &Source) -> usize {
    let n = CLEANED_COLUMNS.len();
    let Some(start) = source.names.len().checked_sub(n) else {
        return 0;
    };
    let tail: Vec<&str> = source.names[start..].iter().map(|s| s.trim()).collect();
    let ours = source.header.is_some()
        && (tail == CLEANED_COLUMNS || tail == REJECTED_COLUMNS)
        && source.email_columns.iter().all(|&col| col < start);
    if ours { n } else { 0 }
}

/// Hands the progress callback the rows done and bytes read after each batch.
struct ProgressSink<'a> {
    rows: u64,
    bytes: Arc<AtomicU64>,
    total: Option<u64>,
    on_progress: &'a mut (dyn FnMut(Progress) + Send),
}

impl Sink for ProgressSink<'_> {
    fn batch(&mut self, batch: &Batch) -> Result<(), Error> {
        self.rows += batch.len() as u64;
        (self.on_progress)(Progress {
            rows: self.rows,
            bytes_read: self.bytes.load(Ordering::Relaxed),
            total_bytes: self.total,
        });
        Ok(())
    }
}
