//! `bman evaluate` over a large deathmatch history: 1,000,000 stored kills
//! (`BMAN_BENCH_KILLS` to change) among 500 players with hidden skills, all
//! four systems with their grids, in one single-threaded streaming walk.
//! Target: under 10 s in a release build, memory flat (the peak resident
//! memory the walk adds is printed; it must not grow with the history).
//!
//! One timed run, not a criterion loop: a run takes seconds, and the store
//! takes longer to fill than to evaluate. Run with `cargo bench --bench evaluate`.

use bman::evaluate::{evaluate, Options};
use bman::model::*;
use bman::rater::RatingParams;
use bman::ratings::TrueSkillParams;
use bman::sim::Rng;
use bman::store::sqlite::SqliteStore;
use bman::store::*;
use std::time::Instant;

const PLAYERS: u64 = 500;
const BATCH: i64 = 20_000;

fn key(i: u64) -> PlayerKey {
    PlayerKey {
        store: 0,
        id: format!("7656119800{i:07}"),
    }
}

/// Peak resident memory in kB (Linux), and a reset of it.
fn peak_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn fill(store: &SqliteStore, kills: i64) {
    let mut rng = Rng::new(15);
    let skill: Vec<f64> = (0..PLAYERS)
        .map(|_| (-2.0 * rng.unit().ln()).sqrt() * (std::f64::consts::TAU * rng.unit()).cos())
        .collect();
    let mut seq = 0;
    while seq < kills {
        let facts = (0..BATCH.min(kills - seq))
            .map(|_| {
                seq += 1;
                let a = rng.next_u64() % PLAYERS;
                let b = (a + 1 + rng.next_u64() % (PLAYERS - 1)) % PLAYERS;
                let a_wins =
                    rng.unit() < 1.0 / (1.0 + (skill[b as usize] - skill[a as usize]).exp());
                let (killer, victim) = if a_wins { (a, b) } else { (b, a) };
                StoredFact {
                    seq,
                    record: FactRecord {
                        server: "bench".into(),
                        mode: Mode::Dm,
                        time_ms: 1_760_000_000_000 + seq * 1000,
                        match_id: Some(format!("bench:{}", seq / 500)),
                        fact: Fact::Kill(KillFact {
                            killer: key(killer),
                            victim: key(victim),
                            weapon: Some("45".into()),
                            headshot: seq % 5 == 0,
                            teamkill: false,
                            killer_at: None,
                            victim_at: None,
                        }),
                    },
                    changes: Vec::new(),
                }
            })
            .collect();
        store
            .apply(&WriteBatch {
                facts,
                ..WriteBatch::default()
            })
            .expect("the bench store takes the facts");
    }
}

fn main() {
    // `cargo test --benches` runs bench binaries with `--bench` absent: skip.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let kills: i64 = std::env::var("BMAN_BENCH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(&dir.path().join("bench.sqlite3")).expect("a bench store");
    let started = Instant::now();
    fill(&store, kills);
    println!("stored {kills} dm kills in {:.1?}", started.elapsed());
    let opts = Options {
        mode: Mode::Dm,
        since_ms: None,
        configured: RatingParams {
            trueskill: TrueSkillParams::default(),
            elo_k: 32.0,
            systems: bman::rater::RatingSystems::default(),
        },
    };
    reset_peak();
    let before = peak_kb();
    let started = Instant::now();
    let evaluation = evaluate(&store, &opts).expect("evaluate");
    let took = started.elapsed();
    let report = evaluation.report;
    println!(
        "evaluate: {} contests, {} systems scored, {:.2?} ({:.0} kills/s)",
        report.contests,
        report.systems.len(),
        took,
        report.contests as f64 / took.as_secs_f64()
    );
    if let (Some(before), Some(after)) = (before, peak_kb()) {
        println!("peak resident memory: {before} kB before, {after} kB during the walk");
    }
    for s in &report.systems {
        println!(
            "  {:<10} {:<9} log-loss {:.4} accuracy {:.4}",
            s.name, s.scored_on, s.summary.log_loss, s.summary.accuracy
        );
    }
}
