//! Static lists: role accounts, free-mail and carrier domains, and the well-known domains
//! that typo suggestions aim at.
//!
//! Owns the lists and the rules for matching them. It decides nothing about what a match
//! means for a row: [`crate::policy`] turns matches into flags or rejections, and
//! [`crate::policy::typo`] does the typo search over [`WELL_KNOWN`].
//!
//! Inputs are already normalized: the local part is ASCII in the case it was typed in, the
//! domain is lowercase ASCII in A-label form. These functions run once per row (roles) or
//! once per unique domain (the rest), so none of them allocates.

use rustc_hash::FxHashSet as HashSet;
use std::sync::LazyLock;

/// Local parts that name a function rather than a person, in canonical form: lowercase,
/// with `-` standing for any of the separators `-`, `_` and `.`.
///
/// Gathered from RFC 2142 (mailbox names for common services), the role lists that ESPs
/// publish for their "role address" warnings, and the department mailboxes Japanese
/// companies use in Hepburn and Kunrei romaji (総務 soumu/somu, 人事 jinji/jinzi, ...).
/// Senders avoid them because nobody in particular reads them and they complain more.
///
/// Words that are also common given names are left out on purpose: `madoka` must not
/// match through `mado` (窓口), which is why suffixes such as `-ka` (課) and `-bu` (部)
/// are listed as whole words instead of being stripped by a rule.
static ROLE_WORDS: &[&str] = &[
    // RFC 2142 and mail-system mailboxes.
    "abuse",
    "bounce",
    "bounces",
    "daemon",
    "devnull",
    "dns",
    "ftp",
    "hostmaster",
    "listserv",
    "mailer-daemon",
    "mailerdaemon",
    "maildaemon",
    "majordomo",
    "noc",
    "postmaster",
    "root",
    "security",
    "usenet",
    "uucp",
    "webmaster",
    "www",
    // Automated senders.
    "alert",
    "alerts",
    "auto-reply",
    "autoreply",
    "do-not-reply",
    "donotreply",
    "mailer",
    "no-reply",
    "noreply",
    "notice",
    "notification",
    "notifications",
    "notify",
    "reply",
    "system",
    // General inboxes.
    "all",
    "contact",
    "contact-us",
    "contacts",
    "contactus",
    "email",
    "enquiries",
    "enquiry",
    "everyone",
    "feedback",
    "general",
    "hello",
    "help",
    "helpdesk",
    "hi",
    "info",
    "infomail",
    "infomation",
    "information",
    "infos",
    "inquire",
    "inquiries",
    "inquiry",
    "mail",
    "mailbox",
    "office",
    "reception",
    "welcome",
    // Departments and functions.
    "account",
    "accounting",
    "accounts",
    "admin",
    "administration",
    "administrator",
    "admissions",
    "advertising",
    "affiliate",
    "affiliates",
    "api",
    "billing",
    "booking",
    "bookings",
    "business",
    "career",
    "careers",
    "ceo",
    "compliance",
    "corporate",
    "cs",
    "customer",
    "customercare",
    "customer-care",
    "customerservice",
    "customer-service",
    "customersupport",
    "customer-support",
    "data",
    "design",
    "dev",
    "developer",
    "developers",
    "editor",
    "editorial",
    "events",
    "finance",
    "hr",
    "investor",
    "investors",
    "ir",
    "it",
    "jobs",
    "legal",
    "list",
    "marketing",
    "media",
    "member",
    "members",
    "membership",
    "ml",
    "news",
    "newsletter",
    "operations",
    "ops",
    "order",
    "orders",
    "partner",
    "partners",
    "payment",
    "payments",
    "payroll",
    "pr",
    "press",
    "privacy",
    "procurement",
    "purchasing",
    "recruit",
    "recruiting",
    "recruitment",
    "register",
    "registration",
    "reservation",
    "reservations",
    "returns",
    "sales",
    "secretary",
    "service",
    "services",
    "shipping",
    "shop",
    "staff",
    "store",
    "subscribe",
    "support",
    "sysadmin",
    "team",
    "tech",
    "technical",
    "test",
    "ticket",
    "tickets",
    "training",
    "unsubscribe",
    "web",
    "webadmin",
    // Japanese departments and desks, in the romaji spellings seen in B2B lists.
    "center",
    "desk",
    "eigyo",
    "eigyobu",
    "eigyoo",
    "eigyosho",
    "eigyou",
    "eigyoubu",
    "eigyousho",
    "gijutsu",
    "gizyutu",
    "gyomu",
    "gyoumu",
    "hanbai",
    "hanbaibu",
    "henpin",
    "hisho",
    "hisyo",
    "homu",
    "honbu",
    "honsha",
    "houmu",
    "jimu",
    "jimukyoku",
    "jimusho",
    "jimusyo",
    "jinji",
    "jinjibu",
    "jinjika",
    "jinzi",
    "kaihatsu",
    "kaiin",
    "kaikei",
    "kanri",
    "kanribu",
    "keiri",
    "keiribu",
    "keirika",
    "keiyaku",
    "kenshu",
    "kenshuu",
    "kikaku",
    "kikakubu",
    "kobai",
    "koho",
    "kohou",
    "koubai",
    "kouhou",
    "kouhoubu",
    "mado",
    "madoguchi",
    "otoiawase",
    "saiyo",
    "saiyou",
    "shien",
    "shiire",
    "shomu",
    "sien",
    "sodan",
    "somu",
    "somubu",
    "somuka",
    "soudan",
    "soumu",
    "soumubu",
    "soumuka",
    "syomu",
    "tanto",
    "tantosha",
    "tantou",
    "tantousha",
    "toiawase",
    "tsuhan",
    "tuhan",
    "uketsuke",
    "uketuke",
    "yoyaku",
    "zaimu",
    "zimukyoku",
];

