//! The domain: modes, players and their keys, facts, per-mode stats,
//! servers, leaderboards, the audit trail, community bans and linked
//! accounts. Every other layer speaks these types; this module depends on
//! nothing of bman but the rating maths.

mod audit;
mod ban;
mod fact;
mod leaderboard;
mod link;
mod mode;
mod player;
mod server;
mod stats;

pub use audit::AuditRecord;
pub use ban::{Ban, BanActor, BanLift, BanQuery, IpNeighbour};
pub use fact::*;
pub use leaderboard::{LeaderboardQuery, LeaderboardRow, MinGames};
pub use link::AccountLink;
pub use mode::Mode;
pub use player::*;
pub use server::ServerInfo;
pub use stats::{HeadToHead, ModeStats, RatingChange, RatingPoint};

/// Unix milliseconds now: the time unit of every record.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
