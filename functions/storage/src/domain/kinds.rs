//! Location kinds, unit status and what may contain what (docs/domain.md, Storage: site →
//! building → room → unit → shelf/rack → box/plate → position).
//!
//! What may contain what (written out in docs/domain.md, Storage):
//! - a unit (freezer, fridge, incubator, LN2 dewar, cabinet) carries the temperature zone
//!   and the status, so everything below it inherits both;
//! - holders (shelf, rack, drawer) and grids (box, plate) live inside a unit, so every
//!   position has a zone; holders nest (a rack on a shelf);
//! - a grid holds positions, never other locations;
//! - site, building, room and unit may be roots (a lab with one freezer needs no site).

use tracseq_core::named_enum;

named_enum!(
    /// What a location is.
    LocationKind {
        Site => "site",
        Building => "building",
        Room => "room",
        Freezer => "freezer",
        Fridge => "fridge",
        Incubator => "incubator",
        Ln2Dewar => "ln2_dewar",
        Cabinet => "cabinet",
        Shelf => "shelf",
        Rack => "rack",
        Drawer => "drawer",
        Box => "box",
        Plate => "plate",
    }
);

named_enum!(
    /// Whether a unit takes samples: only an active one does; samples may always leave.
    LocationStatus {
        Active => "active",
        Maintenance => "maintenance",
        Offline => "offline",
    }
);

named_enum!(
    /// The order in which a grid's positions are filled and suggested.
    FillOrder {
        RowMajor => "row",
        ColumnMajor => "column",
    }
);

/// Where a kind sits in the hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    Site,
    Building,
    Room,
    Unit,
    Holder,
    Grid,
}

impl LocationKind {
    pub fn tier(self) -> Tier {
        use LocationKind::*;
        match self {
            Site => Tier::Site,
            Building => Tier::Building,
            Room => Tier::Room,
            Freezer | Fridge | Incubator | Ln2Dewar | Cabinet => Tier::Unit,
            Shelf | Rack | Drawer => Tier::Holder,
            Box | Plate => Tier::Grid,
        }
    }

    pub fn is_unit(self) -> bool {
        self.tier() == Tier::Unit
    }

    pub fn is_grid(self) -> bool {
        self.tier() == Tier::Grid
    }

    /// Whether a `self` may sit under `parent` (`None`: at the root).
    pub fn may_sit_under(self, parent: Option<LocationKind>) -> Result<(), String> {
        let me = self.tier();
        let ok = match parent.map(LocationKind::tier) {
            None => me <= Tier::Unit,
            Some(Tier::Grid) => false,
            Some(Tier::Unit | Tier::Holder) => me >= Tier::Holder,
            Some(p) => me > p && me <= Tier::Unit,
        };
        if ok {
            return Ok(());
        }
        Err(match parent {
            None => format!("a {} belongs inside a storage unit", self.as_str()),
            Some(p) if p.is_grid() => format!("a {} holds positions, not locations", p.as_str()),
            Some(p) => format!("a {} cannot be inside a {}", self.as_str(), p.as_str()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::LocationKind::*;
    use super::*;

    #[test]
    fn containment_follows_the_hierarchy() {
        for (child, parent, ok) in [
            (Site, None, true),
            (Freezer, None, true),
            (Box, None, false),
            (Shelf, None, false),
            (Building, Some(Site), true),
            (Room, Some(Building), true),
            (Freezer, Some(Room), true),
            (Freezer, Some(Site), true),
            (Shelf, Some(Freezer), true),
            (Rack, Some(Shelf), true),
            (Box, Some(Rack), true),
            (Plate, Some(Fridge), true),
            (Freezer, Some(Freezer), false),
            (Room, Some(Freezer), false),
            (Site, Some(Room), false),
            (Box, Some(Box), false),
            (Box, Some(Room), false),
            (Rack, Some(Plate), false),
        ] {
            assert_eq!(child.may_sit_under(parent).is_ok(), ok, "{child:?} in {parent:?}");
        }
        assert!(Box.may_sit_under(Some(Plate)).unwrap_err().contains("holds positions"));
    }

    #[test]
    fn names_parse_forgivingly() {
        assert_eq!(LocationKind::parse("LN2 Dewar"), Some(Ln2Dewar));
        assert_eq!(FillOrder::parse("column"), Some(FillOrder::ColumnMajor));
        assert_eq!(LocationStatus::parse("Maintenance"), Some(LocationStatus::Maintenance));
        assert!(Freezer.is_unit() && Plate.is_grid() && !Rack.is_grid());
    }
}
