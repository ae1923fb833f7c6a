//! Report periods: a date range cut into days, ISO weeks (Monday first) or months.

use std::str::FromStr;
use time::{Date, Duration, Month};

/// Longest range a report covers: five years of days.
pub const MAX_DAYS: i64 = 5 * 366;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    Day,
    Week,
    Month,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("group is day, week or month")]
    Grouping,
    #[error("from comes after to")]
    Reversed,
    #[error("a report covers at most {MAX_DAYS} days")]
    TooLong,
}

impl FromStr for Grouping {
    type Err = PeriodError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "day" => Ok(Self::Day),
            "week" => Ok(Self::Week),
            "month" => Ok(Self::Month),
            _ => Err(PeriodError::Grouping),
        }
    }
}

impl Grouping {
    /// The first day of the period holding `d`.
    pub fn start(self, d: Date) -> Date {
        match self {
            Self::Day => d,
            Self::Week => d - Duration::days(i64::from(d.weekday().number_days_from_monday())),
            Self::Month => d.replace_day(1).unwrap_or(d),
        }
    }

    /// The first day of the period after the one starting at `start`.
    fn next(self, start: Date) -> Option<Date> {
        match self {
            Self::Day => start.next_day(),
            Self::Week => start.checked_add(Duration::days(7)),
            Self::Month => {
                let (y, m) = match start.month() {
                    Month::December => (start.year() + 1, Month::January),
                    m => (start.year(), m.next()),
                };
                Date::from_calendar_date(y, m, 1).ok()
            }
        }
    }
}

/// A closed range of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: Date,
    pub to: Date,
}

impl Range {
    pub fn new(from: Date, to: Date) -> Result<Self, PeriodError> {
        if from > to {
            return Err(PeriodError::Reversed);
        }
        if (to - from).whole_days() >= MAX_DAYS {
            return Err(PeriodError::TooLong);
        }
        Ok(Self { from, to })
    }

    /// The start of every period that overlaps the range, in order.
    pub fn periods(self, g: Grouping) -> Vec<Date> {
        let mut out = Vec::new();
        let mut p = g.start(self.from);
        while p <= self.to {
            out.push(p);
            match g.next(p) {
                Some(n) => p = n,
                None => break,
            }
        }
        out
    }

    pub fn contains(self, d: Date) -> bool {
        self.from <= d && d <= self.to
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn periods_start_on_the_day_the_monday_or_the_first() {
        assert_eq!(Grouping::Week.start(date!(2026 - 12 - 04)), date!(2026 - 11 - 30));
        assert_eq!(
            Grouping::Week.start(date!(2027 - 01 - 03)).weekday(),
            time::Weekday::Monday
        );
        assert_eq!(Grouping::Month.start(date!(2026 - 12 - 04)), date!(2026 - 12 - 01));
        assert_eq!(Grouping::Day.start(date!(2026 - 12 - 04)), date!(2026 - 12 - 04));
    }

    #[test]
    fn a_range_is_cut_into_every_overlapping_period() {
        let r = Range::new(date!(2026 - 11 - 15), date!(2027 - 01 - 10)).unwrap();
        assert_eq!(
            r.periods(Grouping::Month),
            vec![date!(2026 - 11 - 01), date!(2026 - 12 - 01), date!(2027 - 01 - 01)]
        );
        let weeks = r.periods(Grouping::Week);
        assert_eq!(weeks.first(), Some(&date!(2026 - 11 - 09)));
        assert_eq!(weeks.last(), Some(&date!(2027 - 01 - 04)));
        assert!(weeks.windows(2).all(|w| (w[1] - w[0]).whole_days() == 7));
        assert_eq!(r.periods(Grouping::Day).len(), 57);
        let leap = Range::new(date!(2028 - 01 - 01), date!(2028 - 12 - 31)).unwrap();
        assert_eq!(leap.periods(Grouping::Day).len(), 366);
        assert_eq!(leap.periods(Grouping::Month).len(), 12);
    }

    #[test]
    fn bad_ranges_and_groupings_are_refused() {
        assert_eq!(
            Range::new(date!(2026 - 12 - 02), date!(2026 - 12 - 01)),
            Err(PeriodError::Reversed)
        );
        assert_eq!(
            Range::new(date!(2020 - 01 - 01), date!(2026 - 01 - 01)),
            Err(PeriodError::TooLong)
        );
        assert_eq!("year".parse::<Grouping>(), Err(PeriodError::Grouping));
        assert_eq!("week".parse::<Grouping>(), Ok(Grouping::Week));
    }
}
