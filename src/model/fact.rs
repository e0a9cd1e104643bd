//! Facts: what happened in a game, as the trackers report it and the rater counts it.

use super::{Mode, PlayerKey, RatingChange};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// A human-vs-human kill (suicides, world and bot kills are not facts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KillFact {
    pub killer: PlayerKey,
    pub victim: PlayerKey,
    pub weapon: Option<String>,
    pub headshot: bool,
    pub teamkill: bool,
    /// Where the killer was, when the server said (facts recorded before
    /// bman kept positions have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub killer_at: Option<Position>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub victim_at: Option<Position>,
}

/// A point on the map, in the game's coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub x: f64,
    pub y: f64,
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
    /// The match's map, when known (facts recorded before bman kept it have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<String>,
    /// Every spawn on a team during the round, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loadouts: Vec<RoundLoadout>,
}

/// What a player spawned with: the game's weapon and equipment ids.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Loadout {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weap1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weap2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offweap: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offweap2: Option<String>,
}

/// One spawn of a TDM round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundLoadout {
    pub player: PlayerKey,
    #[serde(flatten)]
    pub loadout: Loadout,
}

/// The NPC in a survival kill or death: its kind, as its spawn told, and
/// the weapon that killed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NpcEncounter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enemy_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enemy_rank: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weapon: Option<String>,
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
    /// Survival: a human killed an NPC (facts recorded before bman kept
    /// the NPC have no `npc`).
    NpcKill {
        player: PlayerKey,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        npc: Option<NpcEncounter>,
    },
    /// Survival: an NPC killed a human.
    NpcDeath {
        player: PlayerKey,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        npc: Option<NpcEncounter>,
    },
    /// Zombrains: a human boarded the rescue helicopter.
    Escape {
        player: PlayerKey,
    },
    Chat(ChatFact),
}

impl Fact {
    /// Every [`Fact::kind`], in declaration order.
    pub const KINDS: [&'static str; 9] = [
        "kill",
        "round",
        "capture",
        "match",
        "wave",
        "npc_kill",
        "npc_death",
        "escape",
        "chat",
    ];

    /// The fact's kind as stored (its serde `type` tag).
    pub fn kind(&self) -> &'static str {
        let i = match self {
            Fact::Kill(_) => 0,
            Fact::Round(_) => 1,
            Fact::Capture(_) => 2,
            Fact::Match(_) => 3,
            Fact::Wave(_) => 4,
            Fact::NpcKill { .. } => 5,
            Fact::NpcDeath { .. } => 6,
            Fact::Escape { .. } => 7,
            Fact::Chat(_) => 8,
        };
        Self::KINDS[i]
    }

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
    pub(crate) fn humans_only(&self) -> Option<Cow<'_, Fact>> {
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
                loadouts: r
                    .loadouts
                    .iter()
                    .filter(|l| !l.player.is_bot())
                    .cloned()
                    .collect(),
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
            Fact::NpcKill { player, .. }
            | Fact::NpcDeath { player, .. }
            | Fact::Escape { player } => vec![player],
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

/// A fact as stored: numbered in apply order, with the rating changes it caused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFact {
    /// Global apply order, unique and increasing; rerate replays facts by it.
    pub seq: i64,
    pub record: FactRecord,
    pub changes: Vec<(PlayerKey, RatingChange)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_is_the_stored_type_tag() {
        let player = PlayerKey::new(0, "7656");
        let chat = ChatFact {
            player: None,
            name: None,
            message: String::new(),
            team: None,
        };
        for fact in [
            Fact::NpcKill {
                player: player.clone(),
                npc: None,
            },
            Fact::NpcDeath {
                player: player.clone(),
                npc: None,
            },
            Fact::Escape { player },
            Fact::Chat(chat),
        ] {
            let json = serde_json::to_value(&fact).unwrap();
            assert_eq!(json["type"], fact.kind());
            assert!(Fact::KINDS.contains(&fact.kind()));
        }
    }
}
