//! `listclean clean`: its arguments, the configuration they make, and the progress bar
//! and summary around the library's run.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use listclean::cmd::clean::{self, Progress};
use listclean::config::CleanConfig;
use listclean::policy::stale::Period;
use listclean::read::encoding::Encoding;
use listclean::read::{Input, ReadOptions};

use super::flags::{DisplayArgs, DnsArgs, OutputArgs};
use super::{Failure, Usage};

#[derive(Args)]
pub struct CleanArgs {
    /// The contact list (CSV or TSV), or - for standard input
    input: PathBuf,
    #[command(flatten)]
    output: OutputArgs,
    /// The email column, by header name or 1-based number; repeat for several [default: detected]
    #[arg(long = "email-column", value_name = "NAME|N")]
    email_columns: Vec<String>,
    /// Addresses never to send to (hard bounces, unsubscribes): a CSV with an email column or one address per line; repeatable
    #[arg(long, value_name = "FILE")]
    suppress: Vec<PathBuf>,
    /// Skip DNS verification: kept addresses get status "unknown" unless risky
    #[arg(long)]
    no_dns: bool,
    /// Worker threads [default: all cores]
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// Keep role accounts (info@, sales@, ...) flagged "role", status "risky" (the default)
    #[arg(long, conflicts_with = "reject_role")]
    keep_role: bool,
    /// Reject role accounts as "role_account"
    #[arg(long)]
    reject_role: bool,
    /// Keep pre-2009 docomo/ezweb addresses (a..b@docomo.ne.jp) flagged, instead of rejecting them
    #[arg(long)]
    keep_legacy_carrier: bool,
    /// The column holding the date of the last contact, for --stale-after
    #[arg(long, value_name = "NAME|N", requires = "stale_after")]
    last_contact_column: Option<String>,
    /// Flag rows not contacted within this period as "stale" (risky): 90d, 12w, 6mo, 1y
    #[arg(long, value_name = "PERIOD", requires = "last_contact_column")]
    stale_after: Option<String>,
    /// Input encoding: utf-8, utf-8-bom, utf-16le, utf-16be, cp932 [default: detected]
    #[arg(long, value_name = "ENCODING")]
    input_encoding: Option<String>,
    /// Output encoding [default: the input's]
    #[arg(long, value_name = "ENCODING")]
    output_encoding: Option<String>,
    /// Field delimiter: , \t ; | (or "tab") [default: detected]
    #[arg(long, value_name = "CHAR")]
    delimiter: Option<String>,
    /// The first line is data, not a header
    #[arg(long)]
    no_header: bool,
    /// Do not prefix formula-like cells (=, +, -, @) with ' in the outputs
    #[arg(long)]
    no_formula_guard: bool,
    /// Rows larger than this are rejected as malformed_row
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    max_record_bytes: usize,
    /// Rows with more cells than this are rejected as malformed_row without being held
    #[arg(long, value_name = "CELLS", default_value_t = 4096)]
    max_columns: usize,
    /// Record progress every --checkpoint-every rows, so that --resume can continue after a crash
    #[arg(long)]
    checkpoint: bool,
    /// Rows between checkpoints
    #[arg(long, value_name = "ROWS", default_value_t = 100_000)]
    checkpoint_every: u64,
    /// When another run is writing the same outputs, wait for it instead of stopping (exit 75)
    #[arg(long)]
    wait_lock: bool,
    /// Continue an interrupted --checkpoint run from its last checkpoint (same input and options)
    #[arg(long)]
    resume: bool,
    #[command(flatten)]
    display: DisplayArgs,
    #[command(flatten)]
    dns: DnsArgs,
}

/// More worker threads than any machine has cores, and far fewer than would exhaust it.
const MAX_JOBS: usize = 1024;

/// The least `--max-record-bytes`: a header and an ordinary row fit many times over.
const MIN_RECORD_BYTES: usize = 1024;

