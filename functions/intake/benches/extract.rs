// A benchmark harness, not a request path: a failed setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Document intake's CPU: the offline extraction of the reference form (target: under
//! 100 ms), the same as DOCX and PDF, and reading the text of a 50-page PDF.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use tracseq_intake::domain::Prepared;
use tracseq_intake::domain::formats::{Format, extract};
use tracseq_intake::testkit;

fn reference() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/documents/reference_submission.txt"
    ))
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let text = reference();
    let docx = testkit::docx(&text);
    let pdf = testkit::pdf(&text);
    // 50 pages: the form repeated until it fills them.
    let long: String = std::iter::repeat_n(text.as_str(), 12).collect::<Vec<_>>().join("\n");
    let pdf50 = testkit::pdf(&long.lines().take(50 * 60).collect::<Vec<_>>().join("\n"));
    let mut g = c.benchmark_group("intake");
    g.measurement_time(Duration::from_secs(5)).sample_size(20);
    g.bench_function("reference_txt_extract", |b| {
        b.iter(|| {
            let (_, t) = extract(black_box(text.as_bytes()), Some(Format::Txt)).unwrap();
            Prepared::new(&t).extract_offline()
        })
    });
    g.bench_function("reference_docx_extract", |b| {
        b.iter(|| {
            let (_, t) = extract(black_box(&docx), Some(Format::Docx)).unwrap();
            Prepared::new(&t).extract_offline()
        })
    });
    g.bench_function("reference_pdf_extract", |b| {
        b.iter(|| {
            let (_, t) = extract(black_box(&pdf), Some(Format::Pdf)).unwrap();
            Prepared::new(&t).extract_offline()
        })
    });
    g.bench_function("pdf_50_pages_extract", |b| {
        b.iter(|| {
            let (_, t) = extract(black_box(&pdf50), Some(Format::Pdf)).unwrap();
            assert_eq!(t.pages.len(), 50);
            Prepared::new(&t).extract_offline()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
