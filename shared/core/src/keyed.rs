//! Keys. Every partition of lab data starts `LAB#{lab}`, so no query built from these can
//! reach another tenant (docs/data-model.md invariant 1); [`lab_key`] is the one place that
//! spells it, and every service's key functions call it. Ids from clients are checked
//! ([`check_id`], [`LabKeys`]) before they become key parts: a `#` in an id could otherwise
//! forge another key. A record that knows its own keys is [`Keyed`], so a model crate with
//! no AWS code can say how it is stored (`tracseq_aws::store::ToItem` turns it into an
//! item).

/// A stored record: its kind (`entity`) and its key attributes in a lab.
pub trait Keyed: serde::Serialize {
    const ENTITY: &'static str;

    /// `PK`, `SK` and any index or search attributes, for the record in `lab`.
    fn keys(&self, lab: &str) -> Vec<(&'static str, String)>;
}

/// `LAB#{lab}` followed by `#{part}` for each part: every lab key.
pub fn lab_key(lab: &str, parts: &[&str]) -> String {
    let mut key = String::with_capacity(4 + lab.len() + parts.iter().map(|p| p.len() + 1).sum::<usize>());
    key.push_str("LAB#");
    key.push_str(lab);
    for part in parts {
        key.push('#');
        key.push_str(part);
    }
    key
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?} is not a valid identifier")]
pub struct InvalidId {
    pub what: &'static str,
    pub value: String,
}

/// Whether `s` may be used as a key part: 1–64 chars of `[A-Za-z0-9_.-]`.
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

pub fn check_id<'a>(what: &'static str, s: &'a str) -> Result<&'a str, InvalidId> {
    if is_valid_id(s) {
        Ok(s)
    } else {
        Err(InvalidId {
            what,
            value: s.chars().take(80).collect(),
        })
    }
}

/// A lab, the root of every tenant key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabKeys {
    lab: String,
}

impl LabKeys {
    pub fn new(lab: &str) -> Result<Self, InvalidId> {
        Ok(Self {
            lab: check_id("lab id", lab)?.to_owned(),
        })
    }

    pub fn lab_id(&self) -> &str {
        &self.lab
    }

    /// `LAB#{lab}`: the lab item and its small per-lab collections.
    pub fn root(&self) -> String {
        lab_key(&self.lab, &[])
    }

    /// `LAB#{lab}#{a}#{b}…`; every part must be a valid id or an upper-case kind word.
    pub fn partition(&self, parts: &[&str]) -> Result<String, InvalidId> {
        let mut pk = self.root();
        for part in parts {
            pk.push('#');
            pk.push_str(check_id("key part", part)?);
        }
        Ok(pk)
    }

    /// The lab's event history for one day (`yyyy-mm-dd`).
    pub fn events_day(&self, day: &str) -> String {
        lab_key(&self.lab, &["EVENTS", day])
    }

    pub fn idempotency(&self, key: &str) -> String {
        lab_key(&self.lab, &["IDEMP", key])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_leads_every_partition_and_ids_cannot_inject_separators() {
        let k = LabKeys::new("01JLAB").unwrap();
        assert_eq!(k.partition(&["SAMPLE", "01JS"]).unwrap(), "LAB#01JLAB#SAMPLE#01JS");
        assert!(k.partition(&["SAMPLE", "x#LAB#other"]).is_err());
        assert!(LabKeys::new("a#b").is_err());
        assert!(LabKeys::new("").is_err());
        assert!(LabKeys::new(&"a".repeat(65)).is_err());
        assert_eq!(k.events_day("2026-11-26"), "LAB#01JLAB#EVENTS#2026-11-26");
        assert_eq!(lab_key("L", &[]), "LAB#L");
        assert_eq!(lab_key("L", &["LOC", "B1", "CHILDREN"]), "LAB#L#LOC#B1#CHILDREN");
    }
}
