//! The lab's storage invariants, read from the table as only a test may (one filtered Scan
//! of the lab's items) and checked after a scenario:
//!
//! - every taken position names a sample whose location is that position, and every
//!   sample with a location holds that position;
//! - every location's `occupied` equals the positions taken in its subtree, its `capacity`
//!   the cells of the grids in its subtree, its `children` the locations directly inside it;
//! - no position lies outside its grid, and no grid holds more samples than cells.

use crate::Endpoints;
use std::collections::HashMap;
use tracseq_aws::store::{Item, from_item};
use tracseq_lab::sample::Sample;
use tracseq_storage::model::{Location, Position};

/// Every item of `lab` in the stack's table.
async fn lab_items(s: &Endpoints, lab: &str) -> Vec<Item> {
    let client = aws_sdk_dynamodb::Client::new(&s.sdk().await);
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(&s.table)
            .filter_expression("begins_with(PK, :p)")
            .expression_attribute_values(":p", aws_sdk_dynamodb::types::AttributeValue::S(format!("LAB#{lab}#")))
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan the lab");
        out.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() {
            return out;
        }
    }
}

fn text<'a>(item: &'a Item, name: &str) -> &'a str {
    item.get(name).and_then(|v| v.as_s().ok()).map_or("", String::as_str)
}

/// What is wrong with `lab`'s storage, one line per broken invariant (empty when sound).
pub async fn storage_violations(s: &Endpoints, lab: &str) -> Vec<String> {
    let mut locations: HashMap<String, Location> = HashMap::new();
    let mut positions: Vec<Position> = Vec::new();
    let mut samples: HashMap<String, Sample> = HashMap::new();
    for item in lab_items(s, lab).await {
        let sk = text(&item, "SK");
        if sk == "LOC" && text(&item, "entity") == "location" {
            let l: Location = from_item(item).expect("location");
            locations.insert(l.id.clone(), l);
        } else if sk.starts_with("POS#") {
            positions.push(from_item(item).expect("position"));
        } else if sk == tracseq_lab::keys::SAMPLE_SK {
            let x: Sample = from_item(item).expect("sample");
            samples.insert(x.id.clone(), x);
        }
    }
    let mut wrong = Vec::new();
    // Positions and samples point at each other.
    let mut held: HashMap<&str, &Position> = HashMap::new();
    for p in &positions {
        if held.insert(p.sample_id.as_str(), p).is_some() {
            wrong.push(format!("sample {} holds two positions", p.sample_id));
        }
        match samples.get(&p.sample_id).and_then(|x| x.storage.as_ref()) {
            Some(place) if place.location_id == p.location_id && place.position == p.position => {}
            other => wrong.push(format!(
                "position {}/{} names sample {}, whose location is {other:?}",
                p.location_id, p.position, p.sample_id
            )),
        }
        match locations.get(&p.location_id).and_then(Location::grid) {
            Some(grid) if grid.parse(&p.position).is_ok() => {}
            _ => wrong.push(format!(
                "position {}/{} is not a cell of a grid",
                p.location_id, p.position
            )),
        }
    }
    for x in samples.values() {
        if let Some(place) = &x.storage
            && !held
                .get(x.id.as_str())
                .is_some_and(|p| p.location_id == place.location_id && p.position == place.position)
        {
            wrong.push(format!(
                "sample {} says {}/{} but holds no such position",
                x.id, place.location_id, place.position
            ));
        }
    }
    // Counters equal what lies below.
    let mut occupied: HashMap<&str, u64> = HashMap::new();
    for p in &positions {
        if let Some(grid) = locations.get(&p.location_id) {
            for id in grid.lineage() {
                *occupied.entry(id).or_default() += 1;
            }
        }
    }
    let mut capacity: HashMap<&str, u64> = HashMap::new();
    let mut children: HashMap<&str, u64> = HashMap::new();
    for l in locations.values() {
        if l.kind.is_grid() {
            for id in l.lineage() {
                *capacity.entry(id).or_default() += l.capacity;
            }
        }
        if let Some(parent) = &l.parent_id {
            *children.entry(parent.as_str()).or_default() += 1;
        }
    }
    for l in locations.values() {
        let id = l.id.as_str();
        let counted = (
            occupied.get(id).copied().unwrap_or(0),
            capacity.get(id).copied().unwrap_or(0),
            children.get(id).copied().unwrap_or(0),
        );
        if (l.occupied, l.capacity, l.children) != counted {
            wrong.push(format!(
                "location {} ({}) counts occupied/capacity/children {:?}, holds {counted:?}",
                l.name,
                id,
                (l.occupied, l.capacity, l.children)
            ));
        }
        if l.occupied > l.capacity {
            wrong.push(format!("location {} holds more than its capacity", l.name));
        }
    }
    wrong
}

