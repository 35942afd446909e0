//! Static lists: role accounts, free-mail and carrier domains, and the well-known domains
//! that typo suggestions aim at.
//!
//! Owns the lists and the rules for matching them. It decides nothing about what a match
//! means for a row: [`crate::policy`] turns matches into flags or rejections, and
//! [`crate::policy::typo`] does the typo search over [`WELL_KNOWN`].
//!
//! The lists are data, not code: plain text files under `src/policy/data/`, one entry a
//! line, each with a header saying what it holds and where it comes from. They are
//! compiled in with `include_str!` (nothing to ship or find at run time) and parsed once,
//! at first use, into the sets the matching rules look in.
//!
//! Inputs are already normalized: the local part is ASCII in the case it was typed in, the
//! domain is lowercase ASCII in A-label form. These functions run once per row (roles) or
//! once per unique domain (the rest), so none of them allocates.

use rustc_hash::FxHashSet as HashSet;
use std::sync::LazyLock;

/// Local parts that name a function rather than a person, in canonical form: lowercase,
/// with `-` standing for any of the separators `-`, `_` and `.` (`data/role_words.txt`).
const ROLE_WORDS: &str = include_str!("data/role_words.txt");

/// Words that may stand beside a role word without making the address personal: places,
/// languages and branch markers (`data/role_qualifiers.txt`).
const ROLE_QUALIFIERS: &str = include_str!("data/role_qualifiers.txt");

/// Consumer mailbox providers, matched on the exact domain (`data/free_domains.txt`).
const FREE_DOMAINS: &str = include_str!("data/free_domains.txt");

/// Providers whose customers get addresses on subdomains of their domain, so the domain
/// and every subdomain of it count as free mail (`data/free_parent_domains.txt`).
const FREE_PARENT_DOMAINS: &str = include_str!("data/free_parent_domains.txt");

/// The carriers that issued addresses with dots the RFCs forbid
/// (`data/legacy_carriers.txt`).
const LEGACY_CARRIERS: &str = include_str!("data/legacy_carriers.txt");

/// The entries of a list file: one a line, surrounding blanks trimmed; `#` starts a
/// comment that runs to the end of the line, and blank lines are skipped. No entry holds a
/// `#`: they are words and domain names.
fn entries(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .map(|line| line.split_once('#').map_or(line, |(entry, _)| entry).trim())
        .filter(|entry| !entry.is_empty())
}

/// The role lists as [`is_role`] looks in them, built together so that a row pays for one
/// first-use check, not one per table.
struct Roles {
    words: HashSet<&'static str>,
    qualifiers: HashSet<&'static str>,
    /// The longest role word or qualifier: anything longer is not looked up, which spares
    /// most personal names a hash.
    longest: usize,
    /// Tokens that can begin a role reading (the first token of a role word, or a
    /// qualifier), each as one number ([`packed`]); the rare token too long for that is
    /// left out.
    first_tokens: HashSet<u128>,
    /// The shapes of the `first_tokens`: for each length up to 16 bytes and each first
    /// byte, a bit for each last byte, bytes taken by their low five bits (which ignore
    /// case). A token whose shape is not here is not a first token: most people's first
    /// names are told apart so, before the copying and hashing a look-up in the set takes.
    first_token_shapes: [[u32; 32]; 17],
}

static ROLES: LazyLock<Roles> = LazyLock::new(Roles::load);

impl Roles {
    fn load() -> Roles {
        let words: Vec<&'static str> = entries(ROLE_WORDS).collect();
        let qualifiers: Vec<&'static str> = entries(ROLE_QUALIFIERS).collect();
        let first_tokens = words
            .iter()
            .map(|word| word.split('-').next().unwrap_or(word))
            .chain(qualifiers.iter().copied());
        let mut first_token_shapes = [[0; 32]; 17];
        for token in first_tokens.clone() {
            add_shape(&mut first_token_shapes, token.as_bytes());
        }
        Roles {
            longest: words
                .iter()
                .chain(&qualifiers)
                .map(|w| w.len())
                .max()
                .unwrap_or(0),
            first_tokens: first_tokens
                .filter_map(|token| packed(token.as_bytes()))
                .collect(),
            first_token_shapes,
            words: words.into_iter().collect(),
            qualifiers: qualifiers.into_iter().collect(),
        }
    }
}

