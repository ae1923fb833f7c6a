// A benchmark harness, not a request path: a failed setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Hot paths of the storage service, without the network: what a box map costs us for a
//! full 16 x 24 plate (decode 385 items, lay out 384 cells, encode JSON), and choosing 96
//! positions among 200 boxes.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use std::collections::HashSet;
use tracseq_lab::kinds::SampleType;
use tracseq_lab::status::SampleStatus;
use tracseq_storage::domain::grid::Grid;
use tracseq_storage::domain::kinds::{FillOrder, LocationKind};
use tracseq_storage::domain::suggest::{Candidate, Rule, suggest};
use tracseq_storage::handlers::locations::map_cells;
use tracseq_storage::model::{Location, Position};
use tracseq_storage::store::locations::split_partition;

fn plate() -> Location {
    serde_json::from_value(serde_json::json!({
        "id": "01JPLATE00000000000000000", "name": "PL-1", "kind": LocationKind::Plate,
        "ancestors": ["01JSITE000000000000000000", "01JFRZ0000000000000000000"],
        "barcode": "LOC-000001", "unit_id": "01JFRZ0000000000000000000", "rows": 16, "columns": 24,
        "fill_order": "row", "capacity": 384, "occupied": 384, "children": 0, "version": 1,
        "created_at": "2026-11-27T00:00:00Z", "created_by": "u", "updated_at": "2026-11-27T00:00:00Z", "updated_by": "u"
    }))
    .expect("plate")
}

fn full_partition() -> Vec<tracseq_aws::store::Item> {
    let lab = "01JLAB0000000000000000000";
    let p = plate();
    let grid = p.grid().expect("grid");
    let mut items = vec![p.item(lab).expect("item")];
    for (i, c) in grid.cells().enumerate() {
        let pos = Position {
            location_id: p.id.clone(),
            position: c.label(),
            row: c.row,
            column: c.column,
            sample_id: format!("01JSAMPLE{i:016}"),
            barcode: format!("TS-20261127-{i:06}"),
            sample_type: SampleType::Dna,
            sample_status: SampleStatus::InStorage,
            project: Some("P-1".into()),
            checked_out: false,
            since: "2026-11-27T00:00:00Z".into(),
            by: "01JUSER0000000000000000000".into(),
        };
        items.push(pos.item(lab).expect("position"));
    }
    items
}

fn bench(c: &mut Criterion) {
    let items = full_partition();
    c.bench_function("box map of a full 16x24 plate (decode, lay out, encode)", |b| {
        b.iter(|| {
            let (node, taken) = split_partition(black_box(items.clone())).expect("split");
            let grid = node.expect("node").grid().expect("grid");
            let cells = map_cells(grid, taken);
            black_box(serde_json::to_vec(&cells).expect("json"))
        })
    });
    let candidates: Vec<Candidate> = (0..200)
        .map(|i| {
            let grid = Grid::new(9, 9, FillOrder::RowMajor).expect("grid");
            let taken: HashSet<_> = grid.cells().take(i % 81).collect();
            Candidate {
                path: format!("FRZ/R{i:03}"),
                grid,
                taken,
                project: vec![],
            }
        })
        .collect();
    c.bench_function("suggest 96 positions among 200 boxes", |b| {
        b.iter(|| black_box(suggest(black_box(&candidates), 96, Rule::LeastEmpty)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
