//! Hostile and broken input: each problem is a row-level rejection with a reason or a clear
//! error, never a panic, a silently lost row, or unbounded memory.

use std::io::Write;

use crate::support::{Workdir, column};

#[test]
fn an_unclosed_quote_stops_the_run_naming_its_line() {
    let dir = Workdir::new();
    dir.write(
        "quote.csv",
        "id,email,note\n1,a@acme.jp,ok\n2,b@acme.jp,\"never closed\n3,c@acme.jp,x\n4,d@acme.jp,y\n",
    );
    let run = dir.clean("quote.csv", &["--no-dns"]);
    assert_eq!(run.code(), 65, "{}", run.stderr());
    assert!(run.stderr().contains("line 3"), "{}", run.stderr());
    assert!(
        run.cleaned.is_none() && run.rejected.is_none(),
        "no outputs after an unclosed quote"
    );
}

#[test]
fn nul_bytes_mid_file_boms_and_mixed_line_endings_are_row_level() {
    let dir = Workdir::new();
    let input = b"id,email\r\n1,a@acme.jp\r\n2,b\0@acme.jp\n\xEF\xBB\xBF3,c@acme.jp\r4,\xEF\xBB\xBFd@acme.jp\n5,e@acme.jp";
    dir.write("mixed.csv", input);
    let run = dir.clean("mixed.csv", &["--no-dns"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let cleaned = run.cleaned_rows();
    assert_eq!(
        column(&cleaned, "email"),
        ["a@acme.jp", "c@acme.jp", "d@acme.jp", "e@acme.jp"]
    );
    let rejected = run.rejected_rows();
    assert_eq!(column(&rejected, "reject_reason"), ["malformed_row"]);
    assert_eq!(run.report()["rows_in"], 5);
}

#[test]
fn a_256_mib_field_is_rejected_with_memory_bounded() {
    let dir = Workdir::new();
    let path = dir.path("huge.csv");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    file.write_all(b"id,email,note\n1,a@acme.jp,short\n2,b@acme.jp,")
        .unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..256 {
        file.write_all(&chunk).unwrap();
    }
    file.write_all(b"\n3,c@acme.jp,after\n").unwrap();
    drop(file);
    let run = dir.clean("huge.csv", &["--no-dns"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    // The run's own figure: a child's peak as `wait4` reports it starts from the memory of
    // the test process that spawned it.
    let rss = run.report()["peak_memory_bytes"]
        .as_u64()
        .expect("peak memory in the report");
    assert!(
        rss < 64 << 20,
        "peak RSS {} MiB with a 256 MiB field",
        rss >> 20
    );
    let rejected = crate::support::rows(&std::fs::read(dir.path("huge.rejected.csv")).unwrap());
    assert_eq!(column(&rejected, "reject_reason"), ["malformed_row"]);
    let cleaned = crate::support::rows(&std::fs::read(dir.path("huge.cleaned.csv")).unwrap());
    assert_eq!(column(&cleaned, "id"), ["1", "3"]);
}

/// Memory is bounded by cells as well as bytes: rows of a hundred thousand empty cells (an
/// Excel export of whole rows, wider still) are rejected as `malformed_row` without being
/// held, and rows within the limit go through in batches bounded by their cells.
#[test]
fn rows_of_many_cells_are_rejected_with_memory_bounded() {
    let dir = Workdir::new();
    let path = dir.path("wide.csv");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    file.write_all(b"id,email\n1,a@acme.jp\n").unwrap();
    let empty = vec![b','; 100_000];
    for i in 0..300 {
        write!(file, "{},w{i}@acme.jp", i + 2).unwrap();
        file.write_all(&empty).unwrap();
        file.write_all(b"\n").unwrap();
    }
    file.write_all(b"999,z@acme.jp\n").unwrap();
    drop(file);
    let run = dir.clean("wide.csv", &["--no-dns", "-j", "1"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let rss = run.report()["peak_memory_bytes"]
        .as_u64()
        .expect("peak memory");
    assert!(rss < 100 << 20, "peak RSS {} MiB", rss >> 20);
    let rejected = run.rejected_rows();
    let reasons = column(&rejected, "reject_reason");
    assert_eq!(reasons.len(), 300);
    assert!(reasons.iter().all(|r| r == "malformed_row"), "{reasons:?}");
    assert!(column(&rejected, "reject_detail")[0].contains("more than 4096 cells"));
    assert_eq!(column(&run.cleaned_rows(), "id"), ["1", "999"]);
    // Within a higher limit, the same rows are read, in batches their cells bound.
    let run = dir.clean(
        "wide.csv",
        &["--no-dns", "-j", "1", "--max-columns", "200000"],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let rss = run.report()["peak_memory_bytes"]
        .as_u64()
        .expect("peak memory");
    assert!(rss < 200 << 20, "peak RSS {} MiB", rss >> 20);
    // Their extra cells are empty: the rows are kept.
    assert_eq!(run.report()["rows_cleaned"], 302);
}

/// A file name that is not UTF-8 (CP932 bytes from a Windows share) is read like any other,
/// and its outputs keep its bytes: two such lists whose names would read alike as text
/// (東京.csv, 福岡.csv) never share their outputs.
#[test]
fn file_names_that_are_not_utf8_keep_their_own_outputs() {
    use std::os::unix::ffi::OsStrExt;
    let dir = Workdir::new();
    // 東京.csv and 福岡.csv in CP932.
    let names = [&b"\x93\x8c\x8b\x9e"[..], b"\x95\x9f\x89\xaa"];
    for (name, who) in names.iter().zip(["tokyo", "fukuoka"]) {
        let mut file = name.to_vec();
        file.extend_from_slice(b".csv");
        let path = dir.path("").join(std::ffi::OsStr::from_bytes(&file));
        std::fs::write(&path, format!("id,email\n1,{who}@acme.jp\n")).unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_listclean"))
            .arg("clean")
            .arg(&path)
            .args(["--no-dns", "-q"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for (name, who) in names.iter().zip(["tokyo", "fukuoka"]) {
        let mut file = name.to_vec();
        file.extend_from_slice(b".cleaned.csv");
        let cleaned =
            std::fs::read_to_string(dir.path("").join(std::ffi::OsStr::from_bytes(&file)))
                .expect("its own outputs");
        assert!(cleaned.contains(&format!("{who}@acme.jp")), "{cleaned}");
    }
}

/// A `;` file from Excel for Mac (CR-only line endings) whose quoted cells hold line feeds
/// and commas is read as `;`-delimited, with every row and cell.
#[test]
fn cr_only_semicolon_files_with_line_feeds_in_cells_are_sniffed_right() {
    let dir = Workdir::new();
    let mut text = String::from("name;email;note\r");
    for i in 0..20 {
        text += &format!("\"Yamada {i}\";u{i}@acme.jp;\"a, b, c\nd, e, f\ng, h\"\r");
    }
    dir.write("mac.csv", text);
    let run = dir.clean("mac.csv", &["--no-dns"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(run.report()["delimiter"], ";");
    let bytes = run.cleaned.as_deref().expect("a cleaned file");
    let cleaned: Vec<csv::StringRecord> = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .collect::<Result<_, _>>()
        .expect("the cleaned file reads as `;` CSV");
    assert_eq!(cleaned.len(), 21);
    assert_eq!(&cleaned[1][2], "a, b, c\nd, e, f\ng, h");
}

/// Repairing a display name (`Yamada Taro <taro@acme.jp>`, a quoted name with the
/// delimiter in it) changes the email cell only: the row's other cells come out as they were.
#[test]
fn display_name_repairs_keep_the_other_cells() {
    let dir = Workdir::new();
    dir.write(
        "names.csv",
        "name,email,phone\nTaro,\"Yamada Taro <taro@acme.jp>\",03-1234\n\
         Hanako,\"\"\"Sato, Hanako\"\" <hanako@acme.jp>\",03-5678\n\
         Jiro,Jiro <jiro@acme.jp>,090\n\
         Mei,\"山田 明 ＜mei@acme.jp＞\",\"x, y\"\n",
    );
    let run = dir.clean("names.csv", &["--no-dns"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let cleaned = run.cleaned_rows();
    let cells: Vec<Vec<&str>> = cleaned[1..]
        .iter()
        .map(|r| r[..3].iter().map(String::as_str).collect())
        .collect();
    assert_eq!(
        cells,
        [
            ["Taro", "taro@acme.jp", "03-1234"],
            ["Hanako", "hanako@acme.jp", "03-5678"],
            ["Jiro", "jiro@acme.jp", "090"],
            ["Mei", "mei@acme.jp", "x, y"],
        ]
    );
}

/// A header over the limit of cells (an Excel export of whole rows) stops the run with a
/// message that names the cause and the option that mends it, not "no email column".
#[test]
fn a_header_over_the_cell_limit_is_told_as_such() {
    let dir = Workdir::new();
    let empty = ",".repeat(5000);
    dir.write(
        "wide.csv",
        format!("name,email{empty}\nTaro,taro@acme.jp{empty}\n"),
    );
    let run = dir.clean("wide.csv", &["--no-dns"]);
    assert_eq!(run.code(), 65, "{}", run.stderr());
    assert!(run.stderr().contains("4096 cells"), "{}", run.stderr());
    assert!(run.stderr().contains("--max-columns"), "{}", run.stderr());
    let run = dir.clean("wide.csv", &["--no-dns", "--max-columns", "6000"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
}
