//! Domain typo suggestions: is this domain a slip of the fingers on a well-known one?
//!
//! Owns the search over [`WELL_KNOWN`] and its thresholds. Whether the domain receives
//! mail at all is [`crate::dns`]'s question; what a suggestion does to a row is
//! [`crate::policy`]'s.
//!
//! The search is Mailcheck's idea made aware of registrable domains: a domain is split
//! into a *host* (what the owner registered, plus any subdomain: `gmail`, `i.softbank`)
//! and a *public suffix* (`com`, `co.jp`), and the two are compared separately, because
//! `yahoo.co.jo` is one slip away from `yahoo.co.jp` while `aol.de` is a different
//! country's real service.
//!
//! Distances are optimal string alignment (restricted Damerau–Levenshtein,
//! [`strsim::osa_distance`]): it counts a swap of two neighbouring letters (`gmial`,
//! `hotmial`), the commonest typing slip, as one edit, and it gives edit counts that
//! thresholds can be set on. Jaro–Winkler was not chosen: its scores favour shared
//! prefixes and are too forgiving on the five-letter names that matter most (`gmail`,
//! `yahoo`), and a similarity score cannot say "one edit" the way a count can. Full
//! Damerau–Levenshtein would only differ on edits of edits, which the thresholds below
//! never allow, and it allocates a map per call.
//!
//! Thresholds, by the length of the well-known host, because one edit in a short name is
//! very often another real name:
//!
//! | host length | edits allowed in the host |
//! | --- | --- |
//! | 1–3 (`aol`, `msn`, `au`, `qq`) | none: only the suffix may be mistyped |
//! | 4 (`live`) | one swap of neighbouring letters (`lvie`); `love`, `life` are words |
//! | 5–7 (`gmail`, `yahoo`, `docomo`, `hotmail`) | one |
//! | 8 and more (`softbank`, `googlemail`) | two |
//!
//! In every case the first letter must match: a changed or missing first letter mostly
//! makes another real name (`cloud.com`, `mail.com`, `email.com`, `wahoo.com`). The
//! suffix may take one edit (`gmail.con`, `yahoo.co.jo`, `yahoo.cojp`), the host and the
//! suffix together at most two (`gmial.con`). Three further rules catch what edit
//! distance cannot:
//!
//! - a name used by a single mail domain is a typo under any suffix (`gmail.co.jp`);
//! - a Japanese consumer domain under another Japanese suffix is a typo (`docomo.co.jp`,
//!   `outlook.co.jp` → `outlook.jp`); this is not done for ISPs such as `biglobe` or
//!   `so-net`, whose companies use the `co.jp` name for their own staff;
//! - a well-known domain followed by `.com`, `.net` or `.jp` (`docomo.ne.jp.com`) is one
//!   with a stray suffix, as form auto-completion produces.
//!
//! The closest candidate wins; ties go to the earlier entry of [`WELL_KNOWN`].

use rustc_hash::FxHashSet as HashSet;
use std::sync::LazyLock;

use strsim::osa_distance;

use super::lists::{WELL_KNOWN, is_free};

/// Public suffixes of more than one label that mail domains of interest live under.
///
/// A small hand-picked part of the Public Suffix List (publicsuffix.org): the Japanese
/// second-level domains and the commercial ones of countries whose addresses turn up in
/// Japanese lists. Without it, `yahoo.co.jp` would be read as host `yahoo.co` under `jp`.
static MULTI_LABEL_SUFFIXES: &[&str] = &[
    "ac.jp", "ad.jp", "co.jp", "ed.jp", "go.jp", "gr.jp", "lg.jp", "ne.jp", "or.jp", "ac.uk",
    "co.uk", "org.uk", "com.au", "net.au", "com.cn", "net.cn", "com.tw", "com.hk", "co.kr",
    "or.kr", "co.nz", "co.in", "co.id", "co.th", "co.za", "com.br", "com.mx", "com.sg", "com.my",
    "com.ph", "com.vn", "com.ar", "com.tr",
];

