//! `resolverfloor`: how fast the resolver library alone looks domains up, for the DNS
//! benchmark. It asks one MX question per domain through the hickory resolver
//! `listclean clean` builds ([`listclean::dns::hickory_resolver`]), with the same number in
//! flight, and nothing else: no rows, no stage, no cache. Its time is the floor under the DNS part of a `clean` run on
//! the same machine and server.
//!
//! ```text
//! resolverfloor 127.0.0.1:PORT ZONES_DIR [IN_FLIGHT]
//! ```
//!
//! The domains are the zone files' names in ZONES_DIR (`acme.co.jp.zone` asks for
//! `acme.co.jp.`), as `examples/gencontacts.rs --zones-out` writes them. It prints one line:
//! domains, seconds, domains per second and how many were answered.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use hickory_resolver::proto::rr::{Name, RecordType};
use listclean::dns::{DnsOptions, hickory_resolver};
use tokio::sync::Semaphore;

const USAGE: &str = "usage: resolverfloor 127.0.0.1:PORT ZONES_DIR [IN_FLIGHT (default 256)]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(server), Some(zones)) = (args.first(), args.get(1)) else {
        eprintln!("{USAGE}");
        return ExitCode::from(64);
    };
    let Ok(server) = server.parse::<SocketAddr>() else {
        eprintln!("resolverfloor: {server} is not an IP:PORT\n{USAGE}");
        return ExitCode::from(64);
    };
    let Ok(in_flight) = args.get(2).map_or(Ok(256), |n| n.parse::<usize>()) else {
        eprintln!("resolverfloor: IN_FLIGHT must be a whole number\n{USAGE}");
        return ExitCode::from(64);
    };
    let domains = match zone_names(zones) {
        Ok(domains) => domains,
        Err(error) => {
            eprintln!("resolverfloor: reading {zones}: {error}");
            return ExitCode::from(66);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("resolverfloor: starting the runtime: {error}");
            return ExitCode::from(70);
        }
    };
    match runtime.block_on(look_up_all(server, domains, in_flight.max(1))) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("resolverfloor: {error}");
            ExitCode::from(70)
        }
    }
}

/// The domains named by the `*.zone` files of `dir`.
fn zone_names(dir: &str) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if let Some(stem) = path
            .extension()
            .filter(|ext| *ext == "zone")
            .and_then(|_| path.file_stem())
            .and_then(|stem| stem.to_str())
        {
            names.push(stem.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

async fn look_up_all(
    server: SocketAddr,
    domains: Vec<String>,
    in_flight: usize,
) -> Result<String, String> {
    let options = DnsOptions {
        resolvers: vec![server],
        concurrency: in_flight,
        ..DnsOptions::default()
    };
    let resolver = Arc::new(hickory_resolver(&options).map_err(|e| e.to_string())?);

    let permits = Arc::new(Semaphore::new(in_flight));
    let mut lookups = tokio::task::JoinSet::new();
    let count = domains.len();
    let start = Instant::now();
    for domain in domains {
        let permit = Arc::clone(&permits)
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let resolver = Arc::clone(&resolver);
        lookups.spawn(async move {
            let mut name = Name::from_ascii(&domain).ok()?;
            name.set_fqdn(true);
            let answered = resolver.lookup(name, RecordType::MX).await.is_ok();
            drop(permit);
            Some(answered)
        });
    }
    let mut answered = 0;
    while let Some(result) = lookups.join_next().await {
        answered += usize::from(matches!(result, Ok(Some(true))));
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(format!(
        "{count} domains in {seconds:.2} s ({:.0}/s, {in_flight} in flight), {answered} with MX records",
        count as f64 / seconds
    ))
}
