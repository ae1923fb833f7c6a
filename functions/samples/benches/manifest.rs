// A benchmark harness, not a request path: a failed setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Manifest validation, the hot path of an import: a 10,000-row file against a 20-field
//! template (target: under 1 s on one core), as CSV and as XLSX.

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use std::hint::black_box;
use std::time::Duration;
use tracseq_aws::store::ToItem;
use tracseq_samples::domain::manifest::{Format, read};
use tracseq_samples::domain::rows::validate;
use tracseq_samples::domain::template::TemplateDef;

fn template() -> TemplateDef {
    serde_json::from_value(json!({
        "name": "Bench",
        "fields": [
            {"name": "sample_id", "label": "Sample_ID", "type": "text", "required": true, "maps_to": "barcode"},
            {"name": "patient_id", "label": "Patient_ID", "type": "text", "required": true, "rules": {"pattern": "P[0-9]{5}"}},
            {"name": "sample_type", "label": "Sample_Type", "type": "select", "required": true, "maps_to": "sample_type",
             "options": ["Blood", "Saliva", "Tissue", "Urine"]},
            {"name": "collection_date", "label": "Collection_Date", "type": "date", "required": true, "maps_to": "collection_date"},
            {"name": "submitter", "label": "Submitter", "type": "text", "required": true, "maps_to": "submitter"},
            {"name": "department", "label": "Department", "type": "text"},
            {"name": "priority", "label": "Priority", "type": "select", "maps_to": "priority",
             "options": ["low", {"value": "normal", "aliases": ["Medium"]}, "high", "urgent"]},
            {"name": "analysis_type", "label": "Analysis_Type", "type": "select", "options": ["WGS", "WES", "Targeted Panel", "RNA-Seq"]},
            {"name": "storage_temp", "label": "Storage_Temp", "type": "number", "rules": {"unit": "°C"}},
            {"name": "volume", "label": "Volume_mL", "type": "number", "maps_to": "volume", "rules": {"unit": "mL", "min": 0.1}},
            {"name": "concentration", "label": "Concentration_ng_uL", "type": "number", "maps_to": "concentration", "rules": {"unit": "ng/µL"}},
            {"name": "quality_score", "label": "Quality_Score", "type": "number", "rules": {"min": 0, "max": 10}},
            {"name": "notes", "label": "Notes", "type": "text", "maps_to": "notes", "rules": {"max_length": 500}},
            {"name": "organism", "label": "Organism", "type": "text", "maps_to": "organism"},
            {"name": "tissue", "label": "Tissue", "type": "text", "maps_to": "tissue"},
            {"name": "rin", "label": "RIN", "type": "number", "maps_to": "rin"},
            {"name": "a260_280", "label": "A260/280", "type": "number", "maps_to": "a260_280"},
            {"name": "consent", "label": "Consent", "type": "boolean"},
            {"name": "contact", "label": "Contact", "type": "email"},
            {"name": "replicate", "label": "Replicate", "type": "integer", "rules": {"min": 1, "max": 10}}
        ]
    }))
    .expect("template")
}

const HEADER: &str = "Sample_ID,Patient_ID,Sample_Type,Collection_Date,Submitter,Department,Priority,Analysis_Type,Storage_Temp,Volume_mL,Concentration_ng_uL,Quality_Score,Notes,Organism,Tissue,RIN,A260/280,Consent,Contact,Replicate";

fn rows(n: usize) -> Vec<[String; 20]> {
    (0..n)
        .map(|i| {
            [
                format!("LAB{i:07}"),
                format!("P{:05}", i % 100_000),
                ["Blood", "Saliva", "Tissue", "Urine"][i % 4].into(),
                ["2024-01-15", "15/01/2024", "15 Jan 2024"][i % 3].into(),
                "Dr. Smith".into(),
                "Oncology".into(),
                ["High", "Medium", "Low"][i % 3].into(),
                "WGS".into(),
                "-80°C".into(),
                ["2.5", "250 µL"][i % 2].into(),
                "250.5".into(),
                "8.2".into(),
                "Rush analysis needed".into(),
                "Homo sapiens".into(),
                "Liver".into(),
                "8.1".into(),
                "1.9".into(),
                "yes".into(),
                "lab@example.org".into(),
                format!("{}", 1 + i % 3),
            ]
        })
        .collect()
}

