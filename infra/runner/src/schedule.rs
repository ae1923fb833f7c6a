//! Schedules: moto stores EventBridge schedules but never fires them, so the runner does,
//! for `rate(...)` and `cron(...)` expressions (AWS's six-field cron, UTC).

use crate::functions::Functions;
use serde_json::{Value, json};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tokio::sync::watch;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Rate(Duration),
    Cron(Box<Cron>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: Vec<u8>,
    hours: Vec<u8>,
    /// `None` = `?` / `*` (any day).
    days: Option<Vec<u8>>,
    months: Vec<u8>,
    /// 1 = Sunday … 7 = Saturday, as AWS numbers them.
    weekdays: Option<Vec<u8>>,
    years: Option<Vec<u16>>,
}

fn field(spec: &str, min: u16, max: u16, names: &[&str]) -> Result<Vec<u16>, String> {
    let mut out = Vec::new();
    for part in spec.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u16>().map_err(|_| format!("bad step in {part}"))?),
            None => (part, 1),
        };
        let value = |s: &str| -> Result<u16, String> {
            if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
                return Ok(min + i as u16);
            }
            s.parse::<u16>().map_err(|_| format!("bad value {s:?}"))
        };
        let (lo, hi) = match range {
            "*" | "?" => (min, max),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                None if step > 1 => (value(r)?, max),
                None => (value(r)?, value(r)?),
            },
        };
        if lo < min || hi > max || lo > hi || step == 0 {
            return Err(format!("{part} is out of range {min}-{max}"));
        }
        out.extend((lo..=hi).step_by(step as usize));
    }
    Ok(out)
}

impl Expr {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Some(inner) = s.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
            let (n, unit) = inner.trim().split_once(' ').ok_or("rate needs a value and a unit")?;
            let n: i64 = n.parse().map_err(|_| "rate value must be a number")?;
            let d = match unit.trim().trim_end_matches('s') {
                "minute" => Duration::minutes(n),
                "hour" => Duration::hours(n),
                "day" => Duration::days(n),
                other => return Err(format!("unknown rate unit {other}")),
            };
            if n < 1 {
                return Err("rate must be positive".into());
            }
            return Ok(Expr::Rate(d));
        }
        let inner = s
            .strip_prefix("cron(")
            .and_then(|r| r.strip_suffix(')'))
            .ok_or("expected rate(...) or cron(...)")?;
        let f: Vec<&str> = inner.split_whitespace().collect();
        if f.len() != 6 {
            return Err("cron needs six fields: minutes hours day-of-month month day-of-week year".into());
        }
        const MONTHS: [&str; 12] = [
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ];
        const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
        let small = |v: Vec<u16>| v.into_iter().map(|x| x as u8).collect::<Vec<u8>>();
        let any = |s: &str| s == "?" || s == "*";
        Ok(Expr::Cron(Box::new(Cron {
            minutes: small(field(f[0], 0, 59, &[])?),
            hours: small(field(f[1], 0, 23, &[])?),
            days: if any(f[2]) {
                None
            } else {
                Some(small(field(f[2], 1, 31, &[])?))
            },
            months: small(field(f[3], 1, 12, &MONTHS)?),
            weekdays: if any(f[4]) {
                None
            } else {
                Some(small(field(f[4], 1, 7, &DAYS)?))
            },
            years: if any(f[5]) {
                None
            } else {
                Some(field(f[5], 1970, 2199, &[])?)
            },
        })))
    }

    /// The first fire time strictly after `after` (a minute boundary for cron).
    pub fn next_after(&self, after: OffsetDateTime) -> Option<OffsetDateTime> {
        match self {
            Expr::Rate(d) => Some(after + *d),
            Expr::Cron(c) => {
                let mut t = after.replace_second(0).ok()?.replace_nanosecond(0).ok()? + Duration::minutes(1);
                // A year of minutes bounds the search; impossible dates (31 FEB) end as None.
                for _ in 0..(366 * 24 * 60) {
                    let weekday = t.weekday().number_from_sunday();
                    let ok = c.minutes.contains(&t.minute())
                        && c.hours.contains(&t.hour())
                        && c.months.contains(&(t.month() as u8))
                        && c.days.as_ref().is_none_or(|d| d.contains(&t.day()))
                        && c.weekdays.as_ref().is_none_or(|w| w.contains(&weekday))
                        && c.years.as_ref().is_none_or(|y| y.contains(&(t.year() as u16)));
                    if ok {
                        return Some(t);
                    }
                    t += Duration::minutes(1);
                }
                None
            }
        }
    }
}

