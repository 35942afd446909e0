//! Finding columns: the email column(s) by header name or by content, and any column the
//! user names with `--email-column` or `--last-contact-column`.

use unicode_normalization::UnicodeNormalization;

/// Header names that mean "email address", after [`header_key`] and without qualifiers.
const SYNONYMS: &[&str] = &[
    "email",
    "mail",
    "emailaddress",
    "mailaddress",
    "emailaddr",
    "mailaddr",
    "emailadresse",
    "emailアドレス",
    "mailアドレス",
    "eメール",
    "eメールアドレス",
    "メール",
    "メールアドレス",
    "電子メール",
    "電子メールアドレス",
    "メアド",
    // `携帯アドレス`, `PCアドレス`: in Japanese an アドレス alone is an email address (a
    // postal one is 住所).
    "アドレス",
    "courriel",
    "correo",
    "correoelectronico",
];

/// Words that qualify an email header without changing its meaning ("Email 2",
/// "サブメールアドレス", "携帯メール", "Work Email"). Stripped from either end.
const QUALIFIERS: &[&str] = &[
    "primary",
    "secondary",
    "main",
    "sub",
    "other",
    "alternate",
    "alt",
    "work",
    "business",
    "personal",
    "private",
    "home",
    "office",
    "company",
    "contact",
    "pc",
    "mobile",
    "cc",
    "主",
    "副",
    "サブ",
    "メイン",
    "会社",
    "個人",
    "携帯",
    "自宅",
    "勤務先",
    "連絡先",
    "担当者",
    "代表",
    "予備",
    "その他",
    "送信先",
    "宛先",
];

/// Folds a header for matching: NFKC (full width to ASCII), lowercase, without spaces,
/// punctuation and brackets.
pub fn header_key(name: &str) -> String {
    name.nfkc()
        .flat_map(char::to_lowercase)
        .filter(|c| !c.is_whitespace() && !"-_.・:：()[]{}<>「」【】/#*".contains(*c))
        .collect()
}

/// Whether a header names an email column.
pub fn is_email_header(name: &str) -> bool {
    let key = header_key(name);
    let mut key = key.as_str();
    loop {
        let before = key.len();
        key = key.trim_matches(|c: char| c.is_ascii_digit());
        for q in QUALIFIERS {
            key = key.strip_prefix(q).unwrap_or(key);
            key = key.strip_suffix(q).unwrap_or(key);
        }
        if key.len() == before {
            break;
        }
    }
    SYNONYMS.contains(&key)
}

/// Whether a cell looks like it holds an address: an `@` (or `＠`) with text on both sides.
pub fn looks_like_address(cell: &str) -> bool {
    let cell = cell.trim();
    cell.char_indices()
        .any(|(i, c)| (c == '@' || c == '＠') && i > 0 && i + c.len_utf8() < cell.len())
}

/// Whether a cell holds an address and nothing else but a display name
/// (`山田 <taro@acme.jp>`): not one inside a sentence, as a bounce message's column has
/// (`550 5.1.1 <taro@acme.jp>: user unknown`), which must not win over the address column.
fn holds_address(cell: &str) -> bool {
    let cell = cell.trim();
    looks_like_address(cell)
        && (!cell.contains(char::is_whitespace)
            || (cell.ends_with(['>', '＞']) && cell.contains(['<', '＜'])))
}

/// Cells that stand for "no address" in an email column: a first row holding one is a
/// row without an address, not a header. Compared after [`header_key`] folding.
const NO_ADDRESS: &[&str] = &[
    "なし",
    "無し",
    "無",
    "不明",
    "未登録",
    "未記入",
    "未定",
    "該当なし",
    "na",
    "none",
    "null",
    "nil",
    "unknown",
    "",
    "ー",
    "―",
    "‐",
    "×",
];