/// Words that may stand beside a role word without making the address personal: places,
/// languages and branch markers (`info-jp`, `support_tokyo`, `osaka.sales`). On their own
/// they are not roles; they only keep a decorated role a role. Tokens made only of digits
/// (`sales-01`) count as qualifiers too.
static ROLE_QUALIFIERS: &[&str] = &[
    "asia",
    "branch",
    "chubu",
    "cn",
    "dept",
    "div",
    "en",
    "eu",
    "fukuoka",
    "global",
    "group",
    "grp",
    "hiroshima",
    "hokkaido",
    "hq",
    "intl",
    "ja",
    "japan",
    "jp",
    "jpn",
    "kansai",
    "kanto",
    "kobe",
    "kr",
    "kyoto",
    "kyushu",
    "main",
    "nagoya",
    "okinawa",
    "osaka",
    "sapporo",
    "sendai",
    "shiten",
    "tohoku",
    "tokyo",
    "tw",
    "uk",
    "us",
    "usa",
    "world",
    "yokohama",
];

static ROLE_SET: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| ROLE_WORDS.iter().copied().collect());

static QUALIFIER_SET: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| ROLE_QUALIFIERS.iter().copied().collect());

/// The longest entry of [`ROLE_WORDS`] and [`ROLE_QUALIFIERS`]: anything longer is not
/// looked up, which spares most personal names a hash.
static LONGEST_WORD: LazyLock<usize> = LazyLock::new(|| {
    ROLE_WORDS
        .iter()
        .chain(ROLE_QUALIFIERS)
        .map(|w| w.len())
        .max()
        .unwrap_or(0)
});

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
    // Most local parts are people's names, whose first token starts no role reading: one
    // look-up settles those, before any copying or searching (even for a `+`).
    if !could_start_role(local) {
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
    is_role_word(canonical) || covered_by_roles(canonical)
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

/// A role word, possibly followed by digits (`sales2`). Role words hold no digits, so the
/// digits can be dropped before the look-up.
fn is_role_word(s: &str) -> bool {
    let stem = s.trim_end_matches(|c: char| c.is_ascii_digit());
    stem.len() <= *LONGEST_WORD && ROLE_SET.contains(stem)
}

/// Tokens that can begin a role reading (the first token of a role word, or a qualifier),
/// each as one number ([`packed`]); the rare token too long for that is left out.
static FIRST_TOKENS: LazyLock<HashSet<u128>> = LazyLock::new(|| {
    ROLE_WORDS
        .iter()
        .map(|w| w.split('-').next().unwrap_or(w))
        .chain(ROLE_QUALIFIERS.iter().copied())
        .filter_map(|token| packed(token.as_bytes()))
        .collect()
});

/// A token of at most 16 bytes, lowercased, as one number: its bytes, zero-padded. Tokens
/// hold no zero byte, so different tokens give different numbers.
fn packed(token: &[u8]) -> Option<u128> {
    let mut bytes = [0u8; 16];
    bytes.get_mut(..token.len())?.copy_from_slice(token);
    bytes.make_ascii_lowercase();
    Some(u128::from_le_bytes(bytes))
}

/// Whether the first token of a local part's mailbox (what comes before any `+`) could
/// begin a role reading. A `+` ends the token like a separator, and ends the mailbox, so
/// the mailbox needs no search of its own.
fn could_start_role(local: &str) -> bool {
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
    match FIRST_TOKEN_SHAPES.get(stem.len()) {
        Some(shapes) => {
            shapes[usize::from(head & 31)] & 1 << (tail & 31) != 0
                && packed(stem).is_some_and(|key| FIRST_TOKENS.contains(&key))
        }
        // Too long to pack: only a long role word could start it, so the full check decides.
        None => stem.len() <= *LONGEST_WORD,
    }
}

/// The shapes of the [`FIRST_TOKENS`]: for each length up to 16 bytes and each first byte,
/// a bit for each last byte, bytes taken by their low five bits (which ignore case). A
/// token whose shape is not here is not a first token: most people's first names are told
/// apart so, before the copying and hashing a look-up in the set takes.
static FIRST_TOKEN_SHAPES: [[u32; 32]; 17] = {
    let mut shapes = [[0; 32]; 17];
    let mut i = 0;
    while i < ROLE_WORDS.len() {
        let word = ROLE_WORDS[i].as_bytes();
        let mut len = 0;
        while len < word.len() && word[len] != b'-' {
            len += 1;
        }
        add_shape(&mut shapes, word, len);
        i += 1;
    }
    let mut i = 0;
    while i < ROLE_QUALIFIERS.len() {
        let word = ROLE_QUALIFIERS[i].as_bytes();
        add_shape(&mut shapes, word, word.len());
        i += 1;
    }
    shapes
};

/// Adds the shape of `token[..len]` to [`FIRST_TOKEN_SHAPES`].
const fn add_shape(shapes: &mut [[u32; 32]; 17], token: &[u8], len: usize) {
    if len >= 1 && len < shapes.len() {
        shapes[len][(token[0] & 31) as usize] |= 1 << (token[len - 1] & 31);
    }
}

fn is_qualifier(token: &str) -> bool {
    token.bytes().all(|b| b.is_ascii_digit())
        || (token.len() <= *LONGEST_WORD && QUALIFIER_SET.contains(token))
}

/// Whether the tokens of `canonical` can be covered, left to right, by role words (which
/// may span several tokens, like `no-reply`) and qualifiers, with at least one role word.
///
/// A small dynamic programme over token boundaries rather than a greedy scan, so that the
/// result does not depend on which reading of the tokens is tried first.
fn covered_by_roles(canonical: &str) -> bool {
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

    // reach[i] = [without, with]: the tokens before `i` can be covered without a role word,
    // or with at least one.
    let mut reach = [[false; 2]; MAX_LOCAL / 2 + 2];
    reach[0][0] = true;
    for i in 0..count {
        let [without, with] = reach[i];
        if !without && !with {
            continue;
        }
        if is_qualifier(&canonical[starts[i]..ends[i]]) {
            reach[i + 1][0] |= without;
            reach[i + 1][1] |= with;
        }
        for j in i..count.min(i + MAX_ROLE_TOKENS) {
            if is_role_word(&canonical[starts[i]..ends[j]]) {
                reach[j + 1][1] = true;
            }
        }
    }
    reach[count][1]
}

/// Consumer mailbox providers, matched on the exact domain.
///
/// International webmail and the big consumer ISPs (from the providers' own lists of
/// their country domains and the free-mail lists ESPs publish), plus Japan's carriers,
/// MVNOs and ISPs. They exist so a B2B list can flag addresses that are someone's private
/// mailbox rather than their work one; carrier mail also filters bulk senders hard.
static FREE_DOMAINS: &[&str] = &[
    // Google, Apple, Microsoft.
    "gmail.com",
    "googlemail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "hotmail.com",
    "hotmail.co.jp",
    "hotmail.co.uk",
    "hotmail.fr",
    "hotmail.de",
    "hotmail.it",
    "hotmail.es",
    "hotmail.nl",
    "hotmail.be",
    "hotmail.se",
    "hotmail.no",
    "hotmail.dk",
    "hotmail.fi",
    "hotmail.ca",
    "hotmail.com.au",
    "hotmail.com.br",
    "hotmail.com.ar",
    "hotmail.com.mx",
    "hotmail.com.tw",
    "hotmail.com.hk",
    "hotmail.co.th",
    "hotmail.co.kr",
    "hotmail.co.nz",
    "hotmail.co.za",
    "hotmail.gr",
    "hotmail.ch",
    "hotmail.at",
    "outlook.com",
    "outlook.jp",
    "outlook.fr",
    "outlook.de",
    "outlook.es",
    "outlook.it",
    "outlook.be",
    "outlook.at",
    "outlook.dk",
    "outlook.ie",
    "outlook.in",
    "outlook.kr",
    "outlook.my",
    "outlook.ph",
    "outlook.pt",
    "outlook.sg",
    "outlook.sa",
    "outlook.cl",
    "outlook.cz",
    "outlook.hu",
    "outlook.sk",
    "outlook.com.au",
    "outlook.com.br",
    "outlook.com.ar",
    "outlook.com.tr",
    "outlook.com.vn",
    "outlook.com.gr",
    "outlook.co.id",
    "outlook.co.il",
    "outlook.co.nz",
    "outlook.co.th",
    "live.com",
    "live.jp",
    "live.co.uk",
    "live.fr",
    "live.de",
    "live.it",
    "live.nl",
    "live.be",
    "live.ca",
    "live.se",
    "live.dk",
    "live.no",
    "live.at",
    "live.ie",
    "live.in",
    "live.cl",
    "live.cn",
    "live.ru",
    "live.hk",
    "live.com.au",
    "live.com.mx",
    "live.com.ar",
    "live.com.pt",
    "live.com.sg",
    "live.co.za",
    "msn.com",
    "passport.com",
    "windowslive.com",
    // Yahoo and AOL.
    "yahoo.com",
    "yahoo.co.jp",
    "yahoo.ne.jp",
    "yahoo.co.uk",
    "yahoo.fr",
    "yahoo.de",
    "yahoo.it",
    "yahoo.es",
    "yahoo.ca",
    "yahoo.ie",
    "yahoo.gr",
    "yahoo.se",
    "yahoo.dk",
    "yahoo.no",
    "yahoo.fi",
    "yahoo.pl",
    "yahoo.ro",
    "yahoo.at",
    "yahoo.be",
    "yahoo.nl",
    "yahoo.cn",
    "yahoo.in",
    "yahoo.cl",
    "yahoo.com.au",
    "yahoo.com.br",
    "yahoo.com.mx",
    "yahoo.com.ar",
    "yahoo.com.sg",
    "yahoo.com.hk",
    "yahoo.com.tw",
    "yahoo.com.ph",
    "yahoo.com.vn",
    "yahoo.com.my",
    "yahoo.com.cn",
    "yahoo.com.tr",
    "yahoo.com.pe",
    "yahoo.com.co",
    "yahoo.co.in",
    "yahoo.co.id",
    "yahoo.co.th",
    "yahoo.co.nz",
    "yahoo.co.kr",
    "yahoo.co.za",
    "ymail.com",
    "rocketmail.com",
    "aol.com",
    "aol.jp",
    "aol.co.uk",
    "aol.fr",
    "aol.de",
    "aol.it",
    "aim.com",
    "verizon.net",
    // Other webmail.
    "gmx.com",
    "gmx.net",
    "gmx.de",
    "gmx.at",
    "gmx.ch",
    "gmx.fr",
    "gmx.es",
    "gmx.us",
    "gmx.co.uk",
    "web.de",
    "mail.com",
    "email.com",
    "usa.com",
    "inbox.com",
    "protonmail.com",
    "protonmail.ch",
    "proton.me",
    "pm.me",
    "tutanota.com",
    "tutanota.de",
    "tuta.io",
    "tuta.com",
    "zoho.com",
    "zohomail.com",
    "fastmail.com",
    "fastmail.fm",
    "hushmail.com",
    "mailbox.org",
    "posteo.de",
    "yandex.com",
    "yandex.ru",
    "yandex.ua",
    "yandex.by",
    "yandex.kz",
    "yandex.com.tr",
    "ya.ru",
    "mail.ru",
    "inbox.ru",
    "list.ru",
    "bk.ru",
    "rambler.ru",
    "ukr.net",
    "seznam.cz",
    "wp.pl",
    "o2.pl",
    "onet.pl",
    "interia.pl",
    "rediffmail.com",
    // China, Korea, Taiwan.
    "qq.com",
    "vip.qq.com",
    "foxmail.com",
    "163.com",
    "126.com",
    "yeah.net",
    "188.com",
    "vip.163.com",
    "sina.com",
    "sina.cn",
    "sohu.com",
    "aliyun.com",
    "139.com",
    "189.cn",
    "21cn.com",
    "naver.com",
    "daum.net",
    "hanmail.net",
    "nate.com",
    "kakao.com",
    "pchome.com.tw",
    // Consumer ISPs outside Japan.
    "t-online.de",
    "freenet.de",
    "arcor.de",
    "orange.fr",
    "wanadoo.fr",
    "free.fr",
    "sfr.fr",
    "laposte.net",
    "libero.it",
    "virgilio.it",
    "tiscali.it",
    "alice.it",
    "btinternet.com",
    "sky.com",
    "virginmedia.com",
    "ntlworld.com",
    "talktalk.net",
    "comcast.net",
    "att.net",
    "sbcglobal.net",
    "bellsouth.net",
    "cox.net",
    "charter.net",
    "earthlink.net",
    "optonline.net",
    "juno.com",
    "shaw.ca",
    "rogers.com",
    "sympatico.ca",
    "bigpond.com",
    "bigpond.net.au",
    "optusnet.com.au",
    "uol.com.br",
    "bol.com.br",
    "terra.com.br",
    "ziggo.nl",
    "bluewin.ch",
    "telenet.be",
    "skynet.be",
    // Japanese carriers, past and present (docomo, au, SoftBank, Y!mobile, WILLCOM,
    // Rakuten, and the MVNOs that hand out addresses).
    "docomo.ne.jp",
    "mopera.net",
    "ezweb.ne.jp",
    "au.com",
    "biz.ezweb.ne.jp",
    "uqmobile.jp",
    "softbank.ne.jp",
    "i.softbank.jp",
    "disney.ne.jp",
    "ymobile.ne.jp",
    "ymobile1.ne.jp",
    "y-mobile.ne.jp",
    "emnet.ne.jp",
    "emobile.ne.jp",
    "pdx.ne.jp",
    "willcom.com",
    "wcm.ne.jp",
    "rakuten.jp",
    "rakumail.jp",
    "mineo.jp",
    // Japanese ISPs and portals.
    "ybb.ne.jp",
    "nifty.com",
    "nifty.ne.jp",
    "biglobe.ne.jp",
    "biglobe.jp",
    "ocn.ne.jp",
    "so-net.ne.jp",
    "plala.or.jp",
    "dion.ne.jp",
    "auone-net.jp",
    "odn.ne.jp",
    "infoweb.ne.jp",
    "excite.co.jp",
    "livedoor.com",
    "goo.jp",
    "mail.goo.ne.jp",
    "infoseek.jp",
    "hi-ho.ne.jp",
    "eonet.ne.jp",
    "zaq.ne.jp",
    "home.ne.jp",
    "commufa.jp",
    "asahi-net.or.jp",
    "iij4u.or.jp",
    "sannet.ne.jp",
    "wakwak.com",
    "tiki.ne.jp",
    "bbexcite.jp",
];

/// Providers whose customers get addresses on subdomains of their domain
/// (`taro@ab.so-net.ne.jp`, `hanako@xx.biglobe.ne.jp`, `jiro@t.vodafone.ne.jp`), so the
/// domain and every subdomain of it count as free mail.
///
/// Kept apart from [`FREE_DOMAINS`] because for most providers a subdomain is something
/// else (a company hosted there, a service host), and matching it would be a guess.
static FREE_PARENT_DOMAINS: &[&str] = &[
    "asahi-net.or.jp",
    "auone-net.jp",
    "biglobe.ne.jp",
    "dion.ne.jp",
    "eonet.ne.jp",
    "ezweb.ne.jp",
    "hi-ho.ne.jp",
    "hinet.net",
    "home.ne.jp",
    "iij4u.or.jp",
    "infoweb.ne.jp",
    "nifty.com",
    "ocn.ne.jp",
    "odn.ne.jp",
    "pdx.ne.jp",
    "plala.or.jp",
    "sannet.ne.jp",
    "so-net.ne.jp",
    "vodafone.ne.jp",
    "zaq.ne.jp",
];

static FREE_SET: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| FREE_DOMAINS.iter().copied().collect());

