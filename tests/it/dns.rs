//! The DNS stage end to end, against the lab DNS server on 127.0.0.1 (`tests/dns/`):
//! each kind of answer lands in its bucket, the persistent cache spares lookups, a
//! corrupt cache is rebuilt, a silent resolver stops the run, and every domain is asked
//! once however many rows share it.

use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, SystemTime};

use listclean::dns::cache::PersistentCache;
use listclean::dns::mail::DomainStage;
use listclean::dns::{DnsOptions, DomainOutcome, MailStage, RecordType};

use crate::support::labdns::{LabConfig, LabDns, silent_socket};
use crate::support::{Run, Workdir, column, files_besides, terminate};

fn lab() -> LabDns {
    LabDns::start(LabConfig {
        zones: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/dns")),
        delay: Duration::ZERO,
    })
    .expect("starting the lab DNS server")
}

/// Short timeouts keep the cases that never answer fast.
fn dns_args(lab: &LabDns) -> Vec<String> {
    vec![
        "--resolver".into(),
        lab.addr().to_string(),
        "--dns-timeout".into(),
        "0.3".into(),
        "--dns-attempts".into(),
        "1".into(),
    ]
}

fn clean(dir: &Workdir, input: &str, lab: &LabDns, extra: &[&str]) -> Run {
    let mut args = dns_args(lab);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = dir.clean(input, &args);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    run
}

const EVERY_CASE: &str = "id,email\n\
    1,a@acme-corp.com\n\
    2,b@nullmx.com\n\
    3,c@a-public.com\n\
    4,d@a-private.com\n\
    5,e@aaaa-public.com\n\
    6,f@aaaa-private.com\n\
    7,g@nodata.com\n\
    8,h@gone-company.com\n\
    9,i@servfail.com\n\
    10,j@refused.com\n\
    11,k@timeout.com\n\
    12,l@cname-mx.com\n\
    13,m@yahoo.co.jo\n\
    14,n@tousan-shoji.co.jp\n\
    15,o@example-shoji.co.jp\n\
    16,p@short-ttl.com\n\
    17,q@long-ttl.com\n";

/// Domains of [`EVERY_CASE`] whose outcome may be kept (all but the three transient ones).
const CACHEABLE: u64 = 14;
/// Queries the transient domains cost per run: one try each, asked twice (the retry).
const TRANSIENT_QUERIES: u64 = 6;
/// The start-up queries: the root's NS, the MX of the three known domains, and a name under
/// the first that cannot exist (the check for a resolver that lies).
const CANARY: u64 = 5;

#[test]
fn every_kind_of_answer_lands_in_its_bucket() {
    let lab = lab();
    let dir = Workdir::new();
    dir.write("list.csv", EVERY_CASE);
    let run = clean(&dir, "list.csv", &lab, &[]);

    let cleaned = run.cleaned_rows();
    assert_eq!(
        column(&cleaned, "id"),
        ["1", "3", "5", "9", "10", "11", "12", "15", "16", "17"]
    );
    assert_eq!(
        column(&cleaned, "email_status"),
        [
            "valid", "valid", "valid", "unknown", "unknown", "unknown", "valid", "valid", "valid",
            "valid"
        ]
    );
    assert_eq!(
        column(&cleaned, "email_flags"),
        [
            "",
            "",
            "",
            "dns_unknown",
            "dns_unknown",
            "dns_unknown",
            "",
            "",
            "",
            ""
        ]
    );

    let rejected = run.rejected_rows();
    assert_eq!(
        column(&rejected, "id"),
        ["2", "4", "6", "7", "8", "13", "14"]
    );
    assert_eq!(
        column(&rejected, "reject_reason"),
        [
            "null_mx",
            "no_mail_host",
            "no_mail_host",
            "no_mail_host",
            "domain_not_found",
            "domain_not_found",
            "domain_not_found"
        ]
    );
    assert_eq!(
        column(&rejected, "suggestion"),
        ["", "", "", "", "", "m@yahoo.co.jp", ""]
    );

    let dns = &run.report()["dns"];
    assert_eq!(dns["unique_domains"], 17);
    assert_eq!(dns["outcomes"]["deliverable"], 7);
    assert_eq!(dns["outcomes"]["null_mx"], 1);
    assert_eq!(dns["outcomes"]["no_mail_host"], 3);
    assert_eq!(dns["outcomes"]["not_found"], 3);
    assert_eq!(dns["outcomes"]["unknown"], 3);
    assert_eq!(dns["retries"], 3);
    // 17 MX; A for the 4 implicit-MX domains, AAAA for the 3 of them without a public
    // A (a-private, aaaa-public, aaaa-private, nodata: 4 A + 4 AAAA, a-public stops at
    // A); 3 second tries.
    assert_eq!(dns["lookups"], 17 + 5 + 4 + 3);
    assert_eq!(
        lab.queries(),
        CANARY + 17 + 5 + 4 + 3,
        "the server saw what the report counts"
    );
    assert!(
        run.stderr().contains("dns: 17 domains"),
        "summary: {}",
        run.stderr()
    );
}

