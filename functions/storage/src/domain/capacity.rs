//! Capacity levels (docs/domain.md: warning at 80 %, critical at 95 %). A location remembers
//! the level it last announced; an event fires when the level rises above it, and the
//! memory follows the level down, so each upward crossing is announced once.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    #[default]
    Normal,
    Warning,
    Critical,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Normal => "normal",
            Level::Warning => "warning",
            Level::Critical => "critical",
        }
    }
}

/// Thresholds in percent of capacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub warning: f64,
    pub critical: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            warning: 80.0,
            critical: 95.0,
        }
    }
}

/// Percent full (0 for a location without positions).
pub fn percent(occupied: u64, capacity: u64) -> f64 {
    if capacity == 0 {
        0.0
    } else {
        occupied as f64 * 100.0 / capacity as f64
    }
}

impl Thresholds {
    pub fn level(&self, occupied: u64, capacity: u64) -> Level {
        let p = percent(occupied, capacity);
        if capacity == 0 {
            Level::Normal
        } else if p >= self.critical {
            Level::Critical
        } else if p >= self.warning {
            Level::Warning
        } else {
            Level::Normal
        }
    }
}

/// What to do with a location's remembered level now that it holds `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crossing {
    /// Nothing changed.
    Same,
    /// Announce `now` and remember it.
    Up(Level),
    /// Remember the lower level silently, so the next rise is announced again.
    Down(Level),
}

pub fn crossing(remembered: Level, now: Level) -> Crossing {
    match now.cmp(&remembered) {
        std::cmp::Ordering::Equal => Crossing::Same,
        std::cmp::Ordering::Greater => Crossing::Up(now),
        std::cmp::Ordering::Less => Crossing::Down(now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_start_exactly_at_the_thresholds() {
        let t = Thresholds::default();
        assert_eq!(t.level(79, 100), Level::Normal);
        assert_eq!(t.level(80, 100), Level::Warning);
        assert_eq!(t.level(94, 100), Level::Warning);
        assert_eq!(t.level(95, 100), Level::Critical);
        assert_eq!(t.level(8, 10), Level::Warning);
        assert_eq!(t.level(9, 10), Level::Warning);
        assert_eq!(t.level(10, 10), Level::Critical);
        assert_eq!(t.level(0, 0), Level::Normal);
        assert_eq!(percent(1, 4), 25.0);
    }

    #[test]
    fn only_upward_crossings_are_announced() {
        use Level::*;
        assert_eq!(crossing(Normal, Warning), Crossing::Up(Warning));
        assert_eq!(crossing(Normal, Critical), Crossing::Up(Critical));
        assert_eq!(crossing(Warning, Warning), Crossing::Same);
        assert_eq!(crossing(Critical, Warning), Crossing::Down(Warning));
        assert_eq!(crossing(Warning, Normal), Crossing::Down(Normal));
    }
}
