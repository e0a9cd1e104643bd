//! `bman evaluate`: which rating system predicts this community best
//! (README "Choosing a rating system").
//!
//! One streaming walk over a mode's stored facts, page by page, in the
//! order they were recorded: before each rated contest every candidate
//! system gives its chance for the outcome that happened, then learns from
//! it. Every candidate runs once per point of its parameter grid, all in the
//! same walk; a run's running score is snapshotted at most [`SNAPSHOTS`]
//! times, so the split into the first 70% (to pick the tuned parameters)
//! and the last 30% (to score them) is made after the walk, in flat memory.

mod chart;
mod command;
mod game;
mod report;
mod score;
mod systems;

pub use chart::{calibration_chart, ChartError};
pub use command::{command, CommandError, EvaluateArgs};
pub use report::{Report, SystemReport};
pub use score::Summary;
pub use systems::Kind;

use crate::model::{Mode, PlayerKey};
use crate::rater::RatingParams;
use crate::store::{Store, StoreResult};
use game::{game, Players};
use score::Score;
use systems::{Params, System};

/// Facts read per store call.
const PAGE: usize = 10_000;
/// Most snapshots kept per run; the stride between them doubles instead.
const SNAPSHOTS: usize = 1024;
/// Share of the contests the tuned parameters are picked on.
const TRAIN: f64 = 0.7;

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    /// Only contests from this time (unix ms) on are scored; earlier ones
    /// still teach the systems, so players are not all new at the start.
    pub since_ms: Option<i64>,
    /// The configured parameters: TrueSkill's and Elo's K (`[config]`),
    /// Weng-Lin's beta and Glicko-2's tau (`[ratings]`).
    pub configured: RatingParams,
}

/// The report and, per system as configured, every player's rating at the end.
pub struct Evaluation {
    pub report: Report,
    pub leaderboards: Vec<(Kind, Vec<(PlayerKey, f64)>)>,
}

/// One system with one parameter set, and its score so far.
struct Run {
    params: Params,
    system: Box<dyn System>,
    score: Score,
    snapshots: Vec<Score>,
}

/// Walks `opts.mode`'s facts once and scores every candidate.
pub fn evaluate(store: &dyn Store, opts: &Options) -> StoreResult<Evaluation> {
    let configured = [
        Params::TrueSkill(opts.configured.trueskill),
        Params::Elo(opts.configured.elo_k),
        Params::Glicko2(opts.configured.systems.glicko2_tau),
        Params::WengLin(opts.configured.systems.weng_lin_beta),
    ];
    let mut runs: Vec<Run> = configured
        .iter()
        .flat_map(Params::grid)
        .map(|params| Run {
            params,
            system: params.start(),
            score: Score::default(),
            snapshots: Vec::new(),
        })
        .collect();
    let mut players = Players::default();
    let (mut stride, mut scored, mut facts) = (1u64, 0u64, 0u64);
    let mut after = i64::MIN;
    loop {
        let page = store.fact_page(opts.mode, after, PAGE)?;
        let Some(&(last, _)) = page.last() else {
            break;
        };
        after = last;
        for (_, record) in &page {
            facts += 1;
            let Some(game) = game(record, &mut players) else {
                continue;
            };
            let scored_now = game.is_contest() && opts.since_ms.is_none_or(|t| record.time_ms >= t);
            if scored_now && game.is_draw() {
                runs.iter_mut().for_each(|r| r.score.add_draw());
            } else if scored_now {
                if scored % stride == 0 {
                    stride = snapshot(&mut runs, stride);
                }
                scored += 1;
                for run in &mut runs {
                    let p = run.system.predict(&game);
                    run.score.add(p);
                }
            }
            for run in &mut runs {
                run.system.update(&game);
            }
        }
    }
    // The snapshot nearest to 70% of the scored contests.
    let snapshot = ((scored as f64 * TRAIN / stride as f64).round() as usize)
        .min(runs[0].snapshots.len().saturating_sub(1));
    let split = snapshot as u64 * stride;
    let mut systems = Vec::new();
    let mut leaderboards = Vec::new();
    for params in configured {
        let kind = params.kind();
        let own = || runs.iter().filter(move |r| r.params.kind() == kind);
        let Some(run) = own().find(|r| r.params == params) else {
            continue;
        };
        systems.push(SystemReport::new(params, false, run.score.summary()));
        let ratings = run.system.leaderboard();
        leaderboards.push((kind, players.keys().iter().cloned().zip(ratings).collect()));
        let train = |r: &Run| {
            r.snapshots
                .get(snapshot)
                .map_or(f64::INFINITY, Score::mean_log_loss)
        };
        let Some(tuned) = own().min_by(|a, b| train(a).total_cmp(&train(b))) else {
            continue;
        };
        let holdout = match tuned.snapshots.get(snapshot) {
            Some(at_split) => tuned.score.since(at_split),
            None => Score::default(),
        };
        systems.push(SystemReport::new(tuned.params, true, holdout.summary()));
    }
    let report = Report::new(opts, facts, scored, split, systems);
    Ok(Evaluation {
        report,
        leaderboards,
    })
}

/// Records every run's score so far; when [`SNAPSHOTS`] are kept, drops
/// every other one and returns the doubled stride.
fn snapshot(runs: &mut [Run], stride: u64) -> u64 {
    for run in runs.iter_mut() {
        run.snapshots.push(run.score);
    }
    if runs.first().is_none_or(|r| r.snapshots.len() < SNAPSHOTS) {
        return stride;
    }
    for run in runs.iter_mut() {
        run.snapshots = run.snapshots.iter().step_by(2).copied().collect();
    }
    stride * 2
}

/// Unix ms at 00:00 UTC of a `YYYY-MM-DD` date (Howard Hinnant's
/// days-from-civil, the inverse of the one in src/views.rs).
pub fn day_start_ms(date: &str) -> Option<i64> {
    let mut parts = date.trim().splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(day_start_ms("1970-01-01"), Some(0));
        assert_eq!(day_start_ms("2025-10-09"), Some(1_759_968_000_000));
        assert_eq!(day_start_ms("2000-03-01"), Some(951_868_800_000));
        for bad in ["", "2025-13-01", "2025-1", "yesterday", "2025-02-00"] {
            assert_eq!(day_start_ms(bad), None, "{bad}");
        }
    }
}
