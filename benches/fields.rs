//! Writing CSV fields: the hand-written field writer (`write::fields`) against csv-core's
//! `Writer`, on the cells of a typical contact row, in fields per second. The field
//! writer's module doc quotes the result.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use csv_core::{QuoteStyle, WriteResult, WriterBuilder};
use listclean::read::dialect::{Dialect, LineEnding};
use listclean::read::encoding::CellEncoding;

/// Cells like a Japanese CRM export's: names, a company with a comma, addresses, phone
/// numbers, dates, empty cells, codes.
fn rows() -> Vec<Vec<Vec<u8>>> {
    (0..2_000)
        .map(|i| {
            [
                format!("{i}"),
                "山田 太郎".into(),
                if i % 5 == 0 {
                    "Matsuda Kagaku Co., Ltd.".into()
                } else {
                    "株式会社サンプル商事".into()
                },
                format!("taro.yamada{i}@example-shoji.co.jp"),
                "+81 3-1234-5678".into(),
                String::new(),
                "2026-03-12".into(),
                "valid".into(),
                String::new(),
            ]
            .into_iter()
            .map(String::into_bytes)
            .collect()
        })
        .collect()
}

/// One field through csv-core's writer, into a `Vec`.
fn csv_core_field(writer: &mut csv_core::Writer, out: &mut Vec<u8>, field: &[u8], first: bool) {
    let room = |out: &mut Vec<u8>, at_least: usize| {
        let len = out.len();
        out.resize(len + at_least, 0);
        len
    };
    if !first {
        let at = room(out, 1);
        let (_, n) = writer.delimiter(&mut out[at..]);
        out.truncate(at + n);
    }
    let at = room(out, field.len() * 2 + 2);
    let (result, _, n) = writer.field(field, &mut out[at..]);
    debug_assert_eq!(result, WriteResult::InputEmpty);
    out.truncate(at + n);
}

fn bench(c: &mut Criterion) {
    let rows = rows();
    let fields: u64 = rows.iter().map(|r| r.len() as u64).sum();
    let dialect = Dialect {
        delimiter: b',',
        line_ending: LineEnding::CrLf,
        quote_all: false,
        cell_encoding: CellEncoding::Utf8,
        sep_line: false,
    };
    let mut group = c.benchmark_group("fields");
    group.throughput(Throughput::Elements(fields));
    group.bench_function("hand-written", |b| {
        let mut out = Vec::with_capacity(1 << 20);
        b.iter(|| {
            out.clear();
            for row in &rows {
                for (i, field) in row.iter().enumerate() {
                    dialect.push_field(&mut out, field, i == 0);
                }
                dialect.end_row(&mut out);
            }
            out.len()
        })
    });
    group.bench_function("csv-core", |b| {
        let mut out = Vec::with_capacity(1 << 20);
        let mut writer = WriterBuilder::new()
            .delimiter(b',')
            .quote_style(QuoteStyle::Necessary)
            .build();
        b.iter(|| {
            out.clear();
            for row in &rows {
                for (i, field) in row.iter().enumerate() {
                    csv_core_field(&mut writer, &mut out, field, i == 0);
                }
                out.extend_from_slice(b"\r\n");
            }
            out.len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
