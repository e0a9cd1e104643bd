//! The per-server slot -> identity cache.
//!
//! Events name players by slot id (`PlayerID`, `KillerID`…), and slots are
//! reused once a player leaves, so the tracker keeps who sits in each slot,
//! fed by connects, spawns, team changes and `PlayerData`. Profiles carried by
//! an event itself are more current than the cache and win over it.

use crate::event::{PlayerData, Profile};
use crate::model::{NpcEncounter, PlayerKey, PlayerSeen};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Who is behind a slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Who {
    /// Connected, but no profile seen yet: facts about it cannot be attributed.
    Unknown,
    /// A bot or an NPC known by a slot sign alone (`Bot "1"` or an enemy
    /// type without a profile).
    Bot,
    /// A bot or an NPC, by any sign (see [`Who::from_signs`]), with the
    /// profile it was seen with: a later event carrying that same profile is
    /// the same bot, even when the profile alone looks human.
    BotProfile(PlayerKey),
    /// A human; a snapshot of an earlier release may hold a bot's key here,
    /// which [`Who::human`] still refuses.
    Human(PlayerKey),
}

impl Who {
    /// The one rule for "is this slot a human" (README, "Bots are never
    /// players"): a bot profile ([`PlayerKey::is_bot`]: `bot<digits>`,
    /// store -1, empty id), `Bot "1"` in PlayerData, or EnemyType/EnemyRank
    /// on a spawn mark a bot or NPC; any other profile is a human.
    fn from_signs(profile: &Profile, flagged_bot: bool) -> Who {
        if flagged_bot || profile.is_bot() {
            Who::BotProfile(profile.key())
        } else {
            Who::Human(profile.key())
        }
    }

    fn from_player_data(pd: &PlayerData) -> Option<Who> {
        match &pd.profile {
            Some(profile) => Some(Who::from_signs(profile, pd.bot)),
            None if pd.bot => Some(Who::Bot),
            None => None,
        }
    }

    /// What `profile` in an event about this slot means, given what the slot
    /// is known as: a known bot's own profile stays a bot.
    fn with_profile(&self, profile: &Profile) -> Who {
        match self {
            Who::BotProfile(known) if known.store == profile.store && known.id == profile.id => {
                self.clone()
            }
            _ => Who::from_signs(profile, false),
        }
    }

    fn human(&self) -> Option<&PlayerKey> {
        match self {
            Who::Human(key) if !key.is_bot() => Some(key),
            Who::Human(_) | Who::Unknown | Who::Bot | Who::BotProfile(_) => None,
        }
    }
}

/// One occupied slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Slot {
    who: Who,
    name: Option<String>,
    /// 0 deathmatch, 1 USC, 2 The Man, 3 spectator, -1 none; `None` until seen.
    team: Option<i32>,
    /// An NPC's kind, from its spawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    npc: Option<NpcEncounter>,
}

/// The actor of an event (a killer, a victim, a carrier…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Human(PlayerKey),
    Bot,
    /// No player: slot -1 or missing, and no profile (the world, the server).
    World,
    /// A slot the tracker knows nothing about; not attributable.
    Unknown,
}

impl Actor {
    pub fn human(&self) -> Option<&PlayerKey> {
        match self {
            Actor::Human(key) => Some(key),
            _ => None,
        }
    }
}

/// Slot id -> [`Slot`] for the players currently connected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Identity {
    slots: BTreeMap<i32, Slot>,
}

impl Identity {
    /// A new player took `slot`: whatever sat there before is gone.
    pub fn connect(
        &mut self,
        slot: i32,
        name: Option<&String>,
        ip: Option<&String>,
        profile: Option<&Profile>,
        seen_ms: i64,
    ) -> Option<PlayerSeen> {
        let who = profile.map_or(Who::Unknown, |p| Who::from_signs(p, false));
        let seen = who.human().map(|key| PlayerSeen {
            name: name.cloned(),
            ip: ip.cloned(),
            ..seen(key, seen_ms)
        });
        self.slots.insert(
            slot,
            Slot {
                who,
                name: name.cloned(),
                team: None,
                npc: None,
            },
        );
        seen
    }

    pub fn disconnect(&mut self, slot: i32) {
        self.slots.remove(&slot);
    }

    /// Learns the profile an event carries for `slot` (player_loaded, team
    /// changes, deaths…). A different human than the cached one means the slot
    /// changed hands unseen, so its name and team are forgotten.
    pub fn learn(&mut self, slot: i32, profile: Option<&Profile>) {
        let Some(profile) = profile else { return };
        self.learn_who(slot, profile, false);
    }

    /// [`Identity::learn`] with the event's own bot sign.
    fn learn_who(&mut self, slot: i32, profile: &Profile, flagged_bot: bool) {
        let who = match self.slots.get(&slot) {
            Some(entry) if !flagged_bot => entry.who.with_profile(profile),
            _ => Who::from_signs(profile, flagged_bot),
        };
        match self.slots.get_mut(&slot) {
            Some(entry) if entry.who == who => {}
            Some(entry) if entry.who == Who::Unknown => entry.who = who,
            _ => {
                self.slots.insert(
                    slot,
                    Slot {
                        who,
                        name: None,
                        team: None,
                        npc: None,
                    },
                );
            }
        }
    }