/// Fail the test when `lab`'s storage breaks an invariant.
pub async fn assert_storage_sound(s: &Endpoints, lab: &str) {
    let wrong = storage_violations(s, lab).await;
    assert!(wrong.is_empty(), "storage invariants broken:\n{}", wrong.join("\n"));
}

/// What is wrong with `lab`'s submissions, one line per broken invariant:
///
/// - a submission whose execution has ended has a terminal status;
/// - no sample of an ended submission is left `pending`;
/// - a completed submission's samples are validated or stored, as many as it was given,
///   and each of its positions is where its sample is;
/// - a compensated submission's samples are all `rejected` and hold no position.
pub async fn submission_violations(s: &Endpoints, lab: &str) -> Vec<String> {
    use tracseq_core::saga::timeline::SagaStatus as Status;
    use tracseq_submissions::model::Submission;
    let mut subs: Vec<Submission> = Vec::new();
    let mut registered: HashMap<String, Vec<String>> = HashMap::new();
    let mut samples: HashMap<String, Sample> = HashMap::new();
    for item in lab_items(s, lab).await {
        match text(&item, "entity") {
            "submission" => subs.push(from_item(item).expect("submission")),
            "submission_chunk" => {
                let pk = text(&item, "PK").to_owned();
                let id = pk.split('#').nth(3).unwrap_or_default().to_owned();
                let ids: Vec<String> = item
                    .get("sample_ids")
                    .and_then(|v| v.as_l().ok())
                    .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
                    .unwrap_or_default();
                registered.entry(id).or_default().extend(ids);
            }
            _ if text(&item, "SK") == tracseq_lab::keys::SAMPLE_SK => {
                let x: Sample = from_item(item).expect("sample");
                samples.insert(x.id.clone(), x);
            }
            _ => {}
        }
    }
    let sfn = aws_sdk_sfn::Client::new(&s.sdk().await);
    let mut wrong = Vec::new();
    for sub in &subs {
        let execution = sfn
            .describe_execution()
            .execution_arn(&sub.execution_arn)
            .send()
            .await
            .map(|d| d.status().clone());
        let ended = execution
            .as_ref()
            .is_ok_and(|st| *st != aws_sdk_sfn::types::ExecutionStatus::Running);
        if ended && !sub.status.is_terminal() {
            wrong.push(format!("submission {} ended its execution but says running", sub.id));
        }
        if !sub.status.is_terminal() {
            continue;
        }
        let mine = registered.get(&sub.id).cloned().unwrap_or_default();
        for id in &mine {
            let Some(x) = samples.get(id) else {
                wrong.push(format!("submission {} registered {id}, which does not exist", sub.id));
                continue;
            };
            let status = x.status.as_str();
            let fine = match sub.status {
                Status::Completed => status == "validated" || status == "in_storage",
                Status::Compensated => status == "rejected" && x.storage.is_none(),
                _ => status != "pending",
            };
            if !fine {
                wrong.push(format!(
                    "submission {} ({}) left sample {id} {status} (stored: {})",
                    sub.id,
                    sub.status.as_str(),
                    x.storage.is_some()
                ));
            }
        }
        if sub.status == Status::Completed {
            if mine.len() != sub.sample_count as usize || sub.sample_ids.len() != mine.len() {
                wrong.push(format!(
                    "submission {} completed with {} of {} samples registered",
                    sub.id,
                    mine.len(),
                    sub.sample_count
                ));
            }
            for p in &sub.positions {
                let at = samples.get(&p.sample_id).and_then(|x| x.storage.as_ref());
                if !at.is_some_and(|a| a.location_id == p.location_id && a.position == p.position) {
                    wrong.push(format!(
                        "submission {} says {} is at {}/{}, the sample says {at:?}",
                        sub.id, p.sample_id, p.location_id, p.position
                    ));
                }
            }
        }
    }
    wrong
}