fn csv(n: usize) -> Vec<u8> {
    let mut out = String::from(HEADER);
    out.push('\n');
    for r in rows(n) {
        out.push_str(
            &r.iter()
                .map(|c| if c.contains(',') { format!("\"{c}\"") } else { c.clone() })
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out.into_bytes()
}

fn xlsx(n: usize) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in HEADER.split(',').enumerate() {
        ws.write_string(0, c as u16, h).expect("cell");
    }
    for (r, row) in rows(n).iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            ws.write_string(r as u32 + 1, c as u16, cell).expect("cell");
        }
    }
    wb.save_to_buffer().expect("workbook")
}

fn bench(c: &mut Criterion) {
    let t = template().compile().expect("compiles");
    let csv = csv(10_000);
    let xlsx = xlsx(10_000);
    let sheet = read(&csv, Format::Csv, None).expect("csv");
    let (ok, errors) = validate(&t, &sheet);
    assert_eq!((ok.len(), errors.len()), (10_000, 0), "{:?}", errors.first());
    let mut g = c.benchmark_group("manifest_10k_rows_20_fields");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("validate", |b| b.iter(|| validate(&t, black_box(&sheet))));
    g.bench_function("csv_read_and_validate", |b| {
        b.iter(|| validate(&t, &read(black_box(&csv), Format::Csv, None).expect("csv")))
    });
    g.bench_function("xlsx_read_and_validate", |b| {
        b.iter(|| validate(&t, &read(black_box(&xlsx), Format::Xlsx, None).expect("xlsx")))
    });
    g.finish();
}

/// Our share of listing a page of 1,000 samples: items as DynamoDB returns them → typed
/// samples → the JSON page (moto's or DynamoDB's time is not in this).
fn list_page(c: &mut Criterion) {
    use tracseq_samples::model::Sample;
    let sample: Sample = serde_json::from_value(json!({
        "id": "01M8DBHFTTZCCGH3RZNN9GY42V", "barcode": "LAB20240009", "name": "LAB20240009",
        "sample_type": "Blood", "status": "pending", "priority": "high", "submitter": "Dr. Smith",
        "collection_date": "2024-01-07", "volume": 2.0, "volume_unit": "mL", "concentration": 200.9,
        "concentration_unit": "ng/µL", "notes": "Rush analysis needed",
        "custom": {"analysis_type": "WGS", "department": "Oncology", "patient_id": "P90123", "quality_score": 8.7, "storage_temp": -80},
        "template_id": "01M8DBHFMNN6BYSFY77QCRGB3W", "template_version": 1, "import_id": "01M8DBHFS5G8Q0SBN9E179QMBE",
        "version": 1, "created_at": "2026-11-27T01:57:24.954225581Z", "created_by": "01M8DBH7BB401YEH87X776TXSJ",
        "updated_at": "2026-11-27T01:57:24.954225581Z", "updated_by": "01M8DBH7BB401YEH87X776TXSJ"
    }))
    .expect("sample");
    let items: Vec<_> = (0..1000)
        .map(|_| sample.item("01M8DBFN7DDBVN5PM83Q3QZY22").expect("item"))
        .collect();
    c.bench_function("list_page_1000_samples_decode_and_encode", |b| {
        b.iter(|| {
            let samples: Vec<Sample> = black_box(&items)
                .iter()
                .cloned()
                .map(tracseq_aws::store::from_item)
                .collect::<Result<_, _>>()
                .expect("decode");
            serde_json::to_vec(&json!({ "items": samples, "next_cursor": null })).expect("encode")
        })
    });
}

criterion_group!(benches, bench, list_page);
criterion_main!(benches);
