//! Temperature monitoring of a storage unit (docs/domain.md, Storage: monitoring). A unit
//! has an allowed band and a grace period; its sensor's readings go through one
//! transition function, [`step`]: leaving the band starts an excursion, an excursion that
//! lasts the grace period raises the alert, and the first reading back in the band
//! recovers it. Readings are times in seconds since the epoch and °C.

use crate::domain::zone::Zone;
use serde::{Deserialize, Serialize};
use tracseq_core::FieldError;

/// Readings outside this are a broken sensor, not a temperature.
pub const PLAUSIBLE_C: (f64, f64) = (-273.15, 200.0);
pub const MAX_GRACE_MINUTES: u32 = 1440;
pub const DEFAULT_GRACE_MINUTES: u32 = 15;

/// Where a unit's temperature must stay.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Band {
    /// Lowest allowed reading, °C.
    pub min_celsius: f64,
    /// Highest allowed reading, °C.
    pub max_celsius: f64,
    /// How long a reading may stay outside before the alert (0-1440 minutes).
    #[schema(maximum = 1440)]
    pub grace_minutes: u32,
}

impl Band {
    /// The zone's accepted range with the default grace period.
    pub fn for_zone(zone: Zone) -> Self {
        let (min_celsius, max_celsius) = zone.range_c();
        Self {
            min_celsius,
            max_celsius,
            grace_minutes: DEFAULT_GRACE_MINUTES,
        }
    }

    /// Every rule the band breaks.
    pub fn check(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (field, v) in [("min_celsius", self.min_celsius), ("max_celsius", self.max_celsius)] {
            if !(PLAUSIBLE_C.0..=PLAUSIBLE_C.1).contains(&v) {
                errors.push(FieldError::field(field, "range", "between -273.15 and 200 °C").with_value(v.to_string()));
            }
        }
        if errors.is_empty() && self.min_celsius >= self.max_celsius {
            errors.push(FieldError::field("max_celsius", "greater_than", "above min_celsius"));
        }
        if self.grace_minutes > MAX_GRACE_MINUTES {
            errors.push(
                FieldError::field("grace_minutes", "range", "0-1440 minutes")
                    .with_value(self.grace_minutes.to_string()),
            );
        }
        errors
    }

    pub fn contains(&self, celsius: f64) -> bool {
        (self.min_celsius..=self.max_celsius).contains(&celsius)
    }

    /// How far outside the band a reading is (0 inside).
    fn distance(&self, celsius: f64) -> f64 {
        (self.min_celsius - celsius).max(celsius - self.max_celsius).max(0.0)
    }

    /// Of two readings, the one farther outside.
    fn worse(&self, a: f64, b: f64) -> f64 {
        if self.distance(b) > self.distance(a) { b } else { a }
    }
}

/// Where a unit stands.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Watch {
    /// In the band (or no reading yet).
    Normal,
    /// Outside since `since`, for less than the grace period so far.
    Excursion { since: i64, worst_celsius: f64 },
    /// The alert is raised; waiting for a reading back in the band.
    Alerting {
        since: i64,
        alerted_at: i64,
        worst_celsius: f64,
    },
}

/// A sensor reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub at: i64,
    pub celsius: f64,
}

/// What a reading changed that people must hear about.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// Outside the band since `since`, still at `reading` after the grace period.
    Alert {
        since: i64,
        reading: Reading,
        worst_celsius: f64,
    },
    /// Back in the band at `reading` after an alert that began at `since`.
    Recovered {
        since: i64,
        reading: Reading,
        worst_celsius: f64,
    },
}

/// One reading through the watch: the one transition function.
pub fn step(watch: Watch, band: &Band, r: Reading) -> (Watch, Option<Change>) {
    let inside = band.contains(r.celsius);
    let grace = i64::from(band.grace_minutes) * 60;
    match (watch, inside) {
        (Watch::Normal, true) => (Watch::Normal, None),
        (Watch::Normal, false) => alert_after(band, r.at, r.celsius, r, grace),
        // A blip shorter than the grace period is forgotten.
        (Watch::Excursion { .. }, true) => (Watch::Normal, None),
        (Watch::Excursion { since, worst_celsius }, false) => {
            alert_after(band, since, band.worse(worst_celsius, r.celsius), r, grace)
        }
        (
            Watch::Alerting {
                since,
                alerted_at,
                worst_celsius,
            },
            false,
        ) => (
            Watch::Alerting {
                since,
                alerted_at,
                worst_celsius: band.worse(worst_celsius, r.celsius),
            },
            None,
        ),
        (
            Watch::Alerting {
                since, worst_celsius, ..
            },
            true,
        ) => (
            Watch::Normal,
            Some(Change::Recovered {
                since,
                reading: r,
                worst_celsius,
            }),
        ),
    }
}

/// Outside since `since`: the alert once the grace period has passed, else an excursion.
fn alert_after(band: &Band, since: i64, worst: f64, r: Reading, grace: i64) -> (Watch, Option<Change>) {
    let worst = band.worse(worst, r.celsius);
    if r.at - since >= grace {
        (
            Watch::Alerting {
                since,
                alerted_at: r.at,
                worst_celsius: worst,
            },
            Some(Change::Alert {
                since,
                reading: r,
                worst_celsius: worst,
            }),
        )
    } else {
        (
            Watch::Excursion {
                since,
                worst_celsius: worst,
            },
            None,
        )
    }
}

