//! Key builders. Every partition of lab data starts `LAB#{lab}`, so no query built here can
//! reach another tenant (docs/data-model.md invariant 1). Ids are checked before they become key parts:
//! a `#` in an id could otherwise forge another key.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
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
        format!("LAB#{}", self.lab)
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
        format!("LAB#{}#EVENTS#{day}", self.lab)
    }

    pub fn idempotency(&self, key: &str) -> String {
        format!("LAB#{}#IDEMP#{key}", self.lab)
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
    }
}