/// Adds the shape of `token` to `shapes` (see [`Roles::first_token_shapes`]).
fn add_shape(shapes: &mut [[u32; 32]; 17], token: &[u8]) {
    if let (Some(&head), Some(&tail), Some(row)) =
        (token.first(), token.last(), shapes.get_mut(token.len()))
    {
        row[usize::from(head & 31)] |= 1 << (tail & 31);
    }
}

/// The longest local part looked at. RFC 5321 allows 64 octets; role mailboxes are short,
/// and a fixed buffer keeps the check free of allocation.
const MAX_LOCAL: usize = 64;

/// The most tokens a role word spans (`do-not-reply`).
const MAX_ROLE_TOKENS: usize = 3;

/// Whether a local part names a function (a role account) rather than a person.
///
/// Case is ignored. A subaddress (`info+news`, RFC 5233) is ignored, so it is the mailbox
/// before the `+` that counts. The local part is split into tokens at `-`, `_` and `.`,
/// and it is a role when every token is either part of a role word or a qualifier, and at
/// least one role word is present:
///
/// - role words: `info`, `no-reply`, `soumu`, `otoiawase`, ... A role word followed
///   directly by digits is still one (`sales2`, `info01`);
/// - qualifiers: digits (`info-2024`), places, languages and branch markers (`info-jp`,
///   `support_tokyo`, `osaka.eigyo`);
/// - several role words together stay a role (`sales-support`, `saiyo-tanto`).
///
/// Any other token makes it personal: `taro.yamada`, `info.taro` and `yamada-sales` are
/// not roles, since a person's name may sit beside a department word. Glued-on words are
/// not split (`infojp`, `salesdept`), and a local part over 64 octets is never a role.
///
/// ```
/// # use listclean::policy::lists::is_role;
/// assert!(is_role("Info-JP"));
/// assert!(!is_role("taro.yamada"));
/// ```
pub fn is_role(local: &str) -> bool {
    let roles = &*ROLES;
    // Most local parts are people's names, whose first token starts no role reading: one
    // look-up settles those, before any copying or searching (even for a `+`).
    if !roles.could_start(local) {
        return false;
    }
    // Local parts are short: a plain loop beats a vectorized search's set-up.
    let plus = local.bytes().position(|b| b == b'+');
    let mailbox = plus.map_or(local, |plus| &local[..plus]);
    let mut buf = [0u8; MAX_LOCAL];
    let Some(canonical) = canonical_local(mailbox, &mut buf) else {
        return false;
    };
    if canonical.is_empty() {
        return false;
    }
    // The bare role word is by far the commonest role address: one look-up settles it.
    roles.is_word(canonical) || roles.covered(canonical)
}

/// Lowercases `local` into `buf`, turning each run of separators into a single `-` and
/// dropping separators at either end. Returns `None` when it does not fit.
fn canonical_local<'b>(local: &str, buf: &'b mut [u8; MAX_LOCAL]) -> Option<&'b str> {
    if local.len() > MAX_LOCAL {
        return None;
    }
    let mut len = 0;
    let mut pending_separator = false;
    for byte in local.bytes() {
        if matches!(byte, b'-' | b'_' | b'.') {
            pending_separator = len > 0;
            continue;
        }
        if pending_separator {
            buf[len] = b'-';
            len += 1;
            pending_separator = false;
        }
        buf[len] = byte.to_ascii_lowercase();
        len += 1;
    }
    // Only ASCII bytes were changed, so a valid `&str` stays valid; a separator run never
    // makes the output longer than the input.
    std::str::from_utf8(&buf[..len]).ok()
}

