//! `bman evaluate`'s options and what it prints (the CLI in src/main.rs
//! only opens the store).

use super::{calibration_chart, day_start_ms, evaluate, ChartError, Options};
use crate::model::Mode;
use crate::rater::RatingParams;
use crate::store::{Store, StoreError};
use std::path::PathBuf;

/// Options of `bman evaluate` (flattened into the CLI).
#[derive(clap::Args, Debug, Clone)]
pub struct EvaluateArgs {
    /// The game mode.
    #[arg(long, value_enum, default_value = "dm")]
    pub mode: Mode,
    /// JSON for scripts.
    #[arg(long)]
    pub json: bool,
    /// Also draw the calibration plot into this PNG file.
    #[arg(long, value_name = "FILE.png")]
    pub chart: Option<PathBuf>,
    /// Score only contests from this day (YYYY-MM-DD, UTC) on; earlier
    /// ones still teach the systems.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
}

/// Why `bman evaluate` could not finish.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("--since {0:?}: expected a date like 2025-10-09")]
    Since(String),
    #[error("evaluation of {mode} failed: {source}")]
    Store { mode: Mode, source: StoreError },
    #[error(transparent)]
    Chart(#[from] ChartError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Runs the evaluation `args` ask for, writes the chart if asked, and
/// returns what to print (the table or JSON).
pub fn command(
    store: &dyn Store,
    args: &EvaluateArgs,
    configured: RatingParams,
) -> Result<String, CommandError> {
    let since_ms = match &args.since {
        None => None,
        Some(day) => Some(day_start_ms(day).ok_or_else(|| CommandError::Since(day.clone()))?),
    };
    let opts = Options {
        mode: args.mode,
        since_ms,
        configured,
    };
    let report = evaluate(store, &opts)
        .map_err(|source| CommandError::Store {
            mode: args.mode,
            source,
        })?
        .report;
    if let Some(path) = &args.chart {
        std::fs::write(path, calibration_chart(&report)?).map_err(|source| {
            CommandError::Write {
                path: path.display().to_string(),
                source,
            }
        })?;
    }
    Ok(if args.json {
        serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
    } else {
        report.to_text()
    })
}