    /// A spawn: NPCs (EnemyType/EnemyRank) are bots whatever their profile
    /// says. Returns the human who spawned, if it is one.
    pub fn spawn(
        &mut self,
        slot: i32,
        profile: Option<&Profile>,
        npc: Option<NpcEncounter>,
        name: Option<&String>,
        team: Option<i32>,
    ) -> Option<PlayerKey> {
        match profile {
            Some(profile) => self.learn_who(slot, profile, npc.is_some()),
            None if npc.is_some() => {
                self.slots.insert(
                    slot,
                    Slot {
                        who: Who::Bot,
                        name: None,
                        team: None,
                        npc: None,
                    },
                );
            }
            None => {}
        }
        let entry = self.slots.entry(slot).or_insert(Slot {
            who: Who::Unknown,
            name: None,
            team: None,
            npc: None,
        });
        if name.is_some() {
            entry.name = name.cloned();
        }
        if team.is_some() {
            entry.team = team;
        }
        entry.npc = npc;
        entry.who.human().cloned()
    }

    /// The NPC in `slot`, as it spawned.
    pub fn npc(&self, slot: Option<i32>) -> Option<&NpcEncounter> {
        self.slots.get(&slot?)?.npc.as_ref()
    }

    /// A team change; returns the human who changed, if it is one.
    pub(crate) fn set_team(&mut self, slot: i32, team: i32) -> Option<PlayerKey> {
        let entry = self.slots.get_mut(&slot)?;
        entry.team = Some(team);
        entry.who.human().cloned()
    }

    /// Merges one `PlayerData` (match_end, request_player). Without a usable
    /// profile the slot keeps its identity only if the name still matches, as
    /// a different name in a known slot means it changed hands.
    pub(crate) fn player_data(&mut self, pd: &PlayerData, seen_ms: i64) -> Option<PlayerSeen> {
        let slot = pd.slot?;
        let old = self.slots.remove(&slot);
        let who = Who::from_player_data(pd)
            .or_else(|| old.filter(|o| o.name == pd.name).map(|o| o.who))
            .unwrap_or(Who::Unknown);
        let seen = who.human().map(|key| PlayerSeen {
            name: pd.name.clone(),
            color: pd.color.clone(),
            premium: Some(pd.premium),
            hat: pd.hat.clone(),
            clan_id: pd.clan_id.clone(),
            clan_tag: pd.clan_tag.clone(),
            ..seen(key, seen_ms)
        });
        self.slots.insert(
            slot,
            Slot {
                who,
                name: pd.name.clone(),
                team: pd.team,
                npc: None,
            },
        );
        seen
    }

    /// A scoreboard lists everyone connected: it replaces the whole map, since
    /// connects and disconnects may have been missed while bman was away.
    pub(crate) fn rebuild(&mut self, players: &[PlayerData], seen_ms: i64) -> Vec<PlayerSeen> {
        let mut old = std::mem::take(&mut self.slots);
        players
            .iter()
            .filter_map(|pd| {
                let slot = pd.slot?;
                if let Some(prev) = old.remove(&slot) {
                    self.slots.insert(slot, prev);
                }
                self.player_data(pd, seen_ms)
            })
            .collect()
    }

    /// Who did something: a non-bot profile in the event wins over the cache
    /// (and is learned); a bot profile marks a bot; otherwise the cache decides.
    pub(crate) fn resolve(&mut self, slot: Option<i32>, profile: Option<&Profile>) -> Actor {
        if let (Some(slot), Some(_)) = (slot.filter(|s| *s >= 0), profile) {
            self.learn(slot, profile);
        }
        let known = slot
            .filter(|s| *s >= 0)
            .and_then(|s| self.slots.get(&s))
            .map(|s| &s.who);
        let who = match (profile, known) {
            (Some(p), Some(known)) => known.with_profile(p),
            (Some(p), None) => Who::from_signs(p, false),
            (None, Some(known)) => known.clone(),
            (None, None) if slot.is_some_and(|s| s >= 0) => Who::Unknown,
            (None, None) => return Actor::World,
        };
        match who {
            Who::Unknown => Actor::Unknown,
            who => who.human().cloned().map_or(Actor::Bot, Actor::Human),
        }
    }

    pub fn team(&self, slot: Option<i32>) -> Option<i32> {
        self.slots.get(&slot?)?.team
    }

    /// Connected humans with a known team, in slot order.
    pub fn teams(&self) -> Vec<(PlayerKey, i32)> {
        self.slots
            .values()
            .filter_map(|s| Some((s.who.human()?.clone(), s.team?)))
            .collect()
    }

    /// Connected humans whose team passes `keep`, sorted and deduplicated.
    pub fn humans(&self, keep: impl Fn(Option<i32>) -> bool) -> Vec<PlayerKey> {
        let set: BTreeSet<&PlayerKey> = self
            .slots
            .values()
            .filter(|s| keep(s.team))
            .filter_map(|s| s.who.human())
            .collect();
        set.into_iter().cloned().collect()
    }
}

/// An empty sighting of `key`, for the caller to fill in.
pub fn seen(key: &PlayerKey, seen_ms: i64) -> PlayerSeen {
    PlayerSeen::bare(key.clone(), seen_ms)
}
