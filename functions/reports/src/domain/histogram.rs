//! Turnaround times kept as counts in logarithmic buckets: a bucket is 10 % wider than the
//! one before, so a median or p90 read back from merged buckets is within 5 % of the exact
//! one, and months merge by adding counts (no sample list is ever read).

use std::collections::BTreeMap;

/// Growth of each bucket over the one before.
const BASE: f64 = 1.1;
/// Durations under a minute share bucket 0.
const FLOOR_SECS: f64 = 60.0;

/// Counts by bucket index.
pub type Histogram = BTreeMap<u16, u64>;

/// The bucket of a duration in seconds.
pub fn bucket(secs: i64) -> u16 {
    let s = (secs as f64).max(FLOOR_SECS);
    let i = ((s / FLOOR_SECS).ln() / BASE.ln()).floor();
    // A century is bucket 155; nothing real reaches the cap.
    i.clamp(0.0, f64::from(u16::MAX)) as u16
}

/// The duration a bucket stands for: the geometric middle of its bounds.
pub fn representative(bucket: u16) -> f64 {
    FLOOR_SECS * BASE.powf(f64::from(bucket) + 0.5)
}

/// Adds `other` into `into`.
pub fn merge(into: &mut Histogram, other: &Histogram) {
    for (b, n) in other {
        *into.entry(*b).or_default() += n;
    }
}

/// The `q` quantile (0 < q ≤ 1, nearest rank) in seconds, or None for no data.
pub fn quantile(h: &Histogram, q: f64) -> Option<f64> {
    let total: u64 = h.values().sum();
    if total == 0 {
        return None;
    }
    let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
    let mut seen = 0;
    for (b, n) in h {
        seen += n;
        if seen >= rank {
            return Some(representative(*b));
        }
    }
    h.keys().next_back().map(|b| representative(*b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(sorted: &[i64], q: f64) -> f64 {
        let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
        sorted[rank - 1] as f64
    }

    #[test]
    fn quantiles_from_buckets_are_within_five_percent() {
        // Turnarounds from two hours to forty days, unevenly spread.
        let mut durations: Vec<i64> = (0..5000).map(|i| 7200 + (i * i * 13 % 3_450_000)).collect();
        durations.sort_unstable();
        let mut h = Histogram::new();
        for d in &durations {
            *h.entry(bucket(*d)).or_default() += 1;
        }
        for q in [0.5, 0.9, 0.99] {
            let got = quantile(&h, q).unwrap();
            let want = exact(&durations, q);
            assert!((got - want).abs() / want <= 0.05, "q{q}: {got} vs {want}");
        }
    }

    #[test]
    fn months_merge_by_adding_counts() {
        let mut a = Histogram::from([(bucket(3600), 2)]);
        let b = Histogram::from([(bucket(3600), 1), (bucket(86_400), 3)]);
        merge(&mut a, &b);
        assert_eq!(a.values().sum::<u64>(), 6);
        assert!(quantile(&a, 0.5).unwrap() < 4000.0);
        assert!(quantile(&a, 0.9).unwrap() > 80_000.0);
        assert_eq!(quantile(&Histogram::new(), 0.5), None);
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(-5), 0);
    }
}