static FREE_PARENT_SET: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| FREE_PARENT_DOMAINS.iter().copied().collect());

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

/// Whether the domain is one of the two carriers that issued addresses, before 2009, with
/// dots the RFCs forbid (`taro..x@docomo.ne.jp`, `.hanako@ezweb.ne.jp`, `jiro.@...`).
/// Those addresses still receive mail, so validation treats them apart.
///
/// Exact match only: the carriers' subdomains never issued such addresses.
pub fn is_legacy_carrier(domain: &str) -> bool {
    matches!(domain, "docomo.ne.jp" | "ezweb.ne.jp")
}

/// Well-known mail domains that typo suggestions point to, most used first (ties in the
/// typo search go to the earlier entry).
///
/// The domains that make up most of consumer mail in Japanese and international lists.
/// Every one is also free mail. Domains whose name is very short and close to other real
/// domains (`me.com`, `mac.com`, `gmx.de`, `mail.com`) are left out on purpose: a typo of
/// them is as likely to be another real domain.
pub static WELL_KNOWN: &[&str] = &[
    "gmail.com",
    "yahoo.co.jp",
    "docomo.ne.jp",
    "ezweb.ne.jp",
    "i.softbank.jp",
    "softbank.ne.jp",
    "icloud.com",
    "yahoo.com",
    "hotmail.com",
    "hotmail.co.jp",
    "outlook.com",
    "outlook.jp",
    "au.com",
    "ymobile.ne.jp",
    "live.com",
    "live.jp",
    "msn.com",
    "aol.com",
    "googlemail.com",
    "nifty.com",
    "biglobe.ne.jp",
    "ocn.ne.jp",
    "so-net.ne.jp",
    "plala.or.jp",
    "ybb.ne.jp",
    "protonmail.com",
    "yahoo.co.uk",
    "hotmail.co.uk",
    "qq.com",
    "163.com",
    "comcast.net",
];

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
                    .map_or(stem.len() <= *LONGEST_WORD, |key| FIRST_TOKENS.contains(&key));
            proptest::prop_assert_eq!(could_start_role(&local), expected);
        }
    }

    #[test]
    fn first_tokens_have_their_shapes() {
        for token in FIRST_TOKENS.iter() {
            let bytes = token.to_le_bytes();
            let len = bytes.iter().position(|&b| b == 0).unwrap_or(16);
            let (head, tail) = (bytes[0], bytes[len - 1]);
            assert!(
                FIRST_TOKEN_SHAPES[len][usize::from(head & 31)] & 1 << (tail & 31) != 0,
                "{:?}",
                &bytes[..len]
            );
        }
    }

    #[test]
    fn every_role_word_is_a_role_in_any_case() {
        for word in ROLE_WORDS {
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

    /// The lists are edited by hand: keep them canonical and free of duplicates.
    #[test]
    fn lists_are_canonical() {
        let lists: &[(&str, &[&str])] = &[
            ("ROLE_WORDS", ROLE_WORDS),
            ("ROLE_QUALIFIERS", ROLE_QUALIFIERS),
            ("FREE_DOMAINS", FREE_DOMAINS),
            ("FREE_PARENT_DOMAINS", FREE_PARENT_DOMAINS),
            ("WELL_KNOWN", WELL_KNOWN),
        ];
        for (name, list) in lists {
            let unique: HashSet<_> = list.iter().collect();
            assert_eq!(unique.len(), list.len(), "{name} has duplicates");
            for entry in *list {
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
        for word in ROLE_WORDS.iter().chain(ROLE_QUALIFIERS) {
            assert!(
                !word.contains('.'),
                "{word:?}: roles use `-` for separators"
            );
        }
        for word in ROLE_QUALIFIERS {
            assert!(
                !ROLE_SET.contains(word),
                "{word:?} is both a role and a qualifier"
            );
        }
    }

    #[test]
    fn well_known_domains_are_free_mail() {
        for domain in WELL_KNOWN {
            assert!(is_free(domain), "{domain}");
        }
    }
}