/// Whether a first-row cell, in a column found to hold addresses by its content, could be
/// that column's header. Not when it is empty, holds an `@` (`＠`) or a `.` (a broken or
/// partial address), an obfuscated at sign (`taro(at)acme.jp`, `[at]`), or a stand-in
/// for "no address" (`なし`, `N/A`, `-`): those are a first data row. `Contact`, `連絡先`,
/// `Kontakt` are headers.
pub fn could_be_header(cell: &str) -> bool {
    let folded = fold(cell);
    !(folded.is_empty()
        || folded.contains(['@', '.'])
        || OBFUSCATED_AT.iter().any(|at| folded.contains(at))
        || NO_ADDRESS.contains(&header_key(&folded).as_str()))
}

/// Whether a cell reads like an attempt at an address, well formed or not: an `@`, a
/// spelled-out at (`taro(at)acme.jp`, `taro at acme.jp`), or a dot between letters
/// (`taro.acme.jp`). A yes/no or 0/1 flag column has none of these.
fn looks_like_attempt(cell: &str) -> bool {
    let folded = fold(cell);
    // Two letters either side, so that `n.a.` or `e.g.` is no domain.
    let dotted = folded
        .as_bytes()
        .windows(5)
        .any(|w| w[2] == b'.' && [w[0], w[1], w[3], w[4]].iter().all(u8::is_ascii_alphabetic));
    folded.contains('@')
        || dotted
        || OBFUSCATED_AT.iter().any(|at| folded.contains(at))
        || folded.contains(" at ")
}

/// Ways of writing `@` out so that harvesters miss the address, after [`fold`].
const OBFUSCATED_AT: &[&str] = &[
    "(at)",
    "[at]",
    "{at}",
    "<at>",
    "(a)",
    "[@]",
    "(@)",
    "アットマーク",
];

/// A cell trimmed, NFKC-folded (full width to ASCII) and lowercased. An ASCII cell, as
/// most are, only needs lowercasing: NFKC leaves ASCII as it is.
fn fold(cell: &str) -> String {
    let cell = cell.trim();
    if cell.is_ascii() {
        return cell.to_ascii_lowercase();
    }
    cell.nfkc().flat_map(char::to_lowercase).collect()
}

