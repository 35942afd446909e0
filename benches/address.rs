//! The per-address path: normalize + validate, in addresses per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use listclean::normalize::normalize;
use listclean::validate::check_syntax;

/// A mix like a real export: mostly clean addresses, some needing repair, some invalid.
fn addresses() -> Vec<String> {
    (0..10_000)
        .map(|i| match i % 20 {
            0 => format!(" ＴＡＲＯ{i}＠ｅｘａｍｐｌｅ．ｃｏ．ｊｐ "),
            1 => format!("Yamada Taro <taro{i}@Example.co.jp>"),
            2 => format!("broken{i}(at)example.jp"),
            3 => format!("a..b{i}@docomo.ne.jp"),
            _ => format!("user.name{i}@company{}.co.jp", i % 500),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let addresses = addresses();
    let mut group = c.benchmark_group("address");
    group.throughput(Throughput::Elements(addresses.len() as u64));
    group.bench_function("normalize", |b| {
        b.iter(|| addresses.iter().filter(|a| normalize(a).is_ok()).count())
    });
    group.bench_function("normalize+validate", |b| {
        b.iter(|| addresses.iter().filter(|a| check_syntax(a).is_ok()).count())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
