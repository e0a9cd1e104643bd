//! The domain records bman stores, independent of the backend.

use crate::mode::Mode;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// A human player's identity: (store, profile id). See [`crate::event::Profile`].
pub type PlayerKey = crate::event::Profile;

/// What the ingest learned about a player from one event; the store merges it
/// (names and IPs are sets; the latest name, colour, hat… win; first/last seen).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayerSeen {
    pub key: PlayerKey,
    pub name: Option<String>,
    pub ip: Option<String>,
    pub color: Option<String>,
    pub premium: Option<bool>,
    pub hat: Option<String>,
    pub clan_id: Option<String>,
    pub clan_tag: Option<String>,
    /// The game's player level (player_level_up).
    pub level: Option<i64>,
    pub seen_ms: i64,
}

/// Per-player, per-mode totals and current ratings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModeStats {
    pub mu: f64,
    pub sigma: f64,
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

/// A human-vs-human kill (suicides, world and bot kills are not facts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KillFact {
    pub killer: PlayerKey,
    pub victim: PlayerKey,
    pub weapon: Option<String>,
    pub headshot: bool,
    pub teamkill: bool,
}

/// A finished team deathmatch round: who played for each team (sets) and who won.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundFact {
    pub round: i64,
    pub team1: Vec<PlayerKey>,
    pub team2: Vec<PlayerKey>,
    /// 0 draw, 1 USC, 2 The Man.
    pub winner: i32,
    pub score1: Option<i64>,
    pub score2: Option<i64>,
}

/// A flag capture: the carrier (`None` for a bot) and the humans on each team at that moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureFact {
    pub carrier: Option<PlayerKey>,
    pub scoring_team: i32,
    pub scoring: Vec<PlayerKey>,
    pub other: Vec<PlayerKey>,
}

/// One participant of a finished match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchPlayer {
    pub key: PlayerKey,
    pub team: Option<i32>,
    pub kills: Option<i64>,
    pub deaths: Option<i64>,
    pub score: Option<i64>,
}

/// A finished match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchFact {
    pub map: Option<String>,
    pub started_ms: Option<i64>,
    pub winner_team: Option<i32>,
    pub winner_text: Option<String>,
    /// Every human who took part (from match_end PlayerData and the tracker's roster).
    pub players: Vec<MatchPlayer>,
    /// Survival: the last wave reached.
    pub last_wave: Option<i64>,
    /// Co-op modes: whether the humans won (zombrains: a human winner or
    /// survivors at the end). `None` where the mode has no such outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coop_won: Option<bool>,
}

/// A survival wave that started, with the humans connected at that moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaveFact {
    pub wave: i64,
    pub enemies: Option<i64>,
    pub chests: Option<i64>,
    pub chest_price: Option<i64>,
    pub players: Vec<PlayerKey>,
}

/// A chat line (the server's own messages have no player).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatFact {
    pub player: Option<PlayerKey>,
    pub name: Option<String>,
    pub message: String,
    pub team: Option<i32>,
}

/// What happened, as a tracker reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Fact {
    Kill(KillFact),
    Round(RoundFact),
    Capture(CaptureFact),
    Match(MatchFact),
    Wave(WaveFact),
    /// Survival: a human killed an NPC.
    NpcKill {
        player: PlayerKey,
    },
    /// Survival: an NPC killed a human.
    NpcDeath {
        player: PlayerKey,
    },
    /// Zombrains: a human boarded the rescue helicopter.
    Escape {
        player: PlayerKey,
    },
    Chat(ChatFact),
}

impl Fact {
    /// Every human the fact names (each gets a player record even if never
    /// seen). Facts recorded before bots were recognised by every sign may
    /// still name one; bots are left out here, so no store creates them.
    pub fn players(&self) -> Vec<&PlayerKey> {
        let mut players = self.named();
        players.retain(|key| !key.is_bot());
        players
    }

