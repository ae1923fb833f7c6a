// A benchmark harness, not a request path: a failed setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Generating and validating the sheet of a full run: 384 samples over 8 lanes
//! (target: under 20 ms), in both formats.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use tracseq_sequencing::domain::platform::SheetFormat;
use tracseq_sequencing::domain::samplesheet::{fixtures, render, validate};

fn bench(c: &mut Criterion) {
    let req = fixtures::nextera_384_over_8_lanes();
    c.bench_function("validate 384 samples over 8 lanes", |b| {
        b.iter(|| black_box(validate(black_box(&req))))
    });
    c.bench_function("validate and render v2, 384 samples over 8 lanes", |b| {
        b.iter(|| black_box(render(black_box(&req), SheetFormat::V2)))
    });
    c.bench_function("validate and render v1, 384 samples over 8 lanes", |b| {
        b.iter(|| black_box(render(black_box(&req), SheetFormat::V1)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