/// A token of at most 16 bytes, lowercased, as one number: its bytes, zero-padded. Tokens
/// hold no zero byte, so different tokens give different numbers.
fn packed(token: &[u8]) -> Option<u128> {
    let mut bytes = [0u8; 16];
    bytes.get_mut(..token.len())?.copy_from_slice(token);
    bytes.make_ascii_lowercase();
    Some(u128::from_le_bytes(bytes))
}

impl Roles {
    /// A role word, possibly followed by digits (`sales2`). Role words hold no digits, so
    /// the digits can be dropped before the look-up.
    fn is_word(&self, s: &str) -> bool {
        let stem = s.trim_end_matches(|c: char| c.is_ascii_digit());
        stem.len() <= self.longest && self.words.contains(stem)
    }

    fn is_qualifier(&self, token: &str) -> bool {
        token.bytes().all(|b| b.is_ascii_digit())
            || (token.len() <= self.longest && self.qualifiers.contains(token))
    }

    /// Whether the first token of a local part's mailbox (what comes before any `+`) could
    /// begin a role reading. A `+` ends the token like a separator, and ends the mailbox,
    /// so the mailbox needs no search of its own.
    fn could_start(&self, local: &str) -> bool {
        let is_separator = |b: &u8| matches!(b, b'-' | b'_' | b'.');
        let bytes = local.as_bytes();
        let start = bytes
            .iter()
            .position(|b| !is_separator(b))
            .unwrap_or(bytes.len());
        let first = &bytes[start..];
        let end = first
            .iter()
            .position(|b| is_separator(b) || *b == b'+')
            .unwrap_or(first.len());
        let first = &first[..end];
        let stem_len = first
            .iter()
            .rposition(|b| !b.is_ascii_digit())
            .map_or(0, |i| i + 1);
        let stem = &first[..stem_len];
        // An empty stem (no token, or digits only) is left to the full check.
        let (Some(&head), Some(&tail)) = (stem.first(), stem.last()) else {
            return true;
        };
        match self.first_token_shapes.get(stem.len()) {
            Some(shapes) => {
                shapes[usize::from(head & 31)] & 1 << (tail & 31) != 0
                    && packed(stem).is_some_and(|key| self.first_tokens.contains(&key))
            }
            // Too long to pack: only a long role word could start it, so the full check
            // decides.
            None => stem.len() <= self.longest,
        }
    }

    /// Whether the tokens of `canonical` can be covered, left to right, by role words
    /// (which may span several tokens, like `no-reply`) and qualifiers, with at least one
    /// role word.
    ///
    /// A small dynamic programme over token boundaries rather than a greedy scan, so that
    /// the result does not depend on which reading of the tokens is tried first.
    fn covered(&self, canonical: &str) -> bool {
        // Token boundaries: `starts[i]..ends[i]` is token `i`. A canonical local part of at
        // most 64 bytes has at most 32 tokens.
        let mut starts = [0usize; MAX_LOCAL / 2 + 1];
        let mut ends = [0usize; MAX_LOCAL / 2 + 1];
        let mut count = 0;
        let mut start = 0;
        for (i, byte) in canonical.bytes().enumerate() {
            if byte == b'-' {
                starts[count] = start;
                ends[count] = i;
                count += 1;
                start = i + 1;
            }
        }
        starts[count] = start;
        ends[count] = canonical.len();
        count += 1;

        // reach[i] = [without, with]: the tokens before `i` can be covered without a role
        // word, or with at least one.
        let mut reach = [[false; 2]; MAX_LOCAL / 2 + 2];
        reach[0][0] = true;
        for i in 0..count {
            let [without, with] = reach[i];
            if !without && !with {
                continue;
            }
            if self.is_qualifier(&canonical[starts[i]..ends[i]]) {
                reach[i + 1][0] |= without;
                reach[i + 1][1] |= with;
            }
            for j in i..count.min(i + MAX_ROLE_TOKENS) {
                if self.is_word(&canonical[starts[i]..ends[j]]) {
                    reach[j + 1][1] = true;
                }
            }
        }
        reach[count][1]
    }
}

