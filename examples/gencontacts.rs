//! Generates a synthetic contact list, and optionally lab DNS zones, for `make bench`.
//!
//! ```text
//! cargo run --release --example gencontacts -- --rows 2000000 --domains 50000 \
//!     [--dirty 0.05] [--dups 0.03] [--seed 1] --out bench-data/contacts-2m.csv \
//!     [--zones-out bench-data/zones]
//! ```
//!
//! The CSV (UTF-8, LF, header `id,first_name,last_name,company,email,phone,last_contact`)
//! spreads its addresses over `--domains` domains with a Zipf-like (s = 1) skew: a handful of
//! free-mail giants take about a quarter of the rows and a long tail of invented company
//! domains takes the rest. A tenth of the picks are uniform over all domains, so nearly every
//! generated domain appears at least once at the sizes `make bench` uses; the cleaner's per-domain
//! caches then see a realistic number of distinct keys.
//!
//! About `--dirty` of the rows carry one kind of mess seen in real exports (full-width
//! characters, padding, display names, typo domains, several addresses in one cell, ...), each
//! kind a few tenths of a percent. Another `--dups` of the rows repeat an earlier row's contact,
//! a sixth of them with the address in another case.
//!
//! `--zones-out DIR` writes RFC 1035 master files for the loopback lab DNS server, one per domain
//! (`acme.co.jp.zone`) and one per TLD (`jp.zone`): most domains get an MX, some are absent
//! (NXDOMAIN, from the TLD's zone), and a few have a null MX or only a public or private A
//! record. Typo domains are always absent.
//!
//! Every row is a pure function of `--seed` and its index, which is how a duplicate row
//! regenerates an earlier contact without keeping the whole list in memory. Only std is used, so
//! the generator neither depends on the library nor needs it to compile.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "\
usage: gencontacts --rows N --domains D --out FILE [--dirty 0.05] [--dups 0.03] [--seed S]
                   [--zones-out DIR]

  --rows N         data rows to write
  --domains D      distinct email domains to draw from (free-mail giants + company domains)
  --out FILE       CSV to write (UTF-8, LF)
  --dirty R        share of rows with one kind of mess in the email cell (default 0.05)
  --dups R         share of rows repeating an earlier contact (default 0.03)
  --seed S         PRNG seed; the output is a function of the arguments (default 1)
  --zones-out DIR  also write lab DNS zone files (<tld>.zone) for the domains";

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("gencontacts: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gencontacts: {err}");
            ExitCode::FAILURE
        }
    }
}

struct Args {
    rows: u64,
    domains: usize,
    dirty: f64,
    dups: f64,
    seed: u64,
    out: PathBuf,
    zones_out: Option<PathBuf>,
}

impl Args {
    /// Returns `Ok(None)` when help was asked for.
    fn parse(mut it: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
        let (mut rows, mut domains, mut out, mut zones_out) = (None, None, None, None);
        let (mut dirty, mut dups, mut seed) = (0.05, 0.03, 1);
        while let Some(flag) = it.next() {
            if flag == "-h" || flag == "--help" {
                return Ok(None);
            }
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let bad = |what: &str| format!("{flag}: expected {what}, got {value:?}");
            match flag.as_str() {
                "--rows" => rows = Some(value.parse().map_err(|_| bad("a row count"))?),
                "--domains" => domains = Some(value.parse().map_err(|_| bad("a domain count"))?),
                "--dirty" => dirty = value.parse().map_err(|_| bad("a share like 0.05"))?,
                "--dups" => dups = value.parse().map_err(|_| bad("a share like 0.03"))?,
                "--seed" => seed = value.parse().map_err(|_| bad("an unsigned integer"))?,
                "--out" => out = Some(PathBuf::from(value)),
                "--zones-out" => zones_out = Some(PathBuf::from(value)),
                _ => return Err(format!("unknown option {flag}")),
            }
        }
        let args = Args {
            rows: rows.ok_or("--rows is required")?,
            domains: domains.ok_or("--domains is required")?,
            dirty,
            dups,
            seed,
            out: out.ok_or("--out is required")?,
            zones_out,
        };
        if args.domains == 0 {
            return Err("--domains must be at least 1".into());
        }
        let share_ok = |r: f64| (0.0..=1.0).contains(&r);
        if !share_ok(args.dirty) || !share_ok(args.dups) || args.dirty + args.dups > 1.0 {
            return Err(
                "--dirty and --dups must be shares between 0 and 1, summing to at most 1".into(),
            );
        }
        Ok(Some(args))
    }
}

