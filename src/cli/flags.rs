//! Flag groups that several subcommands share, and their checks: where outputs go, the
//! language and verbosity of what a person reads, and the DNS settings. A subcommand
//! flattens the groups it needs, so the same option means the same thing everywhere.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use listclean::dns::{DnsOptions, TtlRange};
use listclean::messages::Lang;

use super::Usage;

/// Where a command writes its files.
#[derive(Args)]
pub struct OutputArgs {
    /// Folder for the outputs [default: the input's folder]
    #[arg(short = 'o', long)]
    pub output_dir: Option<PathBuf>,
}

/// What a person sees: the language and how much is said.
#[derive(Args)]
pub struct DisplayArgs {
    /// Language of what a person reads (reject_detail, ...): en or ja
    #[arg(long, default_value = "en", value_parser = ["en", "ja"])]
    pub lang: String,
    /// No progress bar and no summary (warnings still go to stderr)
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

impl DisplayArgs {
    pub fn lang(&self) -> Lang {
        if self.lang == "ja" {
            Lang::Ja
        } else {
            Lang::En
        }
    }
}

/// How to ask the name servers.
#[derive(Args)]
pub struct DnsArgs {
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
    /// A domain that surely exists and receives mail, asked for at start to catch a resolver
    /// that denies every name; repeatable, replaces the defaults (gmail.com, outlook.com,
    /// yahoo.co.jp); "none" skips the check
    #[arg(long = "dns-check-domain", value_name = "DOMAIN")]
    check_domains: Vec<String>,
    /// Keep DNS answers in this file between runs
    #[arg(long, value_name = "FILE")]
    cache: Option<PathBuf>,
    /// Ignore cached answers (and refresh them)
    #[arg(long)]
    refresh: bool,
    /// How long --cache keeps answers with records (MX, addresses, ...): their TTL clamped to MIN..MAX (s, m, h or d)
    #[arg(long, value_name = "MIN..MAX", default_value = "1h..7d")]
    cache_ttl: String,
    /// How long --cache keeps negative answers (no such name, no such record): the SOA's negative TTL clamped to MIN..MAX
    #[arg(long, value_name = "MIN..MAX", default_value = "5m..1d")]
    cache_negative_ttl: String,
}

impl DnsArgs {
    /// The validated DNS options.
    pub fn options(self) -> Result<DnsOptions, Usage> {
        let resolvers = self
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
        if !(self.dns_timeout > 0.0 && self.dns_timeout.is_finite()) {
            return Err(Usage(
                "--dns-timeout must be a positive number of seconds".into(),
            ));
        }
        if self.dns_concurrency == 0 || self.dns_attempts == 0 || self.dns_qps == Some(0) {
            return Err(Usage(
                "--dns-concurrency, --dns-attempts and --dns-qps must be at least 1".into(),
            ));
        }
        let defaults = DnsOptions::default();
        let known_domains = match self.check_domains.as_slice() {
            [] => defaults.known_domains,
            [none] if none == "none" => Vec::new(),
            names => names
                .iter()
                .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
                .collect(),
        };
        Ok(DnsOptions {
            known_domains,
            positive_ttl: parse_ttl_range("--cache-ttl", &self.cache_ttl)?,
            negative_ttl: parse_ttl_range("--cache-negative-ttl", &self.cache_negative_ttl)?,
            resolvers,
            timeout: Duration::from_secs_f64(self.dns_timeout),
            attempts: self.dns_attempts,
            concurrency: self.dns_concurrency,
            qps: self.dns_qps,
            cache: self.cache,
            refresh: self.refresh,
        })
    }
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
