//! Per-player, per-mode totals and ratings, and how a rating moves.

use serde::{Deserialize, Serialize};

/// Per-player, per-mode totals and current ratings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModeStats {
    pub mu: f64,
    pub sigma: f64,
    /// Glicko-2's volatility; only a mode rated by Glicko-2 moves it.
    #[serde(default = "start_volatility")]
    pub volatility: f64,
    pub elo: f64,
    /// Rated games played: dm kills+deaths, tdm rounds, ctf captures seen, svl matches.
    pub games: i64,
    pub kills: i64,
    pub deaths: i64,
    pub wins: i64,
    pub losses: i64,
    pub draws: i64,
    pub captures: i64,
    pub best_wave: i64,
    pub npc_kills: i64,
    pub npc_deaths: i64,
    pub matches: i64,
    /// Zombrains: helicopter escapes (player_boarded).
    pub escapes: i64,
    pub last_updated_ms: i64,
}

impl ModeStats {
    /// A player who has not played the mode yet.
    pub fn initial(params: &crate::ratings::TrueSkillParams) -> ModeStats {
        ModeStats {
            mu: params.mu,
            sigma: params.sigma,
            volatility: start_volatility(),
            elo: crate::ratings::ELO_START,
            games: 0,
            kills: 0,
            deaths: 0,
            wins: 0,
            losses: 0,
            draws: 0,
            captures: 0,
            best_wave: 0,
            npc_kills: 0,
            npc_deaths: 0,
            matches: 0,
            escapes: 0,
            last_updated_ms: 0,
        }
    }

    /// The leaderboard rating: mu - 3*sigma.
    pub fn rating(&self) -> f64 {
        self.mu - 3.0 * self.sigma
    }
}

fn start_volatility() -> f64 {
    crate::ratings::GLICKO2_START_VOLATILITY
}

/// One player's rating after a rated fact, and how it moved.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatingChange {
    pub mu: f64,
    pub sigma: f64,
    pub elo: f64,
    pub delta_mu: f64,
    pub delta_sigma: f64,
    pub delta_elo: f64,
}

/// Two players' kills of each other in one mode (`/matchup`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadToHead {
    /// Kills by the first player of the second.
    pub kills: i64,
    /// Kills by the second player of the first.
    pub deaths: i64,
}

/// One point of a player's rating history in a mode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatingPoint {
    pub seq: i64,
    pub time_ms: i64,
    pub change: RatingChange,
}
