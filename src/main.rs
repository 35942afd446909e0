//! The `listclean` binary: parses the command line ([`cli`]), runs the subcommand, and maps
//! its outcome to an exit code, printing an error and its causes once.

mod cli;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, Failure};
use listclean::error::exit;

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
    let outcome = match cli.command {
        Command::Clean(args) => cli::clean::run(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(exit::USAGE as u8)
        }
        Err(Failure::Run { error, hint }) => {
            // A reader that went away (`listclean … | head`) is no failure of ours.
            if is_broken_pipe(&error) {
                return ExitCode::SUCCESS;
            }
            eprintln!("{}", error_chain(&error));
            for hint in [cli::hint(&error), hint].into_iter().flatten() {
                eprintln!("{hint}");
            }
            ExitCode::from(error.exit_code() as u8)
        }
    }
}

/// `error: what: why: why…`, the error and its causes on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = format!("error: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        message += &format!(": {cause}");
        source = cause.source();
    }
    message
}

fn is_broken_pipe(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        {
            return true;
        }
        next = e.source();
    }
    false
}
