//! `labdns`: the lab DNS server of `tests/support/labdns.rs` as a command, for
//! `make demo` and the DNS benchmark.
//!
//! ```text
//! labdns --zones DIR [--delay-ms N] [--port-file FILE] [--until-stdin-eof]
//! ```
//!
//! It serves DIR on UDP and TCP at one free port of 127.0.0.1 and prints
//! `127.0.0.1:PORT` as the first line on stdout. With `--port-file` it also
//! writes that line to FILE, atomically (a temporary file renamed into place),
//! so a script can wait for FILE to appear and read it whole. It serves until
//! it is killed (SIGTERM or SIGINT: their default action ends the process and
//! the kernel closes the sockets; there is nothing else to clean up) or, with
//! `--until-stdin-eof`, until standard input is closed, after which it removes
//! FILE and exits 0.
//!
//! Arguments are parsed by hand: five flags do not justify a dependency in an
//! example that must stay independent of the listclean library.

#[path = "../tests/support/labdns.rs"]
mod labdns;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use labdns::{LabConfig, LabDns};

const USAGE: &str = "\
usage: labdns --zones DIR [--delay-ms N] [--port-file FILE] [--until-stdin-eof]

Serves the zone files in DIR (*.zone, plus an optional lab.conf) on 127.0.0.1
and prints 127.0.0.1:PORT as the first line on stdout.

  --zones DIR         folder of RFC 1035 master files, e.g. tests/dns
  --delay-ms N        wait N milliseconds before every answer (default 0)
  --port-file FILE    also write 127.0.0.1:PORT to FILE (atomically)
  --until-stdin-eof   stop when standard input is closed, instead of serving
                      until killed
  -h, --help          print this help";

/// The validated command line.
struct Args {
    zones: PathBuf,
    delay: Duration,
    port_file: Option<PathBuf>,
    until_stdin_eof: bool,
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args_os().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("labdns: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("labdns: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> io::Result<()> {
    let dns = LabDns::start(LabConfig {
        zones: args.zones.clone(),
        delay: args.delay,
    })?;
    let line = format!("{}\n", dns.addr());

    // Flushed at once: stdout is a pipe under `make demo`, and a waiting
    // script must not depend on buffering.
    let mut stdout = io::stdout().lock();
    stdout.write_all(line.as_bytes())?;
    stdout.flush()?;
    drop(stdout);

    if let Some(path) = &args.port_file {
        write_atomically(path, &line)?;
    }

    if args.until_stdin_eof {
        io::copy(&mut io::stdin().lock(), &mut io::sink())?;
        drop(dns);
        if let Some(path) = &args.port_file {
            fs::remove_file(path).map_err(|error| {
                io::Error::new(
                    error.kind(),
                    format!("removing {}: {error}", path.display()),
                )
            })?;
        }
        return Ok(());
    }

    // The server runs on its own thread; this one only has to stay alive.
    // `park` may wake spuriously, hence the loop.
    loop {
        std::thread::park();
    }
}

/// Writes `contents` to a temporary file beside `path`, then renames it onto
/// `path`, so a reader sees either no file or the whole line.
fn write_atomically(path: &Path, contents: &str) -> io::Result<()> {
    let context = |error: io::Error| {
        io::Error::new(
            error.kind(),
            format!("writing the port file {}: {error}", path.display()),
        )
    };
    let mut temp = path.as_os_str().to_owned();
    temp.push(format!(".tmp.{}", std::process::id()));
    let temp = PathBuf::from(temp);
    fs::write(&temp, contents).map_err(context)?;
    fs::rename(&temp, path).map_err(|error| {
        // Best effort: a failed rename should not leave litter behind.
        let _ = fs::remove_file(&temp);
        context(error)
    })
}

/// Parses the arguments after the program name; `Ok(None)` asks for help.
fn parse_args(args: impl Iterator<Item = std::ffi::OsString>) -> Result<Option<Args>, String> {
    let mut zones = None;
    let mut delay = Duration::ZERO;
    let mut port_file = None;
    let mut until_stdin_eof = false;

    let mut args = args;
    while let Some(arg) = args.next() {
        let Some(flag) = arg.to_str() else {
            return Err(format!("unexpected argument {}", arg.to_string_lossy()));
        };
        // Both `--flag value` and `--flag=value`.
        let (flag, inline) = match flag.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.into())),
            _ => (flag, None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag {
            "-h" | "--help" => return Ok(None),
            "--zones" => zones = Some(PathBuf::from(value("--zones")?)),
            "--port-file" => port_file = Some(PathBuf::from(value("--port-file")?)),
            "--delay-ms" => {
                let text = value("--delay-ms")?;
                let millis: u64 = text
                    .to_str()
                    .and_then(|text| text.parse().ok())
                    .ok_or_else(|| {
                        format!(
                            "--delay-ms takes a whole number of milliseconds, not {}",
                            text.to_string_lossy()
                        )
                    })?;
                delay = Duration::from_millis(millis);
            }
            "--until-stdin-eof" if inline.is_none() => until_stdin_eof = true,
            _ => return Err(format!("unexpected argument {}", arg.to_string_lossy())),
        }
    }

    let zones = zones.ok_or("--zones DIR is required")?;
    Ok(Some(Args {
        zones,
        delay,
        port_file,
        until_stdin_eof,
    }))
}
