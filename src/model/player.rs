//! Who a player is, what ingest learns about them, and how lists and profiles show them.

use super::{Mode, ModeStats};
use serde::{Deserialize, Serialize};

/// A human player's identity: (store, profile id). The wire form is
/// `event::Profile`; the ingest converts it at the edge (`game::identity`).
/// Store ids: 0 Steam, 1 Discord, 2 Itch.io, 3 GameJolt; -1 NPCs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PlayerKey {
    pub store: i32,
    pub id: String,
}

impl PlayerKey {
    /// The store id the public docs give bots and NPCs.
    pub(crate) const BOT_STORE: i32 = -1;

    pub fn new(store: i32, id: impl Into<String>) -> PlayerKey {
        PlayerKey {
            store,
            id: id.into(),
        }
    }

    /// Whether the key itself marks a bot or an NPC: profile id `bot<digits>`
    /// on any store (real bots are `{"ProfileID":"bot2","StoreID":"0"}`),
    /// store -1, or an empty id (NPCs). The slot-level signs (`Bot "1"` in
    /// PlayerData, EnemyType/EnemyRank on spawn) are read by the identity
    /// cache (`game::identity`), which decides "human" for live events; this
    /// is the part a stored key can still be checked by.
    pub fn is_bot(&self) -> bool {
        is_bot_identity(self.store, &self.id)
    }

    /// The key written as the bot lists candidates, `Steam 123` (also
    /// `steam:123`): what a user types to pick one of several players who
    /// share a name or an id.
    pub fn from_qualified(text: &str) -> Option<PlayerKey> {
        let (store, id) = text.trim().split_once([' ', ':'])?;
        let id = id.trim();
        let store = (0..=3).find(|&s| {
            PlayerKey::new(s, "")
                .store_name()
                .eq_ignore_ascii_case(store)
        })?;
        (!id.is_empty() && !id.contains(char::is_whitespace)).then(|| PlayerKey::new(store, id))
    }

    /// [`PlayerKey::from_qualified`]'s form of this key.
    pub fn qualified(&self) -> String {
        format!("{} {}", self.store_name(), self.id)
    }

    pub(crate) fn store_name(&self) -> &'static str {
        match self.store {
            0 => "Steam",
            1 => "Discord",
            2 => "Itch.io",
            3 => "GameJolt",
            -1 => "bot",
            _ => "unknown store",
        }
    }
}

/// The one rule for "this identity is a bot or an NPC", shared by
/// [`PlayerKey::is_bot`] and the wire profile's check.
pub(crate) fn is_bot_identity(store: i32, id: &str) -> bool {
    store == PlayerKey::BOT_STORE || id.is_empty() || is_bot_id(id)
}

/// `bot` followed by one or more ASCII digits, as real servers name bots.
fn is_bot_id(id: &str) -> bool {
    id.strip_prefix("bot")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

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

/// A player as lists show them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayerSummary {
    pub key: PlayerKey,
    /// The latest name used.
    pub name: String,
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

impl PlayerProfile {
    /// The player's stats and rank in `mode`, if they played it.
    pub fn in_mode(&self, mode: Mode) -> Option<(ModeStats, usize)> {
        self.modes
            .iter()
            .find(|(m, _, _)| *m == mode)
            .map(|&(_, stats, rank)| (stats, rank))
    }
}

/// One player as `bman migrate` copies it; [`PlayerExport::sightings`] turns
/// it back into what `apply` merges.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayerExport {
    pub key: PlayerKey,
    /// The latest name (the profile id for a player never seen with one).
    pub display_name: String,
    /// Every name with when it was first used, oldest first.
    pub names: Vec<(String, i64)>,
    /// Every IP with when it was first used.
    pub ips: Vec<(String, i64)>,
    pub color: Option<String>,
    pub premium: bool,
    pub hat: Option<String>,
    pub clan_id: Option<String>,
    pub clan_tag: Option<String>,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub level: Option<i64>,
}

impl PlayerExport {
    pub fn summary(&self) -> PlayerSummary {
        PlayerSummary {
            key: self.key.clone(),
            name: self.display_name.clone(),
        }
    }

    /// The player's profile, given their stats and ranks.
    pub(crate) fn into_profile(self, modes: Vec<(Mode, ModeStats, usize)>) -> PlayerProfile {
        PlayerProfile {
            player: self.summary(),
            names: self.names.into_iter().map(|(name, _)| name).collect(),
            color: self.color,
            premium: self.premium,
            hat: self.hat,
            clan_id: self.clan_id,
            clan_tag: self.clan_tag,
            first_seen_ms: self.first_seen_ms,
            last_seen_ms: self.last_seen_ms,
            level: self.level,
            modes,
        }
    }

    /// Sightings that rebuild this player exactly: one per name and IP at its
    /// first use, then the latest attributes (and latest name) at last seen.
    pub(crate) fn sightings(&self) -> Vec<PlayerSeen> {
        let bare = |seen_ms| PlayerSeen::bare(self.key.clone(), seen_ms);
        let mut out = vec![bare(self.first_seen_ms)];
        out.extend(self.names.iter().map(|(name, t)| PlayerSeen {
            name: Some(name.clone()),
            ..bare(*t)
        }));
        out.extend(self.ips.iter().map(|(ip, t)| PlayerSeen {
            ip: Some(ip.clone()),
            ..bare(*t)
        }));
        out.push(PlayerSeen {
            name: (!self.names.is_empty()).then(|| self.display_name.clone()),
            color: self.color.clone(),
            premium: Some(self.premium),
            hat: self.hat.clone(),
            clan_id: self.clan_id.clone(),
            clan_tag: self.clan_tag.clone(),
            level: self.level,
            ..bare(self.last_seen_ms)
        });
        out
    }
}

impl PlayerSeen {
    /// A sighting that tells nothing but the time.
    pub fn bare(key: PlayerKey, seen_ms: i64) -> PlayerSeen {
        PlayerSeen {
            key,
            name: None,
            ip: None,
            color: None,
            premium: None,
            hat: None,
            clan_id: None,
            clan_tag: None,
            level: None,
            seen_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_keys_read_back() {
        for key in [PlayerKey::new(0, "7656"), PlayerKey::new(3, "abc_1")] {
            assert_eq!(PlayerKey::from_qualified(&key.qualified()), Some(key));
        }
        assert_eq!(
            PlayerKey::from_qualified(" discord:42 "),
            Some(PlayerKey::new(1, "42"))
        );
        for not_a_key in ["Steam", "Steam ", "Bob 123", "bot 1", "Steam 1 2", "123"] {
            assert_eq!(PlayerKey::from_qualified(not_a_key), None, "{not_a_key}");
        }
    }
}
