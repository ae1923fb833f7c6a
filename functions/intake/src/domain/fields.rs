//! The fields a submission document is read for: seven groups (docs/domain.md, Document
//! intake), each field with the labels forms use for it and the kind of value it takes.
//! The offline extractor matches labels; an LLM provider is shown the same catalogue.

use tracseq_core::named_enum;

named_enum!(
    /// A group of fields, and the query that retrieves its passages.
    Group as "IntakeGroup" {
        Administrative => "administrative",
        SourceMaterial => "source_material",
        Pooling => "pooling",
        Sequencing => "sequencing",
        Container => "container",
        Informatics => "informatics",
        SampleDetails => "sample_details",
    }
);

impl Group {
    /// Words that passages about the group use: the BM25 query that ranks them.
    pub fn query(self) -> &'static str {
        match self {
            Group::Administrative => {
                "administrative submitter name email phone institution department project principal investigator PI billing account contact"
            }
            Group::SourceMaterial => {
                "source material sample origin type organism species tissue collection date method preservation storage conditions"
            }
            Group::Pooling => "pooling pooled pool multiplex samples in pool ratio barcode index sequences i7 i5",
            Group::Sequencing => {
                "sequencing platform instrument library kit read type length paired single coverage depth flow cell"
            }
            Group::Container => "container tube plate volume concentration storage temperature buffer diluent",
            Group::Informatics => "informatics analysis reference genome pipeline data delivery format",
            Group::SampleDetails => {
                "sample id name barcode sample type volume concentration ratio RIN priority instructions notes"
            }
        }
    }
}

/// What a field's value is, which decides how it is read and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Email,
    Phone,
    /// Written back as `YYYY-MM-DD`.
    Date,
    /// `yes` or `no`.
    YesNo,
    /// Comma, semicolon or "and"-separated items.
    List,
    /// `low | normal | high | urgent`.
    Priority,
}

/// One field of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub group: Group,
    pub name: &'static str,
    /// Labels, normalised (see [`norm_label`]): an exact match is trusted most.
    pub labels: &'static [&'static str],
    /// Whether a longer label ending in one of `labels` ("Total Volume" for "volume")
    /// counts, with less confidence. Off where the last word is too common.
    pub suffix: bool,
    pub kind: Kind,
}

