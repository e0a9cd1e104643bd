//! Reconnect delays: capped exponential backoff with jitter, so a fleet that
//! lost its network does not reconnect in lock-step, and a server that keeps
//! failing is retried at most every `max`.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max,
            next: min,
        }
    }

    /// The delay to wait now: the current step less up to 25% jitter (never
    /// below `min`); the step then doubles up to `max`.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let step = self.next;
        self.next = (self.next * 2).min(self.max);
        let jitter = step.mul_f64(0.25 * random_unit());
        step.saturating_sub(jitter).max(self.min)
    }

    /// After a healthy session the next failure starts from `min` again.
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

/// A random number in [0, 1) from the std hasher's per-instance random keys:
/// jitter needs no reproducible stream, so no PRNG crate.
fn random_unit() -> f64 {
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_with_bounded_jitter() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let delays: Vec<Duration> = (0..8).map(|_| b.next_delay()).collect();
        let steps = [1, 2, 4, 8, 16, 30, 30, 30];
        for (delay, step) in delays.iter().zip(steps) {
            let step = Duration::from_secs(step);
            assert!(
                *delay <= step && *delay >= step.mul_f64(0.75).max(Duration::from_secs(1)),
                "{delay:?} for {step:?}"
            );
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_secs(1));
    }
}