/// Chooses the email columns from the header (if any) and a sample of rows.
///
/// Columns whose header names an email column are taken when their sampled cells do not
/// contradict it: at least one looks like an address or an attempt at one
/// (`taro(at)acme.jp`, `taro.acme.jp`), or all are empty. A messy column (mostly なし,
/// N/A, 不明) is still the email column; a "Mail" column of yes/no values is not. Without
/// such a header, the single column where the most cells look like addresses is taken,
/// provided at least half of its non-empty cells do. Either way, any other column whose
/// non-empty cells are nearly all addresses alone is taken too (a sub address under a
/// header of its own, `Mobile`, `携帯`; a second column of a file without a header), unless
/// it holds the same few addresses on most rows.
pub fn find_email_columns(header: Option<&[String]>, sample: &[Vec<String>]) -> Vec<usize> {
    // With a header, its columns are the columns; without, the widest row decides.
    let width = header.map_or_else(
        || sample.iter().map(Vec::len).max().unwrap_or(0),
        <[String]>::len,
    );
    let cells = |col: usize| {
        sample
            .iter()
            .filter_map(move |row| row.get(col))
            .filter(|c| !c.trim().is_empty())
    };
    // Per column: non-empty cells, cells holding only an address, cells with one in them.
    let stats: Vec<(usize, usize, usize)> = (0..width)
        .map(|col| {
            cells(col).fold((0, 0, 0), |(n, only, any), c| {
                (
                    n + 1,
                    only + usize::from(holds_address(c)),
                    any + usize::from(looks_like_address(c)),
                )
            })
        })
        .collect();
    // Per column: the cells with an address in them, and how many differ.
    let addresses = |col: usize| {
        let values: Vec<String> = cells(col)
            .filter(|c| looks_like_address(c))
            .map(|c| c.trim().to_lowercase())
            .collect();
        let distinct: std::collections::HashSet<&String> = values.iter().collect();
        (values.len(), distinct.len())
    };
    // Of several, a column holding the same few addresses on most rows is the account
    // owner's or the sales rep's (担当者メールアドレス, a second `Email` in a Salesforce
    // report), not the contact's: cleaning it would blank it as a duplicate, or mail the rep
    // in the contact's place.
    let shared = |col: usize| {
        let (all, distinct) = addresses(col);
        all >= 3 && distinct * 2 <= all
    };
    // Columns of addresses and nothing else, whatever their header says, each of a
    // different contact: at least three, nearly all different (an owner's column of two
    // rows is no sub address).
    let of_addresses = (0..width).filter(|&col| {
        let (non_empty, only, _) = stats[col];
        let (all, distinct) = addresses(col);
        only >= 3 && only * 5 >= non_empty * 4 && distinct * 5 >= all * 4
    });
    let with = |mut columns: Vec<usize>| {
        columns.extend(of_addresses.clone());
        columns.sort_unstable();
        columns.dedup();
        columns
    };
    if let Some(header) = header {
        let named: Vec<usize> = header
            .iter()
            .enumerate()
            .filter(|(col, name)| {
                let (non_empty, _, hits) = stats[*col];
                let attempts = cells(*col).filter(|c| looks_like_attempt(c)).count();
                is_email_header(name) && (non_empty == 0 || hits > 0 || attempts * 2 >= non_empty)
            })
            .map(|(col, _)| col)
            .collect();
        let personal: Vec<usize> = named.iter().copied().filter(|&c| !shared(c)).collect();
        if named.len() > 1 && !personal.is_empty() {
            return with(personal);
        }
        if !named.is_empty() {
            return with(named);
        }
    }
    // Cells of only an address count first, so that a column of messages quoting
    // addresses does not win over the column of addresses; any address counts when no
    // column has enough of those (a list of addresses with notes after them).
    let best = |hits: &dyn Fn(&(usize, usize, usize)) -> usize| {
        stats
            .iter()
            .enumerate()
            .map(|(col, stat)| (col, stat.0, hits(stat)))
            .filter(|&(_, non_empty, hits)| hits > 0 && hits * 2 >= non_empty)
            .max_by_key(|&(col, _, hits)| (hits, std::cmp::Reverse(col)))
            .map(|(col, _, _)| col)
    };
    best(&|stat| stat.1)
        .or_else(|| best(&|stat| stat.2))
        .map(|col| with(vec![col]))
        .unwrap_or_default()
}