static FREE_SET: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| entries(FREE_DOMAINS).collect());

static FREE_PARENT_SET: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| entries(FREE_PARENT_DOMAINS).collect());

/// Whether the domain belongs to a free-mail provider, a consumer ISP or a mobile carrier.
///
/// A domain matches when it is listed exactly, or when it is a subdomain of one of the
/// providers that give their customers addresses on subdomains (`xx.so-net.ne.jp`,
/// `xx.biglobe.ne.jp`, `x.vodafone.ne.jp`: Japanese ISPs and old carrier domains).
/// Subdomains of other providers do not match: `corp.yahoo.com` is not someone's private
/// mailbox.
pub fn is_free(domain: &str) -> bool {
    FREE_SET.contains(domain) || parents(domain).any(|d| FREE_PARENT_SET.contains(d))
}

/// `a.b.example.jp` → `a.b.example.jp`, `b.example.jp`, `example.jp`, `jp`.
fn parents(domain: &str) -> impl Iterator<Item = &str> {
    let after_dots = domain.bytes().enumerate().filter(|&(_, b)| b == b'.');
    std::iter::once(domain).chain(after_dots.map(|(at, _)| &domain[at + 1..]))
}

static LEGACY_CARRIER_LIST: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| entries(LEGACY_CARRIERS).collect());

/// Whether the domain is one of the two carriers that issued addresses, before 2009, with
/// dots the RFCs forbid (`taro..x@docomo.ne.jp`, `.hanako@ezweb.ne.jp`, `jiro.@...`).
/// Those addresses still receive mail, so validation treats them apart.
///
/// Exact match only: the carriers' subdomains never issued such addresses.
pub fn is_legacy_carrier(domain: &str) -> bool {
    LEGACY_CARRIER_LIST.contains(&domain)
}

