//! The command line: one file per subcommand, the flag groups they share ([`flags`]), and
//! what every command does alike (signals, how a failure is told).
//!
//! Arguments become a validated configuration here; no clap type reaches the library.

pub mod clean;
pub mod flags;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "listclean",
    version,
    about = "Clean email contact lists before an import or a send"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Clean a contact list: writes <stem>.cleaned.csv, <stem>.rejected.csv and <stem>.report.json
    Clean(clean::CleanArgs),
}

/// A usage error: its message, told with exit code 64.
pub struct Usage(pub String);

/// Why a command failed.
pub enum Failure {
    /// The arguments do not make a valid configuration.
    Usage(String),
    /// The run stopped, with what to do next when there is something.
    Run {
        error: listclean::error::Error,
        hint: Option<&'static str>,
    },
}

impl From<Usage> for Failure {
    fn from(Usage(message): Usage) -> Failure {
        Failure::Usage(message)
    }
}

/// What to do about an error, in the command line's terms: the library names what went
/// wrong, the command line the option that mends it.
pub fn hint(error: &listclean::Error) -> Option<&'static str> {
    use listclean::Error;
    match error {
        Error::NoEmailColumn { .. } | Error::HeaderOnly { .. } => {
            Some("name the email column with --email-column NAME (or its number, from 1)")
        }
        Error::NotACache { .. } => Some("give --cache a file name of its own"),
        Error::HeaderTooLarge { .. } => Some(
            "raise --max-columns (or --max-record-bytes) to hold the header, or save the list \
             with only the columns in use",
        ),
        Error::Busy { .. } => {
            Some("run again when it is done, give another --output-dir, or add --wait-lock to wait")
        }
        Error::DnsUnavailable { .. } => Some("check --resolver, or run with --no-dns"),
        Error::Resume { .. } => Some("to start afresh, run with --checkpoint instead of --resume"),
        _ => None,
    }
}

/// Makes SIGINT, SIGTERM and SIGHUP ask the run to stop, by storing the signal's number
/// in `stop`; a second signal ends the process at once.
pub fn stop_on_signals(stop: &Arc<AtomicUsize>) {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let signalled = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        let registered = signal_hook::flag::register_conditional_shutdown(
            signal,
            128 + signal,
            Arc::clone(&signalled),
        )
        .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&signalled)))
        .and_then(|_| signal_hook::flag::register_usize(signal, Arc::clone(stop), signal as usize));
        if let Err(e) = registered {
            eprintln!("warning: cannot catch signal {signal}: {e}");
        }
    }
}