/// Resolves a column named on the command line: an exact header, then a header equal
/// after [`header_key`] folding, then a 1-based column number. A name that several
/// headers carry is no answer: the error holds the columns it matches (none, or several).
pub fn resolve(spec: &str, header: Option<&[String]>) -> Result<usize, Vec<usize>> {
    if let Some(header) = header {
        let positions = |matches: &dyn Fn(&str) -> bool| -> Vec<usize> {
            (0..header.len()).filter(|&c| matches(&header[c])).collect()
        };
        let mut found = positions(&|h| h.trim() == spec.trim());
        if found.is_empty() {
            let key = header_key(spec);
            found = positions(&|h| header_key(h) == key);
        }
        match found.as_slice() {
            [] => {}
            [col] => return Ok(*col),
            _ => return Err(found),
        }
    }
    spec.trim()
        .parse::<usize>()
        .ok()
        .filter(|&n| n >= 1)
        .map(|n| n - 1)
        .ok_or_else(Vec::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_headers() {
        for name in [
            "Email",
            "E-mail",
            "e_mail",
            "EMAIL ADDRESS",
            "Mail",
            "メールアドレス",
            "メール",
            "Ｅメール",
            "電子メール",
            "E-mail アドレス",
            "サブメールアドレス",
            "メールアドレス2",
            "Email 2",
            "携帯メール",
            "PCメールアドレス",
            "メールアドレス（会社）",
            "Work Email",
            "ＭＡＩＬ",
        ] {
            assert!(is_email_header(name), "{name}");
        }
        for name in [
            "Email Opt Out",
            "Mailing List",
            "Last Email Date",
            "氏名",
            "id",
            "Email Bounced",
        ] {
            assert!(!is_email_header(name), "{name}");
        }
    }

    fn rows(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    #[test]
    fn finds_columns_by_header_and_content() {
        let header: Vec<String> = ["id", "Email", "Email Opt Out", "Email 2"]
            .map(String::from)
            .into();
        let sample = rows(&[
            &["1", "a@x.jp", "false", ""],
            &["2", "b@x.jp", "true", "c@y.jp"],
        ]);
        assert_eq!(find_email_columns(Some(&header), &sample), [1, 3]);

        let header: Vec<String> = ["id", "連絡先", "name"].map(String::from).into();
        let sample = rows(&[
            &["1", "a@x.jp", "x"],
            &["2", "なし", "y"],
            &["3", "ｂ＠ｘ．ｊｐ", "z"],
        ]);
        assert_eq!(find_email_columns(Some(&header), &sample), [1]);
        assert_eq!(find_email_columns(None, &sample), [1]);
        assert!(find_email_columns(None, &rows(&[&["1", "x"]])).is_empty());

        // A named column whose sampled cells are all broken addresses is still the email
        // column; one of yes/no flags is not.
        let header: Vec<String> = ["id", "Email", "Mail"].map(String::from).into();
        for cell in [
            "taro at acme.jp",
            "taro(at)acme",
            "taro.acme.jp",
            "ｔａｒｏ＠",
        ] {
            let sample = rows(&[&["1", cell, "yes"], &["2", "", "no"]]);
            assert_eq!(find_email_columns(Some(&header), &sample), [1], "{cell}");
        }
        let sample = rows(&[&["1", "1.0", "yes"], &["2", "配信可", "1"]]);
        assert!(find_email_columns(Some(&header), &sample).is_empty());
        // Nor one where a note that looks dotted stands among the flags.
        let sample = rows(&[
            &["1", "a@x.jp", "yes"],
            &["2", "b@x.jp", "no"],
            &["3", "c@x.jp", "n.a."],
        ]);
        assert_eq!(find_email_columns(Some(&header), &sample), [1]);

        // A second named column holding one address on every row is the sales rep's.
        let header: Vec<String> = ["氏名", "メールアドレス", "担当者メールアドレス"]
            .map(String::from)
            .into();
        let sample = rows(&[
            &["山田", "taro@acme.jp", "rep@seller.jp"],
            &["佐藤", "", "rep@seller.jp"],
            &["鈴木", "jiro@docomo.ne.jp", "REP@seller.jp"],
        ]);
        assert_eq!(find_email_columns(Some(&header), &sample), [1]);
        // Placeholders repeated in a messy mobile column do not make it shared.
        let sample = rows(&[
            &["山田", "taro@acme.jp", "なし"],
            &["佐藤", "hanako@acme.jp", "なし"],
            &["田中", "ken@acme.jp", "ken@docomo.ne.jp"],
            &["鈴木", "jiro@acme.jp", "なし"],
        ]);
        assert_eq!(find_email_columns(Some(&header), &sample), [1, 2]);
        // Alone, such a column is still the email column.
        let header: Vec<String> = ["id", "name", "Email"].map(String::from).into();
        let sample = rows(&[
            &["1", "", "a@x.jp"],
            &["2", "", "a@x.jp"],
            &["3", "", "a@x.jp"],
        ]);
        assert_eq!(find_email_columns(Some(&header), &sample), [2]);

        // By content, a column of addresses wins over one of messages that quote them.
        let sample = rows(&[
            &["550 5.1.1 <x@foo.com>: user unknown", "yamada@acme.jp"],
            &[
                "550 5.1.1 <y@foo.com>: user unknown",
                "山田 花子 <hanako@acme.jp>",
            ],
        ]);
        assert_eq!(find_email_columns(None, &sample), [1]);
    }

    #[test]
    fn takes_every_column_of_addresses() {
        // A sub address under a header that names no email column, or an アドレス one.
        let contacts: &[&[&str]] = &[
            &["山田", "taro@acme.co.jp", "taro..y@docomo.ne.jp"],
            &["中村", "", "nakamura@ezweb.ne.jp"],
            &["佐藤", "hanako@bee.co.jp", ""],
            &["鈴木", "jiro@bee.co.jp", "jiro@i.softbank.jp"],
        ];
        for name in ["携帯", "Mobile", "携帯アドレス", "PCアドレス"] {
            let header: Vec<String> = ["氏名", "メールアドレス", name].map(String::from).into();
            assert_eq!(
                find_email_columns(Some(&header), &rows(contacts)),
                [1, 2],
                "{name}"
            );
        }
        // Without a header, every column of addresses.
        assert_eq!(find_email_columns(None, &rows(contacts)), [1, 2]);
        // Not a column of notes that quote addresses, one that holds an address now and
        // then, or an owner's, the same on most rows, or on two.
        let header: Vec<String> = ["氏名", "Email", "備考", "紹介", "担当", "作成者"]
            .map(String::from)
            .into();
        let sample = rows(&[
            &[
                "山田",
                "taro@acme.co.jp",
                "旧 t@old.jp 宛",
                "x@y.jp",
                "rep@seller.jp",
                "",
            ],
            &[
                "佐藤",
                "hanako@bee.co.jp",
                "",
                "田中さん",
                "rep@seller.jp",
                "a@seller.jp",
            ],
            &[
                "鈴木",
                "jiro@bee.co.jp",
                "",
                "展示会",
                "rep@seller.jp",
                "a@seller.jp",
            ],
            &["田中", "ken@bee.co.jp", "", "", "rep2@seller.jp", ""],
        ]);
        assert_eq!(find_email_columns(Some(&header), &sample), [1]);
    }

    #[test]
    fn header_cells_of_content_columns() {
        for cell in [
            "Contact",
            "連絡先",
            "Kontakt",
            "Adresse",
            "宛先",
            "Correo",
            "E-Mail-Adresse",
        ] {
            assert!(could_be_header(cell), "{cell}");
        }
        for cell in [
            "",
            "  ",
            "taro(at)acme.jp",
            "taro [at] acme.jp",
            "taro＠acme",
            "taro@",
            "acme.jp",
            "ｔａｒｏ．ａｃｍｅ",
            "なし",
            "N/A",
            "-",
            "不明",
        ] {
            assert!(!could_be_header(cell), "{cell:?}");
        }
    }

    #[test]
    fn resolves_named_columns() {
        let header: Vec<String> = ["ID", "メールアドレス", "最終接触日"]
            .map(String::from)
            .into();
        assert_eq!(resolve("メールアドレス", Some(&header)), Ok(1));
        assert_eq!(resolve("id", Some(&header)), Ok(0));
        assert_eq!(resolve("3", Some(&header)), Ok(2));
        assert_eq!(resolve("nothing", Some(&header)), Err(vec![]));
        // A name two headers carry is ambiguous; an exact match still beats a folded one.
        let header: Vec<String> = ["Email", "name", "email", "E-mail"]
            .map(String::from)
            .into();
        assert_eq!(resolve("Email", Some(&header)), Ok(0));
        assert_eq!(resolve("EMAIL", Some(&header)), Err(vec![0, 2, 3]));
        assert_eq!(resolve("4", Some(&header)), Ok(3));
    }
}