/// Well-known domains whose name no other mail domain shares, so the name under any other
/// suffix is a typo (`gmail.co.jp`, `icloud.jp`).
static ANY_SUFFIX: &[&str] = &["gmail.com", "googlemail.com", "icloud.com"];

/// Japanese consumer domains that people write under the wrong Japanese suffix
/// (`docomo.co.jp`, `yahoo.jp`, `outlook.co.jp`), and whose name under another Japanese
/// suffix is not a company's mail domain.
static ANY_JAPANESE_SUFFIX: &[&str] = &[
    "docomo.ne.jp",
    "ezweb.ne.jp",
    "yahoo.co.jp",
    "hotmail.co.jp",
    "outlook.jp",
    "i.softbank.jp",
];

/// Stray labels that auto-completion appends to a complete domain (`gmail.com.jp`).
static STRAY_SUFFIXES: &[&str] = &["com", "net", "jp"];

/// The cost given to a match through one of the rules rather than through edits, so that
/// a genuine one-edit match still wins over it.
const COST_SUFFIX_RULE: usize = 2;
const COST_ANY_SUFFIX: usize = 3;

/// The most edits allowed in host and suffix together.
const MAX_TOTAL_EDITS: usize = 2;

/// A well-known domain split up once, ahead of the searches.
#[derive(Debug)]
struct Target {
    domain: &'static str,
    host: &'static str,
    /// The host's first byte.
    first: u8,
    suffix: &'static str,
    /// Number of labels in `suffix`.
    suffix_labels: usize,
    /// Edits allowed in the host (see the table in the module docs).
    host_edits: usize,
    any_suffix: bool,
    any_japanese_suffix: bool,
}

static TARGETS: LazyLock<Vec<Target>> = LazyLock::new(|| {
    WELL_KNOWN
        .iter()
        .map(|&domain| {
            let (host, suffix) = split_registrable(domain);
            Target {
                domain,
                host,
                first: host.as_bytes().first().copied().unwrap_or_default(),
                suffix,
                suffix_labels: suffix.split('.').count(),
                host_edits: host_edits(host.len()),
                any_suffix: ANY_SUFFIX.contains(&domain),
                any_japanese_suffix: ANY_JAPANESE_SUFFIX.contains(&domain),
            }
        })
        .collect()
});

static WELL_KNOWN_SET: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| WELL_KNOWN.iter().copied().collect());