/// What is wrong with `lab`'s runs, one line per broken invariant:
///
/// - nothing sits in two active runs: every reservation belongs to an active run (running,
///   or its start saga running), and every sample `in_sequencing` is reserved by one;
/// - a start whose execution has ended has a terminal status;
/// - a completed start left its run running (or later); a compensated one left its run
///   where it was (`planned` or `loaded`), holding no reservation and no sheet.
pub async fn run_violations(s: &Endpoints, lab: &str) -> Vec<String> {
    use tracseq_core::saga::timeline::SagaStatus;
    use tracseq_sequencing::domain::status::RunStatus;
    use tracseq_sequencing::model::Run;
    let mut runs: HashMap<String, Run> = HashMap::new();
    let mut reserved: Vec<(String, String)> = Vec::new();
    let mut samples: Vec<Sample> = Vec::new();
    let reserved_pk = tracseq_sequencing::model::keys::reserved(lab);
    for item in lab_items(s, lab).await {
        if text(&item, "PK") == reserved_pk {
            reserved.push((text(&item, "SK").to_owned(), text(&item, "owner").to_owned()));
        } else if text(&item, "entity") == "run" {
            let r: Run = from_item(item).expect("run");
            runs.insert(r.id.clone(), r);
        } else if text(&item, "SK") == tracseq_lab::keys::SAMPLE_SK {
            samples.push(from_item(item).expect("sample"));
        }
    }
    let active =
        |r: &Run| r.status == RunStatus::Running || r.start.as_ref().is_some_and(|x| x.status == SagaStatus::Running);
    let mut wrong = Vec::new();
    for (sk, owner) in &reserved {
        if !runs.get(owner).is_some_and(active) {
            wrong.push(format!("{sk} is reserved by run {owner}, which is not active"));
        }
    }
    for x in samples.iter().filter(|x| x.status.as_str() == "in_sequencing") {
        if !reserved.iter().any(|(sk, _)| *sk == format!("sample#{}", x.id)) {
            wrong.push(format!("sample {} is in sequencing but no active run holds it", x.id));
        }
    }
    let sfn = aws_sdk_sfn::Client::new(&s.sdk().await);
    for r in runs.values() {
        let Some(start) = &r.start else { continue };
        let ended = sfn
            .describe_execution()
            .execution_arn(&start.execution_arn)
            .send()
            .await
            .is_ok_and(|d| *d.status() != aws_sdk_sfn::types::ExecutionStatus::Running);
        if ended && start.status == SagaStatus::Running {
            wrong.push(format!("run {} ended its start execution but says running", r.id));
        }
        match start.status {
            SagaStatus::Completed if matches!(r.status, RunStatus::Planned | RunStatus::Loaded) => {
                wrong.push(format!("run {} started but is {}", r.id, r.status.as_str()));
            }
            SagaStatus::Compensated => {
                if r.status != start.from {
                    wrong.push(format!(
                        "run {} was compensated but is {} (was {})",
                        r.id,
                        r.status.as_str(),
                        start.from.as_str()
                    ));
                }
                if start.sheet_key.is_some() {
                    wrong.push(format!("run {} was compensated but keeps its sheet", r.id));
                }
                if reserved.iter().any(|(_, o)| *o == r.id) {
                    wrong.push(format!("run {} was compensated but holds reservations", r.id));
                }
            }
            _ => {}
        }
    }
    wrong
}

/// Fail the test when `lab`'s storage, submissions or runs break an invariant.
pub async fn assert_lab_sound(s: &Endpoints, lab: &str) {
    let mut wrong = storage_violations(s, lab).await;
    wrong.extend(submission_violations(s, lab).await);
    wrong.extend(run_violations(s, lab).await);
    assert!(wrong.is_empty(), "invariants broken:\n{}", wrong.join("\n"));
}
