//! What `bman evaluate` prints: a table (or JSON) of every system's score,
//! the best one, and the config lines that would select it.

use super::score::Summary;
use super::systems::{Kind, Params};
use super::Options;
use serde::Serialize;
use serde_json::Value;
use std::fmt::Write;

/// One system's score, as configured (all contests) or tuned (the last 30%).
#[derive(Debug, Clone, Serialize)]
pub struct SystemReport {
    pub name: &'static str,
    pub params: Value,
    pub tuned: bool,
    /// `"all"`, or `"last 30%"` for a tuned run.
    pub scored_on: &'static str,
    #[serde(flatten)]
    pub summary: Summary,
    #[serde(skip)]
    params_typed: Params,
}

impl SystemReport {
    pub(super) fn new(params: Params, tuned: bool, summary: Summary) -> SystemReport {
        SystemReport {
            name: params.kind().name(),
            params: params.to_json(),
            tuned,
            scored_on: if tuned { "last 30%" } else { "all" },
            summary,
            params_typed: params,
        }
    }

    pub fn kind(&self) -> Kind {
        self.params_typed.kind()
    }
}

/// The whole evaluation of one mode.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: &'static str,
    /// Facts read (of every kind).
    pub facts: u64,
    /// Contests scored (draws not included).
    pub contests: u64,
    /// Tuned runs are scored from this contest (0-based) on.
    pub holdout_from: u64,
    pub systems: Vec<SystemReport>,
    /// The tuned system with the lowest log-loss on the last 30%; `null`
    /// when nothing was scored.
    pub best: Option<&'static str>,
}

impl Report {
    pub(super) fn new(
        opts: &Options,
        facts: u64,
        contests: u64,
        holdout_from: u64,
        systems: Vec<SystemReport>,
    ) -> Report {
        let best = systems
            .iter()
            .filter(|s| s.tuned && s.summary.contests > 0)
            .min_by(|a, b| a.summary.log_loss.total_cmp(&b.summary.log_loss))
            .map(|s| s.name);
        Report {
            mode: opts.mode.as_str(),
            facts,
            contests,
            holdout_from,
            systems,
            best,
        }
    }

    fn best_system(&self) -> Option<&SystemReport> {
        let name = self.best?;
        self.systems.iter().find(|s| s.tuned && s.name == name)
    }

    /// The config lines that would select the best system, then to be
    /// applied to the past with `bman rerate`; for a system bman cannot
    /// rate with yet, the same lines commented out.
    pub fn config_lines(&self) -> String {
        let Some(best) = self.best_system() else {
            return "; nothing to choose from: no scored contests\n".into();
        };
        let mode = self.mode;
        let rerate = format!("; then run `bman rerate --mode {mode}`\n");
        let later = "; not selectable: Elo has no uncertainty to rank by (README \"Choosing a rating system\")\n";
        match best.params_typed {
            Params::TrueSkill(p) => format!(
                "[config]\nbeta = {}\ntau = {}\n[ratings]\n{mode} = trueskill\n{rerate}",
                round(p.beta),
                round(p.tau)
            ),
            Params::WengLin(beta) => format!(
                "[ratings]\n{mode} = weng-lin\nweng_lin_beta = {}\n{rerate}",
                round(beta)
            ),
            Params::Elo(k) if mode == "tdm" => format!(
                "; Elo per kill already rates team deathmatch kills (shown as elo; leaderboards rank by {mode}'s skill system)\n[config]\nk = {}\n{rerate}",
                round(k)
            ),
            Params::Elo(k) => format!("{later}; [ratings]\n; {mode} = elo\n; elo_k = {}\n", round(k)),
            Params::Glicko2(tau) => format!(
                "[ratings]\n{mode} = glicko2\nglicko2_tau = {}\n{rerate}",
                round(tau)
            ),
        }
    }

    /// The report for a terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let draws = self.systems.first().map_or(0, |s| s.summary.draws);
        let _ = writeln!(
            out,
            "{}: {} facts, {} contests scored ({} draws, not scored); tuned runs are scored on the contests from #{} on",
            self.mode, self.facts, self.contests, draws, self.holdout_from + 1
        );
        let _ = writeln!(
            out,
            "{:<10} {:<10} {:>9} {:>9} {:>9} {:>7}  params",
            "system", "scored on", "contests", "log-loss", "accuracy", "brier"
        );
        for s in &self.systems {
            let m = &s.summary;
            let _ = writeln!(
                out,
                "{:<10} {:<10} {:>9} {:>9.4} {:>9.4} {:>7.4}  {}",
                s.name,
                s.scored_on,
                m.contests,
                m.log_loss,
                m.accuracy,
                m.brier,
                params_text(&s.params)
            );
        }
        let _ =
            writeln!(
            out,
            "{:<10} {:<10} {:>9} {:>9.4} {:>9.4} {:>7.4}  (always 50%: a system must beat this)",
            "coin", "", "", 2f64.ln(), 0.5, 0.25
        );
        for s in self.systems.iter().filter(|s| !s.tuned) {
            let cells: Vec<String> = s
                .summary
                .calibration
                .iter()
                .map(|(p, o, n)| format!("{p:.2}->{o:.2} ({n})"))
                .collect();
            let _ = writeln!(out, "calibration {:<10} {}", s.name, cells.join("  "));
        }
        match self.best_system() {
            Some(best) => {
                let _ = writeln!(
                    out,
                    "best: {} (tuned: {})\n\n{}",
                    best.name,
                    params_text(&best.params),
                    self.config_lines()
                );
            }
            None => out.push_str("best: none (no scored contests)\n"),
        }
        out
    }

    /// The systems as configured, scored on every contest.
    pub fn configured(&self) -> impl Iterator<Item = &SystemReport> {
        self.systems.iter().filter(|s| !s.tuned)
    }
}

/// Four significant decimals are plenty for a config file.
fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn params_text(params: &Value) -> String {
    params
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| match v.as_f64() {
                    Some(x) => format!("{k}={}", round(x)),
                    None => format!("{k}={v}"),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}
