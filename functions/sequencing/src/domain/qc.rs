//! QC thresholds (docs/domain.md) and their evaluation into pass / warning / fail, naming the
//! metric. Limits are inclusive: a value exactly at a limit is on the good side of it.
//! Labs edit the thresholds; these are the defaults.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// % of bases ≥ Q30.
    PercentQ30,
    /// % of clusters passing filter.
    PercentPf,
    /// K clusters / mm².
    ClusterDensity,
    /// %.
    ErrorRate,
    /// % PhiX aligned.
    PercentPhix,
    /// ng/µL.
    LibraryConcentration,
    /// bp.
    FragmentSize,
    Rin,
    A260280,
}

/// Acceptable band and warning band: inside `pass` passes, inside `warn` warns, outside
/// fails. A side without a bound is open.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Threshold {
    pub pass_min: Option<f64>,
    pub pass_max: Option<f64>,
    pub warn_min: Option<f64>,
    pub warn_max: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Warning,
    Fail,
}

fn within(v: f64, min: Option<f64>, max: Option<f64>) -> bool {
    min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m)
}

impl Threshold {
    const fn at_least(pass: f64, warn: f64) -> Self {
        Self {
            pass_min: Some(pass),
            pass_max: None,
            warn_min: Some(warn),
            warn_max: None,
        }
    }
    const fn at_most(pass: f64, warn: f64) -> Self {
        Self {
            pass_min: None,
            pass_max: Some(pass),
            warn_min: None,
            warn_max: Some(warn),
        }
    }
    const fn band(pass: (f64, f64), warn: (f64, f64)) -> Self {
        Self {
            pass_min: Some(pass.0),
            pass_max: Some(pass.1),
            warn_min: Some(warn.0),
            warn_max: Some(warn.1),
        }
    }

    pub fn judge(&self, v: f64) -> Verdict {
        if !v.is_finite() {
            Verdict::Fail
        } else if within(v, self.pass_min, self.pass_max) {
            Verdict::Pass
        } else if within(v, self.warn_min, self.warn_max) {
            Verdict::Warning
        } else {
            Verdict::Fail
        }
    }
}

/// docs/domain.md's defaults.
pub fn default_thresholds() -> BTreeMap<Metric, Threshold> {
    use Metric::*;
    BTreeMap::from([
        (PercentQ30, Threshold::at_least(80.0, 75.0)),
        (PercentPf, Threshold::at_least(80.0, 75.0)),
        (ClusterDensity, Threshold::band((800.0, 1200.0), (600.0, 1400.0))),
        (ErrorRate, Threshold::at_most(0.5, 1.0)),
        (PercentPhix, Threshold::band((0.5, 5.0), (0.1, 10.0))),
        (LibraryConcentration, Threshold::band((2.0, 100.0), (1.0, 200.0))),
        (FragmentSize, Threshold::band((250.0, 450.0), (200.0, 500.0))),
        (Rin, Threshold::at_least(7.0, 6.0)),
        (A260280, Threshold::band((1.8, 2.0), (1.7, 2.1))),
    ])
}

/// One judged metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    pub metric: Metric,
    pub value: f64,
    pub verdict: Verdict,
}

/// Judge every metric that has a threshold; the overall verdict is the worst.
pub fn evaluate(values: &BTreeMap<Metric, f64>, thresholds: &BTreeMap<Metric, Threshold>) -> (Verdict, Vec<Finding>) {
    let findings: Vec<Finding> = values
        .iter()
        .filter_map(|(m, v)| {
            thresholds.get(m).map(|t| Finding {
                metric: *m,
                value: *v,
                verdict: t.judge(*v),
            })
        })
        .collect();
    let overall = findings.iter().map(|f| f.verdict).max().unwrap_or(Verdict::Pass);
    (overall, findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Metric::*;
    use Verdict::*;

    #[test]
    fn limits_are_inclusive_at_every_edge() {
        let t = default_thresholds();
        let j = |m: Metric, v: f64| t[&m].judge(v);
        for (m, v, want) in [
            (PercentQ30, 80.0, Pass),
            (PercentQ30, 79.99, Warning),
            (PercentQ30, 75.0, Warning),
            (PercentQ30, 74.99, Fail),
            (ClusterDensity, 800.0, Pass),
            (ClusterDensity, 1200.0, Pass),
            (ClusterDensity, 1200.1, Warning),
            (ClusterDensity, 600.0, Warning),
            (ClusterDensity, 1400.0, Warning),
            (ClusterDensity, 1400.5, Fail),
            (ClusterDensity, 599.0, Fail),
            (ErrorRate, 0.5, Pass),
            (ErrorRate, 0.51, Warning),
            (ErrorRate, 1.0, Warning),
            (ErrorRate, 1.01, Fail),
            (PercentPhix, 0.1, Warning),
            (PercentPhix, 0.09, Fail),
            (Rin, 7.0, Pass),
            (Rin, 6.0, Warning),
            (Rin, 5.9, Fail),
            (A260280, 1.8, Pass),
            (A260280, 2.1, Warning),
            (A260280, 2.11, Fail),
            (FragmentSize, f64::NAN, Fail),
        ] {
            assert_eq!(j(m, v), want, "{m:?} = {v}");
        }
    }

    #[test]
    fn the_worst_finding_decides_and_names_the_metric() {
        let values = BTreeMap::from([(PercentQ30, 91.0), (PercentPf, 76.0), (ErrorRate, 0.2)]);
        let (overall, findings) = evaluate(&values, &default_thresholds());
        assert_eq!(overall, Warning);
        let bad: Vec<_> = findings
            .iter()
            .filter(|f| f.verdict != Pass)
            .map(|f| f.metric)
            .collect();
        assert_eq!(bad, [PercentPf]);
        assert_eq!(evaluate(&BTreeMap::new(), &default_thresholds()).0, Pass);
    }
}
