//! How well a system predicted: log-loss, accuracy, Brier score and a
//! calibration table, summed so that a later total minus an earlier one is
//! the score of the contests in between (the tuned runs' last 30%).

use serde::Serialize;

/// Calibration bins over [0, 1].
pub const BINS: usize = 10;
/// Probabilities are clamped to at least this before the logarithm.
const FLOOR: f64 = 1e-12;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Bin {
    predicted: f64,
    observed: f64,
    n: u64,
}

/// Running sums over scored contests.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Score {
    contests: u64,
    draws: u64,
    log_loss: f64,
    hits: f64,
    brier: f64,
    bins: [Bin; BINS],
}

/// A score as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub contests: u64,
    pub draws: u64,
    pub log_loss: f64,
    pub accuracy: f64,
    pub brier: f64,
    /// `[mean predicted, observed share, n]` per non-empty bin.
    pub calibration: Vec<(f64, f64, u64)>,
}

impl Score {
    /// A decided contest: `p` is the chance the system gave the side that won.
    pub fn add(&mut self, p: f64) {
        let p = if p.is_nan() { 0.5 } else { p.clamp(0.0, 1.0) };
        self.contests += 1;
        self.log_loss -= p.max(FLOOR).ln();
        self.hits += match p.partial_cmp(&0.5) {
            Some(std::cmp::Ordering::Greater) => 1.0,
            Some(std::cmp::Ordering::Equal) => 0.5,
            _ => 0.0,
        };
        self.brier += (1.0 - p).powi(2);
        // Both sides enter the table: the winner's chance came true, the
        // loser's did not, so the table needs no favourite side.
        for (q, happened) in [(p, 1.0), (1.0 - p, 0.0)] {
            let bin = &mut self.bins[((q * BINS as f64) as usize).min(BINS - 1)];
            bin.predicted += q;
            bin.observed += happened;
            bin.n += 1;
        }
    }

    /// A drawn contest: counted, not scored.
    pub fn add_draw(&mut self) {
        self.draws += 1;
    }

    /// The contests after `earlier` (a snapshot of this same run).
    pub fn since(&self, earlier: &Score) -> Score {
        let mut bins = self.bins;
        for (b, e) in bins.iter_mut().zip(&earlier.bins) {
            b.predicted -= e.predicted;
            b.observed -= e.observed;
            b.n -= e.n;
        }
        Score {
            contests: self.contests - earlier.contests,
            draws: self.draws - earlier.draws,
            log_loss: self.log_loss - earlier.log_loss,
            hits: self.hits - earlier.hits,
            brier: self.brier - earlier.brier,
            bins,
        }
    }

    /// Mean log-loss (0.693 = always 50%); infinite-free thanks to the clamp.
    pub fn mean_log_loss(&self) -> f64 {
        self.log_loss / self.contests.max(1) as f64
    }

    pub fn summary(&self) -> Summary {
        let n = self.contests.max(1) as f64;
        Summary {
            contests: self.contests,
            draws: self.draws,
            log_loss: self.log_loss / n,
            accuracy: self.hits / n,
            brier: self.brier / n,
            calibration: self
                .bins
                .iter()
                .filter(|b| b.n > 0)
                .map(|b| (b.predicted / b.n as f64, b.observed / b.n as f64, b.n))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_by_hand() {
        let mut s = Score::default();
        for p in [0.5, 0.8, 0.2, 0.0] {
            s.add(p);
        }
        s.add_draw();
        let m = s.summary();
        assert_eq!((m.contests, m.draws), (4, 1));
        let want = (0.5f64.ln() + 0.8f64.ln() + 0.2f64.ln() + 1e-12f64.ln()) / -4.0;
        assert!((m.log_loss - want).abs() < 1e-12);
        assert_eq!(m.accuracy, 1.5 / 4.0, "0.5 counts half");
        assert!((m.brier - (0.25 + 0.04 + 0.64 + 1.0) / 4.0).abs() < 1e-12);
        // 0.8 came true (bin 8), its 0.2 mirror did not (bin 2), and so on;
        // the top bin holds the 1.0 the loser of the p = 0 contest had.
        let n: u64 = m.calibration.iter().map(|b| b.2).sum();
        assert_eq!(n, 8);
        assert_eq!(m.calibration.last(), Some(&(1.0, 0.0, 1)));
        assert_eq!(m.calibration[0], (0.0, 1.0, 1), "p = 0 and it happened");
    }

    #[test]
    fn a_later_total_minus_a_snapshot_is_the_part_between() {
        let (mut total, mut tail) = (Score::default(), Score::default());
        for i in 0..10 {
            total.add(i as f64 / 10.0);
        }
        let snapshot = total;
        for i in 0..7 {
            let p = 0.15 + i as f64 / 10.0;
            total.add(p);
            tail.add(p);
        }
        let diff = total.since(&snapshot).summary();
        let want = tail.summary();
        assert_eq!(diff.contests, want.contests);
        assert!((diff.log_loss - want.log_loss).abs() < 1e-9);
        assert!((diff.brier - want.brier).abs() < 1e-9);
        assert_eq!(diff.calibration.len(), want.calibration.len());
    }
}