/// A batch through the watch in time order. Readings at or before `last_at` (already
/// judged, or arriving late) are kept as data but do not move the watch. Answers the new
/// watch, the new `last_at` and the changes, oldest first.
pub fn run(
    mut watch: Watch,
    band: &Band,
    last_at: Option<i64>,
    readings: &[Reading],
) -> (Watch, Option<i64>, Vec<Change>) {
    let mut sorted: Vec<Reading> = readings
        .iter()
        .copied()
        .filter(|r| last_at.is_none_or(|l| r.at > l))
        .collect();
    sorted.sort_by_key(|r| r.at);
    sorted.dedup_by_key(|r| r.at);
    let mut changes = Vec::new();
    let mut last = last_at;
    for r in sorted {
        let (next, change) = step(watch, band, r);
        watch = next;
        changes.extend(change);
        last = Some(r.at);
    }
    (watch, last, changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BAND: Band = Band {
        min_celsius: -90.0,
        max_celsius: -65.0,
        grace_minutes: 10,
    };

    fn at(minute: i64, celsius: f64) -> Reading {
        Reading {
            at: 1_700_000_000 + minute * 60,
            celsius,
        }
    }

    #[test]
    fn an_excursion_alerts_after_the_grace_period_and_recovers_once() {
        let readings = [
            at(0, -80.0),
            at(1, -60.0),
            at(5, -50.0),
            at(11, -58.0),
            at(12, -55.0),
            at(20, -70.0),
            at(21, -71.0),
        ];
        let (watch, last, changes) = run(Watch::Normal, &BAND, None, &readings);
        assert_eq!(watch, Watch::Normal);
        assert_eq!(last, Some(at(21, 0.0).at));
        assert_eq!(
            changes,
            [
                Change::Alert {
                    since: at(1, 0.0).at,
                    reading: at(11, -58.0),
                    worst_celsius: -50.0
                },
                Change::Recovered {
                    since: at(1, 0.0).at,
                    reading: at(20, -70.0),
                    worst_celsius: -50.0
                },
            ]
        );
    }

    #[test]
    fn a_blip_shorter_than_the_grace_period_is_forgotten() {
        let (watch, _, changes) = run(
            Watch::Normal,
            &BAND,
            None,
            &[at(0, -60.0), at(9, -61.0), at(10, -70.0), at(30, -60.0)],
        );
        assert!(changes.is_empty());
        // The last reading starts a new excursion of its own.
        assert_eq!(
            watch,
            Watch::Excursion {
                since: at(30, 0.0).at,
                worst_celsius: -60.0
            }
        );
    }

    #[test]
    fn no_grace_alerts_at_once_and_too_cold_counts_as_well() {
        let band = Band {
            grace_minutes: 0,
            ..BAND
        };
        let (_, _, changes) = run(Watch::Normal, &band, None, &[at(0, -95.0)]);
        assert!(matches!(changes[..], [Change::Alert { worst_celsius, .. }] if worst_celsius == -95.0));
    }

    #[test]
    fn batches_split_anywhere_give_the_same_changes() {
        let readings: Vec<Reading> = (0..40)
            .map(|m| at(m, if (5..25).contains(&m) { -60.0 } else { -80.0 }))
            .collect();
        let (w_all, l_all, c_all) = run(Watch::Normal, &BAND, None, &readings);
        for split in 1..readings.len() {
            let (w, l, mut c) = run(Watch::Normal, &BAND, None, &readings[..split]);
            let (w2, l2, c2) = run(w, &BAND, l, &readings[split..]);
            c.extend(c2);
            assert_eq!((w2, l2, &c), (w_all, l_all, &c_all), "split at {split}");
        }
        assert_eq!(c_all.len(), 2);
    }

    #[test]
    fn late_and_repeated_readings_do_not_move_the_watch() {
        let (w, l, _) = run(Watch::Normal, &BAND, None, &[at(0, -80.0), at(10, -80.0)]);
        // An out-of-range reading from before the last one judged is data only.
        let (w2, l2, c) = run(w, &BAND, l, &[at(5, -10.0), at(10, -10.0)]);
        assert_eq!((w2, l2, c.len()), (Watch::Normal, l, 0));
        // Out of order within a batch is put in order.
        let (_, _, c) = run(
            Watch::Normal,
            &BAND,
            None,
            &[at(20, -60.0), at(0, -60.0), at(30, -80.0)],
        );
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn bands_are_checked() {
        assert!(Band::for_zone(Zone::Freezer).check().is_empty());
        let bad = Band {
            min_celsius: -10.0,
            max_celsius: -20.0,
            grace_minutes: 2000,
        };
        let fields: Vec<String> = bad.check().into_iter().filter_map(|e| e.field).collect();
        assert_eq!(fields, ["max_celsius", "grace_minutes"]);
        let absurd = Band {
            min_celsius: -300.0,
            ..BAND
        };
        assert_eq!(absurd.check()[0].field.as_deref(), Some("min_celsius"));
    }
}