#[test]
fn the_persistent_cache_spares_lookups_but_not_for_unknowns() {
    let lab = lab();
    let dir = Workdir::new();
    dir.write("list.csv", EVERY_CASE);
    let first = clean(&dir, "list.csv", &lab, &["--cache", "dns.cache"]);
    let after_first = lab.queries();
    assert_eq!(first.report()["dns"]["cache_hits_persistent"], 0);

    let second = clean(&dir, "list.csv", &lab, &["--cache", "dns.cache"]);
    let after_second = lab.queries();
    // Only the canary and the transient domains (never cached) were asked again.
    assert_eq!(after_second - after_first, CANARY + TRANSIENT_QUERIES);
    let dns = &second.report()["dns"];
    assert_eq!(dns["cache_hits_persistent"], CACHEABLE);
    assert_eq!(dns["lookups"], TRANSIENT_QUERIES);
    assert_eq!(dns["outcomes"]["unknown"], 3);
    // The same verdicts from the cache as from the network.
    assert_eq!(second.cleaned, first.cleaned);
    assert_eq!(second.rejected, first.rejected);

    let refreshed = clean(
        &dir,
        "list.csv",
        &lab,
        &["--cache", "dns.cache", "--refresh"],
    );
    assert_eq!(lab.queries() - after_second, after_first);
    assert_eq!(refreshed.report()["dns"]["cache_hits_persistent"], 0);
    assert_eq!(refreshed.cleaned, first.cleaned);
}

#[test]
fn a_corrupt_cache_is_rebuilt_with_a_warning() {
    let lab = lab();
    let dir = Workdir::new();
    dir.write("list.csv", EVERY_CASE);
    // A damaged redb file: its first bytes say redb, the rest is garbage.
    let mut damaged = b"redb\x1a\x0a\xa9\x0d\x0a".to_vec();
    damaged.extend(b"\x00\x01garbage".repeat(100));
    dir.write("dns.cache", damaged);
    let run = clean(&dir, "list.csv", &lab, &["--cache", "dns.cache"]);
    assert!(
        run.stderr().contains("warning: DNS cache unreadable"),
        "{}",
        run.stderr()
    );
    let warnings = run.report()["warnings"].as_array().expect("warnings");
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().is_some_and(|w| w.contains("DNS cache"))),
        "{warnings:?}"
    );
    assert_eq!(column(&run.cleaned_rows(), "id").len(), 10);

    // The rebuilt file is a working cache.
    let before = lab.queries();
    let again = clean(&dir, "list.csv", &lab, &["--cache", "dns.cache"]);
    assert_eq!(lab.queries() - before, CANARY + TRANSIENT_QUERIES);
    let warnings = again.report()["warnings"].as_array().expect("warnings");
    assert!(
        !warnings
            .iter()
            .any(|w| w.as_str().is_some_and(|w| w.contains("DNS cache"))),
        "{warnings:?}"
    );
}

