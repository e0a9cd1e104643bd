//! Community bans: who is banned, why, by whom, where and until when, and
//! who lifted a ban. README "Community bans" describes the model.

use super::{PlayerKey, PlayerSummary};
use serde::{Deserialize, Serialize};

/// Who issued or lifted a ban: a Discord user, or the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanActor {
    /// The Discord user id; `None` for `bman ban`/`bman unban` on the CLI.
    pub user_id: Option<u64>,
    /// The Discord user name at that time, or `cli`.
    pub name: String,
}

impl BanActor {
    /// The command line as an actor.
    pub fn cli() -> BanActor {
        BanActor {
            user_id: None,
            name: "cli".into(),
        }
    }
}

/// Who lifted a ban, and when (unix ms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanLift {
    pub by: BanActor,
    pub at_ms: i64,
}

/// One community ban, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban {
    /// The banned player's identity (never just a name).
    pub player: PlayerKey,
    /// The player's name when banned.
    pub name: String,
    /// Empty when none was given.
    pub reason: String,
    pub by: BanActor,
    /// When it was issued, unix ms.
    pub created_ms: i64,
    /// Until when it applies (unix ms, exclusive); `None` is permanent.
    pub until_ms: Option<i64>,
    /// The configured server names it applies to; empty means every server.
    pub servers: Vec<String>,
    pub lifted: Option<BanLift>,
}

impl Ban {
    /// Neither lifted nor expired at `now_ms`.
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.lifted.is_none() && self.until_ms.is_none_or(|until| now_ms < until)
    }

    /// Active at `now_ms` and scoped to `server`.
    pub fn applies(&self, server: &str, now_ms: i64) -> bool {
        self.is_active(now_ms)
            && (self.servers.is_empty() || self.servers.iter().any(|s| s == server))
    }
}

/// Which bans a listing returns, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanQuery {
    /// Only this player's bans.
    pub player: Option<PlayerKey>,
    /// Only bans active at this time (unix ms); `None` lists lifted and
    /// expired ones too.
    pub active_at_ms: Option<i64>,
    pub limit: usize,
    pub offset: usize,
}

impl BanQuery {
    /// Every ban, newest first.
    pub fn all() -> BanQuery {
        BanQuery {
            player: None,
            active_at_ms: None,
            limit: usize::MAX,
            offset: 0,
        }
    }

    /// Every ban active at `now_ms`, newest first.
    pub fn active(now_ms: i64) -> BanQuery {
        BanQuery {
            active_at_ms: Some(now_ms),
            ..BanQuery::all()
        }
    }
}

/// Another profile seen from an IP address a player used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IpNeighbour {
    pub player: PlayerSummary,
    /// The addresses both used, sorted (callers mask them before showing).
    pub shared_ips: Vec<String>,
    pub last_seen_ms: i64,
}
