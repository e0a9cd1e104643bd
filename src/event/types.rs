//! The typed events and their payloads, as [`decode`](fn@super::decode) makes
//! them from a frame.

#[cfg(doc)]
use super::ids;
use crate::model::{is_bot_identity, Loadout, PlayerKey, Position};

/// A player's identity across servers: (store, profile id).
/// Store ids: 0 Steam, 1 Discord, 2 Itch.io, 3 GameJolt; -1 NPCs (and bots
/// in the public docs). Real servers give bots Steam's store: see [`Profile::is_bot`].
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Profile {
    pub store: i32,
    pub id: String,
}

impl Profile {
    /// Whether the profile marks a bot or an NPC ([`PlayerKey::is_bot`]'s rule).
    pub fn is_bot(&self) -> bool {
        is_bot_identity(self.store, &self.id)
    }

    /// The player's identity as the rest of bman keys it.
    pub fn key(&self) -> PlayerKey {
        PlayerKey::new(self.store, self.id.clone())
    }
}

/// A player as the server describes it in scoreboards, player replies and match_end.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlayerData {
    pub slot: Option<i32>,
    pub name: Option<String>,
    pub color: Option<String>,
    /// 0 deathmatch, 1 USC, 2 The Man, 3 spectator, -1 none.
    pub team: Option<i32>,
    pub kills: Option<i64>,
    pub deaths: Option<i64>,
    pub assists: Option<i64>,
    pub score: Option<i64>,
    pub profile: Option<Profile>,
    pub alive: bool,
    pub bot: bool,
    pub hat: Option<String>,
    pub money: Option<i64>,
    pub premium: bool,
    pub clan_id: Option<String>,
    pub clan_tag: Option<String>,
}

/// Reply to request_scoreboard (CaseID 7).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scoreboard {
    pub server_name: Option<String>,
    pub gamemode_name: Option<String>,
    pub gamemode_id: Option<i32>,
    pub map: Option<String>,
    pub time_str: Option<String>,
    pub team1_score: Option<i64>,
    pub team2_score: Option<i64>,
    pub players: Vec<PlayerData>,
}

/// Reply to request_match (CaseID 5).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MatchInfo {
    pub server_name: Option<String>,
    pub gamemode_name: Option<String>,
    pub gamemode_id: Option<i32>,
    pub map: Option<String>,
    pub players: Option<i64>,
    pub max_players: Option<i64>,
    pub time_left: Option<i64>,
    pub max_time: Option<i64>,
    pub time_str: Option<String>,
    pub overtime: bool,
    pub version: Option<String>,
    pub max_score: Option<i64>,
    pub team1_score: Option<i64>,
    pub team2_score: Option<i64>,
}

/// The body of a [`ids::REQUEST_DATA`] event, by CaseID.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyBody {
    Scoreboard(Scoreboard),
    Match(MatchInfo),
    Player(PlayerData),
    Other,
}

/// A death: killer == victim is a suicide, killer -1 (or missing) the world.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Death {
    pub victim: Option<i32>,
    pub killer: Option<i32>,
    pub assister: Option<i32>,
    pub victim_profile: Option<Profile>,
    pub killer_profile: Option<Profile>,
    pub assister_profile: Option<Profile>,
    pub weapon: Option<String>,
    pub headshot: bool,
    pub death_type: Option<i64>,
    pub teamkill: bool,
    /// Where the killer and the victim were.
    pub killer_at: Option<Position>,
    pub victim_at: Option<Position>,
}

/// End of a match ([`ids::MATCH_END`] with players, or [`ids::GAME_OVER`] without).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MatchEnd {
    pub winner_text: Option<String>,
    pub winner_team: Option<i32>,
    pub winner_id: Option<i32>,
    pub gamemode_id: Option<i32>,
    pub map: Option<String>,
    pub next_map: Option<String>,
    pub players: Vec<PlayerData>,
}

