//! Temperature zones and the zones each sample type may be stored in (docs/domain.md, Storage).
//!
//! RNA needs ultra_low (or colder); the other defaults follow common biobank practice and
//! accept a colder zone wherever a warmer one is accepted for frozen material (RNA in LN2
//! vapour is fine; DNA in a −20 freezer is fine). A deployment overrides the table with
//! `STORAGE_ZONE_RULES` (JSON: sample type → zones).

use std::collections::HashMap;
use tracseq_core::named_enum;
use tracseq_lab::kinds::SampleType;

named_enum!(
    /// A unit's temperature zone.
    Zone {
        UltraLow => "ultra_low",
        Freezer => "freezer",
        Refrigerated => "refrigerated",
        RoomTemperature => "room_temperature",
        Incubator => "incubator",
        Ln2Vapor => "ln2_vapor",
    }
);

impl Zone {
    /// Nominal set point and accepted range in °C (LN2 vapour: at or below −150).
    pub fn range_c(self) -> (f64, f64) {
        match self {
            Zone::UltraLow => (-90.0, -65.0),
            Zone::Freezer => (-25.0, -15.0),
            Zone::Refrigerated => (2.0, 8.0),
            Zone::RoomTemperature => (15.0, 25.0),
            Zone::Incubator => (35.0, 39.0),
            Zone::Ln2Vapor => (-196.0, -150.0),
        }
    }

    /// Frozen zones: a retrieval from one counts as a freeze-thaw cycle.
    pub fn is_frozen(self) -> bool {
        matches!(self, Zone::UltraLow | Zone::Freezer | Zone::Ln2Vapor)
    }
}

/// Which zones each sample type may be stored in; a type absent from the table goes anywhere.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneRules(HashMap<SampleType, Vec<Zone>>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    #[error("STORAGE_ZONE_RULES is not a JSON object of sample type to zone list: {0}")]
    Shape(String),
    #[error("STORAGE_ZONE_RULES: unknown sample type {0:?}")]
    Type(String),
    #[error("STORAGE_ZONE_RULES: unknown zone {0:?}")]
    Zone(String),
}

impl Default for ZoneRules {
    fn default() -> Self {
        use SampleType::*;
        use Zone::*;
        let frozen = vec![UltraLow, Ln2Vapor];
        let cold = vec![Freezer, UltraLow, Ln2Vapor];
        let rules = [
            (Rna, frozen.clone()),
            (Tissue, frozen.clone()),
            (CellPellet, frozen.clone()),
            (Protein, cold.clone()),
            (Plasma, cold.clone()),
            (Serum, cold.clone()),
            (Cdna, cold.clone()),
            (Library, cold.clone()),
            (Pool, cold.clone()),
            (Dna, vec![Refrigerated, Freezer, UltraLow, Ln2Vapor]),
            (Blood, vec![Refrigerated, Freezer, UltraLow]),
            (Saliva, vec![Refrigerated, Freezer, UltraLow]),
            (Urine, vec![Refrigerated, Freezer, UltraLow]),
            (Swab, vec![Refrigerated, Freezer, UltraLow]),
            (Environmental, vec![Refrigerated, Freezer, UltraLow]),
            (Ffpe, vec![RoomTemperature, Refrigerated]),
            (CellCulture, vec![Incubator, Ln2Vapor]),
        ];
        Self(rules.into_iter().collect())
    }
}

impl ZoneRules {
    /// The defaults with `json` (sample type → zones) laid over them.
    pub fn with_overrides(json: &str) -> Result<Self, RulesError> {
        let raw: HashMap<String, Vec<String>> =
            serde_json::from_str(json).map_err(|e| RulesError::Shape(e.to_string()))?;
        let mut rules = Self::default();
        for (ty, zones) in raw {
            let ty = SampleType::parse(&ty).ok_or(RulesError::Type(ty))?;
            let zones = zones
                .into_iter()
                .map(|z| Zone::parse(&z).ok_or(RulesError::Zone(z)))
                .collect::<Result<Vec<_>, _>>()?;
            rules.0.insert(ty, zones);
        }
        Ok(rules)
    }

    /// `Err` names the rule when `ty` may not be stored in `zone`.
    pub fn check(&self, ty: SampleType, zone: Zone) -> Result<(), String> {
        match self.0.get(&ty) {
            Some(allowed) if !allowed.contains(&zone) => Err(format!(
                "{} must be stored in {}; this location is {}",
                ty.as_str(),
                allowed.iter().map(|z| z.as_str()).collect::<Vec<_>>().join(" or "),
                zone.as_str()
            )),
            _ => Ok(()),
        }
    }

    /// Zones `ty` may go into, in preference order (all zones when unrestricted).
    pub fn allowed(&self, ty: SampleType) -> Vec<Zone> {
        self.0.get(&ty).cloned().unwrap_or_else(|| Zone::ALL.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rna_needs_ultra_low_and_the_refusal_names_the_rule() {
        let rules = ZoneRules::default();
        let why = rules.check(SampleType::Rna, Zone::Freezer).unwrap_err();
        assert_eq!(
            why,
            "RNA must be stored in ultra_low or ln2_vapor; this location is freezer"
        );
        assert!(rules.check(SampleType::Rna, Zone::UltraLow).is_ok());
        assert!(rules.check(SampleType::Other, Zone::Incubator).is_ok());
        assert!(rules.check(SampleType::Ffpe, Zone::UltraLow).is_err());
        assert_eq!(rules.allowed(SampleType::Other).len(), 6);
    }

    #[test]
    fn overrides_replace_one_type_and_reject_unknown_names() {
        let rules = ZoneRules::with_overrides(r#"{"rna": ["freezer"]}"#).unwrap();
        assert!(rules.check(SampleType::Rna, Zone::Freezer).is_ok());
        assert!(rules.check(SampleType::Tissue, Zone::Freezer).is_err());
        assert!(matches!(
            ZoneRules::with_overrides(r#"{"plasmid": []}"#),
            Err(RulesError::Type(_))
        ));
        assert!(matches!(
            ZoneRules::with_overrides(r#"{"RNA": ["hot"]}"#),
            Err(RulesError::Zone(_))
        ));
        assert!(matches!(ZoneRules::with_overrides("[]"), Err(RulesError::Shape(_))));
    }

    #[test]
    fn frozen_zones_count_freeze_thaw() {
        assert!(Zone::UltraLow.is_frozen() && Zone::Ln2Vapor.is_frozen() && Zone::Freezer.is_frozen());
        assert!(!Zone::Refrigerated.is_frozen());
        assert_eq!(Zone::UltraLow.range_c(), (-90.0, -65.0));
    }
}
