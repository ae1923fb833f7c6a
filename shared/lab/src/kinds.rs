//! Sample types and priorities (docs/domain.md, Samples). Parsing is forgiving about case,
//! spaces, `_` and `-` ("cell_culture", "Cell Culture", "CELL-CULTURE"), because these
//! names arrive from spreadsheets typed by people; what is stored is the canonical name.

pub use tracseq_core::named::squash;
use tracseq_core::named_enum;

named_enum!(
    /// What a sample is.
    SampleType {
        Dna => "DNA",
        Rna => "RNA",
        Cdna => "cDNA",
        Protein => "Protein",
        Blood => "Blood",
        Plasma => "Plasma",
        Serum => "Serum",
        Saliva => "Saliva",
        Urine => "Urine",
        Swab => "Swab",
        Tissue => "Tissue",
        Ffpe => "FFPE",
        CellCulture => "Cell Culture",
        CellPellet => "Cell Pellet",
        Environmental => "Environmental",
        Library => "Library",
        Pool => "Pool",
        Other => "Other",
    }
);

named_enum!(
    /// How urgently a sample is handled.
    Priority {
        Low => "low",
        Normal => "normal",
        High => "high",
        Urgent => "urgent",
    }
);

// The enum comes from the macro, which cannot mark a default variant.
#[allow(clippy::derivable_impls)]
impl Default for Priority {
    fn default() -> Self {
        Priority::Normal
    }
}

named_enum!(
    /// How a sample came from its parent.
    ParentRelation {
        AliquotOf => "aliquot_of",
        DerivedFrom => "derived_from",
        PooledFrom => "pooled_from",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_forgivingly_and_serialize_canonically() {
        assert_eq!(SampleType::parse("cell_culture"), Some(SampleType::CellCulture));
        assert_eq!(SampleType::parse(" CELL-CULTURE "), Some(SampleType::CellCulture));
        assert_eq!(SampleType::parse("cdna"), Some(SampleType::Cdna));
        assert_eq!(SampleType::parse("ffpe"), Some(SampleType::Ffpe));
        assert_eq!(SampleType::parse("plasmid"), None);
        assert_eq!(serde_json::to_value(SampleType::CellCulture).unwrap(), "Cell Culture");
        assert_eq!(SampleType::ALL.len(), 18);
        assert_eq!(Priority::parse("URGENT"), Some(Priority::Urgent));
        assert_eq!(Priority::default(), Priority::Normal);
    }
}
