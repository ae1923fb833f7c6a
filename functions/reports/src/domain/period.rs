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
    pub fn next(self, start: Date) -> Option<Date> {
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

/// Counters are kept per day and rolled up per ISO week and per month, so a year's report
/// reads a few dozen items per dimension value instead of 365. The key prefix of each.
impl Grouping {
    pub fn key_prefix(self) -> &'static str {
        match self {
            Self::Day => "",
            Self::Week => "W",
            Self::Month => "M",
        }
    }
}

/// One span of stored counters to read: those kept per `grain` whose period starts in
/// `from..=to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub grain: Grouping,
    pub from: Date,
    pub to: Date,
}

/// What a report grouped by `g` over `range` reads: the rolled-up counters of every
/// period that ends within the range, and the days of a last period the range cuts short.
/// (The first period is read whole, from its start: periods are reported whole.)
pub fn spans(range: Range, g: Grouping) -> Vec<Span> {
    let periods = range.periods(g);
    let (Some(&first), Some(&last)) = (periods.first(), periods.last()) else {
        return Vec::new();
    };
    if g == Grouping::Day {
        return vec![Span {
            grain: g,
            from: first,
            to: last,
        }];
    }
    let last_end = g.next(last).and_then(|n| n.previous_day()).unwrap_or(last);
    if last_end <= range.to {
        return vec![Span {
            grain: g,
            from: first,
            to: last,
        }];
    }
    let mut out = Vec::new();
    if let Some(&before) = periods.len().checked_sub(2).and_then(|i| periods.get(i)) {
        out.push(Span {
            grain: g,
            from: first,
            to: before,
        });
    }
    out.push(Span {
        grain: Grouping::Day,
        from: last,
        to: range.to,
    });
    out
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

    #[test]
    fn whole_periods_come_from_rollups_and_a_cut_last_one_from_its_days() {
        use time::macros::date;
        let year = Range::new(date!(2025 - 12 - 05), date!(2026 - 12 - 04)).unwrap();
        assert_eq!(
            spans(year, Grouping::Month),
            [
                Span {
                    grain: Grouping::Month,
                    from: date!(2025 - 12 - 01),
                    to: date!(2026 - 11 - 01)
                },
                Span {
                    grain: Grouping::Day,
                    from: date!(2026 - 12 - 01),
                    to: date!(2026 - 12 - 04)
                },
            ]
        );
        let whole = Range::new(date!(2026 - 01 - 01), date!(2026 - 12 - 31)).unwrap();
        assert_eq!(
            spans(whole, Grouping::Month),
            [Span {
                grain: Grouping::Month,
                from: date!(2026 - 01 - 01),
                to: date!(2026 - 12 - 01)
            }]
        );
        // 2026-12-04 is a Friday: its week is read by day.
        let weeks = Range::new(date!(2026 - 11 - 23), date!(2026 - 12 - 04)).unwrap();
        assert_eq!(
            spans(weeks, Grouping::Week),
            [
                Span {
                    grain: Grouping::Week,
                    from: date!(2026 - 11 - 23),
                    to: date!(2026 - 11 - 23)
                },
                Span {
                    grain: Grouping::Day,
                    from: date!(2026 - 11 - 30),
                    to: date!(2026 - 12 - 04)
                },
            ]
        );
        let days = Range::new(date!(2026 - 12 - 01), date!(2026 - 12 - 04)).unwrap();
        assert_eq!(
            spans(days, Grouping::Day),
            [Span {
                grain: Grouping::Day,
                from: date!(2026 - 12 - 01),
                to: date!(2026 - 12 - 04)
            }]
        );
    }
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