/// Well-known mail domains that typo suggestions point to, most used first (ties in the
/// typo search go to the earlier entry), from `data/well_known.txt`.
///
/// The domains that make up most of consumer mail in Japanese and international lists.
/// Every one is also free mail. Domains whose name is very short and close to other real
/// domains (`me.com`, `mac.com`, `gmx.de`, `mail.com`) are left out on purpose: a typo of
/// them is as likely to be another real domain.
///
/// Read at first use; it dereferences to a slice (`WELL_KNOWN.iter()`, `WELL_KNOWN[0]`).
pub static WELL_KNOWN: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| entries(include_str!("data/well_known.txt")).collect());

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The first token is the mailbox's (before any `+`), however separators and `+`
        /// are mixed.
        #[test]
        fn the_first_token_stops_at_a_plus(
            local in "(info|Sales|SOUMU|no|jp|[-_.+a-zA-Z0-9]){0,8}",
        ) {
            let mailbox = local.split('+').next().unwrap_or_default();
            let stem = mailbox
                .trim_start_matches(['-', '_', '.'])
                .split(['-', '_', '.'])
                .next()
                .unwrap_or_default()
                .trim_end_matches(|c: char| c.is_ascii_digit());
            let expected = stem.is_empty()
                || packed(stem.as_bytes())
                    .map_or(stem.len() <= ROLES.longest, |key| ROLES.first_tokens.contains(&key));
            proptest::prop_assert_eq!(ROLES.could_start(&local), expected);
        }
    }

    #[test]
    fn first_tokens_have_their_shapes() {
        for token in &ROLES.first_tokens {
            let bytes = token.to_le_bytes();
            let len = bytes.iter().position(|&b| b == 0).unwrap_or(16);
            let (head, tail) = (bytes[0], bytes[len - 1]);
            assert!(
                ROLES.first_token_shapes[len][usize::from(head & 31)] & 1 << (tail & 31) != 0,
                "{:?}",
                &bytes[..len]
            );
        }
    }

    #[test]
    fn every_role_word_is_a_role_in_any_case() {
        for word in entries(ROLE_WORDS) {
            assert!(is_role(word), "{word}");
            assert!(is_role(&word.to_ascii_uppercase()), "{word}");
            assert!(is_role(&format!("{word}2")), "{word}2");
        }
    }

    #[test]
    fn roles() {
        let cases: &[(&str, bool)] = &[
            // Whole role words, any case.
            ("info", true),
            ("INFO", true),
            ("Sales", true),
            ("postmaster", true),
            ("no-reply", true),
            ("no_reply", true),
            ("No.Reply", true),
            ("noreply", true),
            ("do-not-reply", true),
            ("donotreply", true),
            ("mailer-daemon", true),
            ("soumu", true),
            ("somu", true),
            ("jinji", true),
            ("keiri", true),
            ("eigyo", true),
            ("eigyou", true),
            ("otoiawase", true),
            ("toiawase", true),
            ("uketsuke", true),
            ("kouhou", true),
            ("koho", true),
            ("saiyo", true),
            ("saiyou", true),
            ("jimukyoku", true),
            ("madoguchi", true),
            ("customer", true),
            ("cs", true),
            ("hr", true),
            // Decorated forms.
            ("info-jp", true),
            ("jp-info", true),
            ("sales2", true),
            ("info01", true),
            ("support_tokyo", true),
            ("osaka.eigyo", true),
            ("info-2024", true),
            ("no-reply-jp", true),
            ("sales-support", true),
            ("saiyo-tanto", true),
            ("soumu--jinji", true),
            ("_info_", true),
            ("info+newsletter", true),
            ("Info.Tokyo.01", true),
            // People, and things that only look like roles.
            ("taro.yamada", false),
            ("info.taro", false),
            ("yamada-sales", false),
            ("taro+info", false),
            ("madoka", false),
            ("haruka", false),
            ("informant", false),
            ("infojp", false),
            ("salesman", false),
            ("tokyo", false),
            ("jp", false),
            ("2024", false),
            ("t.yamada", false),
            ("sales-", true),
            ("", false),
            ("-", false),
            ("+info", false),
            ("..+info", false),
            ("_+", false),
            ("info_+x", true),
            ("sales+info", true),
            ("2sales", false),
            ("info-x", false),
            // Over 64 octets: never a role.
            (&"info-".repeat(14), false),
            // Non-ASCII is left alone, not panicked on.
            ("情報", false),
            ("inf\u{f6}", false),
        ];
        for &(local, expected) in cases {
            assert_eq!(is_role(local), expected, "{local:?}");
        }
    }

    #[test]
    fn many_tokens_are_handled() {
        // 32 one-letter tokens: the most a 64-octet local part can hold.
        let local = ["1"; 32].join(".");
        assert_eq!(local.len(), 63);
        assert!(!is_role(&local));
        let local = format!("info{}", ".1".repeat(30));
        assert!(is_role(&local));
    }

    #[test]
    fn free_domains() {
        let cases: &[(&str, bool)] = &[
            ("gmail.com", true),
            ("googlemail.com", true),
            ("hotmail.co.jp", true),
            ("gmx.de", true),
            ("web.de", true),
            ("yandex.ru", true),
            ("qq.com", true),
            ("naver.com", true),
            ("proton.me", true),
            ("docomo.ne.jp", true),
            ("ezweb.ne.jp", true),
            ("au.com", true),
            ("i.softbank.jp", true),
            ("y-mobile.ne.jp", true),
            ("yahoo.co.jp", true),
            ("nifty.com", true),
            ("ocn.ne.jp", true),
            // Subdomains of ISPs that issue them.
            ("ab.so-net.ne.jp", true),
            ("xx.biglobe.ne.jp", true),
            ("sea.plala.or.jp", true),
            ("a.b.ocn.ne.jp", true),
            ("t.vodafone.ne.jp", true),
            ("msa.hinet.net", true),
            // Subdomains of other providers, look-alikes and companies.
            ("corp.yahoo.com", false),
            ("mail.gmail.com", false),
            ("notso-net.ne.jp", false),
            ("so-net.ne.jp.evil.com", false),
            ("acme-corp.co.jp", false),
            ("toyota.co.jp", false),
            ("ne.jp", false),
            ("jp", false),
            ("", false),
        ];
        for &(domain, expected) in cases {
            assert_eq!(is_free(domain), expected, "{domain:?}");
        }
    }

    #[test]
    fn legacy_carriers() {
        let cases: &[(&str, bool)] = &[
            ("docomo.ne.jp", true),
            ("ezweb.ne.jp", true),
            ("au.com", false),
            ("softbank.ne.jp", false),
            ("xx.ezweb.ne.jp", false),
            ("docomo.ne.jp.com", false),
        ];
        for &(domain, expected) in cases {
            assert_eq!(is_legacy_carrier(domain), expected, "{domain:?}");
        }
    }

    #[test]
    fn list_files_are_parsed() {
        let text = "# header\n\n  info \nsales # trailing comment\n#\n\t\nno-reply\r\n";
        assert_eq!(
            entries(text).collect::<Vec<_>>(),
            ["info", "sales", "no-reply"]
        );
        assert_eq!(entries("").count(), 0);
        assert_eq!(entries("# only a comment").count(), 0);
    }

    #[test]
    fn lists_hold_what_they_held_as_code() {
        // Counts and ends of each list: a line lost or a comment swallowing an entry shows.
        let lists = [
            (ROLE_WORDS, 239, "abuse", "zimukyoku"),
            (ROLE_QUALIFIERS, 41, "asia", "yokohama"),
            (FREE_DOMAINS, 300, "gmail.com", "bbexcite.jp"),
            (FREE_PARENT_DOMAINS, 20, "asahi-net.or.jp", "zaq.ne.jp"),
            (LEGACY_CARRIERS, 2, "docomo.ne.jp", "ezweb.ne.jp"),
        ];
        for (text, len, first, last) in lists {
            let list: Vec<_> = entries(text).collect();
            assert_eq!(
                (list.len(), list.first(), list.last()),
                (len, Some(&first), Some(&last))
            );
        }
        assert_eq!(WELL_KNOWN.len(), 31);
        assert_eq!(WELL_KNOWN[..2], ["gmail.com", "yahoo.co.jp"]);
        assert_eq!(WELL_KNOWN.last(), Some(&"comcast.net"));
    }

    /// The lists are edited by hand: keep them canonical and free of duplicates.
    #[test]
    fn lists_are_canonical() {
        let lists: Vec<(&str, Vec<&str>)> = [
            ("role_words", ROLE_WORDS),
            ("role_qualifiers", ROLE_QUALIFIERS),
            ("free_domains", FREE_DOMAINS),
            ("free_parent_domains", FREE_PARENT_DOMAINS),
            ("legacy_carriers", LEGACY_CARRIERS),
            ("well_known", include_str!("data/well_known.txt")),
        ]
        .into_iter()
        .map(|(name, text)| (name, entries(text).collect()))
        .collect();
        for (name, list) in &lists {
            assert!(!list.is_empty(), "{name} is empty");
            let unique: HashSet<_> = list.iter().collect();
            assert_eq!(unique.len(), list.len(), "{name} has duplicates");
            for entry in list {
                assert!(
                    !entry.is_empty()
                        && entry.bytes().all(|b| b.is_ascii_lowercase()
                            || b.is_ascii_digit()
                            || b == b'-'
                            || b == b'.'),
                    "{name}: {entry:?} is not lowercase ASCII"
                );
            }
        }
        for word in entries(ROLE_WORDS).chain(entries(ROLE_QUALIFIERS)) {
            assert!(
                !word.contains('.'),
                "{word:?}: roles use `-` for separators"
            );
        }
        for word in entries(ROLE_QUALIFIERS) {
            assert!(
                !ROLES.words.contains(word),
                "{word:?} is both a role and a qualifier"
            );
        }
    }

    #[test]
    fn well_known_domains_are_free_mail() {
        for domain in WELL_KNOWN.iter() {
            assert!(is_free(domain), "{domain}");
        }
    }
}
