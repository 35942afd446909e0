//! The `listclean` binary: parses arguments into a validated configuration, runs the
//! library, prints the summary and maps the outcome to an exit code.

use std::io::IsTerminal;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use listclean::cmd::clean::{self, Progress};
use listclean::config::{CleanConfig, Input, ReadOptions};
use listclean::dns::{DnsOptions, TtlRange};
use listclean::error::exit;
use listclean::policy::stale::Period;
use listclean::read::encoding::Encoding;
use listclean::verdict::Lang;

#[derive(Parser)]
#[command(
    name = "listclean",
    version,
    about = "Clean email contact lists before an import or a send"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Clean a contact list: writes <stem>.cleaned.csv, <stem>.rejected.csv and <stem>.report.json
    Clean(CleanArgs),
}

#[derive(Args)]
struct CleanArgs {
    /// The contact list (CSV or TSV), or - for standard input
    input: String,
    /// Folder for the outputs [default: the input's folder]
    #[arg(short = 'o', long)]
    output_dir: Option<PathBuf>,
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
    /// Language of reject_detail: en or ja
    #[arg(long, default_value = "en", value_parser = ["en", "ja"])]
    lang: String,
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
    /// Record progress every --checkpoint-every rows, so that --resume can continue after a crash
    #[arg(long)]
    checkpoint: bool,
    /// Rows between checkpoints
    #[arg(long, value_name = "ROWS", default_value_t = 100_000)]
    checkpoint_every: u64,
    /// Continue an interrupted --checkpoint run from its last checkpoint (same input and options)
    #[arg(long)]
    resume: bool,
    /// No progress bar and no summary (warnings still go to stderr)
    #[arg(long, short = 'q')]
    quiet: bool,
    #[command(flatten)]
    dns: DnsArgs,
}

#[derive(Args)]
struct DnsArgs {
    /// Name server to ask, IP or IP:PORT; repeatable [default: /etc/resolv.conf]
    #[arg(long = "resolver", value_name = "IP[:PORT]")]
    resolvers: Vec<String>,
    /// Seconds to wait for one DNS answer
    #[arg(long, value_name = "SECONDS", default_value_t = 3.0)]
    dns_timeout: f64,
    /// Tries per DNS query, the first included
    #[arg(long, value_name = "N", default_value_t = 2)]
    dns_attempts: usize,
    /// DNS queries in flight at once
    #[arg(long, value_name = "N", default_value_t = 256)]
    dns_concurrency: usize,
    /// At most this many DNS queries per second
    #[arg(long, value_name = "N")]
    dns_qps: Option<u32>,
    /// Keep DNS answers in this file between runs
    #[arg(long, value_name = "FILE")]
    cache: Option<PathBuf>,
    /// Ignore cached answers (and refresh them)
    #[arg(long)]
    refresh: bool,
    /// How long --cache keeps deliverable and null-MX answers: their TTL clamped to MIN..MAX (s, m, h or d)
    #[arg(long, value_name = "MIN..MAX", default_value = "1h..7d")]
    cache_ttl: String,
    /// How long --cache keeps not-found and no-mail-host answers: their negative TTL clamped to MIN..MAX
    #[arg(long, value_name = "MIN..MAX", default_value = "5m..1d")]
    cache_negative_ttl: String,
}

/// A usage error: the message and exit code 64.
struct Usage(String);

/// More worker threads than any machine has cores, and far fewer than would exhaust it.
const MAX_JOBS: usize = 1024;

/// The least `--max-record-bytes`: a header and an ordinary row fit many times over.
const MIN_RECORD_BYTES: usize = 1024;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // Help and version go to stdout with success; anything else is a usage error,
            // with the exit code every usage error has.
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(exit::USAGE as u8)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Clean(args) => clean_command(args),
    }
}