    /// The fact as it is recorded today: facts stored by releases that took
    /// `bot<N>` profiles for Steam players may name bots, and these are left
    /// out (from teams, rosters, waves, a chat's speaker). `None` when nothing
    /// is left to count: a kill of or by a bot, a bot's NPC kill or escape.
    pub fn humans_only(&self) -> Option<Cow<'_, Fact>> {
        if self.named().iter().all(|key| !key.is_bot()) {
            return Some(Cow::Borrowed(self));
        }
        let humans = |keys: &[PlayerKey]| -> Vec<PlayerKey> {
            keys.iter().filter(|k| !k.is_bot()).cloned().collect()
        };
        let fact = match self {
            Fact::Kill(_) | Fact::NpcKill { .. } | Fact::NpcDeath { .. } | Fact::Escape { .. } => {
                return None
            }
            Fact::Round(r) => Fact::Round(RoundFact {
                team1: humans(&r.team1),
                team2: humans(&r.team2),
                ..r.clone()
            }),
            Fact::Capture(c) => Fact::Capture(CaptureFact {
                carrier: c.carrier.clone().filter(|k| !k.is_bot()),
                scoring_team: c.scoring_team,
                scoring: humans(&c.scoring),
                other: humans(&c.other),
            }),
            Fact::Match(m) => Fact::Match(MatchFact {
                players: m
                    .players
                    .iter()
                    .filter(|p| !p.key.is_bot())
                    .cloned()
                    .collect(),
                ..m.clone()
            }),
            Fact::Wave(w) => Fact::Wave(WaveFact {
                players: humans(&w.players),
                ..w.clone()
            }),
            Fact::Chat(c) => Fact::Chat(ChatFact {
                player: None,
                ..c.clone()
            }),
        };
        Some(Cow::Owned(fact))
    }

    fn named(&self) -> Vec<&PlayerKey> {
        match self {
            Fact::Kill(k) => vec![&k.killer, &k.victim],
            Fact::Round(r) => r.team1.iter().chain(&r.team2).collect(),
            Fact::Capture(c) => c.carrier.iter().chain(&c.scoring).chain(&c.other).collect(),
            Fact::Match(m) => m.players.iter().map(|p| &p.key).collect(),
            Fact::Wave(w) => w.players.iter().collect(),
            Fact::NpcKill { player } | Fact::NpcDeath { player } | Fact::Escape { player } => {
                vec![player]
            }
            Fact::Chat(c) => c.player.iter().collect(),
        }
    }
}

/// A fact with where and when it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactRecord {
    pub server: String,
    pub mode: Mode,
    /// Event time (the game's `Time`, else receive time), unix ms.
    pub time_ms: i64,
    /// `<server>:<match start ms>` of the match it belongs to, if any.
    pub match_id: Option<String>,
    pub fact: Fact,
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

/// A fact as stored: numbered in apply order, with the rating changes it caused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFact {
    /// Global apply order, unique and increasing; rerate replays facts by it.
    pub seq: i64,
    pub record: FactRecord,
    pub changes: Vec<(PlayerKey, RatingChange)>,
}

/// How far into one server's journal the store has applied, plus the tracker
/// state at `snapshot_offset` so recovery can resume exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub server: String,
    pub epoch: i64,
    pub offset: u64,
    pub snapshot_offset: u64,
    /// JSON of the server's tracker state at `snapshot_offset`.
    pub snapshot: Option<String>,
}

/// Everything one writer flush changes, applied atomically.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteBatch {
    pub players: Vec<PlayerSeen>,
    pub facts: Vec<StoredFact>,
    /// Absolute new values for every (player, mode) the batch touched.
    pub stats: Vec<(PlayerKey, Mode, ModeStats)>,
    pub checkpoints: Vec<Checkpoint>,
}

impl WriteBatch {
    pub fn is_empty(&self) -> bool {
        self.players.is_empty()
            && self.facts.is_empty()
            && self.stats.is_empty()
            && self.checkpoints.is_empty()
    }
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
}

/// A player as lists show them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayerSummary {
    pub key: PlayerKey,
    /// The latest name used.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaderboardRow {
    /// 1-based position within the filtered leaderboard.
    pub rank: usize,
    pub player: PlayerSummary,
    pub stats: ModeStats,
}

/// Everything `/profile` and `bman profile` show about one player.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayerProfile {
    pub player: PlayerSummary,
    /// Every name used, oldest first.
    pub names: Vec<String>,
    pub color: Option<String>,
    pub premium: bool,
    pub hat: Option<String>,
    pub clan_id: Option<String>,
    pub clan_tag: Option<String>,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    /// The game's player level, when a level-up was seen.
    pub level: Option<i64>,
    /// Modes the player has stats in, with the unfiltered rank.
    pub modes: Vec<(Mode, ModeStats, usize)>,
}

/// One point of a player's rating history in a mode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatingPoint {
    pub seq: i64,
    pub time_ms: i64,
    pub change: RatingChange,
}

/// One attempt at a privileged bot command, allowed or denied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When it was attempted, unix ms.
    pub time_ms: i64,
    /// The Discord user's id and name at that time.
    pub user_id: u64,
    pub user_name: String,
    /// The configured server name it targeted.
    pub server: String,
    /// The command as the user asked for it, e.g. `kick Bob (afk)` or `rcon map dust`.
    pub command: String,
    pub allowed: bool,
    /// What happened: the game's reply, "timed out", "denied: not an admin", …
    pub result: String,
}
