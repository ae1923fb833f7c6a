//! A record that knows its own keys, so a model crate with no AWS code can say how it is
//! stored (`tracseq_aws::store::ToItem` turns it into an item).

/// A stored record: its kind (`entity`) and its key attributes in a lab.
pub trait Keyed: serde::Serialize {
    const ENTITY: &'static str;

    /// `PK`, `SK` and any index or search attributes, for the record in `lab`.
    fn keys(&self, lab: &str) -> Vec<(&'static str, String)>;
}