fn run(args: &Args) -> io::Result<()> {
    let started = Instant::now();
    let world = World::new(args);
    let file = File::create(&args.out)
        .map_err(|e| io::Error::new(e.kind(), format!("creating {}: {e}", args.out.display())))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let stats = write_rows(&world, args, &mut out)
        .and_then(|stats| out.flush().map(|()| stats))
        .map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", args.out.display())))?;
    if let Some(dir) = &args.zones_out {
        write_zones(&world, dir).map_err(|e| {
            io::Error::new(e.kind(), format!("writing zones to {}: {e}", dir.display()))
        })?;
    }
    eprintln!(
        "gencontacts: {} rows, {} of {} domains used (+{} typo/disposable), {} dirty rows, {} duplicate rows, {:.2}s",
        args.rows,
        stats.domains_used,
        world.domains.len(),
        stats.extra_domains_used,
        stats.dirty,
        stats.dups,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Word lists

/// Free-mail and carrier domains, most popular first; they take the top Zipf ranks.
const GIANTS: &[&str] = &[
    "gmail.com",
    "yahoo.co.jp",
    "docomo.ne.jp",
    "outlook.com",
    "icloud.com",
    "ezweb.ne.jp",
    "softbank.ne.jp",
    "hotmail.com",
    "outlook.jp",
    "i.softbank.jp",
    "au.com",
    "yahoo.com",
    "hotmail.co.jp",
    "nifty.com",
    "ybb.ne.jp",
];

/// Misspellings seen in real lists; never in the zones, so they are NXDOMAIN in the lab.
const TYPO_DOMAINS: &[&str] = &["gmial.com", "yahoo.co.jo", "docomo.ne.jo", "hotmial.com"];

/// On the mailchecker list; given an MX like the real ones, so only the policy rejects them.
const DISPOSABLE_DOMAINS: &[&str] = &["mailinator.com", "10minutemail.com", "guerrillamail.com"];

const ROLE_LOCALS: &[&str] = &["info", "sales", "soumu", "support", "eigyo", "contact"];

const JA_FIRST: &[&str] = &[
    "taro", "hanako", "yuki", "kenji", "akira", "haruka", "daisuke", "yuko", "takashi", "naoko",
    "hiroshi", "megumi", "satoshi", "ayumi", "kazuya", "emi", "shota", "misaki", "ryota", "sakura",
    "yusuke", "mai", "kenta", "aya", "tomoko", "makoto", "rina", "junichi", "kaori", "tsuyoshi",
    "yui", "masato", "nana", "koji", "asuka", "shinji", "miho", "takuya", "eri", "hideki",
    "ichiro", "jiro", "saburo", "kazuki", "naoki", "sho", "ren", "haruto", "sota", "yuto",
    "minato", "riku", "hina", "yua", "mio", "rin", "aoi", "kanako", "chihiro", "noriko", "keiko",
    "sachiko", "yoko", "akemi", "mayumi", "hitomi", "tetsuya", "masaki", "yoshio", "osamu",
];
const JA_LAST: &[&str] = &[
    "sato",
    "suzuki",
    "takahashi",
    "tanaka",
    "watanabe",
    "ito",
    "yamamoto",
    "nakamura",
    "kobayashi",
    "kato",
    "yoshida",
    "yamada",
    "sasaki",
    "yamaguchi",
    "matsumoto",
    "inoue",
    "kimura",
    "hayashi",
    "shimizu",
    "yamazaki",
    "mori",
    "abe",
    "ikeda",
    "hashimoto",
    "ishikawa",
    "ogawa",
    "fujita",
    "okada",
    "goto",
    "hasegawa",
    "murakami",
    "kondo",
    "ishii",
    "saito",
    "sakamoto",
    "endo",
    "aoki",
    "fujii",
    "nishimura",
    "fukuda",
    "ota",
    "miura",
    "fujiwara",
    "okamoto",
    "matsuda",
    "nakagawa",
    "nakano",
    "harada",
    "ono",
    "tamura",
    "takeuchi",
    "kaneko",
    "wada",
    "nakayama",
    "ishida",
    "ueda",
    "morita",
    "hara",
    "shibata",
    "sakai",
    "kudo",
    "yokoyama",
    "miyazaki",
    "miyamoto",
    "uchida",
    "takagi",
    "ando",
    "taniguchi",
    "ohno",
    "maruyama",
];
const EN_FIRST: &[&str] = &[
    "john",
    "mary",
    "james",
    "patricia",
    "robert",
    "jennifer",
    "michael",
    "linda",
    "david",
    "elizabeth",
    "william",
    "susan",
    "richard",
    "jessica",
    "joseph",
    "sarah",
    "thomas",
    "karen",
    "daniel",
    "nancy",
    "matthew",
    "lisa",
    "anthony",
    "betty",
    "mark",
    "emily",
    "paul",
    "laura",
    "steven",
    "donna",
    "andrew",
    "carol",
    "kevin",
    "ruth",
    "brian",
    "sharon",
    "george",
    "michelle",
    "edward",
    "amanda",
    "ronald",
    "melissa",
    "timothy",
    "deborah",
    "jason",
    "stephanie",
];
const EN_LAST: &[&str] = &[
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "wilson",
    "anderson",
    "taylor",
    "thomas",
    "moore",
    "jackson",
    "martin",
    "lee",
    "thompson",
    "white",
    "harris",
    "clark",
    "lewis",
    "walker",
    "hall",
    "young",
    "allen",
    "king",
    "wright",
    "scott",
    "green",
    "baker",
    "adams",
    "nelson",
    "hill",
    "campbell",
    "mitchell",
    "roberts",
    "carter",
    "phillips",
    "evans",
    "turner",
    "torres",
    "parker",
];

/// Words joined in pairs to invent company domains (`yamada-shoji.co.jp`, `bluepeak.com`).
const DOMAIN_WORDS: &[&str] = &[
    "yamada",
    "sakura",
    "fuji",
    "tokyo",
    "osaka",
    "nagoya",
    "kyoto",
    "hokuto",
    "nippon",
    "asahi",
    "midori",
    "aoba",
    "hikari",
    "kaze",
    "umi",
    "yama",
    "kawa",
    "mori",
    "tsubasa",
    "hoshi",
    "sora",
    "shoji",
    "kogyo",
    "denki",
    "seiki",
    "sangyo",
    "kensetsu",
    "bussan",
    "unyu",
    "shokai",
    "seiko",
    "tsusho",
    "kikai",
    "kagaku",
    "yakuhin",
    "shokuhin",
    "kosan",
    "giken",
    "densan",
    "koki",
    "sekkei",
    "tanaka",
    "suzuki",
    "kato",
    "ito",
    "nakamura",
    "kobayashi",
    "sato",
    "takahashi",
    "matsuda",
    "daiichi",
    "sanwa",
    "toyo",
    "chuo",
    "kanto",
    "kansai",
    "tohoku",
    "kyushu",
    "shinsei",
    "heiwa",
    "acme",
    "blue",
    "river",
    "north",
    "south",
    "star",
    "global",
    "tech",
    "data",
    "cloud",
    "systems",
    "labs",
    "green",
    "peak",
    "bright",
    "rock",
    "pine",
    "oak",
    "harbor",
    "summit",
    "vector",
    "pixel",
    "nova",
    "orbit",
    "quantum",
    "silver",
    "golden",
    "red",
    "stone",
    "bridge",
    "lake",
    "field",
    "works",
    "point",
    "line",
    "wave",
    "spark",
    "core",
    "logic",
    "trade",
    "partners",
    "group",
    "media",
    "net",
    "soft",
    "ware",
    "link",
    "mark",
    "craft",
    "foods",
    "medical",
    "energy",
    "robotics",
    "design",
    "capital",
    "holdings",
    "consulting",
    "logistics",
    "apparel",
    "motors",
];

// Word indices are stored as `u8`.
const _: () = assert!(DOMAIN_WORDS.len() <= 256);

/// Company-domain TLDs and their weights; the last label is the zone file's origin.
const TAIL_TLDS: &[(&str, u32)] = &[
    ("co.jp", 30),
    ("com", 30),
    ("jp", 14),
    ("net", 8),
    ("org", 5),
    ("or.jp", 3),
    ("ne.jp", 2),
    ("io", 3),
    ("biz", 2),
    ("info", 3),
];

const JP_COMPANY_SUFFIXES: &[&str] = &["K.K.", "Co., Ltd.", "Inc.", "G.K.", "Corporation"];
const EN_COMPANY_SUFFIXES: &[&str] = &["Inc.", "LLC", "Ltd.", "Corp.", "Holdings, Inc.", "Co."];

// ---------------------------------------------------------------------------------------------
// PRNG

/// SplitMix64: tiny, fast, and good enough to make test data look random.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    /// A stream for one purpose, e.g. one row: rows must be regenerable in any order.
    fn stream(seed: u64, purpose: u64, index: u64) -> Rng {
        let mut r = Rng(seed ^ purpose.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.0 ^= Rng(index).next_u64();
        r
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (multiply-shift; the bias is far below anything a benchmark notices).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
}

// ---------------------------------------------------------------------------------------------
// Domains and zones

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Mx,
    Absent,
    NullMx,
    APublic,
    APrivate,
}

struct Domain {
    name: String,
    /// Words the company name is made from; `None` for free-mail giants.
    words: Option<(u8, u8)>,
    outcome: Outcome,
}

struct World {
    domains: Vec<Domain>,
    /// Cumulative Zipf weights over `domains` (rank k has weight 1/k).
    cdf: Vec<f64>,
    seed: u64,
    dirty: f64,
    dups: f64,
}

const PURPOSE_DOMAINS: u64 = 1;
const PURPOSE_ROW: u64 = 2;

/// Added to company ranks in the Zipf weights (see `World::new`).
const COMPANY_RANK_SHIFT: f64 = 30.0;

/// Share of domain picks that are uniform rather than Zipf, so the tail is actually used.
const UNIFORM_PICKS: f64 = 0.10;

impl World {
    fn new(args: &Args) -> World {
        let mut rng = Rng::stream(args.seed, PURPOSE_DOMAINS, 0);
        let mut taken: HashSet<String> = GIANTS
            .iter()
            .chain(TYPO_DOMAINS)
            .chain(DISPOSABLE_DOMAINS)
            .map(|d| d.to_string())
            .collect();
        let mut domains: Vec<Domain> = GIANTS
            .iter()
            .take(args.domains)
            .map(|d| Domain {
                name: d.to_string(),
                words: None,
                outcome: Outcome::Mx,
            })
            .collect();
        let tld_total: u32 = TAIL_TLDS.iter().map(|t| t.1).sum();
        let mut name = String::new();
        while domains.len() < args.domains {
            let (a, b) = (rng.below(DOMAIN_WORDS.len()), rng.below(DOMAIN_WORDS.len()));
            if a == b {
                continue;
            }
            let mut w = rng.below(tld_total as usize) as u32;
            let tld = TAIL_TLDS
                .iter()
                .find(|t| {
                    let hit = w < t.1;
                    w = w.saturating_sub(t.1);
                    hit
                })
                .map_or("com", |t| t.0);
            name.clear();
            name.push_str(DOMAIN_WORDS[a]);
            if rng.chance(0.3) {
                name.push('-');
            }
            name.push_str(DOMAIN_WORDS[b]);
            // Word pairs run out long before 50,000 domains on some TLDs; a number keeps going.
            if taken.contains(&name_with(&name, tld)) {
                let _ = write!(name, "{}", 2 + rng.below(98));
            }
            let full = name_with(&name, tld);
            if !taken.insert(full.clone()) {
                continue;
            }
            let u = rng.unit();
            let outcome = match u {
                u if u < 0.93 => Outcome::Mx,
                u if u < 0.97 => Outcome::Absent,
                u if u < 0.98 => Outcome::NullMx,
                u if u < 0.99 => Outcome::APublic,
                _ => Outcome::APrivate,
            };
            domains.push(Domain {
                name: full,
                words: Some((a as u8, b as u8)),
                outcome,
            });
        }
        // Zipf over ranks, with the company ranks shifted down so that the biggest company domain
        // holds well under 1% of the rows, as in real lists; the giants keep 1/k.
        let mut total = 0.0;
        let cdf = (1..=domains.len())
            .map(|k| {
                let shift = if k > GIANTS.len() {
                    COMPANY_RANK_SHIFT
                } else {
                    0.0
                };
                total += 1.0 / (k as f64 + shift);
                total
            })
            .collect();
        World {
            domains,
            cdf,
            seed: args.seed,
            dirty: args.dirty,
            dups: args.dups,
        }
    }

    fn pick_domain(&self, rng: &mut Rng) -> usize {
        if rng.chance(UNIFORM_PICKS) {
            return rng.below(self.domains.len());
        }
        let target = rng.unit() * self.cdf[self.cdf.len() - 1];
        self.cdf
            .partition_point(|&c| c < target)
            .min(self.domains.len() - 1)
    }

    /// A company domain for role accounts; falls back to any domain if there are none.
    fn pick_company_domain(&self, rng: &mut Rng) -> usize {
        for _ in 0..8 {
            let d = self.pick_domain(rng);
            if self.domains[d].words.is_some() {
                return d;
            }
        }
        self.domains.len() - 1
    }
}

fn name_with(stem: &str, tld: &str) -> String {
    format!("{stem}.{tld}")
}

fn zone_origin(domain: &str) -> &str {
    domain.rsplit('.').next().unwrap_or(domain)
}

/// One zone per domain that exists, and one with only an SOA per TLD, which answers NXDOMAIN
/// for the absent and typo domains under it. Small zones keep the lab server cheap: the
/// in-memory store of hickory-server scans a whole zone for every negative answer, so one
/// zone of thousands of domains made the server, not the cleaner, the busiest process of
/// the benchmark.
fn write_zones(world: &World, dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let mut tlds: Vec<&str> = world
        .domains
        .iter()
        .map(|d| zone_origin(&d.name))
        .chain(DISPOSABLE_DOMAINS.iter().map(|d| zone_origin(d)))
        .chain(TYPO_DOMAINS.iter().map(|d| zone_origin(d)))
        .collect();
    tlds.sort_unstable();
    tlds.dedup();
    for tld in tlds {
        write_zone(dir, tld, world.seed, |_| Ok(()))?;
    }
    let disposable = DISPOSABLE_DOMAINS.iter().map(|d| (*d, Outcome::Mx));
    let generated = world.domains.iter().map(|d| (d.name.as_str(), d.outcome));
    for (i, (name, outcome)) in disposable.chain(generated).enumerate() {
        let (x, y) = ((i >> 8) & 0xff, i & 0xff);
        match outcome {
            Outcome::Absent => {}
            Outcome::Mx => write_zone(dir, name, world.seed, |out| {
                writeln!(out, "@ 3600 IN MX 10 mx1")?;
                writeln!(out, "mx1 3600 IN A 203.0.113.{}", 1 + i % 254)
            })?,
            Outcome::NullMx => write_zone(dir, name, world.seed, |out| {
                writeln!(out, "@ 3600 IN MX 0 .")
            })?,
            Outcome::APublic => write_zone(dir, name, world.seed, |out| {
                writeln!(out, "@ 3600 IN A 163.43.{x}.{}", y.max(1))
            })?,
            Outcome::APrivate => write_zone(dir, name, world.seed, |out| {
                writeln!(out, "@ 3600 IN A 10.{x}.{y}.10")
            })?,
        }
    }
    Ok(())
}

/// Writes `<origin>.zone`: the SOA and NS every zone has, then `records`.
fn write_zone(
    dir: &Path,
    origin: &str,
    seed: u64,
    records: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(dir.join(format!("{origin}.zone")))?);
    writeln!(
        out,
        "; lab zone generated by examples/gencontacts.rs (seed {seed})"
    )?;
    writeln!(out, "$ORIGIN {origin}.")?;
    writeln!(out, "$TTL 3600")?;
    writeln!(
        out,
        "@ 3600 IN SOA ns1.lab.listclean. hostmaster.lab.listclean. 1 3600 600 604800 900"
    )?;
    writeln!(out, "@ 3600 IN NS ns1.lab.listclean.")?;
    records(&mut out)?;
    out.flush()
}

// ---------------------------------------------------------------------------------------------
// Rows

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Clean,
    Dup,
    DupCase,
    Dirty(Dirt),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dirt {
    FullWidth,
    FullWidthAt,
    Spaces,
    IdeographicSpace,
    DisplayName,
    Mailto,
    TrailingPunct,
    Quotes,
    UpperDomain,
    Typo,
    NoAt,
    TwoAddresses,
    LegacyDocomo,
    Role,
    Disposable,
    Empty,
}

const DIRTS: &[Dirt] = &[
    Dirt::FullWidth,
    Dirt::FullWidthAt,
    Dirt::Spaces,
    Dirt::IdeographicSpace,
    Dirt::DisplayName,
    Dirt::Mailto,
    Dirt::TrailingPunct,
    Dirt::Quotes,
    Dirt::UpperDomain,
    Dirt::Typo,
    Dirt::NoAt,
    Dirt::TwoAddresses,
    Dirt::LegacyDocomo,
    Dirt::Role,
    Dirt::Disposable,
    Dirt::Empty,
];

/// The part of a row that a duplicate copies: who the contact is.
struct Contact {
    first: &'static str,
    last: &'static str,
    japanese: bool,
    domain: usize,
    style: u8,
    number: u16,
    /// Company words and suffix for contacts at free-mail addresses.
    company: (u8, u8, u8),
    phone: (u8, u16, u16),
}

fn kind_of(world: &World, rng: &mut Rng) -> Kind {
    let u = rng.unit();
    if u < world.dups * 5.0 / 6.0 {
        Kind::Dup
    } else if u < world.dups {
        Kind::DupCase
    } else if u < world.dups + world.dirty {
        Kind::Dirty(rng.pick(DIRTS))
    } else {
        Kind::Clean
    }
}

fn contact(world: &World, rng: &mut Rng) -> Contact {
    let japanese = rng.chance(0.65);
    let (firsts, lasts) = if japanese {
        (JA_FIRST, JA_LAST)
    } else {
        (EN_FIRST, EN_LAST)
    };
    let domain = world.pick_domain(rng);
    let free = world.domains[domain].words.is_none();
    // Free-mail users add numbers (taro.yamada1987); company addresses rarely do.
    let style = if free {
        8 + rng.below(7) as u8
    } else {
        rng.below(10) as u8
    };
    Contact {
        first: rng.pick(firsts),
        last: rng.pick(lasts),
        japanese,
        domain,
        style,
        number: 1 + rng.below(9999) as u16,
        company: (
            rng.below(DOMAIN_WORDS.len()) as u8,
            rng.below(DOMAIN_WORDS.len()) as u8,
            rng.below(8) as u8,
        ),
        phone: (
            rng.below(16) as u8,
            rng.below(10_000) as u16,
            rng.below(10_000) as u16,
        ),
    }
}

fn push_local(c: &Contact, out: &mut String) {
    let (f, l, n) = (c.first, c.last, c.number);
    let i = &f[..1];
    let _ = match c.style {
        0 => write!(out, "{f}.{l}"),
        1 => write!(out, "{i}{l}"),
        2 => write!(out, "{f}_{l}"),
        3 => write!(out, "{l}.{f}"),
        4 => write!(out, "{i}.{l}"),
        5 => write!(out, "{l}-{i}"),
        6 => write!(out, "{i}-{l}"),
        7 => write!(out, "{l}_{f}"),
        8 => write!(out, "{f}.{l}{}", n % 100),
        9 => write!(out, "{i}{l}{}", n % 1000),
        // Free-mail styles: names alone are long gone on gmail.com, so numbers follow.
        10 => write!(out, "{f}.{l}{n}"),
        11 => write!(out, "{f}{n}"),
        12 => write!(out, "{l}.{f}{n}"),
        13 => write!(out, "{f}_{l}{}", n % 100),
        _ => write!(out, "{i}{l}{n}"),
    };
}

fn push_address(world: &World, c: &Contact, out: &mut String) {
    push_local(c, out);
    out.push('@');
    out.push_str(&world.domains[c.domain].name);
}

fn push_capitalized(word: &str, out: &mut String) {
    let mut chars = word.chars();
    if let Some(first) = chars.next() {
        out.push(first.to_ascii_uppercase());
        out.push_str(chars.as_str());
    }
}

fn push_company(world: &World, c: &Contact, out: &mut String) {
    let d = &world.domains[c.domain];
    let (a, mut b, s) = match d.words {
        Some((a, b)) => (a, b, c.company.2),
        None => c.company,
    };
    if a == b {
        b = (b + 1) % DOMAIN_WORDS.len() as u8;
    }
    push_capitalized(DOMAIN_WORDS[a as usize], out);
    out.push(' ');
    push_capitalized(DOMAIN_WORDS[b as usize], out);
    out.push(' ');
    let japanese_co = d.name.ends_with(".jp") || (d.words.is_none() && c.japanese);
    let suffixes = if japanese_co {
        JP_COMPANY_SUFFIXES
    } else {
        EN_COMPANY_SUFFIXES
    };
    out.push_str(suffixes[s as usize % suffixes.len()]);
}

fn push_phone(c: &Contact, out: &mut String) {
    let (kind, a, b) = c.phone;
    let _ = match (c.japanese, kind) {
        (_, 0) => Ok(()),
        (true, 1..=6) => write!(out, "0{}0-{a:04}-{b:04}", [7, 8, 9][kind as usize % 3]),
        (true, 7..=11) => write!(out, "0{}-{a:04}-{b:04}", [3, 6][kind as usize % 2]),
        (true, _) => write!(out, "0{}-{:03}-{b:04}", 40 + kind * 3, a % 1000),
        (false, _) => write!(out, "+1 {}-555-{b:04}", 200 + u16::from(kind) * 37 + a % 7),
    };
}

/// Writes `field` as a CSV field, quoting it if it holds a comma, quote or line break.
fn push_field(field: &str, out: &mut String) {
    if field
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        out.push('"');
        for ch in field.chars() {
            if ch == '"' {
                out.push('"');
            }
            out.push(ch);
        }
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// Maps printable ASCII to its full-width form (U+FF01..U+FF5E), as a Japanese IME does.
fn push_full_width(s: &str, out: &mut String) {
    for ch in s.chars() {
        match ch {
            '!'..='~' => out.push(char::from_u32(ch as u32 + 0xFEE0).unwrap_or(ch)),
            _ => out.push(ch),
        }
    }
}

struct Stats {
    dirty: u64,
    dups: u64,
    domains_used: usize,
    extra_domains_used: usize,
}

/// Scratch buffers reused for every row, so the hot loop does not allocate.
#[derive(Default)]
struct Bufs {
    line: String,
    field: String,
    addr: String,
}

fn write_rows(world: &World, args: &Args, out: &mut impl Write) -> io::Result<Stats> {
    out.write_all(b"id,first_name,last_name,company,email,phone,last_contact\n")?;
    let mut used = vec![false; world.domains.len()];
    let mut extras_used: HashSet<&'static str> = HashSet::new();
    let (mut dirty, mut dups) = (0, 0);
    let mut b = Bufs::default();
    for i in 0..args.rows {
        let mut rng = Rng::stream(world.seed, PURPOSE_ROW, i);
        let kind = kind_of(world, &mut rng);
        let mut c = contact(world, &mut rng);
        if matches!(kind, Kind::Dup | Kind::DupCase) && i > 0 {
            // Regenerate an earlier clean row's contact; rows are pure functions of their index.
            for _ in 0..16 {
                let j = rng.below(i as usize) as u64;
                let mut earlier = Rng::stream(world.seed, PURPOSE_ROW, j);
                if kind_of(world, &mut earlier) == Kind::Clean {
                    c = contact(world, &mut earlier);
                    dups += 1;
                    break;
                }
            }
        }
        used[c.domain] = true;
        if let Kind::Dirty(dirt) = kind {
            dirty += 1;
            if let Some(extra) = push_dirty_email(world, &c, dirt, &mut rng, &mut b) {
                extras_used.insert(extra);
            }
        } else {
            b.field.clear();
            push_address(world, &c, &mut b.field);
            if kind == Kind::DupCase {
                recase(&mut b.field, &mut rng);
            }
        }
        write_row(world, &c, i, &mut rng, &mut b);
        out.write_all(b.line.as_bytes())?;
    }
    Ok(Stats {
        dirty,
        dups,
        domains_used: used.iter().filter(|&&u| u).count(),
        extra_domains_used: extras_used.len(),
    })
}

/// Upper-cases the domain, the local part or the first letter: the same mailbox to a cleaner.
fn recase(addr: &mut str, rng: &mut Rng) {
    let at = addr.find('@').unwrap_or(0);
    let range = match rng.below(3) {
        0 => at..addr.len(),
        1 => 0..at,
        _ => 0..1.min(at),
    };
    addr[range].make_ascii_uppercase();
}

/// Writes the email cell of a dirty row into `b.field`; returns an extra (typo or disposable)
/// domain if one was used.
fn push_dirty_email(
    world: &World,
    c: &Contact,
    dirt: Dirt,
    rng: &mut Rng,
    b: &mut Bufs,
) -> Option<&'static str> {
    b.field.clear();
    b.addr.clear();
    push_address(world, c, &mut b.addr);
    let addr = b.addr.as_str();
    let field = &mut b.field;
    let at = addr.find('@').unwrap_or(0);
    let (local, domain) = (&addr[..at], &addr[at + 1..]);
    let mut extra = None;
    let _ = match dirt {
        Dirt::FullWidth => {
            push_full_width(addr, field);
            Ok(())
        }
        Dirt::FullWidthAt => {
            field.push_str(local);
            field.push('＠');
            field.push_str(&domain.replace('.', "．"));
            Ok(())
        }
        Dirt::Spaces => write!(
            field,
            "{}{addr}{}",
            [" ", "", "  "][rng.below(3)],
            [" ", "  ", "\t"][rng.below(3)]
        ),
        Dirt::IdeographicSpace => write!(field, "{}{addr}\u{3000}", ["\u{3000}", ""][rng.below(2)]),
        Dirt::DisplayName => {
            let (mut first, mut last) = (String::new(), String::new());
            push_capitalized(c.first, &mut first);
            push_capitalized(c.last, &mut last);
            match rng.below(3) {
                0 => write!(field, "{first} {last} <{addr}>"),
                1 => write!(field, "\"{last}, {first}\" <{addr}>"),
                _ => write!(field, "{last} {first}＜{addr}＞"),
            }
        }
        Dirt::Mailto => write!(
            field,
            "{}{addr}",
            ["mailto:", "MAILTO:", "mailto: "][rng.below(3)]
        ),
        Dirt::TrailingPunct => write!(field, "{addr}{}", rng.pick(&[",", ".", ";", "。"])),
        Dirt::Quotes => match rng.below(2) {
            0 => write!(field, "\"{addr}\""),
            _ => write!(field, "'{addr}'"),
        },
        Dirt::UpperDomain => write!(field, "{local}@{}", domain.to_ascii_uppercase()),
        Dirt::Typo => {
            let typo = rng.pick(TYPO_DOMAINS);
            extra = Some(typo);
            write!(field, "{local}@{typo}")
        }
        Dirt::NoAt => match rng.below(3) {
            0 => write!(field, "{local}(at){domain}"),
            1 => write!(field, "{local} at {domain}"),
            _ => write!(field, "{local}{domain}"),
        },
        Dirt::TwoAddresses => {
            let sep = rng.pick(&["; ", ", ", " / ", "；", "、", " "]);
            write!(
                field,
                "{addr}{sep}{}.{}@{}",
                c.last,
                c.first,
                rng.pick(&GIANTS[..3])
            )
        }
        Dirt::LegacyDocomo => match rng.below(3) {
            0 => write!(field, "{}..{}@docomo.ne.jp", c.first, c.last),
            1 => write!(field, "{}{}.@docomo.ne.jp", c.first, c.last),
            _ => write!(field, "{}..{}@ezweb.ne.jp", c.last, c.first),
        },
        Dirt::Role => {
            let d = world.pick_company_domain(rng);
            write!(field, "{}@{}", rng.pick(ROLE_LOCALS), world.domains[d].name)
        }
        Dirt::Disposable => {
            let d = rng.pick(DISPOSABLE_DOMAINS);
            extra = Some(d);
            write!(field, "{local}{}@{d}", c.number)
        }
        Dirt::Empty => Ok(()),
    };
    extra
}

fn write_row(world: &World, c: &Contact, i: u64, rng: &mut Rng, b: &mut Bufs) {
    let line = &mut b.line;
    line.clear();
    let _ = write!(line, "{},", i + 1);
    push_capitalized(c.first, line);
    line.push(',');
    push_capitalized(c.last, line);
    line.push(',');
    b.addr.clear();
    push_company(world, c, &mut b.addr);
    push_field(&b.addr, line);
    line.push(',');
    push_field(&b.field, line);
    line.push(',');
    push_phone(c, line);
    line.push(',');
    // Stale contacts exist on purpose: the policy stage flags old last-contact dates.
    if !rng.chance(0.08) {
        let (y, m, d) = (2018 + rng.below(8), 1 + rng.below(12), 1 + rng.below(28));
        let sep = if rng.chance(0.5) { '-' } else { '/' };
        let _ = write!(line, "{y}{sep}{m:02}{sep}{d:02}");
    }
    line.push('\n');
}
