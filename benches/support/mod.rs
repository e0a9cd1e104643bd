//! What the benches share: tail latencies, which criterion's means hide.

use std::time::{Duration, Instant};

/// Times `calls` calls and prints the median and 99th percentile.
pub fn percentiles(calls: usize, name: &str, mut call: impl FnMut()) {
    let mut times: Vec<Duration> = (0..calls)
        .map(|_| {
            let start = Instant::now();
            call();
            start.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "{name}: p50 {:?}, p99 {:?}",
        times[calls / 2],
        times[calls * 99 / 100]
    );
}