fn clean_command(args: CleanArgs) -> ExitCode {
    let quiet = args.quiet;
    let checkpointing = args.checkpoint || args.resume;
    let config = match clean_config(args) {
        Ok(config) => config,
        Err(Usage(message)) => {
            eprintln!("error: {message}");
            return ExitCode::from(exit::USAGE as u8);
        }
    };
    // A first Ctrl-C (or SIGTERM) asks the run to stop cleanly; a second one ends the
    // process at once.
    let signalled = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let registered = signal_hook::flag::register_conditional_shutdown(
            signal,
            128 + signal,
            Arc::clone(&signalled),
        )
        .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&signalled)))
        .and_then(|_| {
            signal_hook::flag::register_usize(signal, Arc::clone(&config.stop), signal as usize)
        });
        if let Err(e) = registered {
            eprintln!("warning: cannot catch signal {signal}: {e}");
        }
    }
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
    let result = clean::run(&config, &mut on_progress);
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
            ExitCode::SUCCESS
        }
        Err(error) => {
            print_error(&error);
            use listclean::error::Error;
            if checkpointing
                && matches!(
                    error,
                    Error::Interrupted { .. } | Error::Read { .. } | Error::Write { .. }
                )
            {
                eprintln!(
                    "the last checkpoint is kept: run the same command with --resume to continue"
                );
            }
            ExitCode::from(error.exit_code() as u8)
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

fn print_error(error: &dyn std::error::Error) {
    let mut message = format!("error: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        message += &format!(": {cause}");
        source = cause.source();
    }
    eprintln!("{message}");
}

fn clean_config(args: CleanArgs) -> Result<CleanConfig, Usage> {
    let input = match args.input.as_str() {
        "-" => Input::Stdin,
        path => Input::Path(PathBuf::from(path)),
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
    if args.max_record_bytes < MIN_RECORD_BYTES {
        return Err(Usage(format!(
            "--max-record-bytes must be at least {MIN_RECORD_BYTES}: the header and ordinary rows \
             must fit"
        )));
    }
    let dns = if args.no_dns {
        None
    } else {
        Some(dns_options(args.dns)?)
    };
    let mut config = CleanConfig::new(input);
    config.output_dir = args.output_dir;
    config.read = ReadOptions {
        encoding: encoding(args.input_encoding)?,
        delimiter,
        no_header: args.no_header,
        email_columns: args.email_columns,
        last_contact_column: args.last_contact_column,
        max_record_bytes: args.max_record_bytes,
    };
    config.output_encoding = encoding(args.output_encoding)?;
    config.suppress = args.suppress;
    config.lang = if args.lang == "ja" {
        Lang::Ja
    } else {
        Lang::En
    };
    config.jobs = args.jobs;
    config.keep_legacy_carrier = args.keep_legacy_carrier;
    config.reject_role = args.reject_role;
    config.stale_after = stale_after;
    config.formula_guard = !args.no_formula_guard;
    config.dns = dns;
    config.checkpoint_every = (args.checkpoint || args.resume).then_some(args.checkpoint_every);
    config.resume = args.resume;
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

fn dns_options(args: DnsArgs) -> Result<DnsOptions, Usage> {
    let resolvers = args
        .resolvers
        .iter()
        .map(|r| {
            r.parse::<SocketAddr>()
                .or_else(|_| r.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                .map_err(|_| {
                    Usage(format!(
                        "--resolver {r:?}: give an IP address, optionally with :PORT"
                    ))
                })
        })
        .collect::<Result<_, _>>()?;
    if !(args.dns_timeout > 0.0 && args.dns_timeout.is_finite()) {
        return Err(Usage(
            "--dns-timeout must be a positive number of seconds".into(),
        ));
    }
    if args.dns_concurrency == 0 || args.dns_attempts == 0 || args.dns_qps == Some(0) {
        return Err(Usage(
            "--dns-concurrency, --dns-attempts and --dns-qps must be at least 1".into(),
        ));
    }
    Ok(DnsOptions {
        positive_ttl: parse_ttl_range("--cache-ttl", &args.cache_ttl)?,
        negative_ttl: parse_ttl_range("--cache-negative-ttl", &args.cache_negative_ttl)?,
        resolvers,
        timeout: Duration::from_secs_f64(args.dns_timeout),
        attempts: args.dns_attempts,
        concurrency: args.dns_concurrency,
        qps: args.dns_qps,
        cache: args.cache,
        refresh: args.refresh,
    })
}

/// Parses `MIN..MAX`, each a whole number of seconds with an optional unit (s, m, h, d).
fn parse_ttl_range(option: &str, text: &str) -> Result<TtlRange, Usage> {
    let usage = || {
        Usage(format!(
            "{option} {text:?}: give MIN..MAX, e.g. 1h..7d (units s, m, h, d), with MIN <= MAX"
        ))
    };
    let duration = |part: &str| -> Option<Duration> {
        let part = part.trim();
        let (number, unit) = match part.find(|c: char| !c.is_ascii_digit()) {
            Some(i) => part.split_at(i),
            None => (part, "s"),
        };
        let scale = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86400,
            _ => return None,
        };
        let secs = number.parse::<u64>().ok()?.checked_mul(scale)?;
        // Expiry times are kept in seconds since 1970; a century is plenty.
        (secs <= 100 * 365 * 86400).then(|| Duration::from_secs(secs))
    };
    let (min, max) = text.split_once("..").ok_or_else(usage)?;
    let (min, max) = (
        duration(min).ok_or_else(usage)?,
        duration(max).ok_or_else(usage)?,
    );
    if min > max {
        return Err(usage());
    }
    Ok(TtlRange { min, max })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_ranges() {
        let secs = |text| {
            parse_ttl_range("--cache-ttl", text)
                .map(|r| (r.min.as_secs(), r.max.as_secs()))
                .ok()
        };
        assert_eq!(secs("1h..7d"), Some((3600, 7 * 86400)));
        assert_eq!(secs("5m..1d"), Some((300, 86400)));
        assert_eq!(secs("0..90"), Some((0, 90)));
        assert_eq!(secs("30s..30s"), Some((30, 30)));
        assert_eq!(secs(" 10 .. 20 "), Some((10, 20)));
        for bad in [
            "",
            "1h",
            "2h..1h",
            "1w..2w",
            "-1..5",
            "1h..",
            "..1h",
            "1.5h..2h",
            "1..99999999999d",
        ] {
            assert_eq!(secs(bad), None, "{bad}");
        }
    }
}