/// Runs `listclean clean`.
pub fn run(args: CleanArgs) -> Result<(), Failure> {
    let quiet = args.display.quiet;
    let checkpointing = args.checkpoint || args.resume;
    let config = clean_config(args)?;
    let stop = Arc::new(AtomicUsize::new(0));
    super::stop_on_signals(&stop);
    let bar = (!quiet && std::io::stderr().is_terminal()).then(progress_bar);
    let mut on_progress = |p: Progress| {
        if let Some(bar) = &bar {
            if let Some(total) = p.total_bytes {
                bar.set_length(total);
            }
            bar.set_position(p.bytes_read);
            bar.set_message(format!("{} rows", p.rows));
        }
    };
    // With --wait-lock, a first try that finds the outputs busy says so before it waits: a
    // nightly job that waits silently looks hung.
    let mut config = config;
    let wait_lock = std::mem::take(&mut config.wait_lock);
    let mut result = clean::run(&config, &stop, &mut on_progress);
    if let (true, Err(listclean::Error::Busy { what })) = (wait_lock, &result) {
        eprintln!("another run is writing the outputs {what}.*: waiting for it to finish");
        config.wait_lock = true;
        result = clean::run(&config, &stop, &mut on_progress);
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    match result {
        Ok(report) => {
            if !quiet {
                eprintln!("{}", report.summary());
            } else {
                // A nightly job run quietly still hears of what needs a look (cron mails
                // what a job writes to stderr).
                for warning in &report.warnings {
                    eprintln!("warning: {warning}");
                }
            }
            Ok(())
        }
        Err(error) => {
            use listclean::error::Error;
            let resumable = checkpointing
                && matches!(
                    error,
                    Error::Interrupted { .. } | Error::Read { .. } | Error::Write { .. }
                );
            Err(Failure::Run {
                error,
                hint: resumable.then_some(
                    "the last checkpoint is kept: run the same command with --resume to continue",
                ),
            })
        }
    }
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} ({per_sec})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

fn clean_config(args: CleanArgs) -> Result<CleanConfig, Usage> {
    // A path, not a string: a file name need not be UTF-8 (CP932 bytes from a Windows
    // share).
    let input = if args.input.as_os_str() == "-" {
        Input::Stdin
    } else {
        Input::Path(args.input)
    };
    let encoding = |name: Option<String>| -> Result<Option<Encoding>, Usage> {
        name.map(|n| {
            Encoding::from_name(&n).ok_or_else(|| {
                Usage(format!(
                    "unknown encoding {n:?}; use utf-8, utf-8-bom, utf-16le, utf-16be or cp932"
                ))
            })
        })
        .transpose()
    };
    let delimiter = args.delimiter.map(|d| parse_delimiter(&d)).transpose()?;
    let stale_after = match &args.stale_after {
        Some(period) => {
            let period = Period::parse(period).map_err(|e| Usage(format!("--stale-after: {e}")))?;
            Some((period, chrono::Local::now().date_naive()))
        }
        None => None,
    };
    let pipe = match &input {
        Input::Stdin => true,
        Input::Path(path) => std::fs::metadata(path).is_ok_and(|m| !m.is_file()),
    };
    if (args.checkpoint || args.resume) && pipe {
        return Err(Usage(
            "--checkpoint and --resume need an input file: standard input or a pipe cannot be \
             read again"
                .into(),
        ));
    }
    if args
        .jobs
        .is_some_and(|jobs| !(1..=MAX_JOBS).contains(&jobs))
    {
        return Err(Usage(format!("--jobs must be from 1 to {MAX_JOBS}")));
    }
    if args.max_columns == 0 {
        return Err(Usage("--max-columns must be at least 1".into()));
    }
    if args.max_record_bytes < MIN_RECORD_BYTES {
        return Err(Usage(format!(
            "--max-record-bytes must be at least {MIN_RECORD_BYTES}: the header and ordinary rows \
             must fit"
        )));
    }
    let dns = if args.no_dns {
        None
    } else {
        Some(args.dns.options()?)
    };
    let mut config = CleanConfig::new(input);
    config.output_dir = args.output.output_dir;
    config.options.read = ReadOptions {
        encoding: encoding(args.input_encoding)?,
        delimiter,
        no_header: args.no_header,
        email_columns: args.email_columns,
        last_contact_column: args.last_contact_column,
        max_record_bytes: args.max_record_bytes,
        max_columns: args.max_columns,
    };
    config.output_encoding = encoding(args.output_encoding)?;
    config.suppress = args.suppress;
    config.lang = args.display.lang();
    config.options.jobs = args.jobs;
    config.options.keep_legacy_carrier = args.keep_legacy_carrier;
    config.options.reject_role = args.reject_role;
    config.options.stale_after = stale_after;
    config.formula_guard = !args.no_formula_guard;
    config.options.dns = dns;
    config.checkpoint_every = (args.checkpoint || args.resume).then_some(args.checkpoint_every);
    config.resume = args.resume;
    config.wait_lock = args.wait_lock;
    Ok(config)
}

fn parse_delimiter(text: &str) -> Result<u8, Usage> {
    match text {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        d if d.len() == 1 && d.is_ascii() && !matches!(d, "\"" | "\n" | "\r") => {
            Ok(d.as_bytes()[0])
        }
        d => Err(Usage(format!(
            "--delimiter {d:?}: give one ASCII character other than a quote or a line \
             break, or \\t"
        ))),
    }
}