/// The EventBridge event a scheduled function receives.
pub fn scheduled_event(function: &str, region: &str, input: Option<&Value>) -> Value {
    if let Some(i) = input {
        return i.clone();
    }
    let now = OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    json!({
        "version": "0",
        "id": ulid::Ulid::new().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": crate::template::ACCOUNT,
        "time": now,
        "region": region,
        "resources": [format!("arn:aws:events:{region}:{}:rule/{function}-schedule", crate::template::ACCOUNT)],
        "detail": {}
    })
}

#[derive(Default)]
pub struct Schedules {
    pub region: String,
}

impl Schedules {
    /// Fire a function's schedule now (the runner's `/_runner/schedules/{name}` route).
    pub async fn fire_now(&self, functions: &Functions, name: &str) -> Result<Value, String> {
        let f = functions
            .get(name)
            .ok_or_else(|| format!("function {name} not found"))?;
        let src = f
            .spec
            .schedules
            .first()
            .ok_or_else(|| format!("function {name} has no schedule"))?;
        let event = scheduled_event(&f.spec.name, &self.region, src.input.as_ref());
        crate::functions::invoke(&f, event).await.map_err(|e| e.to_string())
    }

    /// One task per enabled schedule, firing at each next time until `stop`.
    pub fn start(&self, functions: &Functions, stop: &watch::Receiver<bool>) {
        for f in functions.all() {
            for src in f.spec.schedules.iter().filter(|s| s.enabled) {
                let expr = match Expr::parse(&src.expression) {
                    Ok(e) => e,
                    Err(e) => {
                        tracing::error!(function = %f.spec.logical_id, expression = %src.expression, error = %e, "bad schedule");
                        continue;
                    }
                };
                let (f, input, region, mut stop) =
                    (Arc::clone(f), src.input.clone(), self.region.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut last = OffsetDateTime::now_utc();
                    while let Some(next) = expr.next_after(last) {
                        let wait = (next - OffsetDateTime::now_utc()).max(Duration::ZERO);
                        tokio::select! {
                            _ = tokio::time::sleep(wait.unsigned_abs()) => {}
                            _ = stop.changed() => return,
                        }
                        last = next;
                        let event = scheduled_event(&f.spec.name, &region, input.as_ref());
                        if let Err(e) = crate::functions::invoke(&f, event).await {
                            tracing::warn!(function = %f.spec.logical_id, error = %e, "scheduled invocation failed");
                        }
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn rate_and_cron_next_fire() {
        let t = datetime!(2026-11-26 23:30:15 UTC);
        assert_eq!(
            Expr::parse("rate(5 minutes)").unwrap().next_after(t),
            Some(datetime!(2026-11-26 23:35:15 UTC))
        );
        assert_eq!(
            Expr::parse("rate(1 day)").unwrap().next_after(t),
            Some(datetime!(2026-11-27 23:30:15 UTC))
        );
        let daily = Expr::parse("cron(0 2 * * ? *)").unwrap();
        assert_eq!(daily.next_after(t), Some(datetime!(2026-11-27 02:00 UTC)));
        let weekdays = Expr::parse("cron(15 10 ? * MON-FRI *)").unwrap();
        // 2026-11-28 is a Saturday: next is Monday the 30th.
        assert_eq!(
            weekdays.next_after(datetime!(2026-11-27 10:15 UTC)),
            Some(datetime!(2026-11-30 10:15 UTC))
        );
        assert_eq!(
            Expr::parse("cron(0/20 * * * ? *)").unwrap().next_after(t),
            Some(datetime!(2026-11-26 23:40 UTC))
        );
        assert_eq!(Expr::parse("cron(0 0 31 2 ? *)").unwrap().next_after(t), None);
        for bad in [
            "rate(0 minutes)",
            "rate(5 weeks)",
            "cron(0 2 * *)",
            "cron(61 * * * ? *)",
            "every day",
        ] {
            assert!(Expr::parse(bad).is_err(), "{bad}");
        }
    }
}