/// A run killed while it created a cache left a file of zeros under its name (before caches
/// were made under a temporary name): rebuilt, with a warning. Runs started together on a
/// cache that does not exist yet all succeed, sharing it or doing without it.
#[test]
fn an_interrupted_creation_and_racing_first_runs_never_stop_a_run() {
    let lab = lab();
    let dir = Workdir::new();
    dir.write("list.csv", EVERY_CASE);
    dir.write("zeros.cache", vec![0u8; 73_728]);
    let run = clean(&dir, "list.csv", &lab, &["--cache", "zeros.cache"]);
    assert!(run.stderr().contains("DNS cache"), "{}", run.stderr());
    let again = clean(&dir, "list.csv", &lab, &["--cache", "zeros.cache"]);
    assert!(!again.stderr().contains("DNS cache"), "{}", again.stderr());

    let mut runs = Vec::new();
    for i in 0..3 {
        let out = dir.path(&format!("out{i}"));
        let mut args = dns_args(&lab);
        args.extend([
            "--cache".into(),
            dir.path("new.cache").display().to_string(),
        ]);
        args.extend(["-q".into(), "-o".into(), out.display().to_string()]);
        runs.push(
            std::process::Command::new(env!("CARGO_BIN_EXE_listclean"))
                .arg("clean")
                .arg(dir.path("list.csv"))
                .args(&args)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("a run starts"),
        );
    }
    for run in runs {
        let output = run.wait_with_output().expect("it ends");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let leftovers: Vec<String> = files_besides(&dir, "list.csv")
        .into_iter()
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Answers that cannot be trusted (alias loops, a chain longer than resolvers follow) are
/// "could not tell": kept as unknown, never rejected, and the same whatever came before
/// them in the file.
#[test]
fn untrustworthy_answers_are_unknown_in_any_order() {
    let lab = lab();
    let dir = Workdir::new();
    let domains = [
        "cname-loop-a.com",
        "cname-self.com",
        "chain0.com",
        "chain1.com",
        "acme-corp.com",
    ];
    let verdicts = |order: &[&str]| {
        let rows: String = order
            .iter()
            .enumerate()
            .map(|(i, d)| format!("{i},x@{d}\n"))
            .collect();
        dir.write("list.csv", format!("id,email\n{rows}"));
        let run = clean(&dir, "list.csv", &lab, &[]);
        assert_eq!(run.report()["rows_rejected"], 0, "{}", run.stderr());
        let cleaned = run.cleaned_rows();
        let mut seen: Vec<(String, String)> = column(&cleaned, "email")
            .into_iter()
            .zip(column(&cleaned, "email_status"))
            .collect();
        seen.sort();
        seen
    };
    let forward = verdicts(&domains);
    let status = |d: &str| {
        forward
            .iter()
            .find(|(e, _)| e.ends_with(d))
            .map(|(_, s)| s.as_str())
    };
    assert_eq!(status("@cname-loop-a.com"), Some("unknown"));
    assert_eq!(status("@cname-self.com"), Some("unknown"));
    assert_eq!(status("@chain0.com"), Some("unknown"), "nine aliases");
    assert_eq!(status("@chain1.com"), Some("valid"), "eight aliases");
    let mut backward = domains;
    backward.reverse();
    assert_eq!(verdicts(&backward), forward);
}

/// With DNS, a typo of a well-known domain is rejected either way: it does not exist
/// (`domain_not_found`), or it does and takes the mail meant for the other one
/// (`typo_domain`, typo-squatters register them); both say what was meant.
#[test]
fn typo_domains_are_rejected_with_their_suggestion() {
    let lab = lab();
    let dir = Workdir::new();
    dir.write("list.csv", "id,email\n1,a@yahooo.co.jp\n2,b@yaho.co.jp\n");
    let run = clean(&dir, "list.csv", &lab, &[]);
    let rejected = run.rejected_rows();
    assert_eq!(
        column(&rejected, "reject_reason"),
        ["typo_domain", "domain_not_found"]
    );
    assert_eq!(
        column(&rejected, "suggestion"),
        ["a@yahoo.co.jp", "b@yahoo.co.jp"]
    );
}

#[test]
fn a_file_that_is_not_a_cache_is_never_overwritten() {
    // The input named as the cache by mistake, or a list typed after the wrong option:
    // the run stops before it starts and the file is untouched.
    let lab = lab();
    let dir = Workdir::new();
    dir.write("list.csv", EVERY_CASE);
    // An empty file too: the day's unsubscribes, none today.
    for named in ["list.csv", "bounces.txt", "unsubscribed.txt"] {
        dir.write("bounces.txt", "a@acme-corp.com\n");
        dir.write("unsubscribed.txt", "");
        let before = std::fs::read(dir.path(named)).expect("the file");
        let run = dir.clean(
            "list.csv",
            &["--resolver", &lab.addr().to_string(), "--cache", named],
        );
        assert_eq!(run.code(), 64, "{}", run.stderr());
        assert!(
            run.stderr().contains("is not a DNS cache") && run.stderr().contains("untouched"),
            "{}",
            run.stderr()
        );
        assert_eq!(std::fs::read(dir.path(named)).expect("the file"), before);
        assert!(run.cleaned.is_none() && run.report.is_none());
    }
    // A cache in a folder that does not exist yet gets the folder.
    let run = clean(&dir, "list.csv", &lab, &["--cache", "cache/dns.redb"]);
    assert!(!run.stderr().contains("DNS cache"), "{}", run.stderr());
    assert!(dir.path("cache/dns.redb").is_file());
}

#[test]
fn a_silent_resolver_stops_the_run_before_any_output() {
    let (_socket, addr) = silent_socket().expect("a silent socket");
    let dir = Workdir::new();
    dir.write("list.csv", EVERY_CASE);
    let addr = addr.to_string();
    let run = clean_with_short_timeout(&dir, &addr);
    assert_eq!(run.code(), 75, "{}", run.stderr());
    assert!(
        run.stderr().contains("DNS is unavailable") && run.stderr().contains(&addr),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("--no-dns"), "{}", run.stderr());
    assert!(run.cleaned.is_none() && run.rejected.is_none() && run.report.is_none());
}

/// A resolver that denies every name, or answers for every name, is caught at start: the
/// run stops with exit 75 and writes nothing, instead of rejecting the whole list or
/// keeping every dead domain.
#[test]
fn a_resolver_that_lies_stops_the_run_before_any_output() {
    for (zones, says) in [("denies", "do not exist"), ("answers-all", "cannot exist")] {
        let liar = LabDns::start(LabConfig {
            zones: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/dns-liars"))
                .join(zones),
            delay: Duration::ZERO,
        })
        .expect("starting the lab DNS server");
        let dir = Workdir::new();
        dir.write(
            "list.csv",
            "id,email\n1,a@gmail.com\n2,b@gone-company.com\n",
        );
        let run = dir.clean(
            "list.csv",
            &dns_args(&liar)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        assert_eq!(run.code(), 75, "{zones}: {}", run.stderr());
        assert!(run.stderr().contains(says), "{zones}: {}", run.stderr());
        assert!(run.cleaned.is_none() && run.rejected.is_none(), "{zones}");
        // Told which domains to trust instead, the same resolver is used as it is.
        let run = dir.clean(
            "list.csv",
            &[
                dns_args(&liar),
                vec!["--dns-check-domain".into(), "none".into()],
            ]
            .concat()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        );
        assert_eq!(run.code(), 0, "{zones}: {}", run.stderr());
    }
}

#[test]
fn one_answering_name_server_is_enough_to_start() {
    let lab = lab();
    let (_socket, dead) = silent_socket().expect("a silent socket");
    let (dead, live) = (dead.to_string(), lab.addr().to_string());
    let dir = Workdir::new();
    dir.write("list.csv", "email\na@acme-corp.com\n");
    // Whichever server the resolver would try first, the dead one listed first must
    // not stop the run.
    for _ in 0..3 {
        let run = dir.clean(
            "list.csv",
            &[
                "--resolver",
                &dead,
                "--resolver",
                &live,
                "--dns-timeout",
                "0.3",
            ],
        );
        assert_eq!(run.code(), 0, "{}", run.stderr());
    }
}

#[test]
fn a_signal_ends_a_wait_for_dns() {
    let lab = lab();
    let dir = Workdir::new();
    dir.write("list.csv", "email\na@timeout.com\nb@acme-corp.com\n");
    let addr = lab.addr().to_string();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_listclean"))
        .current_dir(dir.path(""))
        .args(["clean", "list.csv", "--quiet", "--resolver", &addr])
        .args(["--dns-timeout", "30", "--dns-attempts", "1"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first row waits for an answer that never comes (30 s, and once more at the end).
    std::thread::sleep(Duration::from_millis(500));
    let output = terminate(child, "DNS");
    assert_eq!(
        output.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let left = files_besides(&dir, "list.csv");
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_closed_port_stops_the_run_too() {
    let addr = {
        let (socket, addr) = silent_socket().expect("a socket");
        drop(socket);
        addr.to_string()
    };
    let dir = Workdir::new();
    dir.write("list.csv", "email\na@acme-corp.com\n");
    let run = clean_with_short_timeout(&dir, &addr);
    assert_eq!(run.code(), 75, "{}", run.stderr());
    assert!(run.cleaned.is_none());
}

#[test]
fn a_referral_is_not_an_answer() {
    // A server that hands out a zone cut's name servers has not said whether the domain
    // receives mail: the address is kept, unverified.
    let lab = lab();
    let dir = Workdir::new();
    dir.write("list.csv", "email\nsales@delegated.com\n");
    let run = clean(&dir, "list.csv", &lab, &[]);
    let cleaned = run.cleaned_rows();
    assert_eq!(column(&cleaned, "email"), ["sales@delegated.com"]);
    assert_eq!(column(&cleaned, "email_flags"), ["role;dns_unknown"]);
    assert_eq!(run.report()["dns"]["outcomes"]["unknown"], 1);
}

#[test]
fn an_mx_naming_localhost_is_no_mail_host() {
    let lab = lab();
    let dir = Workdir::new();
    dir.write("list.csv", "email\ntaro@parked.com\nhana@a-private.com\n");
    let run = clean(&dir, "list.csv", &lab, &[]);
    let rejected = run.rejected_rows();
    assert_eq!(
        column(&rejected, "reject_reason"),
        ["no_mail_host", "no_mail_host"]
    );
    // The detail says which case applied.
    let detail = column(&rejected, "reject_detail");
    assert!(detail[0].contains("only localhost"), "{detail:?}");
    assert!(
        detail[1].contains("no MX records and no public address"),
        "{detail:?}"
    );
}

#[test]
fn a_sub_address_dns_rejects_is_removed_from_a_kept_row() {
    let lab = lab();
    let dir = Workdir::new();
    dir.write(
        "two.csv",
        "id,email,sub email\n1,a@acme-corp.com,h@gone-company.com\n2,b@nullmx.com,\n",
    );
    let run = clean(&dir, "two.csv", &lab, &[]);
    let cleaned = run.cleaned_rows();
    assert_eq!(column(&cleaned, "email"), ["a@acme-corp.com"]);
    assert_eq!(column(&cleaned, "sub email"), [""]);
    assert_eq!(column(&cleaned, "email_flags"), ["other_address_removed"]);
    assert_eq!(
        run.report()["removed_addresses"],
        serde_json::json!({"sub email": {"domain_not_found": 1}})
    );
    assert_eq!(column(&run.rejected_rows(), "reject_reason"), ["null_mx"]);
}

#[test]
fn a_run_answered_wholly_from_the_cache_needs_no_name_server() {
    let lab = lab();
    let dir = Workdir::new();
    dir.write("list.csv", "id,email\n1,a@acme-corp.com\n2,b@nullmx.com\n");
    let first = clean(&dir, "list.csv", &lab, &["--cache", "dns.cache"]);
    let (_socket, addr) = silent_socket().expect("a silent socket");
    let addr = addr.to_string();
    let offline = [
        "--resolver",
        &addr,
        "--dns-timeout",
        "0.2",
        "--dns-attempts",
        "1",
        "--cache",
        "dns.cache",
    ];
    let cached = dir.clean("list.csv", &offline);
    assert_eq!(cached.code(), 0, "{}", cached.stderr());
    assert_eq!(cached.report()["dns"]["lookups"], 0);
    assert_eq!(cached.cleaned, first.cleaned);
    assert_eq!(cached.rejected, first.rejected);
    // One domain that is not in the cache needs the name servers: the run stops.
    dir.write(
        "more.csv",
        "id,email\n1,a@acme-corp.com\n2,c@a-public.com\n",
    );
    let more = dir.clean("more.csv", &offline);
    assert_eq!(more.code(), 75, "{}", more.stderr());
    assert!(more.cleaned.is_none() && more.rejected.is_none() && more.report.is_none());
}

/// Cleans list.csv against `resolver` with one short try per query.
fn clean_with_short_timeout(dir: &Workdir, resolver: &str) -> Run {
    dir.clean(
        "list.csv",
        &[
            "--resolver",
            resolver,
            "--dns-timeout",
            "0.2",
            "--dns-attempts",
            "1",
        ],
    )
}

#[test]
fn each_domain_is_asked_once_however_many_rows_share_it() {
    let lab = lab();
    let dir = Workdir::new();
    let mut input = String::from("email\n");
    // More rows than a batch, so that several batches wait on the same domains.
    for i in 0..20_000 {
        let domain = ["acme-corp.com", "a-private.com", "gone-company.com"][i % 3];
        input += &format!("user{i}@{domain}\n");
    }
    dir.write("many.csv", input);
    let run = clean(&dir, "many.csv", &lab, &[]);
    // acme-corp: MX; a-private: MX, A, AAAA; gone-company: MX.
    assert_eq!(lab.queries(), CANARY + 5);
    assert_eq!(run.report()["dns"]["unique_domains"], 3);
    assert_eq!(run.report()["dns"]["cache_hits_run"], 20_000 - 3);
    assert_eq!(run.report()["rows_cleaned"], 6667);
    assert_eq!(run.report()["reasons"]["no_mail_host"], 6667);
    assert_eq!(run.report()["reasons"]["domain_not_found"], 6666);
}

#[test]
fn a_pipe_given_by_name_loses_no_row_to_the_read_ahead() {
    // The read-ahead opens the input a second time; a pipe opened twice would give it rows
    // the main reader never sees.
    let lab = lab();
    let dir = Workdir::new();
    let mut input = String::from("email\n");
    // Several MiB, more than the first read takes whole.
    for i in 0..200_000 {
        input += &format!("user{i}@acme-corp.com\n");
    }
    let resolver = lab.addr().to_string();
    let run = dir.clean_stdin("/dev/stdin", &["--resolver", &resolver], input.as_bytes());
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(run.report()["rows_in"], 200_000);
}

#[test]
fn an_alias_of_a_missing_name_has_no_mail_host() {
    // The domain exists (it is a CNAME); the name it points to does not. Saying the domain
    // does not exist would send the user to a registrar that shows it registered.
    let lab = lab();
    let dir = Workdir::new();
    dir.write(
        "list.csv",
        "email\na@cname-dangling.com\nb@gone-company.com\n",
    );
    let run = clean(&dir, "list.csv", &lab, &[]);
    let rejected = run.rejected_rows();
    assert_eq!(
        column(&rejected, "reject_reason"),
        ["no_mail_host", "domain_not_found"]
    );
}

#[test]
fn many_unknown_domains_bring_advice_to_slow_down() {
    let lab = lab();
    let dir = Workdir::new();
    let mut input = String::from("email\n");
    for i in 0..12 {
        input += &format!("user@host{i}.timeout.com\n");
    }
    dir.write("list.csv", input);
    let run = clean(&dir, "list.csv", &lab, &[]);
    assert_eq!(run.report()["dns"]["outcomes"]["unknown"], 12);
    assert_eq!(run.report()["dns"]["unknown_causes"]["timeout"], 12);
    assert!(
        run.stderr().contains("12 unknown (12 timeout)"),
        "{}",
        run.stderr()
    );
    let warnings = run.report()["warnings"].to_string();
    assert!(
        warnings.contains("12 of 12 domains could not be checked")
            && warnings.contains("--dns-qps"),
        "{warnings}"
    );
    // A few unknown domains among many are no pattern.
    dir.write("few.csv", "email\na@timeout.com\nb@acme-corp.com\n");
    let run = clean(&dir, "few.csv", &lab, &[]);
    assert!(!run.report()["warnings"].to_string().contains("--dns-qps"));
}

#[test]
fn a_server_that_turns_queries_away_brings_advice_to_use_a_resolver() {
    // REFUSED and referrals are what a resolver pointed at an authoritative-only server,
    // or at one that does not serve this host, gets: slowing down would not help.
    let lab = lab();
    let dir = Workdir::new();
    let mut input = String::from("email\n");
    for i in 0..6 {
        input += &format!("a@host{i}.refused.com\nb@host{i}.delegated.com\n");
    }
    dir.write("list.csv", input);
    let run = clean(&dir, "list.csv", &lab, &[]);
    let causes = &run.report()["dns"]["unknown_causes"];
    assert_eq!(causes["refused"], 6, "{causes}");
    assert_eq!(causes["referral"], 6, "{causes}");
    assert_eq!(causes["timeout"], 0, "{causes}");
    assert_eq!(run.report()["rows_cleaned"], 12);
    let warnings = run.report()["warnings"].to_string();
    assert!(
        warnings.contains("refused 6 of them (REFUSED) and answered 6 with a referral")
            && warnings.contains("recursive resolver")
            && !warnings.contains("--dns-qps"),
        "{warnings}"
    );
}

#[test]
fn attempts_count_every_try() {
    let lab = lab();
    let dir = Workdir::new();
    dir.write("list.csv", "email\na@timeout.com\n");
    let addr = lab.addr().to_string();
    let run = dir.clean(
        "list.csv",
        &[
            "--resolver",
            &addr,
            "--dns-timeout",
            "0.2",
            "--dns-attempts",
            "2",
        ],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    // Two tries per query, and the domain asked twice (the retry at the end).
    assert_eq!(lab.queries(), CANARY + 2 * 2);
    assert_eq!(column(&run.cleaned_rows(), "email_flags"), ["dns_unknown"]);
}

#[test]
fn qps_is_a_ceiling() {
    let lab = lab();
    let dir = Workdir::new();
    let mut input = String::from("email\n");
    for domain in [
        "acme-corp.com",
        "nullmx.com",
        "gone-company.com",
        "docomo.ne.jp",
    ] {
        for user in ["a", "b", "c"] {
            input += &format!("{user}@{domain}\n");
        }
    }
    input += "x@yahoo.co.jp\ny@example-shoji.co.jp\n";
    dir.write("list.csv", input);
    let run = clean(&dir, "list.csv", &lab, &["--dns-qps", "10"]);
    let dns = &run.report()["dns"];
    assert_eq!(dns["lookups"], 6);
    // Six queries at most ten a second: the last starts at least 0.5 s after the first.
    let seconds = dns["seconds"].as_f64().expect("seconds");
    assert!(seconds >= 0.45, "{seconds}");
}

/// Runs the library's stage directly, to look at what reaches the cache file.
fn stage_options(lab: &LabDns, cache: PathBuf) -> DnsOptions {
    DnsOptions {
        resolvers: vec![lab.addr()],
        timeout: Duration::from_millis(300),
        attempts: 1,
        cache: Some(cache),
        ..DnsOptions::default()
    }
}

#[test]
fn cached_lifetimes_are_the_ttls_clamped_to_our_ranges() {
    let lab = lab();
    let dir = Workdir::new();
    let path = dir.path("dns.cache");
    let stage = MailStage::start(&stage_options(&lab, path.clone())).expect("stage");
    let domains = [
        "long-ttl.com",
        "short-ttl.com",
        "gone-company.com",
        "nodata.com",
        "servfail.com",
    ];
    for domain in domains {
        stage.submit(domain);
    }
    let outcomes: Vec<_> = domains
        .iter()
        .map(|d| {
            stage
                .outcome(d, Some(&AtomicUsize::new(0)))
                .expect("an outcome")
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            DomainOutcome::Deliverable,
            DomainOutcome::Deliverable,
            DomainOutcome::NotFound,
            DomainOutcome::NoMailHost,
            DomainOutcome::Unknown
        ]
    );
    let stats = stage.finish().expect("the lab answers");
    assert!(stats.warnings.is_empty(), "{:?}", stats.warnings);

    let mut warnings = Vec::new();
    let cache = PersistentCache::open(&path, &mut warnings).expect("the cache");
    assert!(warnings.is_empty(), "{warnings:?}");
    let now = SystemTime::now();
    let left = |domain: &str| {
        let entry = cache
            .get(domain, RecordType::Mx, now)
            .expect("readable")
            .unwrap_or_else(|| panic!("{domain} is cached"));
        entry.expires.duration_since(now).map_or(0, |d| d.as_secs())
    };
    let day = 86400;
    // 10 days, past hickory's default one-day cap: clamped to our 7 days.
    assert!((7 * day - 60..=7 * day).contains(&left("long-ttl.com")));
    // 60 s, raised to our 1 hour.
    assert!((3600 - 60..=3600).contains(&left("short-ttl.com")));
    // The SOA's 900 s, inside the negative range.
    assert!((900 - 60..=900).contains(&left("gone-company.com")));
    assert!((900 - 60..=900).contains(&left("nodata.com")));
    assert_eq!(
        cache
            .get("servfail.com", RecordType::Mx, now)
            .expect("readable"),
        None
    );
}

#[test]
fn outcome_without_submit_still_resolves() {
    let lab = lab();
    let options = DnsOptions {
        resolvers: vec![lab.addr()],
        timeout: Duration::from_millis(300),
        attempts: 1,
        ..DnsOptions::default()
    };
    let stage = MailStage::start(&options).expect("stage");
    assert_eq!(
        stage.outcome("nullmx.com", Some(&AtomicUsize::new(0))),
        Some(DomainOutcome::NullMx)
    );
    // Asked again: from memory.
    stage.submit("nullmx.com");
    assert_eq!(
        stage.outcome("nullmx.com", None),
        Some(DomainOutcome::NullMx)
    );
    let stats = stage.finish().expect("the lab answers");
    assert_eq!(stats.unique_domains, 1);
    assert_eq!(stats.lookups, 1);
}

#[test]
fn a_backwards_ttl_range_is_a_usage_error() {
    let dir = Workdir::new();
    dir.write("list.csv", "email\na@acme-corp.com\n");
    let run = dir.clean("list.csv", &["--cache-ttl", "2h..1h"]);
    assert_eq!(run.code(), 64, "{}", run.stderr());
    assert!(run.stderr().contains("--cache-ttl"), "{}", run.stderr());
    assert!(run.cleaned.is_none());
}