/// One decoded event. Field names follow the game's keys; each variant names
/// the id it comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// [`ids::SERVER_STARTUP`]
    ServerStartup,
    /// [`ids::SERVER_SHUTDOWN`]: the connection will close; reconnect.
    ServerShutdown,
    /// [`ids::LOBBY_CONNECT`]
    LobbyConnect,
    /// [`ids::LOBBY_DISCONNECT`]
    LobbyDisconnect,
    /// [`ids::PLAYER_CONNECT`]
    PlayerConnect {
        slot: Option<i32>,
        name: Option<String>,
        ip: Option<String>,
        profile: Option<Profile>,
        is_admin: bool,
    },
    /// [`ids::PLAYER_SPAWN`] (NPCs carry enemy type and rank in survival)
    PlayerSpawn {
        slot: Option<i32>,
        profile: Option<Profile>,
        name: Option<String>,
        team: Option<i32>,
        hat: Option<String>,
        color: Option<String>,
        enemy_type: Option<String>,
        enemy_rank: Option<String>,
        loadout: Loadout,
    },
    /// [`ids::PLAYER_DEATH`]
    PlayerDeath(Death),
    /// [`ids::PLAYER_DISCONNECT`]
    PlayerDisconnect {
        slot: Option<i32>,
        profile: Option<Profile>,
        kicked: bool,
        kick_reason: Option<String>,
    },
    /// [`ids::PLAYER_TEAM_CHANGE`]
    PlayerTeamChange {
        slot: Option<i32>,
        profile: Option<Profile>,
        old_team: Option<i32>,
        new_team: Option<i32>,
        autobalanced: bool,
    },
    /// [`ids::PLAYER_LEVEL_UP`]: real servers name the slot `ID` (the docs say `PlayerID`).
    PlayerLevelUp {
        slot: Option<i32>,
        profile: Option<Profile>,
        level: Option<i64>,
    },
    /// [`ids::PLAYER_LOADED`]
    PlayerLoaded {
        slot: Option<i32>,
        profile: Option<Profile>,
    },
    /// [`ids::TDM_ROUND_START`]
    TdmRoundStart {
        players1: Option<i64>,
        players2: Option<i64>,
    },
    /// [`ids::TDM_ROUND_END`]: winner 0 draw, 1 USC, 2 The Man.
    TdmRoundEnd {
        winner: Option<i32>,
        score1: Option<i64>,
        score2: Option<i64>,
        end_type: Option<i32>,
        flawless: bool,
    },
    /// [`ids::TDM_SWITCH_SIDES`]
    TdmSwitchSides {
        score1: Option<i64>,
        score2: Option<i64>,
    },
    /// [`ids::CTF_TAKEN`] and [`ids::CTF_DROPPED`]
    CtfFlag {
        taken: bool,
        carrier: Option<i32>,
        carrier_profile: Option<Profile>,
        flag_team: Option<i32>,
    },
    /// [`ids::CTF_RETURNED`]
    CtfReturned {
        player: Option<i32>,
        profile: Option<Profile>,
    },
    /// [`ids::CTF_SCORED`]
    CtfScored {
        carrier: Option<i32>,
        carrier_profile: Option<Profile>,
        scoring_team: Option<i32>,
        score1: Option<i64>,
        score2: Option<i64>,
    },
    /// [`ids::MATCH_END`] (with PlayerData) and [`ids::GAME_OVER`] (without).
    MatchEnd(MatchEnd),
    /// [`ids::MATCH_START`]
    MatchStart {
        map_name: Option<String>,
        map_file: Option<String>,
        gamemode_id: Option<i32>,
    },
    /// [`ids::SURVIVAL_NEW_WAVE`]
    SurvivalNewWave {
        wave: Option<i64>,
        enemies: Option<i64>,
        chests: Option<i64>,
        chest_price: Option<i64>,
        chest_crash: Option<i64>,
    },
    /// [`ids::SURVIVAL_WAVE_BEGINS`]
    SurvivalWaveBegins {
        wave: Option<i64>,
        objective: Option<String>,
    },
    /// [`ids::SURVIVAL_BUY_CHEST`]
    SurvivalBuyChest {
        slot: Option<i32>,
        profile: Option<Profile>,
        cost: Option<i64>,
    },
    /// [`ids::LOG_MESSAGE`]
    LogMessage { message: Option<String> },
    /// [`ids::REQUEST_DATA`]: a reply to one of our requests.
    RequestData {
        case_id: Option<i32>,
        request_id: Option<String>,
        body: ReplyBody,
    },
    /// [`ids::COMMAND_ENTERED`]: Source 0 console, 1 RCON.
    CommandEntered {
        command: Option<String>,
        source: Option<i32>,
        return_text: Option<String>,
    },
    /// [`ids::RCON_LOGGED_IN`]
    RconLoggedIn {
        gamemode_id: Option<i32>,
        map_name: Option<String>,
    },
    /// [`ids::WARMUP_START`]
    WarmupStart,
    /// [`ids::RCON_PING`]: answer with a ping packet.
    RconPing,
    /// [`ids::ZOMBRAINS_HELICOPTER_PLAYER_BOARDED`]: a player escaped.
    ZombrainsBoarded {
        slot: Option<i32>,
        profile: Option<Profile>,
    },
    /// [`ids::ZOMBRAINS_END`]: players alive and dead at the end.
    ZombrainsEnd {
        alive: Option<i64>,
        dead: Option<i64>,
    },
    /// [`ids::CHAT_MESSAGE`]: slot -1 is the server itself; team 0 all, 1/2 team chat.
    ChatMessage {
        slot: Option<i32>,
        name: Option<String>,
        profile: Option<Profile>,
        message: String,
        team: Option<i32>,
    },
    /// Any other known id with a player (level up, power-up, loadout, taunt,
    /// vices, missions, zombrains, structures…): kept with who did it.
    PlayerAction {
        id: u16,
        slot: Option<i32>,
        profile: Option<Profile>,
    },
    /// A known id that carries nothing bman uses (overtime, pause, sleep…).
    Notice { id: u16 },
    /// An id not in [`ids::ALL`].
    Unknown { id: u16 },
}

/// A decoded event with the fields every event has.
#[derive(Debug, Clone, PartialEq)]
pub struct GameEvent {
    pub id: u16,
    /// `Time`, unix seconds, when present.
    pub time: Option<i64>,
    pub event: Event,
}

/// Why an event payload could not be decoded at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("event {id}: payload is not JSON: {reason}")]
    NotJson { id: u16, reason: String },
    #[error("event {id}: payload is JSON but not an object")]
    NotObject { id: u16 },
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bots_by_their_profile_whatever_the_store() {
        let p = |id: &str, store| Profile {
            store,
            id: id.into(),
        };
        for bot in [
            p("bot2", 0),
            p("bot13", 1),
            p("", 0),
            p("7656", -1),
            p("0", -1),
        ] {
            assert!(bot.is_bot(), "{bot:?}");
        }
        for human in [
            p("76561198000000001", 0),
            p("bot", 0),
            p("botany", 0),
            p("robot2", 0),
        ] {
            assert!(!human.is_bot(), "{human:?}");
        }
    }
}
