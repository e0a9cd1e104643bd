//! Leaderboard requests and rows, and who a leaderboard ranks.

use super::{Mode, ModeStats, PlayerSummary};
use serde::{Deserialize, Serialize};

/// The fewest rated games ([`ModeStats::games`]) a player needs to appear on
/// a leaderboard. The one place bman's thresholds are set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinGames(pub i64);

impl MinGames {
    /// `bman leaderboard` (the default of `--min-games`, as the README's
    /// command table says) and the bot's `/leaderboard`: 5 rated games.
    pub const DEFAULT: MinGames = MinGames(5);
    /// `!top` in the game chat: one rated game. `!rank` and `!stats` show the
    /// store's profile ranks, which count every player of the mode, so this
    /// lower bar keeps `!top`'s places in line with them.
    pub const CHAT: MinGames = MinGames(1);
}

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

    /// The first `limit` players of `mode` with at least `min_games`.
    pub fn ranked(mode: Mode, limit: usize, min_games: MinGames) -> LeaderboardQuery {
        LeaderboardQuery {
            min_games: Some(min_games.0),
            ..LeaderboardQuery::everyone(mode, limit)
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