/// Edits allowed in a well-known host of `len` bytes (see the table in the module docs).
fn host_edits(len: usize) -> usize {
    match len {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// Splits a domain into host and public suffix, using [`MULTI_LABEL_SUFFIXES`] and
/// otherwise the last label. A domain of one label is all suffix.
fn split_registrable(domain: &str) -> (&str, &str) {
    if MULTI_LABEL_SUFFIXES.contains(&domain) {
        return ("", domain);
    }
    for suffix in MULTI_LABEL_SUFFIXES {
        if let Some(host) = domain
            .strip_suffix(suffix)
            .and_then(|d| d.strip_suffix('.'))
            && !host.is_empty()
        {
            return (host, suffix);
        }
    }
    domain.rsplit_once('.').unwrap_or(("", domain))
}

/// A domain split before its last 1, 2, 3 and 4 labels, as host and suffix; `None` where
/// nothing would be left in front.
fn split_last_labels(domain: &str) -> [Option<(&str, &str)>; 4] {
    let mut splits = [None; 4];
    // One pass from the end over the bytes finds the last four dots.
    let dots = domain.bytes().enumerate().rev().filter(|&(_, b)| b == b'.');
    for (split, (at, _)) in splits.iter_mut().zip(dots) {
        let (host, suffix) = (&domain[..at], &domain[at + 1..]);
        *split = (!host.is_empty()).then_some((host, suffix));
    }
    splits
}

fn is_japanese_suffix(suffix: &str) -> bool {
    suffix == "jp" || (suffix.ends_with(".jp") && MULTI_LABEL_SUFFIXES.contains(&suffix))
}

/// Returns the well-known domain that `domain` is probably a typo of.
///
/// `domain` is normalized: lowercase, A-label form. Returns `None` for well-known and
/// free-mail domains themselves ([`is_free`]), for domains not close enough to any
/// well-known one by the rules in the module docs, and for text that is not a normalized
/// domain (not ASCII, or with an empty label).
///
/// ```
/// # use listclean::policy::typo::suggest_domain;
/// assert_eq!(suggest_domain("gmial.com"), Some("gmail.com"));
/// assert_eq!(suggest_domain("docomo.co.jp"), Some("docomo.ne.jp"));
/// assert_eq!(suggest_domain("toyota.co.jp"), None);
/// ```
pub fn suggest_domain(domain: &str) -> Option<&'static str> {
    if WELL_KNOWN_SET.contains(domain) || is_free(domain) {
        return None;
    }
    suggest_unlisted(domain)
}

/// [`suggest_domain`] for a domain known not to be free mail ([`is_free`]), and so not
/// well known either: what the policy asks once it has looked at free mail itself.
pub(crate) fn suggest_unlisted(domain: &str) -> Option<&'static str> {
    let bytes = domain.as_bytes();
    // Empty labels (`gmail..com`, a trailing dot) and non-ASCII mean the domain was not
    // normalized; guessing at it would hide that.
    if !domain.is_ascii()
        || bytes.first().is_none_or(|&b| b == b'.')
        || bytes.last().is_none_or(|&b| b == b'.')
        || bytes.windows(2).any(|pair| pair == b"..")
    {
        return None;
    }
    let mut best: Option<(usize, &'static str)> = None;
    let mut consider = |cost: usize, candidate: &'static str| {
        // Strictly smaller, so that ties keep the earlier, more used candidate.
        if best.is_none_or(|(best_cost, _)| cost < best_cost) {
            best = Some((cost, candidate));
        }
    };
    if let Some((head, tail)) = domain.rsplit_once('.')
        && STRAY_SUFFIXES.contains(&tail)
        && let Some(&candidate) = WELL_KNOWN_SET.get(head)
    {
        consider(COST_SUFFIX_RULE, candidate);
    }
    // The domain split before its last 1, 2, 3 and 4 labels, worked out once: every
    // target tries a few of these splits.
    let splits = split_last_labels(domain);
    // Every split's host starts with the domain's first letter, and a target is matched
    // only by a host with the same first letter as its own (the same host, or an edit
    // that keeps the first letter): the other targets need no look.
    let first = bytes[0];
    for target in TARGETS.iter().filter(|target| target.first == first) {
        // The typed suffix may have lost or gained a label (`yahoo.cojp`), so the domain
        // is also split one label either side of where the target splits.
        let lowest = target.suffix_labels.saturating_sub(1).max(1);
        for labels in lowest..=target.suffix_labels + 1 {
            if let Some(Some((host, suffix))) = splits.get(labels - 1)
                && let Some(cost) = match_cost(target, host, suffix)
            {
                consider(cost, target.domain);
            }
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// How far the domain split as `host` and `suffix` is from `target`, or `None` when it is
/// too far to be a typo of it.
fn match_cost(target: &Target, host: &str, suffix: &str) -> Option<usize> {
    if host == target.host {
        return if suffix_is_close(suffix, target.suffix) {
            // One edit: the target itself never gets here.
            Some(1)
        } else if target.any_japanese_suffix && is_japanese_suffix(suffix) {
            Some(COST_SUFFIX_RULE)
        } else if target.any_suffix {
            Some(COST_ANY_SUFFIX)
        } else {
            None
        };
    }
    // Cheap refusals first: most domains fail on the length or the first letter.
    if target.host_edits == 0
        || host.len().abs_diff(target.host.len()) > target.host_edits
        || host.as_bytes().first() != target.host.as_bytes().first()
    {
        return None;
    }
    let suffix_edits = if suffix == target.suffix {
        0
    } else if suffix_is_close(suffix, target.suffix) {
        1
    } else {
        return None;
    };
    let host_edits = osa_distance(host, target.host);
    if host_edits > target.host_edits || host_edits + suffix_edits > MAX_TOTAL_EDITS {
        return None;
    }
    if target.host.len() == 4 && !is_swap(host, target.host) {
        return None;
    }
    Some(host_edits + suffix_edits)
}

/// Whether a typed suffix is one edit from the target's (`con`, `cojp`, `co.jo`).
fn suffix_is_close(typed: &str, target: &str) -> bool {
    typed.len().abs_diff(target.len()) <= 1 && osa_distance(typed, target) <= 1
}

/// Whether `a` is `b` with two neighbouring letters swapped.
fn is_swap(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut diffs = (0..a.len()).filter(|&i| a[i] != b[i]);
    match (diffs.next(), diffs.next(), diffs.next()) {
        (Some(i), Some(j), None) => j == i + 1 && a[i] == b[j] && a[j] == b[i],
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let cases: &[(&str, Option<&str>)] = &[
            // From the brief.
            ("gmial.com", Some("gmail.com")),
            ("gmai.com", Some("gmail.com")),
            ("gamil.com", Some("gmail.com")),
            ("gmail.con", Some("gmail.com")),
            ("gmail.co", Some("gmail.com")),
            ("gmail.cm", Some("gmail.com")),
            ("yahoo.co.jo", Some("yahoo.co.jp")),
            ("yaho.co.jp", Some("yahoo.co.jp")),
            ("yahoo.cojp", Some("yahoo.co.jp")),
            ("docomo.ne.jo", Some("docomo.ne.jp")),
            ("docomo.co.jp", Some("docomo.ne.jp")),
            ("docomo.ne.jp.com", Some("docomo.ne.jp")),
            ("ezweb.ne.jo", Some("ezweb.ne.jp")),
            ("hotmial.co.jp", Some("hotmail.co.jp")),
            ("hotmail.co.jo", Some("hotmail.co.jp")),
            ("softbank.ne.jo", Some("softbank.ne.jp")),
            ("icloud.co", Some("icloud.com")),
            ("outlook.co.jp", Some("outlook.jp")),
            // Host slips.
            ("gmaill.com", Some("gmail.com")),
            ("gnail.com", Some("gmail.com")),
            ("gmal.com", Some("gmail.com")),
            ("gmial.con", Some("gmail.com")),
            ("yahooo.co.jp", Some("yahoo.co.jp")),
            ("yhaoo.com", Some("yahoo.com")),
            ("docom.ne.jp", Some("docomo.ne.jp")),
            ("dokomo.ne.jp", Some("docomo.ne.jp")),
            ("ezwab.ne.jp", Some("ezweb.ne.jp")),
            ("sofbank.ne.jp", Some("softbank.ne.jp")),
            ("sotfbnak.ne.jp", Some("softbank.ne.jp")),
            ("isoftbank.jp", Some("i.softbank.jp")),
            ("i.sofbank.jp", Some("i.softbank.jp")),
            ("iclod.com", Some("icloud.com")),
            ("hotmai.com", Some("hotmail.com")),
            ("outlok.jp", Some("outlook.jp")),
            ("lvie.com", Some("live.com")),
            ("sonet.ne.jp", Some("so-net.ne.jp")),
            ("biglob.ne.jp", Some("biglobe.ne.jp")),
            ("gogglemail.com", Some("googlemail.com")),
            // Suffix slips and suffix rules.
            ("gmail.comm", Some("gmail.com")),
            ("gmail.om", Some("gmail.com")),
            ("yahoo.co.jpp", Some("yahoo.co.jp")),
            ("docomo.nejp", Some("docomo.ne.jp")),
            ("aol.con", Some("aol.com")),
            ("au.con", Some("au.com")),
            ("yahoo.co", Some("yahoo.com")),
            ("live.co", Some("live.com")),
            ("yahoo.jp", Some("yahoo.co.jp")),
            ("hotmail.ne.jp", Some("hotmail.co.jp")),
            ("ezweb.co.jp", Some("ezweb.ne.jp")),
            ("i.softbank.ne.jp", Some("i.softbank.jp")),
            ("gmail.co.jp", Some("gmail.com")),
            ("gmail.jp", Some("gmail.com")),
            ("icloud.jp", Some("icloud.com")),
            ("gmail.com.jp", Some("gmail.com")),
            ("yahoo.co.jp.com", Some("yahoo.co.jp")),
            ("yahoo.com.jp", Some("yahoo.co.jp")),
            ("hotmail.com.jp", Some("hotmail.co.jp")),
            // Well-known and free domains themselves.
            ("gmail.com", None),
            ("gmx.com", None),
            ("gmx.de", None),
            ("ymail.com", None),
            ("me.com", None),
            ("mac.com", None),
            ("live.jp", None),
            ("au.com", None),
            ("nifty.com", None),
            ("mail.com", None),
            ("email.com", None),
            ("aol.de", None),
            ("yahoo.ne.jp", None),
            ("yahoo.co.uk", None),
            ("xx.so-net.ne.jp", None),
            // Companies and other real names.
            ("acme-corp.co.jp", None),
            ("toyota.co.jp", None),
            ("sony.com", None),
            ("mit.edu", None),
            ("example-shoji.co.jp", None),
            ("cloud.com", None),
            ("hmail.com", None),
            ("wahoo.com", None),
            ("love.com", None),
            ("life.jp", None),
            ("hotmart.com", None),
            ("never.com", None),
            ("comcast.com", None),
            ("nttdocomo.com", None),
            ("docomo-sys.co.jp", None),
            ("biglobe.co.jp", None),
            ("so-net.co.jp", None),
            ("nifty.co.jp", None),
            ("yahoo.net", None),
            ("aol.co.jp", None),
            ("msm.com", None),
            ("mns.com", None),
            ("outlook.com.tw", None),
            ("mail.gmial.com", None),
            ("international-business-machines.com", None),
            // Not domains at all.
            ("", None),
            ("com", None),
            (".", None),
            ("gmailcom", None),
            ("gmail..com", None),
            (".gmial.com", None),
            ("gmial.com.", None),
            ("ｇmail.com", None),
        ];
        for &(domain, expected) in cases {
            assert_eq!(suggest_domain(domain), expected, "{domain:?}");
        }
    }

    #[test]
    fn well_known_domains_split_as_expected() {
        let cases = [
            ("gmail.com", ("gmail", "com")),
            ("yahoo.co.jp", ("yahoo", "co.jp")),
            ("i.softbank.jp", ("i.softbank", "jp")),
            ("outlook.jp", ("outlook", "jp")),
            ("co.jp", ("", "co.jp")),
            ("jp", ("", "jp")),
        ];
        for (domain, expected) in cases {
            assert_eq!(split_registrable(domain), expected, "{domain}");
        }
    }

    #[test]
    fn rule_lists_name_well_known_domains() {
        for domain in ANY_SUFFIX.iter().chain(ANY_JAPANESE_SUFFIX) {
            assert!(WELL_KNOWN.contains(domain), "{domain}");
        }
    }

    #[test]
    fn swaps() {
        let cases = [
            ("lvie", "live", true),
            ("liev", "live", true),
            ("love", "live", false),
            ("live", "live", false),
            ("ilve", "live", true),
            ("evil", "live", false),
        ];
        for (a, b, expected) in cases {
            assert_eq!(is_swap(a, b), expected, "{a} {b}");
        }
    }
}
