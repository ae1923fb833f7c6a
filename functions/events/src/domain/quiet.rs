//! Quiet hours: a daily window in the subscriber's time zone during which messages below
//! urgent wait until the window ends.

use jiff::Timestamp;
use jiff::civil::Time;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// `HH:MM`, local time.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub start: String,
    /// `HH:MM`, local time; before `start` means the window spans midnight; not `start`.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub end: String,
    /// An IANA time zone, like `Europe/Berlin`.
    #[schema(max_length = 64, pattern = r"^(UTC|[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)+)$")]
    pub time_zone: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuietError {
    #[error("{0} is not a time of day in HH:MM")]
    Time(String),
    #[error("{0} is not a known IANA time zone")]
    Zone(String),
    #[error("start and end are the same time")]
    Empty,
}

/// A checked window.
#[derive(Debug, Clone)]
pub struct Window {
    start: Time,
    end: Time,
    tz: TimeZone,
}

impl QuietHours {
    pub fn check(&self) -> Result<Window, QuietError> {
        let time = |s: &str| {
            let (h, m) = s.split_once(':').ok_or_else(|| QuietError::Time(s.to_owned()))?;
            let ok = h.len() == 2 && m.len() == 2;
            let (h, m) = (h.parse::<i8>(), m.parse::<i8>());
            match (ok, h, m) {
                (true, Ok(h), Ok(m)) => Time::new(h, m, 0, 0).map_err(|_| QuietError::Time(s.to_owned())),
                _ => Err(QuietError::Time(s.to_owned())),
            }
        };
        let start = time(&self.start)?;
        let end = time(&self.end)?;
        if start == end {
            return Err(QuietError::Empty);
        }
        let tz = TimeZone::get(&self.time_zone).map_err(|_| QuietError::Zone(self.time_zone.clone()))?;
        Ok(Window { start, end, tz })
    }
}

impl Window {
    /// When a message arriving at `now` may go out: `None` if now is outside the window,
    /// else the window's end (the next local `end` after now).
    pub fn release_at(&self, now: Timestamp) -> Option<Timestamp> {
        let local = now.to_zoned(self.tz.clone());
        let t = local.time();
        let inside = if self.start < self.end {
            t >= self.start && t < self.end
        } else {
            t >= self.start || t < self.end
        };
        if !inside {
            return None;
        }
        let mut day = local.date();
        if t >= self.end {
            day = day.tomorrow().ok()?;
        }
        // A local time skipped by a DST change resolves forward (compatible disambiguation).
        day.to_datetime(self.end)
            .to_zoned(self.tz.clone())
            .ok()
            .map(|z| z.timestamp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(start: &str, end: &str, tz: &str) -> Window {
        QuietHours {
            start: start.into(),
            end: end.into(),
            time_zone: tz.into(),
        }
        .check()
        .unwrap()
    }

    #[test]
    fn overnight_window_in_a_time_zone() {
        let w = q("22:00", "07:00", "Europe/Berlin");
        // 2026-11-27 23:30 in Berlin (UTC+1) is 22:30 UTC: quiet until 06:00 UTC next day.
        let now: Timestamp = "2026-11-27T22:30:00Z".parse().unwrap();
        assert_eq!(w.release_at(now), Some("2026-11-28T06:00:00Z".parse().unwrap()));
        // 03:00 local is 02:00 UTC: still quiet, same day's 07:00.
        let now: Timestamp = "2026-11-28T02:00:00Z".parse().unwrap();
        assert_eq!(w.release_at(now), Some("2026-11-28T06:00:00Z".parse().unwrap()));
        // Noon local: not quiet.
        assert_eq!(w.release_at("2026-11-28T11:00:00Z".parse().unwrap()), None);
    }

    #[test]
    fn daytime_window_and_summer_time() {
        let w = q("12:00", "13:00", "America/New_York");
        // July: UTC-4, so 12:30 local is 16:30 UTC.
        let now: Timestamp = "2026-07-01T16:30:00Z".parse().unwrap();
        assert_eq!(w.release_at(now), Some("2026-07-01T17:00:00Z".parse().unwrap()));
        assert_eq!(w.release_at("2026-07-01T17:00:00Z".parse().unwrap()), None);
    }

    #[test]
    fn refuses_bad_settings() {
        let bad = |s: &str, e: &str, z: &str| {
            QuietHours {
                start: s.into(),
                end: e.into(),
                time_zone: z.into(),
            }
            .check()
            .is_err()
        };
        assert!(bad("25:00", "07:00", "UTC"));
        assert!(bad("7:00", "08:00", "UTC"));
        assert!(bad("07:00", "07:00", "UTC"));
        assert!(bad("07:00", "08:00", "Mars/Olympus"));
    }
}
