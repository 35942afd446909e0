//! `listclean clean` end to end, without DNS: buckets, encodings, dialects, errors.

use encoding_rs::SHIFT_JIS;

use crate::support::{Workdir, column, files_besides, rows, terminate};

fn cp932(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = SHIFT_JIS.encode(text);
    assert!(!unmappable, "test text must be CP932");
    bytes.into_owned()
}

fn utf16le_bom(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    bytes
}

#[test]
fn every_row_lands_in_exactly_one_file() {
    let dir = Workdir::new();
    dir.write(
        "list.csv",
        "id,name,email\n1,Taro,taro@acme.co.jp\n2,Dup,TARO@ACME.CO.JP\n3,None,\n4,Bad,foo(at)bar.com\n\
         5,Role,info@acme.co.jp\n6,Full,ｈａｎａｋｏ＠ａｃｍｅ．ｃｏ．ｊｐ\n",
    );
    let run = dir.clean("list.csv", &["--no-dns"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let cleaned = run.cleaned_rows();
    let rejected = run.rejected_rows();
    assert_eq!(column(&cleaned, "id"), ["1", "5", "6"]);
    assert_eq!(
        column(&cleaned, "email"),
        ["taro@acme.co.jp", "info@acme.co.jp", "hanako@acme.co.jp"]
    );
    assert_eq!(
        column(&cleaned, "email_status"),
        ["unknown", "risky", "unknown"]
    );
    assert_eq!(column(&cleaned, "email_flags"), ["", "role", "normalized"]);
    assert_eq!(column(&rejected, "id"), ["2", "3", "4"]);
    assert_eq!(
        column(&rejected, "reject_reason"),
        ["duplicate", "empty", "syntax.no_at_sign"]
    );
    assert_eq!(
        column(&rejected, "reject_detail")[0],
        "email: same address as row 2"
    );
    // Rejected rows keep their cells as they were.
    assert_eq!(
        column(&rejected, "email"),
        ["TARO@ACME.CO.JP", "", "foo(at)bar.com"]
    );
    let report = run.report();
    assert_eq!(report["rows_in"], 6);
    assert_eq!(report["rows_cleaned"], 3);
    assert_eq!(report["rows_rejected"], 3);
    assert_eq!(report["conservation_ok"], true);
    assert_eq!(report["reasons"]["duplicate"], 1);
    assert!(
        run.stderr().contains("6 rows"),
        "summary on stderr: {}",
        run.stderr()
    );
}

#[test]
fn cp932_files_round_trip_byte_exact() {
    let dir = Workdir::new();
    let input = "顧客ID,氏名,会社名,メールアドレス,備考\r\n\
                 1,山田太郎,株式会社サンプル商事,taro@sample-shoji.co.jp,ソフト開発（表示）\r\n\
                 2,鈴木花子,髙橋工業,hanako@takahashi-kogyo.jp,\"住所,東京都\"\r\n\
                 3,佐藤一郎,－,ｉｃｈｉｒｏ＠ｓａｔｏ．ｊｐ,全角\r\n\
                 4,田中,無効,なし,\r\n";
    dir.write("crm.csv", cp932(input));
    let run = dir.clean("crm.csv", &["--no-dns"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let cleaned = run.cleaned.clone().unwrap();
    let expected = cp932(
        "顧客ID,氏名,会社名,メールアドレス,備考,email_status,email_flags,email_suggestion\r\n\
         1,山田太郎,株式会社サンプル商事,taro@sample-shoji.co.jp,ソフト開発（表示）,unknown,,\r\n\
         2,鈴木花子,髙橋工業,hanako@takahashi-kogyo.jp,\"住所,東京都\",unknown,,\r\n\
         3,佐藤一郎,－,ichiro@sato.jp,全角,unknown,normalized,\r\n",
    );
    assert_eq!(
        cleaned,
        expected,
        "cleaned file, decoded: {}",
        SHIFT_JIS.decode(&cleaned).0
    );
    let rejected = run.rejected.clone().unwrap();
    let expected = cp932(
        "顧客ID,氏名,会社名,メールアドレス,備考,reject_reason,reject_detail,suggestion\r\n\
         4,田中,無効,なし,,placeholder,\"メールアドレス: the cell holds the note \"\"なし\"\" instead of \
         an address\",\r\n",
    );
    assert_eq!(
        rejected,
        expected,
        "rejected file, decoded: {}",
        SHIFT_JIS.decode(&rejected).0
    );
    assert_eq!(run.report()["encoding"], "cp932");
}

#[test]
fn japanese_details_in_the_input_encoding() {
    let dir = Workdir::new();
    dir.write("ja.csv", cp932("メール\r\ntaro@@x.jp\r\n"));
    let run = dir.clean("ja.csv", &["--no-dns", "--lang", "ja"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let text = SHIFT_JIS
        .decode(run.rejected.as_deref().unwrap())
        .0
        .into_owned();
    assert!(text.contains("メール: @ が複数あります"), "{text}");
}

#[test]
fn utf8_bom_round_trips_byte_exact() {
    let dir = Workdir::new();
    let input = "\u{FEFF}Email,Name\r\nann@acme.com,Ann\r\n\"bob@acme.com\",\"Smith, Bob\"\r\n";
    dir.write("bom.csv", input);
    let run = dir.clean("bom.csv", &["--no-dns"]);
    assert_eq!(
        String::from_utf8(run.cleaned.clone().unwrap()).unwrap(),
        "\u{FEFF}Email,Name,email_status,email_flags,email_suggestion\r\n\
         ann@acme.com,Ann,unknown,,\r\n\"bob@acme.com\",\"Smith, Bob\",unknown,,\r\n"
    );
}

#[test]
fn excel_unicode_text_round_trips_byte_exact() {
    let dir = Workdir::new();
    let input = "氏名\tメールアドレス\r\n山田\ttaro@yamada.jp\r\n鈴木\tsuzuki@@x.jp\r\n";
    dir.write("unicode.txt", utf16le_bom(input));
    let run = dir.clean("unicode.txt", &["--no-dns"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(
        run.cleaned.clone().unwrap(),
        utf16le_bom(
            "氏名\tメールアドレス\temail_status\temail_flags\temail_suggestion\r\n山田\ttaro@yamada.jp\tunknown\t\t\r\n"
        )
    );
    assert_eq!(run.report()["encoding"], "utf-16le");
    assert_eq!(run.report()["delimiter"], "\t");
}

#[test]
fn all_quoted_exports_stay_all_quoted() {
    let dir = Workdir::new();
    dir.write("sf.csv", "\"Id\",\"Email\"\n\"1\",\"a@acme.com\"\n");
    let run = dir.clean("sf.csv", &["--no-dns"]);
    assert_eq!(
        String::from_utf8(run.cleaned.clone().unwrap()).unwrap(),
        "\"Id\",\"Email\",\"email_status\",\"email_flags\",\"email_suggestion\"\n\"1\",\"a@acme.com\",\"unknown\",\"\",\"\"\n"
    );
}

#[test]
fn invalid_bytes_reject_only_their_row() {
    let dir = Workdir::new();
    let mut input = cp932("名前,メール\r\n山田,taro@yamada.jp\r\n");
    input.extend_from_slice(b"\x82,bad@yamada.jp\r\n");
    input.extend(cp932("鈴木,suzuki@suzuki.jp\r\n"));
    dir.write("broken.csv", input);
    let run = dir.clean("broken.csv", &["--no-dns", "--input-encoding", "cp932"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let rejected = SHIFT_JIS
        .decode(run.rejected.as_deref().unwrap())
        .0
        .into_owned();
    assert!(rejected.contains("encoding_error"), "{rejected}");
    assert_eq!(run.report()["rows_cleaned"], 2);
    // The rejected row keeps its original bytes.
    let original = b"\x82,bad@yamada.jp";
    assert!(
        run.rejected
            .as_deref()
            .unwrap()
            .windows(original.len())
            .any(|w| w == original)
    );
}

/// 50,000 romanised rows (over the 1 MiB detection sample) before the first Japanese one.
fn late_japanese() -> Vec<u8> {
    let mut text = String::from("name,email,note\r\n");
    for i in 0..50_000 {
        text += &format!("user{i},user{i}@acme.jp,ok\r\n");
    }
    text += "山田,yamada@acme.jp,日本語メモ\r\n";
    cp932(&text)
}

#[test]
fn cp932_after_a_long_ascii_start_is_still_cp932() {
    let dir = Workdir::new();
    let input = late_japanese();
    assert!(input[..1 << 20].is_ascii());
    dir.write("late.csv", &input);
    let run = dir.clean("late.csv", &["--no-dns"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(run.report()["encoding"], "cp932");
    assert_eq!(run.report()["rows_rejected"], 0);
    let cleaned = run.cleaned.unwrap();
    let last = cp932("山田,yamada@acme.jp,日本語メモ,unknown,,\r\n");
    assert!(cleaned.ends_with(&last));
}

#[test]
fn utf16_without_a_bom_after_a_long_ascii_start_is_still_utf16() {
    let dir = Workdir::new();
    let mut text = String::from("name,email\r\n");
    for i in 0..60_000 {
        text += &format!("user{i},user{i}@acme.jp\r\n");
    }
    text += "Müller,m@acme.de\r\n山田,yamada@acme.jp\r\n";
    let input: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    dir.write("wide.csv", &input);
    let run = dir.clean("wide.csv", &["--no-dns"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(run.report()["encoding"], "utf-16le");
    assert_eq!(run.report()["rows_in"], 60_002);
    assert_eq!(run.report()["rows_rejected"], 0);
}

#[test]
fn a_guess_from_ascii_standard_input_is_named_when_rows_fail() {
    // Standard input as `-`, and by a name that is a pipe (as `<(zcat list.csv.gz)` is):
    // neither can be read twice, and both write stdin.* in the current folder.
    for input in ["-", "/dev/stdin"] {
        guess_from_ascii_is_named(input);
    }
}

fn guess_from_ascii_is_named(input: &str) {
    let dir = Workdir::new();
    let run = dir.clean_stdin(input, &["--no-dns"], &late_japanese());
    assert_eq!(run.code(), 0, "{input}: {}", run.stderr());
    let report = run.report();
    assert_eq!(report["encoding"], "utf-8");
    assert_eq!(report["reasons"]["encoding_error"], 1);
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("--input-encoding"), "{warnings}");
    assert!(warnings.contains("plain ASCII"), "{warnings}");
    let stderr = run.stderr();
    assert!(
        stderr.contains("warning:") && stderr.contains("--input-encoding"),
        "{stderr}"
    );
}

#[test]
fn several_email_columns() {
    let dir = Workdir::new();
    dir.write(
        "two.csv",
        "id,メールアドレス,サブメールアドレス\n1,,sub@acme.jp\n2,なし,sub2@acme.jp\n3,bad(at)x.jp,\n4,main@acme.jp,x@mailinator.com\n",
    );
    let run = dir.clean("two.csv", &["--no-dns"]);
    let cleaned = run.cleaned_rows();
    assert_eq!(column(&cleaned, "id"), ["1", "2", "4"]);
    assert_eq!(column(&cleaned, "メールアドレス"), ["", "", "main@acme.jp"]);
    assert_eq!(
        column(&cleaned, "サブメールアドレス"),
        ["sub@acme.jp", "sub2@acme.jp", ""]
    );
    assert_eq!(
        column(&cleaned, "email_flags"),
        ["", "other_address_removed", "other_address_removed"]
    );
    let rejected = run.rejected_rows();
    assert_eq!(
        column(&rejected, "reject_detail"),
        ["メールアドレス: there is no @ sign"]
    );
    assert_eq!(
        run.report()["email_columns"],
        serde_json::json!(["メールアドレス", "サブメールアドレス"])
    );
    // What was removed from kept rows is told per column and reason.
    assert_eq!(
        run.report()["removed_addresses"],
        serde_json::json!({
            "メールアドレス": {"placeholder": 1},
            "サブメールアドレス": {"disposable_domain": 1},
        })
    );
}

#[test]
fn duplicates_are_told_in_every_email_column() {
    let dir = Workdir::new();
    dir.write(
        "two.csv",
        "id,email,sub email\n1,a@acme.jp,\n2,b@acme.jp,A@acme.jp\n3,a@acme.jp,c@acme.jp\n\
         4,c@acme.jp,\n5,d@acme.jp,d@acme.jp\n",
    );
    let run = dir.clean("two.csv", &["--no-dns"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let cleaned = run.cleaned_rows();
    // A sub address kept before is removed, like any unusable one; a row whose main
    // address was kept before keeps its new sub address; the same address twice in one
    // row is one contact's.
    assert_eq!(column(&cleaned, "id"), ["1", "2", "3", "5"]);
    assert_eq!(
        column(&cleaned, "email"),
        ["a@acme.jp", "b@acme.jp", "", "d@acme.jp"]
    );
    assert_eq!(
        column(&cleaned, "sub email"),
        ["", "", "c@acme.jp", "d@acme.jp"]
    );
    assert_eq!(
        column(&cleaned, "email_flags"),
        ["", "other_address_removed", "other_address_removed", ""]
    );
    assert_eq!(
        run.report()["removed_addresses"],
        serde_json::json!({"email": {"duplicate": 1}, "sub email": {"duplicate": 1}})
    );
    let rejected = run.rejected_rows();
    assert_eq!(column(&rejected, "id"), ["4"]);
    assert_eq!(column(&rejected, "reject_reason"), ["duplicate"]);
    assert!(
        column(&rejected, "reject_detail")[0].contains("row 4"),
        "{rejected:?}"
    );
}

#[test]
fn suppression_lists_match_like_duplicates() {
    let dir = Workdir::new();
    dir.write("suppress.txt", "ＧＯＮＥ＠ａｃｍｅ.jp\nunsub@acme.jp\n");
    dir.write("unsub.csv", "Email,Date\nother@acme.jp,2026-01-01\n");
    dir.write(
        "list.csv",
        "email\ngone@acme.jp\nUnsub@Acme.jp\nother@ACME.jp\nstay@acme.jp\n",
    );
    let run = dir.clean(
        "list.csv",
        &[
            "--no-dns",
            "--suppress",
            "suppress.txt",
            "--suppress",
            "unsub.csv",
        ],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(
        column(&run.rejected_rows(), "reject_reason"),
        ["suppressed"; 3]
    );
    assert_eq!(column(&run.cleaned_rows(), "email"), ["stay@acme.jp"]);
}

#[test]
fn notes_stuck_to_an_address_reject_it_and_suppress_it() {
    let dir = Workdir::new();
    dir.write(
        "unsubscribed.txt",
        "taro@acme.co.jp※配信停止\nhanako@bee.co.jp退会\nken@acme.co.jp退職, jiro@acme.co.jp\n",
    );
    dir.write(
        "list.csv",
        "id,email\n1,taro@acme.co.jp\n2,HANAKO@bee.co.jp\n3,jiro@acme.co.jp\n4,ken@acme.co.jp\n\
         5,yuki@acme.co.jp退職\n6,mai@gmail.com宛\n7,info@日本語.jp\n",
    );
    let run = dir.clean("list.csv", &["--no-dns", "--suppress", "unsubscribed.txt"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let rejected = run.rejected_rows();
    assert_eq!(column(&rejected, "id"), ["1", "2", "3", "4", "5", "6"]);
    assert_eq!(
        column(&rejected, "reject_reason"),
        [
            "suppressed",
            "suppressed",
            "suppressed",
            "suppressed",
            "syntax.comment",
            "syntax.comment"
        ]
    );
    assert_eq!(
        column(&rejected, "reject_detail")[4],
        "email: the note \"退職\" follows the address"
    );
    assert_eq!(
        column(&run.cleaned_rows(), "email"),
        ["info@xn--wgv71a119e.jp"]
    );
}

#[test]
fn a_contact_suppressed_under_any_address_is_rejected_whole() {
    // Taro unsubscribed with his work address: his mobile one is not to be mailed either,
    // and his work address is not thereby "kept" for the duplicate check.
    let dir = Workdir::new();
    // Addresses that other checks reject count too: a legacy carrier form, a disposable
    // domain.
    dir.write(
        "unsubscribed.txt",
        "taro@acme.jp\njiro..x@docomo.ne.jp\nken@mailinator.com\n",
    );
    dir.write(
        "list.csv",
        "氏名,メールアドレス,携帯メール\n\
         山田,taro@docomo.ne.jp,taro@acme.jp\n\
         佐藤,hanako@acme.jp,\n\
         山田 太郎,taro@docomo.ne.jp,\n\
         鈴木,jiro@acme.jp,jiro..x@docomo.ne.jp\n\
         田中,ken@acme.jp,ken@mailinator.com\n",
    );
    let run = dir.clean(
        "list.csv",
        &["--no-dns", "--suppress", "unsubscribed.txt", "--lang", "ja"],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let rejected = run.rejected_rows();
    assert_eq!(column(&rejected, "氏名"), ["山田", "鈴木", "田中"]);
    assert_eq!(column(&rejected, "reject_reason"), ["suppressed"; 3]);
    assert!(
        column(&rejected, "reject_detail")[0].starts_with("携帯メール"),
        "{rejected:?}"
    );
    assert_eq!(column(&run.cleaned_rows(), "氏名"), ["佐藤", "山田 太郎"]);
}

#[test]
fn suppression_lists_as_people_keep_them() {
    // Notes, comments and several addresses on a line: every address found counts, and a
    // line with none is counted and shown, not dropped in silence.
    let dir = Workdir::new();
    dir.write(
        "bounces.txt",
        "# hard bounces, March\n\
         \n\
         # kato2@acme-corp.com re-subscribed\n\
         WATANABE@i.softbank.jp  # bounced twice\n\
         yamada@acme-corp.com (unsubscribed)\n\
         ito@softbank.ne.jp; nakamura@au.com\n\
         kato@acme-corp.com（退職）\n\
         called, asked to be removed\n\
         abe@acme-corp.com, ueda@acme-corp.com\n",
    );
    // Display names split at their comma, and a plain address among them.
    dir.write(
        "unsub.txt",
        "Yamada, Jiro <jiro@acme-corp.com>\nsuzuki@acme-corp.com\n\
         ito2@acme-corp.com, nakamura2@au.com\n",
    );
    // An export's other columns are not addresses to suppress: the account owner's here.
    dir.write(
        "export.csv",
        "Email,Owner\n,owner@acme-corp.com\nsato@acme-corp.com,owner@acme-corp.com\n",
    );
    let keep = [
        "kato2@acme-corp.com",
        "owner@acme-corp.com",
        "stay@acme-corp.com",
    ];
    let input: String = [
        "watanabe@i.softbank.jp",
        "yamada@acme-corp.com",
        "ito@softbank.ne.jp",
        "nakamura@au.com",
        "kato@acme-corp.com",
        "jiro@acme-corp.com",
        "suzuki@acme-corp.com",
        "ito2@acme-corp.com",
        "nakamura2@au.com",
        "sato@acme-corp.com",
        "abe@acme-corp.com",
        "ueda@acme-corp.com",
    ]
    .iter()
    .chain(&keep)
    .fold(String::from("email\n"), |text, a| text + a + "\n");
    dir.write("list.csv", input);
    let run = dir.clean(
        "list.csv",
        &[
            "--no-dns",
            "--suppress",
            "bounces.txt",
            "--suppress",
            "unsub.txt",
            "--suppress",
            "export.csv",
        ],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(column(&run.cleaned_rows(), "email"), keep);
    assert_eq!(run.report()["reasons"]["suppressed"], 12);
    let lists = &run.report()["suppression_lists"];
    assert_eq!(lists[0]["addresses"], 7, "{lists}");
    assert_eq!(lists[0]["unread_lines"], 1, "{lists}");
    assert_eq!(
        lists[0]["first_unread"],
        "line 8: called | asked to be removed"
    );
    assert_eq!(lists[1]["addresses"], 4, "{lists}");
    assert_eq!(lists[1]["unread_lines"], 0, "{lists}");
    assert_eq!(lists[2]["addresses"], 1, "{lists}");
    assert_eq!(lists[2]["unread_lines"], 1, "{lists}");
    assert!(
        run.stderr()
            .contains("bounces.txt has 1 line where no address could be read"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr()
            .contains("suppression list unsub.txt: 4 addresses"),
        "{}",
        run.stderr()
    );
    // The input given as its own suppression list is a mistake, not a run that rejects
    // every row.
    let wrong = dir.clean("list.csv", &["--no-dns", "--suppress", "./list.csv"]);
    assert_eq!(wrong.code(), 64, "{}", wrong.stderr());
    assert!(wrong.stderr().contains("is the input itself"));
}

/// A line of a suppression list is echoed in a warning: a terminal escape sequence in it
/// is written as an escape, never sent to the terminal.
#[test]
fn suppression_lines_echoed_carry_no_terminal_control() {
    let dir = Workdir::new();
    dir.write("list.csv", "email\na@acme.jp\n");
    dir.write(
        "bounces.txt",
        "b@acme.jp\n\u{1b}]0;owned\u{7}\u{1b}[2Jnote\n",
    );
    let run = dir.clean("list.csv", &["--no-dns", "-q", "--suppress", "bounces.txt"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(!run.stderr().contains('\u{1b}'), "{:?}", run.stderr());
    assert!(run.stderr().contains("\\u{1b}"), "{}", run.stderr());
}

#[test]
fn an_empty_suppression_list_suppresses_nothing() {
    let dir = Workdir::new();
    dir.write("none.txt", "");
    dir.write("header-only.csv", "email,unsubscribed_at\r\n");
    dir.write("notes.csv", "name,notes\nTaro,called twice\n");
    dir.write("list.csv", "email\na@acme.jp\n");
    let run = dir.clean(
        "list.csv",
        &[
            "--no-dns",
            "--suppress",
            "none.txt",
            "--suppress",
            "header-only.csv",
        ],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(column(&run.cleaned_rows(), "email"), ["a@acme.jp"]);
    // A list with rows but no addresses is a mistake worth stopping for, with advice
    // that fits a suppression list.
    let wrong = dir.clean("list.csv", &["--no-dns", "--suppress", "notes.csv"]);
    assert_eq!(wrong.code(), 65, "{}", wrong.stderr());
    assert!(
        wrong.stderr().contains("one address per line")
            && !wrong.stderr().contains("--email-column"),
        "{}",
        wrong.stderr()
    );
}

#[test]
fn typo_suggestions_carry_the_whole_address() {
    let dir = Workdir::new();
    dir.write(
        "typo.csv",
        "email\nken@gmail.cm\nyui@gmial.com\nmei@gmail.con\n",
    );
    let run = dir.clean("typo.csv", &["--no-dns"]);
    let cleaned = run.cleaned_rows();
    assert_eq!(column(&cleaned, "email_suggestion"), ["ken@gmail.com"]);
    assert_eq!(column(&cleaned, "email_status"), ["risky"]);
    let rejected = run.rejected_rows();
    assert_eq!(column(&rejected, "suggestion")[0], "yui@gmail.com");
    // The sentence says why a rejected domain was probably meant otherwise.
    assert!(column(&rejected, "reject_detail")[0].ends_with("; did you mean yui@gmail.com?"));
    // A top-level domain that does not exist (`.con`) is a syntax error, told without DNS,
    // and still most likely a slip of the finger.
    // A typo the disposable list names is a typo, not "disposable".
    assert_eq!(
        column(&rejected, "reject_reason"),
        ["typo_domain", "syntax.invalid_tld"]
    );
    assert!(
        column(&rejected, "reject_detail")[0].contains("slip of the finger"),
        "{rejected:?}"
    );
    assert_eq!(column(&rejected, "suggestion")[1], "mei@gmail.com");
    assert!(column(&rejected, "reject_detail")[1].contains("\"con\" is not a top-level domain"));
}

#[test]
fn headerless_files_and_quoted_newlines() {
    let dir = Workdir::new();
    dir.write(
        "plain.csv",
        "a@acme.jp,\"line one\nline two\"\nbad,x\nc@acme.jp,z\n",
    );
    let run = dir.clean("plain.csv", &["--no-dns"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(run.report()["header"], false);
    let cleaned = rows(run.cleaned.as_deref().unwrap());
    assert_eq!(
        cleaned[0],
        ["a@acme.jp", "line one\nline two", "unknown", "", ""]
    );
    assert_eq!(cleaned.len(), 2);
    let rejected = rows(run.rejected.as_deref().unwrap());
    assert_eq!(rejected[0][..3], ["bad", "x", "syntax.no_at_sign"]);
    assert_eq!(rejected[0][3], "column 1: there is no @ sign");
}

#[test]
fn a_first_row_without_an_address_is_data_unless_it_reads_like_a_header() {
    let dir = Workdir::new();
    for (first, reason) in [
        ("Taro,taro(at)acme.jp,Acme", "syntax.no_at_sign"),
        ("Taro,,Acme", "empty"),
        ("Taro,taro@,Acme", "syntax.empty_domain"),
        ("Taro,なし,Acme", "placeholder"),
    ] {
        dir.write(
            "f.csv",
            format!("{first}\nHana,h@acme.jp,Acme\nJiro,j@acme.jp,Acme\n"),
        );
        let run = dir.clean("f.csv", &["--no-dns"]);
        assert_eq!(run.code(), 0, "{first}: {}", run.stderr());
        assert_eq!(run.report()["header"], false, "{first}");
        assert_eq!(run.report()["rows_in"], 3, "{first}");
        assert_eq!(run.report()["email_columns"][0], "column 2", "{first}");
        let rejected = run.rejected_rows();
        assert_eq!(rejected[0][3], reason, "{first}");
        assert_eq!(run.cleaned_rows()[0][0], "Hana", "{first}");
    }
    dir.write("one.csv", "なし\na@acme.jp\nb@acme.jp\n");
    let run = dir.clean("one.csv", &["--no-dns"]);
    assert_eq!(run.report()["header"], false);
    assert_eq!(run.report()["rows_in"], 3);

    for header in [
        "Name,Contact,Company",
        "氏名,連絡先,会社",
        "Name,E-Mail-Adresse,Firma",
        "Name,Kontakt,Firma",
    ] {
        dir.write(
            "h.csv",
            format!("{header}\nHana,h@acme.jp,Acme\nJiro,j@acme.jp,Acme\n"),
        );
        let run = dir.clean("h.csv", &["--no-dns"]);
        assert_eq!(run.code(), 0, "{header}: {}", run.stderr());
        assert_eq!(run.report()["header"], true, "{header}");
        assert_eq!(run.report()["rows_in"], 2, "{header}");
        let name = header.split(',').nth(1).unwrap();
        assert_eq!(run.report()["email_columns"][0], name, "{header}");
        assert_eq!(run.cleaned_rows()[0][1], name, "{header}");
    }
}

#[test]
fn excels_sep_line_sets_the_delimiter_and_is_repeated() {
    let dir = Workdir::new();
    dir.write(
        "sep.csv",
        "sep=;\r\nname;email\r\nTaro;taro@acme.jp\r\nHana;bad\r\nJiro;TARO@acme.jp\r\n",
    );
    let run = dir.clean("sep.csv", &["--no-dns"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(run.report()["delimiter"], ";");
    assert_eq!(run.report()["header"], true);
    assert_eq!(run.report()["rows_in"], 3);
    assert_eq!(
        run.cleaned.as_deref().unwrap(),
        b"sep=;\r\nname;email;email_status;email_flags;email_suggestion\r\n\
          Taro;taro@acme.jp;unknown;;\r\n"
    );
    let rejected = String::from_utf8(run.rejected.clone().unwrap()).unwrap();
    assert!(
        rejected.starts_with("sep=;\r\nname;email;reject_reason;"),
        "{rejected}"
    );
    // Rows are numbered as a spreadsheet shows them: the sep line is not one.
    assert!(rejected.contains("same address as row 2"), "{rejected}");

    // After a BOM, in the output's encoding, with the delimiter actually used.
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(b"sep=;\nname;email\nTaro;taro@acme.jp\n");
    dir.write("bom.csv", bom);
    let run = dir.clean("bom.csv", &["--no-dns"]);
    assert!(
        run.cleaned
            .unwrap()
            .starts_with(b"\xEF\xBB\xBFsep=;\nname;email;")
    );
    let run = dir.clean("bom.csv", &["--no-dns", "--output-encoding", "utf-16le"]);
    assert!(
        run.cleaned
            .unwrap()
            .starts_with(&utf16le_bom("sep=;\nname;"))
    );
    dir.write("over.csv", "sep=;\nname,email\nTaro,taro@acme.jp\n");
    let run = dir.clean("over.csv", &["--no-dns", "--delimiter", ","]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(run.cleaned.unwrap().starts_with(b"sep=,\nname,email,"));
}

#[test]
fn cr_only_line_endings_are_kept() {
    let dir = Workdir::new();
    dir.write(
        "mac.csv",
        "name,email\rTaro,taro@acme.jp\rHana,bad\rJiro,TARO@acme.jp\r",
    );
    let run = dir.clean("mac.csv", &["--no-dns"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(run.report()["rows_in"], 3);
    assert_eq!(
        run.cleaned.as_deref().unwrap(),
        b"name,email,email_status,email_flags,email_suggestion\rTaro,taro@acme.jp,unknown,,\r"
    );
    let rejected = run.rejected.unwrap();
    assert!(!rejected.contains(&b'\n'));
    assert!(String::from_utf8_lossy(&rejected).contains("same address as row 2"));
}

#[test]
fn the_kept_start_of_a_too_long_row_is_whole_characters() {
    let dir = Workdir::new();
    let text = format!(
        "name,email,note\r\nA,a@acme.jp,short\r\nB,b@acme.jp,x{}\r\nC,c@acme.jp,x\r\n",
        "あ".repeat(3000)
    );
    dir.write("cp932.csv", cp932(&text));
    dir.write("utf8.csv", &text);
    dir.write("utf16.csv", utf16le_bom(&text));
    for file in ["cp932.csv", "utf8.csv", "utf16.csv"] {
        let run = dir.clean(file, &["--no-dns", "--max-record-bytes", "2000"]);
        assert_eq!(run.code(), 0, "{file}: {}", run.stderr());
        assert_eq!(run.report()["reasons"]["malformed_row"], 1, "{file}");
        let rejected = run.rejected.unwrap();
        let decoded = match file {
            "cp932.csv" => SHIFT_JIS.decode_without_bom_handling_and_without_replacement(&rejected),
            "utf8.csv" => std::str::from_utf8(&rejected).ok().map(Into::into),
            _ => encoding_rs::UTF_16LE
                .decode_without_bom_handling_and_without_replacement(&rejected[2..]),
        };
        let decoded = decoded.unwrap_or_else(|| panic!("{file}: the rejected file is not valid"));
        assert!(!decoded.contains('\u{FFFD}'), "{file}");
        assert!(decoded.contains("B,b@acme.jp,xあ"), "{file}");
    }
}

#[test]
fn ragged_rows() {
    let dir = Workdir::new();
    dir.write(
        "ragged.csv",
        "id,email,name\n1,a@acme.jp\n2,b@acme.jp,B,,\n3,c@acme.jp,C,extra\n",
    );
    let run = dir.clean("ragged.csv", &["--no-dns"]);
    let cleaned = run.cleaned_rows();
    assert!(cleaned.iter().all(|r| r.len() == 6), "{cleaned:?}");
    // The reject columns stay in place; the extra cell follows them, so nothing is lost.
    let rejected = run.rejected_rows();
    assert_eq!(column(&rejected, "reject_reason"), ["malformed_row"]);
    assert_eq!(rejected[1].last().unwrap(), "extra");
}

#[test]
fn stale_contacts_are_flagged() {
    let dir = Workdir::new();
    dir.write(
        "stale.csv",
        "email,最終接触日\nold@acme.jp,2001/03/12\nnew@acme.jp,2999-01-01\nnone@acme.jp,\n\
         us@acme.jp,03/12/2001\n",
    );
    let run = dir.clean(
        "stale.csv",
        &[
            "--no-dns",
            "--last-contact-column",
            "最終接触日",
            "--stale-after",
            "6mo",
        ],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let cleaned = run.cleaned_rows();
    assert_eq!(column(&cleaned, "email_flags"), ["stale", "", "", ""]);
    assert_eq!(
        column(&cleaned, "email_status"),
        ["risky", "unknown", "unknown", "unknown"]
    );
    // The date it could not read is not judged, and the run says so; the empty cell is
    // no date to read.
    let warnings = run.report()["warnings"].to_string();
    assert!(
        warnings.contains("1 last-contact cell is not a date"),
        "{warnings}"
    );
    // Quiet leaves out the summary, not the warnings: a nightly job is to hear of them.
    let quiet = dir.clean(
        "stale.csv",
        &[
            "--no-dns",
            "--quiet",
            "--last-contact-column",
            "最終接触日",
            "--stale-after",
            "6mo",
        ],
    );
    let expected: Vec<String> = run.report()["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| format!("warning: {}", w.as_str().unwrap()))
        .collect();
    assert_eq!(quiet.stderr().trim_end(), expected.join("\n"));
}

/// A UTF-8 file without a BOM whose header is Japanese is written the same way, which
/// Excel on Windows garbles: the run says how to write one Excel opens.
#[test]
fn japanese_utf8_without_a_bom_brings_a_hint_for_excel() {
    let dir = Workdir::new();
    dir.write("jp.csv", "氏名,メールアドレス\n山田,taro@acme.jp\n");
    let run = dir.clean("jp.csv", &["--no-dns", "-q"]);
    assert!(
        run.stderr().contains("--output-encoding utf-8-bom"),
        "{}",
        run.stderr()
    );
    let run = dir.clean(
        "jp.csv",
        &["--no-dns", "-q", "--output-encoding", "utf-8-bom"],
    );
    assert!(!run.stderr().contains("utf-8-bom"), "{}", run.stderr());
    dir.write("en.csv", "name,email\nTaro,taro@acme.jp\n");
    assert!(
        !dir.clean("en.csv", &["--no-dns", "-q"])
            .stderr()
            .contains("utf-8-bom")
    );
}

#[test]
fn output_encoding_can_be_chosen() {
    let dir = Workdir::new();
    dir.write("u.csv", "名前,email\n山田,taro@yamada.jp\n");
    let run = dir.clean("u.csv", &["--no-dns", "--output-encoding", "cp932"]);
    assert_eq!(
        run.cleaned.clone().unwrap(),
        cp932(
            "名前,email,email_status,email_flags,email_suggestion\n山田,taro@yamada.jp,unknown,,\n"
        )
    );
    assert_eq!(run.report()["warnings"], serde_json::json!([]));
    let run = dir.clean("u.csv", &["--no-dns", "--output-encoding", "utf-8-bom"]);
    assert!(run.cleaned.clone().unwrap().starts_with(b"\xEF\xBB\xBF"));
    // What CP932 cannot hold is kept as a reference, and the run says so.
    dir.write("de.csv", "name,email\nMüller,m@acme.de\n");
    let run = dir.clean("de.csv", &["--no-dns", "--output-encoding", "cp932"]);
    assert_eq!(run.cleaned_rows()[1][0], "M&#252;ller");
    assert!(
        run.stderr()
            .contains("cp932 cannot hold some characters, such as 'ü'"),
        "{}",
        run.stderr()
    );
}

#[test]
fn output_is_the_same_for_any_number_of_jobs() {
    let dir = Workdir::new();
    let mut input = String::from("id,email,note\n");
    for i in 0..30_000 {
        let email = match i % 7 {
            0 => format!("user{}@acme{}.co.jp", i % 5000, i % 13),
            1 => format!(" ＵＳＥＲ{i}＠ａｃｍｅ．ｊｐ "),
            2 => format!("info@company{}.com", i % 100),
            3 => "broken".to_string(),
            4 => format!("Name <x{i}@gmail.com>"),
            5 => format!("dup{}@acme.jp", i % 50),
            _ => format!("p{i}@mailinator.com"),
        };
        input += &format!("{i},{email},=1+{i}\n");
    }
    dir.write("big.csv", &input);
    let one = dir.clean("big.csv", &["--no-dns", "--jobs", "1", "-o", "one"]);
    let four = dir.clean("big.csv", &["--no-dns", "--jobs", "4", "-o", "four"]);
    assert_eq!(one.code(), 0, "{}", one.stderr());
    assert_eq!(four.code(), 0, "{}", four.stderr());
    let read = |d: &str, f: &str| std::fs::read(dir.path(d).join(f)).unwrap();
    for f in ["big.cleaned.csv", "big.rejected.csv"] {
        assert!(
            read("one", f) == read("four", f),
            "{f} differs between --jobs 1 and 4"
        );
    }
    let cleaned = rows(&read("one", "big.cleaned.csv")).len() - 1;
    let rejected = rows(&read("one", "big.rejected.csv")).len() - 1;
    assert_eq!(cleaned + rejected, 30_000);
}

#[test]
fn formula_cells_are_guarded() {
    let dir = Workdir::new();
    dir.write(
        "f.csv",
        "email,note,phone\n-taro@acme.jp,=HYPERLINK(\"x\"),+81 3 1234\n=cmd|x,@SUM(1),ok\n\
         a@acme.jp,+cmd|' /C calc'!A0,-\nb@acme.jp,-2+3+cmd|' /C calc'!A0,+1 (212) 555-0116\n\
         c@acme.jp,\"=\"\"0312345678\"\"\",\"=\"\"a\"\"&B1\"\n",
    );
    let run = dir.clean("f.csv", &["--no-dns"]);
    let cleaned = run.cleaned_rows();
    // A phone number or a placeholder `-` stays as it is: only a formula that can do harm
    // is guarded.
    assert_eq!(
        cleaned[1][..3],
        ["-taro@acme.jp", "'=HYPERLINK(\"x\")", "+81 3 1234"]
    );
    assert_eq!(cleaned[2][1..3], ["'+cmd|' /C calc'!A0", "-"]);
    assert_eq!(
        cleaned[3][1..3],
        ["'-2+3+cmd|' /C calc'!A0", "+1 (212) 555-0116"]
    );
    // Excel's text formula only shows its text; anything more is a formula.
    assert_eq!(cleaned[4][1..3], ["=\"0312345678\"", "'=\"a\"&B1"]);
    let rejected = run.rejected_rows();
    assert_eq!(rejected[1][..3], ["'=cmd|x", "'@SUM(1)", "ok"]);
    let run = dir.clean("f.csv", &["--no-dns", "--no-formula-guard"]);
    assert_eq!(run.cleaned_rows()[1][1], "=HYPERLINK(\"x\")");
}

/// Every cell the tool writes or copies is guarded, not only the rows' cells: the header
/// (copied into both files), the detail that starts with the email column's name, and the
/// suggestions built from an address's local part. A kept address is not changed, but a
/// repair that leaves it starting with `=` flags it.
#[test]
fn headers_details_and_suggestions_are_guarded_too() {
    let dir = Workdir::new();
    dir.write(
        "f.csv",
        "=cmd|' /C calc'!A0,note\n=h@gmial.com,x\nbad@@acme.jp,y\n+i@yahooo.co.jp,z\n \
         =a@acme.jp,w\n＝b@acme.jp,v\n\u{200B}=c@acme.jp,u\n",
    );
    let run = dir.clean("f.csv", &["--no-dns", "--email-column", "1"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let cleaned = run.cleaned_rows();
    let rejected = run.rejected_rows();
    for header in [&cleaned[0], &rejected[0]] {
        assert_eq!(header[0], "'=cmd|' /C calc'!A0");
    }
    let detail = column(&rejected, "reject_detail");
    assert!(detail.iter().all(|d| d.starts_with("'=cmd")), "{detail:?}");
    assert_eq!(column(&rejected, "suggestion")[0], "'=h@gmail.com");
    assert_eq!(column(&cleaned, "email_suggestion")[0], "'+i@yahoo.co.jp");
    for row in &cleaned[2..] {
        assert!(row[0].starts_with('='), "{row:?}");
        assert!(row[3].contains("formula_risk"), "{row:?}");
        // A risk to whoever opens the file: never "valid".
        assert_eq!(row[2], "risky", "{row:?}");
    }
    let unguarded = dir.clean(
        "f.csv",
        &["--no-dns", "--email-column", "1", "--no-formula-guard"],
    );
    assert_eq!(unguarded.cleaned_rows()[0][0], "=cmd|' /C calc'!A0");
}

#[test]
fn a_named_email_column_of_broken_addresses_is_still_cleaned() {
    // A short file whose sampled addresses are all broken: the column its header names is
    // the email column, and each row is rejected with its reason instead of the run
    // stopping for want of an email column.
    let dir = Workdir::new();
    dir.write(
        "broken.csv",
        "氏名,メールアドレス\n山田,yamada(at)acme.co.jp\n佐藤,sato at acme.co.jp\n",
    );
    let run = dir.clean("broken.csv", &["--no-dns"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let rejected = run.rejected_rows();
    assert_eq!(rejected.len(), 3, "{rejected:?}");
    assert!(
        column(&rejected, "reject_reason")
            .iter()
            .all(|r| r.starts_with("syntax.")),
        "{rejected:?}"
    );
    // A column of yes/no flags under a "Mail" header is not taken for one.
    dir.write("flags.csv", "name,Mail\nTaro,yes\nHanako,no\n");
    let run = dir.clean("flags.csv", &["--no-dns"]);
    assert_eq!(run.code(), 65, "{}", run.stderr());
    assert!(run.stderr().contains("no email column"), "{}", run.stderr());
}

#[test]
fn an_earlier_runs_columns_are_replaced_not_repeated() {
    // A cleaned file cleaned again (with DNS after a quick run without, say), and a
    // rejected file cleaned again once fixed by hand: one set of status columns, this run's.
    let dir = Workdir::new();
    dir.write(
        "list.csv",
        "id,email\n1,taro@acme.jp\n2,hanako(at)acme.jp\n",
    );
    let first = dir.clean("list.csv", &["--no-dns"]);
    assert_eq!(first.code(), 0, "{}", first.stderr());
    dir.write("again.csv", first.cleaned.as_deref().unwrap());
    let again = dir.clean("again.csv", &["--no-dns"]);
    assert_eq!(again.cleaned, first.cleaned);

    let fixed = String::from_utf8(first.rejected.clone().unwrap())
        .unwrap()
        .replace("hanako(at)acme.jp", "hanako@acme.jp");
    dir.write("fixed.csv", fixed);
    let run = dir.clean("fixed.csv", &["--no-dns"]);
    assert_eq!(
        run.cleaned_rows(),
        [
            [
                "id",
                "email",
                "email_status",
                "email_flags",
                "email_suggestion"
            ],
            ["2", "hanako@acme.jp", "unknown", "", ""]
        ]
    );
}

#[test]
fn duplicates_name_the_row_a_spreadsheet_shows() {
    // A quoted line break makes no new row in Excel: the first row is row 2 however many
    // lines its address cell spans.
    let dir = Workdir::new();
    dir.write(
        "l.csv",
        "ID,住所,メールアドレス\n1,\"東京都\n千代田区\n1-1\",a@acme.jp\n2,大阪,x@acme.jp\n3,名古屋,x@acme.jp\n",
    );
    let run = dir.clean("l.csv", &["--no-dns", "--lang", "ja"]);
    assert_eq!(
        column(&run.rejected_rows(), "reject_detail"),
        ["メールアドレス: 3 行目と同じアドレスです"]
    );
}

#[test]
fn a_list_with_no_rows_today_is_no_error() {
    // A nightly export with no new contacts: the outputs hold the headers, the run says so.
    let dir = Workdir::new();
    dir.write("today.csv", "\u{feff}ID,氏名,メールアドレス\r\n");
    let run = dir.clean("today.csv", &["--no-dns"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(
        run.cleaned.as_deref().unwrap(),
        "\u{feff}ID,氏名,メールアドレス,email_status,email_flags,email_suggestion\r\n".as_bytes()
    );
    assert_eq!(run.report()["rows_in"], 0);
    assert!(
        run.stderr().contains("header but no rows"),
        "{}",
        run.stderr()
    );
}

#[test]
fn unusable_inputs_are_clear_errors_without_outputs() {
    let dir = Workdir::new();
    dir.write("empty.csv", "");
    dir.write("header.csv", "id,name\n");
    dir.write("nomail.csv", "id,name\n1,Taro\n2,Hanako\n");
    for (file, code, says) in [
        ("empty.csv", 65, "empty"),
        ("header.csv", 65, "header but no rows"),
        ("nomail.csv", 65, "no email column"),
        ("missing.csv", 66, "no such file"),
    ] {
        let run = dir.clean(file, &["--no-dns"]);
        assert_eq!(run.code(), code, "{file}: {}", run.stderr());
        assert!(run.stderr().contains(says), "{file}: {}", run.stderr());
        assert!(
            run.cleaned.is_none() && run.rejected.is_none() && run.report.is_none(),
            "{file} left outputs"
        );
    }
    let mut xls = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
    xls.extend((0..=255u8).cycle().take(5000));
    dir.write("old.xls", xls);
    dir.write(
        "book.xlsx",
        b"PK\x03\x04\x14\0\x06\0\x08\0\0\0!\0\xFF\xFE[Content_Types].xml\0\x01xl/workbook.xml",
    );
    for file in ["old.xls", "book.xlsx"] {
        let run = dir.clean(file, &["--no-dns"]);
        assert_eq!(run.code(), 65, "{file}: {}", run.stderr());
        assert!(
            run.stderr().contains(&format!(
                "{file} is an Excel workbook, not a CSV file: save it as CSV"
            )),
            "{file}: {}",
            run.stderr()
        );
        assert!(run.stderr().is_ascii(), "{file}: {}", run.stderr());
        assert!(run.cleaned.is_none() && run.report.is_none(), "{file}");
    }
    let run = dir.clean("nomail.csv", &["--no-dns", "--email-column", "nope"]);
    assert_eq!(run.code(), 64, "{}", run.stderr());
    // A name two columns carry could mean either: the run asks for the number.
    dir.write("twice.csv", "email,name,email\na@x.jp,A,b@y.jp\n");
    let run = dir.clean("twice.csv", &["--no-dns", "--email-column", "email"]);
    assert_eq!(run.code(), 64, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("several columns have that name (columns 1, 3)"),
        "{}",
        run.stderr()
    );
    let run = dir.clean("twice.csv", &["--no-dns", "--email-column", "3"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    // Options the argument parser refuses are usage errors too.
    for wrong in [
        &["--bogus"][..],
        &["--lang", "fr"],
        &["--jobs", "many"],
        &["--jobs", "100000"],
        &["--max-record-bytes", "0"],
    ] {
        let run = dir.clean("nomail.csv", wrong);
        assert_eq!(run.code(), 64, "{wrong:?}: {}", run.stderr());
    }
}

#[test]
fn a_header_below_a_title_is_warned_of() {
    let dir = Workdir::new();
    dir.write(
        "title.csv",
        "顧客一覧（2026年11月）,,\r\n,,\r\n氏名,会社名,メールアドレス\r\n山田,エー,taro@acme.co.jp\r\n\
         佐藤,ビー,hanako@bee.co.jp\r\n",
    );
    let run = dir.clean("title.csv", &["--no-dns"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let warnings = run.report()["warnings"].to_string();
    assert!(
        warnings.contains("row 3 looks like the header"),
        "{warnings}"
    );
    // Said of a file that was read without a header only.
    dir.write(
        "plain.csv",
        "氏名,会社名,メールアドレス\r\n山田,エー,taro@acme.co.jp\r\n",
    );
    let run = dir.clean("plain.csv", &["--no-dns"]);
    let warnings = run.report()["warnings"].to_string();
    assert!(!warnings.contains("looks like the header"), "{warnings}");
}

#[test]
fn reads_standard_input() {
    let dir = Workdir::new();
    let run = dir.clean_stdin("-", &["--no-dns", "--quiet"], b"email\na@acme.jp\n");
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(dir.path("stdin.cleaned.csv").exists());
}

#[test]
fn a_signal_stops_the_run_without_touching_earlier_outputs() {
    use std::io::Write;
    let dir = Workdir::new();
    let mut input = String::from("id,email\n");
    for i in 0..100_000 {
        input += &format!("{i},user{i}@company{}.co.jp\n", i % 977);
    }
    dir.write("stdin.cleaned.csv", "an earlier run's output\n");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_listclean"))
        .current_dir(dir.path(""))
        .args(["clean", "-", "--no-dns", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The run reads what there is and waits for more, which never comes: the signal
    // comes mid-run however fast the machine, and must end the wait.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let output = terminate(child, "input");
    drop(stdin);
    assert_eq!(
        output.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("interrupted"));
    assert_eq!(
        std::fs::read_to_string(dir.path("stdin.cleaned.csv")).unwrap(),
        "an earlier run's output\n"
    );
    let left = files_besides(&dir, "stdin.cleaned.csv");
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_failed_run_leaves_the_earlier_outputs_whole() {
    // A folder where the rejected file should go makes the last step fail: the cleaned
    // file and the report must stay the earlier run's, not become a half-replaced set.
    let dir = Workdir::new();
    dir.write("l.csv", "email\na@acme.jp\nbroken\n");
    dir.write("l.cleaned.csv", "an earlier run's output\n");
    dir.write("l.report.json", "{\"earlier\": true}\n");
    std::fs::create_dir(dir.path("l.rejected.csv")).unwrap();
    let run = dir.clean("l.csv", &["--no-dns"]);
    assert_eq!(run.code(), 74, "{}", run.stderr());
    assert!(
        run.stderr().contains("a folder has that name"),
        "{}",
        run.stderr()
    );
    for (name, earlier) in [
        ("l.cleaned.csv", "an earlier run's output\n"),
        ("l.report.json", "{\"earlier\": true}\n"),
    ] {
        assert_eq!(std::fs::read_to_string(dir.path(name)).unwrap(), earlier);
    }
    let mut left = files_besides(&dir, "l.csv");
    left.sort();
    assert_eq!(
        left,
        ["l.cleaned.csv", "l.rejected.csv", "l.report.json"],
        "left behind"
    );
}

#[test]
fn temporary_files_a_killed_run_left_are_swept_up() {
    // `kill -9` leaves a run's hidden temporary outputs; the next run removes those not
    // written for an hour, and leaves a fresh one (another run's, still going) alone.
    let dir = Workdir::new();
    dir.write("l.csv", "email\na@acme.jp\n");
    let old = dir.write(".l.cleaned.csv.a1b2c3.tmp", "a killed run's rows");
    let fresh = dir.write(".l.rejected.csv.d4e5f6.tmp", "a running run's rows");
    let hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 3600);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(hours_ago)
        .unwrap();
    let run = dir.clean("l.csv", &["--no-dns"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(!old.exists());
    assert!(fresh.exists());
}

#[test]
fn policy_switches() {
    let dir = Workdir::new();
    dir.write(
        "p.csv",
        "email\ninfo@acme.jp\na..b@docomo.ne.jp\ntaro@acme.jp\n",
    );
    let run = dir.clean(
        "p.csv",
        &["--no-dns", "--reject-role", "--keep-legacy-carrier"],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(
        column(&run.rejected_rows(), "reject_reason"),
        ["role_account"]
    );
    let cleaned = run.cleaned_rows();
    assert_eq!(
        column(&cleaned, "email"),
        ["a..b@docomo.ne.jp", "taro@acme.jp"]
    );
    assert_eq!(column(&cleaned, "email_flags"), ["free;legacy_carrier", ""]);
    assert_eq!(column(&cleaned, "email_status"), ["risky", "unknown"]);
}

#[test]
fn explicit_dialect_and_columns() {
    let dir = Workdir::new();
    // A first line that looks like a header is data with --no-header; the address is in
    // column 3, named by number; the delimiter is given.
    dir.write(
        "d.txt",
        "name;note;email\nTaro;x;taro@acme.jp\nInfo;y;info@gmail.com\n",
    );
    let run = dir.clean(
        "d.txt",
        &[
            "--no-dns",
            "--no-header",
            "--delimiter",
            ";",
            "--email-column",
            "3",
        ],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let cleaned = String::from_utf8(run.cleaned.clone().unwrap()).unwrap();
    // Flags are joined with `;`: with that delimiter they are quoted.
    assert_eq!(
        cleaned,
        "Taro;x;taro@acme.jp;unknown;;\nInfo;y;info@gmail.com;risky;\"role;free\";\n"
    );
    let rejected = String::from_utf8(run.rejected.clone().unwrap()).unwrap();
    assert!(
        rejected.starts_with("name;note;email;syntax.no_at_sign;"),
        "{rejected}"
    );
}

#[test]
fn a_cell_of_several_display_name_addresses_is_rejected_whole() {
    let dir = Workdir::new();
    // CP932 from Excel: full-width angle brackets and the ideographic comma included.
    dir.write(
        "multi.csv",
        cp932(
            "id,email\r\n1,\"Aさん <c3@acme.jp>, Bさん <c4@acme.jp>\"\r\n2,<c1@acme.jp>; <c2@acme.jp>\r\n\
             3,Ａ＜c5@acme.jp＞、Ｂ＜c6@acme.jp＞\r\n4,c7@acme.jp <c8@acme.jp>\r\n\
             5,c9@acme.jp <c9@acme.jp>\r\n6,\"\"\"Yamada, Taro\"\" <t@acme.jp>\"\r\n",
        ),
    );
    let run = dir.clean("multi.csv", &["--no-dns"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let rejected = SHIFT_JIS
        .decode(run.rejected.as_deref().unwrap())
        .0
        .into_owned();
    let rejected = rows(rejected.as_bytes());
    assert_eq!(column(&rejected, "id"), ["1", "2", "3", "4"]);
    assert_eq!(
        column(&rejected, "reject_reason"),
        ["multiple_addresses"; 4]
    );
    let cleaned = SHIFT_JIS
        .decode(run.cleaned.as_deref().unwrap())
        .0
        .into_owned();
    assert_eq!(
        cleaned,
        "id,email,email_status,email_flags,email_suggestion\r\n\
         5,c9@acme.jp,unknown,normalized,\r\n6,t@acme.jp,unknown,normalized,\r\n"
    );
}

#[test]
fn excel_text_formulas_are_unwrapped() {
    let dir = Workdir::new();
    dir.write(
        "formula.csv",
        "id,email\r\n1,=\"ichiro@takahashi.jp\"\r\n2,\"=\"\"jiro@takahashi.jp\"\"\"\r\n\
         3,\"=HYPERLINK(\"\"mailto:saburo@takahashi.jp\"\",\"\"Saburo\"\")\"\r\n",
    );
    let run = dir.clean("formula.csv", &["--no-dns"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let cleaned = run.cleaned_rows();
    assert_eq!(
        column(&cleaned, "email"),
        [
            "ichiro@takahashi.jp",
            "jiro@takahashi.jp",
            "saburo@takahashi.jp"
        ]
    );
    assert_eq!(
        column(&cleaned, "email_flags"),
        ["normalized", "normalized", "normalized"]
    );
}
