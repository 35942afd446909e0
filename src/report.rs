//! Reporting: the sink that counts verdicts, and the report built from the counts.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::pipeline::{Batch, Sink};
use crate::verdict::{Flags, Status, Verdict};

/// Past this estimated bounce rate mailbox providers start to warn and block senders.
pub const BOUNCE_RATE_LIMIT: f64 = 0.05;

/// Counts per status, flag and reason, as rows go by.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Tally {
    pub rows: u64,
    pub cleaned: u64,
    pub rejected: u64,
    /// Kept rows per status, in the order of [`Status::ALL`].
    status: [u64; 3],
    /// Kept rows per flag, in the order of [`Flags::ALL`].
    flags: [u64; 16],
    pub reasons: BTreeMap<String, u64>,
    /// Rows whose sending would bounce, for the estimated bounce rate.
    pub would_bounce: u64,
    /// Rows with no address at all.
    pub empty: u64,
    /// Rejected rows per domain, for the report's worst domains.
    rejected_by_domain: FxHashMap<String, u64>,
    /// Rows whose last-contact cell is not a date we can read.
    #[serde(default)]
    pub unread_dates: u64,
    /// Addresses removed from kept rows, per email column (by its place among the email
    /// columns) and reason code.
    #[serde(default)]
    pub removed: BTreeMap<usize, BTreeMap<String, u64>>,
}

impl Sink for Tally {
    fn checkpoint(&mut self, state: &mut crate::checkpoint::State) -> Result<(), Error> {
        state.tally = serde_json::to_value(&*self).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(())
    }

    fn batch(&mut self, batch: &Batch) -> Result<(), Error> {
        self.unread_dates += batch.unread_dates() as u64;
        let mut rejected = 0;
        for (i, verdict) in batch.verdicts().enumerate() {
            match verdict {
                Verdict::Keep { status, flags, .. } => {
                    self.status[*status as usize] += 1;
                    for place in flags.indices() {
                        if let Some(n) = self.flags.get_mut(place) {
                            *n += 1;
                        }
                    }
                    if flags.contains(Flags::OTHER_ADDRESS_REMOVED) {
                        for &(column, code) in batch.row(i).removed() {
                            *self
                                .removed
                                .entry(column)
                                .or_default()
                                .entry(code.to_owned())
                                .or_default() += 1;
                        }
                    }
                }
                Verdict::Reject { reason, .. } => {
                    rejected += 1;
                    match self.reasons.get_mut(reason.code()) {
                        Some(n) => *n += 1,
                        None => {
                            self.reasons.insert(reason.code().to_owned(), 1);
                        }
                    }
                    self.empty += u64::from(reason.is_no_address());
                    if reason.would_bounce() {
                        self.would_bounce += 1;
                        let address = batch.row(i).address();
                        // A domain as written, for a cell that failed its checks
                        // (`taro@ acme.jp`): trimmed, and none when nothing follows the @.
                        if let Some(domain) = address
                            .and_then(|a| a.rsplit_once('@'))
                            .map(|(_, domain)| domain.trim())
                            .filter(|domain| !domain.is_empty())
                        {
                            // Most rejected rows share a few domains: no copy for those.
                            match self.rejected_by_domain.get_mut(domain) {
                                Some(n) => *n += 1,
                                None => {
                                    self.rejected_by_domain.insert(domain.to_owned(), 1);
                                }
                            }
                        }
                    }
                }
            }
        }
        let rows = batch.len() as u64;
        self.rows += rows;
        self.rejected += rejected;
        self.cleaned += rows - rejected;
        Ok(())
    }
}

impl Tally {
    /// The domains with the most rejected rows, most first.
    pub fn worst_domains(&self, n: usize) -> Vec<(String, u64)> {
        let mut all: Vec<(String, u64)> = self
            .rejected_by_domain
            .iter()
            .map(|(d, c)| (d.clone(), *c))
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(n);
        all
    }

    /// The removed addresses per email column, named by `columns` (the email columns'
    /// names, in order).
    pub fn removed_by_column(&self, columns: &[String]) -> BTreeMap<String, BTreeMap<String, u64>> {
        self.removed
            .iter()
            .map(|(&place, reasons)| {
                let name = columns
                    .get(place)
                    .cloned()
                    .unwrap_or_else(|| format!("#{}", place + 1));
                (name, reasons.clone())
            })
            .collect()
    }

    /// The share of addresses that would have bounced had the list been sent as it was.
    pub fn estimated_bounce_rate(&self) -> f64 {
        ratio(self.would_bounce, self.rows - self.empty)
    }
}