const fn spec(group: Group, name: &'static str, labels: &'static [&'static str], kind: Kind) -> Spec {
    Spec {
        group,
        name,
        labels,
        suffix: true,
        kind,
    }
}

const fn exact(group: Group, name: &'static str, labels: &'static [&'static str], kind: Kind) -> Spec {
    Spec {
        group,
        name,
        labels,
        suffix: false,
        kind,
    }
}

use Group::*;
use Kind::*;

/// Every document-level field. Per-sample columns are in [`COLUMNS`].
pub static FIELDS: &[Spec] = &[
    exact(
        Administrative,
        "submitter_name",
        &[
            "submitter",
            "submitter name",
            "submitted by",
            "name",
            "full name",
            "contact name",
            "contact",
            "from",
        ],
        Text,
    ),
    spec(
        Administrative,
        "submitter_email",
        &[
            "email",
            "e mail",
            "email address",
            "submitter email",
            "contact email",
            "from",
            "reply to",
        ],
        Email,
    ),
    spec(
        Administrative,
        "submitter_phone",
        &["phone", "telephone", "phone number", "tel", "mobile"],
        Phone,
    ),
    spec(
        Administrative,
        "institution",
        &["institution", "organization", "organisation", "university", "company"],
        Text,
    ),
    exact(Administrative, "department", &["department", "dept", "division"], Text),
    exact(
        Administrative,
        "project_id",
        &["project id", "project code", "project number", "project"],
        Text,
    ),
    exact(
        Administrative,
        "project_name",
        &[
            "assigned project",
            "project name",
            "project title",
            "study",
            "study name",
        ],
        Text,
    ),
    exact(
        Administrative,
        "principal_investigator",
        &["principal investigator", "pi", "pi name", "lab head"],
        Text,
    ),
    exact(
        Administrative,
        "billing_account",
        &[
            "billing account",
            "billing",
            "account",
            "cost center",
            "cost centre",
            "po number",
            "purchase order",
            "grant",
        ],
        Text,
    ),
    exact(
        SourceMaterial,
        "source_type",
        &[
            "source type",
            "sample type",
            "material type",
            "specimen type",
            "material",
            "type of material",
        ],
        Text,
    ),
    exact(
        SourceMaterial,
        "organism",
        &["source organism", "organism", "species"],
        Text,
    ),
    exact(
        SourceMaterial,
        "tissue_type",
        &["tissue type", "tissue", "tissue source"],
        Text,
    ),
    exact(
        SourceMaterial,
        "collection_date",
        &["collection date", "date collected", "date of collection", "collected"],
        Date,
    ),
    exact(
        SourceMaterial,
        "collection_method",
        &["collection method", "method of collection"],
        Text,
    ),
    exact(
        SourceMaterial,
        "preservation_method",
        &["preservation method", "preservation", "fixation"],
        Text,
    ),
    exact(
        SourceMaterial,
        "storage_conditions",
        &["storage conditions", "stored at", "storage"],
        Text,
    ),
    exact(
        Pooling,
        "pooled",
        &["pooled sample", "pooled", "pooled samples", "pooling"],
        YesNo,
    ),
    exact(Pooling, "pool_id", &["pool id", "pool name", "pool"], Text),
    exact(
        Pooling,
        "pool_members",
        &["samples in pool", "pool members", "pooled samples list", "members"],
        List,
    ),
    exact(
        Pooling,
        "pooling_ratio",
        &["pooling ratio", "ratio", "pool ratio"],
        Text,
    ),
    // Read from lines whose value is an index sequence ("CRC-T01: AGTCACTA-TACTCCTT").
    exact(
        Pooling,
        "index_pairs",
        &["index pairs", "barcode sequences", "indexes", "indices"],
        List,
    ),
    spec(
        Sequencing,
        "platform",
        &["sequencing platform", "platform", "instrument", "sequencer"],
        Text,
    ),
    exact(
        Sequencing,
        "library_kit",
        &[
            "library preparation kit",
            "library prep kit",
            "library kit",
            "prep kit",
            "kit",
        ],
        Text,
    ),
    exact(
        Sequencing,
        "read_type",
        &["read type", "run type", "sequencing type", "reads"],
        Text,
    ),
    exact(Sequencing, "read_length", &["read length", "cycles", "length"], Text),
    exact(
        Sequencing,
        "coverage",
        &[
            "target coverage",
            "coverage",
            "depth",
            "sequencing depth",
            "reads per sample",
        ],
        Text,
    ),
    exact(
        Sequencing,
        "flow_cell",
        &["flow cell type", "flow cell", "flowcell"],
        Text,
    ),
    exact(
        Container,
        "container_type",
        &["container type", "container", "tube type", "plate type"],
        Text,
    ),
    exact(
        Container,
        "volume",
        &["volume per sample", "volume", "sample volume"],
        Text,
    ),
    exact(
        Container,
        "concentration",
        &["sample concentration", "concentration"],
        Text,
    ),
    exact(
        Container,
        "storage_temperature",
        &["storage temperature", "temperature", "store at"],
        Text,
    ),
    exact(
        Informatics,
        "analysis_type",
        &[
            "analysis type",
            "type of analysis",
            "analysis requested",
            "requested analysis",
            "analysis",
        ],
        Text,
    ),
    exact(
        Informatics,
        "reference_genome",
        &["reference genome", "genome", "reference", "genome build"],
        Text,
    ),
    exact(
        Informatics,
        "delivery_method",
        &["delivery method", "data delivery", "delivery"],
        Text,
    ),
    exact(
        SampleDetails,
        "sample_ids",
        &["sample ids", "sample id list", "samples"],
        List,
    ),
    exact(
        SampleDetails,
        "priority",
        &["priority", "urgency", "turnaround priority"],
        Priority,
    ),
    exact(
        SampleDetails,
        "instructions",
        &["special instructions", "instructions", "notes", "comments"],
        List,
    ),
];

/// Per-sample columns: block labels ("Sample ID: …" under "Sample 1:") and table headers.
pub static COLUMNS: &[Spec] = &[
    exact(
        SampleDetails,
        "sample_id",
        &["sample id", "id", "sample identifier", "sample no", "sample"],
        Text,
    ),
    exact(SampleDetails, "name", &["sample name", "name"], Text),
    exact(SampleDetails, "barcode", &["barcode", "tube barcode", "tube id"], Text),
    exact(SampleDetails, "sample_type", &["sample type", "type", "material"], Text),
    exact(SampleDetails, "volume", &["volume", "vol", "volume ul"], Text),
    exact(
        SampleDetails,
        "concentration",
        &["concentration", "conc", "concentration ng ul"],
        Text,
    ),
    exact(
        SampleDetails,
        "a260_280",
        &["260 280 ratio", "260 280", "a260 280", "a260 a280"],
        Text,
    ),
    exact(
        SampleDetails,
        "a260_230",
        &["260 230 ratio", "260 230", "a260 230", "a260 a230"],
        Text,
    ),
    exact(SampleDetails, "rin", &["rin score", "rin", "rin value"], Text),
    exact(
        SampleDetails,
        "collection_date",
        &["collection date", "collected", "date collected"],
        Date,
    ),
    exact(SampleDetails, "organism", &["organism", "species"], Text),
];

/// The fields a document cannot be accepted without: who to answer, what the samples are.
pub const CRITICAL: &[&str] = &["submitter_email", "sample_ids", "sample_type"];

/// The field named `name`, in either table.
pub fn find(name: &str) -> Option<&'static Spec> {
    FIELDS.iter().find(|s| s.name == name)
}

pub fn column(name: &str) -> Option<&'static Spec> {
    COLUMNS.iter().find(|s| s.name == name)
}

