//! Leaderboard requests and rows.

use super::{Mode, ModeStats, PlayerSummary};
use serde::{Deserialize, Serialize};

/// A leaderboard request. `None` disables a filter.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaderboardQuery {
    pub mode: Mode,
    pub limit: usize,
    pub offset: usize,
    pub min_games: Option<i64>,
    /// Only players updated at or after this time (unix ms).
    pub active_since_ms: Option<i64>,
}

impl LeaderboardQuery {
    /// The first `limit` players of `mode`, without filters.
    pub fn everyone(mode: Mode, limit: usize) -> LeaderboardQuery {
        LeaderboardQuery {
            mode,
            limit,
            offset: 0,
            min_games: None,
            active_since_ms: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaderboardRow {
    /// 1-based position within the filtered leaderboard.
    pub rank: usize,
    pub player: PlayerSummary,
    pub stats: ModeStats,
}