/// The process's peak resident memory so far (`VmHWM` in `/proc/self/status`), or `None`
/// where there is no such file.
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

pub fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The `<stem>.report.json` of a `clean` run.
#[derive(Debug, Serialize)]
pub struct Report {
    pub input: String,
    pub encoding: &'static str,
    pub output_encoding: &'static str,
    pub delimiter: String,
    pub header: bool,
    pub email_columns: Vec<String>,
    pub rows_in: u64,
    pub rows_cleaned: u64,
    pub rows_rejected: u64,
    /// rows in = cleaned + rejected; a run where this fails exits with an error.
    pub conservation_ok: bool,
    pub status: BTreeMap<&'static str, u64>,
    pub flags: BTreeMap<&'static str, u64>,
    pub reasons: BTreeMap<String, u64>,
    /// Addresses removed from kept rows (a bad sub address beside a good main one), per
    /// email column and reason code; absent when there were none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub removed_addresses: BTreeMap<String, BTreeMap<String, u64>>,
    pub unique_domains: u64,
    pub elapsed_seconds: f64,
    pub rows_per_second: f64,
    /// The process's peak resident memory, where the system tells it (Linux).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_memory_bytes: Option<u64>,
    pub rejected_share: f64,
    /// The share of the input's addresses that would bounce if sent uncleaned.
    pub estimated_bounce_rate: f64,
    pub warnings: Vec<String>,
    /// What each `--suppress` list gave; absent without one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suppression_lists: Vec<crate::policy::suppress::ListSummary>,
    /// Domains with the most rejected rows.
    pub top_rejected_domains: Vec<DomainCount>,
    /// DNS figures; absent with `--no-dns`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<crate::dns::DnsStats>,
    pub outputs: Outputs,
}

#[derive(Debug, Serialize)]
pub struct DomainCount {
    pub domain: String,
    pub rows: u64,
}

#[derive(Debug, Serialize)]
pub struct Outputs {
    pub cleaned: String,
    pub rejected: String,
    pub report: String,
}

impl Report {
    /// Fills the counts of a report from a tally, with every status and known flag present
    /// (as zero) so that consumers need not guess at missing keys.
    pub fn counts(tally: &Tally) -> (BTreeMap<&'static str, u64>, BTreeMap<&'static str, u64>) {
        let status = Status::ALL
            .iter()
            .zip(tally.status)
            .map(|(s, n)| (s.code(), n))
            .collect();
        let flags = Flags::ALL
            .iter()
            .zip(tally.flags)
            .map(|((_, code), n)| (*code, n))
            .collect();
        (status, flags)
    }

    /// The short summary printed on stderr at the end of a run.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "{} in {:.2} s ({:.0} rows/s): {} cleaned, {} rejected ({:.1}%)\n",
            plural(self.rows_in, "row", "rows"),
            self.elapsed_seconds,
            self.rows_per_second,
            self.rows_cleaned,
            self.rows_rejected,
            self.rejected_share * 100.0
        );
        let status: Vec<String> = self
            .status
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        out += &format!("  status: {}\n", status.join(", "));
        if !self.reasons.is_empty() {
            let mut reasons: Vec<(&String, &u64)> = self.reasons.iter().collect();
            reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let reasons: Vec<String> = reasons.iter().map(|(k, v)| format!("{k} {v}")).collect();
            out += &format!("  rejected: {}\n", reasons.join(", "));
        }
        for (column, reasons) in &self.removed_addresses {
            let reasons: Vec<String> = reasons.iter().map(|(k, v)| format!("{k} {v}")).collect();
            out += &format!(
                "  removed from kept rows, column {column}: {}\n",
                reasons.join(", ")
            );
        }
        for list in &self.suppression_lists {
            out += &format!(
                "  suppression list {}: {}\n",
                list.file,
                plural(list.addresses, "address", "addresses")
            );
        }
        if let Some(dns) = &self.dns {
            out += &format!("  dns: {}\n", dns.summary());
        }
        if let Some(bytes) = self.peak_memory_bytes {
            out += &format!("  peak memory: {} MiB\n", bytes >> 20);
        }
        out += &format!(
            "  estimated bounce rate of the uncleaned list: {:.1}%\n",
            self.estimated_bounce_rate * 100.0
        );
        for warning in &self.warnings {
            out += &format!("  warning: {warning}\n");
        }
        out += &format!(
            "  wrote {}, {}, {}",
            self.outputs.cleaned, self.outputs.rejected, self.outputs.report
        );
        out
    }
}

/// `n` and the words that go with it: `1 row`, `2 rows`.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