/// A label as compared: lower case, letters and digits, single spaces ("260/280 Ratio:"
/// is "260 280 ratio", "E-mail" is "e mail").
pub fn norm_label(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut space = false;
    for c in raw.chars() {
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_lowercase());
        } else {
            space = true;
        }
    }
    out
}

/// How well `label` names `spec`: 1.0 for one of its labels, 0.8 for a longer label that
/// ends in one (when the field allows it), otherwise none.
pub fn label_match(spec: &Spec, label: &str) -> Option<f64> {
    if spec.labels.contains(&label) {
        return Some(1.0);
    }
    if spec.suffix {
        for l in spec.labels {
            if label.len() > l.len() && label.ends_with(l) && label.as_bytes()[label.len() - l.len() - 1] == b' ' {
                return Some(0.8);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_normalised() {
        assert_eq!(norm_label("- 260/280 Ratio:"), "260 280 ratio");
        assert_eq!(norm_label("E-mail"), "e mail");
        assert_eq!(norm_label("  Project   ID "), "project id");
    }

    #[test]
    fn exact_labels_beat_suffixes_and_some_fields_take_no_suffix() {
        let email = find("submitter_email").unwrap();
        assert_eq!(label_match(email, "email"), Some(1.0));
        assert_eq!(label_match(email, "work email"), Some(0.8));
        assert_eq!(label_match(email, "emailing"), None);
        let analysis = find("analysis_type").unwrap();
        assert_eq!(label_match(analysis, "pathway analysis"), None);
    }

    #[test]
    fn every_field_name_is_unique_and_every_critical_field_exists() {
        let mut names: Vec<_> = FIELDS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
        for c in CRITICAL {
            assert!(find(c).is_some() || *c == "sample_type", "{c}");
        }
        for f in FIELDS.iter().chain(COLUMNS) {
            for l in f.labels {
                assert_eq!(&norm_label(l), l, "{} label {l:?} is not normalised", f.name);
            }
        }
    }
}
