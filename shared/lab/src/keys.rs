//! The keys of the entities several services write or read (docs/data-model.md). Keys
//! of an entity only its own service touches stay in that service.

use tracseq_core::keyed::lab_key;

pub const SAMPLE_SK: &str = "SAMPLE";
pub const BARCODE_SK: &str = "BARCODE";
pub const IMPORT_SK: &str = "IMPORT";
pub const LAB_SK: &str = "LAB";
pub const BARCODE_COUNTER_SK: &str = "COUNTER#barcode";

pub fn lab(lab: &str) -> String {
    lab_key(lab, &[])
}
pub fn sample(lab: &str, id: &str) -> String {
    lab_key(lab, &["SAMPLE", id])
}
pub fn by_status(lab: &str, status: &str) -> String {
    lab_key(lab, &["SAMPLES", status])
}
pub fn by_month(lab: &str, month: &str) -> String {
    lab_key(lab, &["SAMPLES", month])
}
pub fn barcode(lab: &str, code: &str) -> String {
    lab_key(lab, &["BARCODE", code])
}
pub fn import(lab: &str, id: &str) -> String {
    lab_key(lab, &["IMPORT", id])
}
pub fn imports(lab: &str) -> String {
    lab_key(lab, &["IMPORTS"])
}
pub fn history_sk(at: &str, id: &str) -> String {
    format!("HIST#{at}#{id}")
}
/// A storage location's partition (the node item and, for a box, its positions).
pub fn location(lab: &str, id: &str) -> String {
    lab_key(lab, &["LOC", id])
}
/// A box position's sort key; the item exists while the position is taken.
pub fn position_sk(label: &str) -> String {
    format!("POS#{label}")
}
