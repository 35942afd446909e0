//! Reading suppression lists (`--suppress`): the addresses never to send to, from the files
//! users have: a CSV export with an email column among others, or one address per line,
//! with the comments, display names and notes people add to such lists.
//!
//! A list errs on the side of suppressing: every address found in a line counts, and a
//! line without one is counted and named in the report, never dropped in silence.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use rustc_hash::FxHashSet;
use serde::Serialize;

use crate::error::Error;
use crate::normalize::normalize;
use crate::read::Source;
use crate::read::encoding::{CellEncoding, decode_cell};
use crate::read::records::{Record, Records};
use crate::read::{Input, ReadOptions};
use crate::validate::validate;

/// What one list gave, for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ListSummary {
    pub file: String,
    /// Addresses read (an address listed twice counts twice).
    pub addresses: u64,
    /// Lines, other than blank lines and `#` comments, where no address could be read.
    pub unread_lines: u64,
    /// The first of those, as `line N: …`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_unread: Option<String>,
}

/// Reads every list into the keys ([`crate::address::Address::key`]) of the addresses to
/// suppress, normalized like the input so that `ＴＡＲＯ＠Example.jp` suppresses
/// `taro@example.jp`. An empty or header-only list suppresses nothing (a nightly export of
/// the day's unsubscribes often is one).
///
/// Setting `stop` (a signal's number) ends the reading of a list that never ends.
///
/// # Errors
/// [`Error::SuppressIsInput`] when a list is the input itself; [`Error::Suppress`] when a
/// list cannot be read or has rows but no email column.
pub fn load(
    paths: &[PathBuf],
    input: &Input,
    stop: Option<&Arc<AtomicUsize>>,
) -> Result<(FxHashSet<u128>, Vec<ListSummary>), Error> {
    let mut keys = FxHashSet::default();
    let mut summaries = Vec::new();
    for path in paths {
        if let Input::Path(input) = input
            && same_file(path, input)
        {
            return Err(Error::SuppressIsInput { path: path.clone() });
        }
        let wrap = |source: Error| Error::Suppress {
            path: path.clone(),
            source: Box::new(source),
        };
        let mut summary = ListSummary {
            file: path.display().to_string(),
            ..ListSummary::default()
        };
        let list = Input::Path(path.clone());
        let mut source = match Source::open_until(&list, &ReadOptions::default(), stop) {
            Ok(source) => source,
            Err(Error::EmptyInput { .. } | Error::HeaderOnly { .. }) => {
                summaries.push(summary);
                continue;
            }
            Err(Error::NoEmailColumn { columns, .. }) => {
                return Err(wrap(Error::NoSuppressColumn { columns }));
            }
            Err(e) => return Err(wrap(e)),
        };
        let columns = source.email_columns.clone();
        let encoding = source.dialect.cell_encoding;
        // A list with a header is an export: its email columns hold the addresses, and an
        // address elsewhere (the account owner's, a colleague's in a note) is not to be
        // suppressed. Without one, it is a list of addresses, which a comma may have split
        // into several cells (`a@x.jp, b@y.jp`; `Yamada, Taro <taro@x.jp>`). A `#` comment
        // taken for the header does not make it an export.
        let commented = source
            .names
            .first()
            .is_some_and(|name| name.trim_start().starts_with('#'));
        let exported = source.header.is_some() && !commented;
        let mut batch = Records::default();
        while source.read_batch(&mut batch, 8192).map_err(wrap)? > 0 {
            for record in batch.iter() {
                if blank_or_comment(record, encoding) {
                    continue;
                }
                let found = if exported {
                    add_cells(
                        &mut keys,
                        columns.iter().map(|&c| record.field(c)),
                        encoding,
                    )
                } else {
                    add_cells(&mut keys, record.iter(), encoding)
                };
                summary.addresses += found;
                if found == 0 {
                    summary.unread_lines += 1;
                    summary
                        .first_unread
                        .get_or_insert_with(|| describe(record, encoding));
                }
            }
        }
        summaries.push(summary);
    }
    Ok((keys, summaries))
}

/// Adds the addresses in `cells` and returns how many.
fn add_cells<'a>(
    keys: &mut FxHashSet<u128>,
    cells: impl Iterator<Item = &'a [u8]>,
    encoding: CellEncoding,
) -> u64 {
    cells
        .filter_map(|cell| decode_cell(cell, encoding))
        .map(|cell| add_addresses(keys, &cell))
        .sum()
}

/// Adds the addresses in a cell and returns how many: the cell as one address, or else
/// every part of it that is one (`taro@acme.jp # bounced twice`, `a@x.jp; b@y.jp`,
/// `kato@acme.jp（退職）`).
fn add_addresses(keys: &mut FxHashSet<u128>, cell: &str) -> u64 {
    if let Some(key) = key_of(cell) {
        keys.insert(key);
        return 1;
    }
    let separators = |c: char| c.is_whitespace() || ",;()（）<>＜＞\"'「」[]【】、".contains(c);
    let mut found = 0;
    for key in cell
        .split(separators)
        .filter(|part| part.contains(['@', '＠']))
        .filter_map(key_of_part)
    {
        keys.insert(key);
        found += 1;
    }
    found
}

/// The key of the address `text` is, if it is one (legacy carrier addresses included: a
/// list may hold them, and they are to be suppressed like any other).
fn key_of(text: &str) -> Option<u128> {
    let address = normalize(text).ok()?;
    validate(&address, true).ok()?;
    Some(address.key())
}

/// [`key_of`] for a part of a line, which may be an address with a note stuck to it
/// (`taro@acme.co.jp※配信停止`, `…jp退会`): then the address it starts with.
fn key_of_part(part: &str) -> Option<u128> {
    key_of(part).or_else(|| {
        let at = part.find(['@', '＠'])?;
        let note = part[at..].find(|c: char| !c.is_ascii() && !is_width_form(c))?;
        key_of(&part[..at + note])
    })
}

/// A full-width form of an ASCII character, or the ideographic full stop: part of an
/// address once folded (`ｔａｒｏ＠ａｃｍｅ．ｊｐ`, `acme。jp`).
fn is_width_form(c: char) -> bool {
    matches!(c, '\u{FF01}'..='\u{FF5E}' | '\u{3002}' | '\u{FF61}')
}

fn blank_or_comment(record: Record<'_>, encoding: CellEncoding) -> bool {
    let first = record
        .iter()
        .filter_map(|cell| decode_cell(cell, encoding))
        .find(|cell| !cell.trim().is_empty());
    first.is_none_or(|cell| cell.trim_start().starts_with('#'))
}

/// `line N: ` and the line's first cells, for the report.
fn describe(record: Record<'_>, encoding: CellEncoding) -> String {
    let cells: Vec<String> = record
        .iter()
        .map(|cell| decode_cell(cell, encoding).map_or_else(|| "?".into(), |c| c.trim().to_owned()))
        .collect();
    // Shown on a terminal: control characters (an escape sequence a file could carry)
    // are written as escapes, never sent as they are.
    let mut text = String::new();
    for c in cells.join(" | ").chars().take(80) {
        if c.is_control() {
            text.extend(c.escape_default());
        } else {
            text.push(c);
        }
    }
    format!("line {}: {text}", record.line)
}

/// Whether two paths name the same file (by what they resolve to).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
