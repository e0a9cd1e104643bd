//! Typed game events (protocol.md "Events") with tolerant decoding.
//!
//! The game sends nearly every value as a JSON string, sometimes as a number,
//! and several forms of `Profile`. Decoding never fails on a missing or
//! mistyped field: it becomes `None`, and the consumer decides whether the
//! event is still usable. Only a payload that is not a JSON object is an error.
//! Unknown event ids are kept as [`Event::Unknown`].

mod scan;

use crate::model::{is_bot_identity, PlayerKey};
use serde_json::value::RawValue;
use std::borrow::Cow;

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

/// An event object's fields as borrowed raw JSON: parsing a frame only
/// splits the object into keys and value texts, and a value is decoded when
/// (and as) it is asked for, instead of building a `serde_json::Value` tree
/// that allocates for every key and value.
pub struct Fields<'a>(Vec<scan::Field<'a>>);

/// Why a text is not a JSON object.
#[derive(Debug)]
pub enum ObjectError {
    NotJson(serde_json::Error),
    NotObject,
}

impl<'a> Fields<'a> {
    /// Splits a JSON object into its fields, in one pass over the text: the
    /// scanner for the objects the game sends, serde_json for anything else
    /// (so odd input is accepted, rejected and explained as serde_json does).
    pub fn parse(json: &'a str) -> Result<Fields<'a>, ObjectError> {
        match scan::object(json) {
            Some(fields) => Ok(Fields(fields)),
            None => serde_object(json).map(Fields),
        }
    }

    /// The raw JSON text of a field (the last one, if a key repeats).
    pub fn raw(&self, key: &str) -> Option<&'a str> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// Every field, in order, with its value's raw JSON text.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &'a str)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), *v))
    }

    /// A non-empty string; numbers are rendered as text.
    pub fn str(&self, key: &str) -> Option<String> {
        str_of(self.raw(key)?)
    }

    pub fn f64(&self, key: &str) -> Option<f64> {
        f64_of(self.raw(key)?)
    }

    /// An integer; `"12.0"` is accepted, `"12.5"` and `"abc"` are not.
    pub fn i64(&self, key: &str) -> Option<i64> {
        i64_of(self.raw(key)?)
    }

    pub fn i32(&self, key: &str) -> Option<i32> {
        i32_of(self.raw(key)?)
    }

    /// `"1"`, `1`, `true`, `"true"` are true; anything else (or missing) is false.
    pub fn flag(&self, key: &str) -> bool {
        self.raw(key).is_some_and(flag_of)
    }

    /// A `Profile`-type field in any of its forms; `store_key` names the
    /// separate store field used with plain ids (usually `"Store"`).
    pub fn profile(&self, key: &str, store_key: &str) -> Option<Profile> {
        profile_of(self.raw(key)?, || self.i32(store_key))
    }
}

fn str_of(raw: &str) -> Option<String> {
    raw_text(raw).filter(|s| !s.is_empty()).map(Cow::into_owned)
}

fn f64_of(raw: &str) -> Option<f64> {
    let v: f64 = match trim(&raw_text(raw)?) {
        "true" => 1.0,
        "false" => 0.0,
        t => t.parse().ok()?,
    };
    v.is_finite().then_some(v)
}

fn i64_of(raw: &str) -> Option<i64> {
    i64_of_text(&raw_text(raw)?)
}

/// [`i64_of`] for a scalar's text.
fn i64_of_text(text: &str) -> Option<i64> {
    match trim(text) {
        "true" => Some(1),
        "false" => Some(0),
        t => t.parse().ok().or_else(|| whole(t.parse().ok()?)),
    }
}

fn i32_of(raw: &str) -> Option<i32> {
    i64_of(raw).and_then(|v| i32::try_from(v).ok())
}

fn flag_of(raw: &str) -> bool {
    raw_text(raw).is_some_and(|t| match trim(&t) {
        "true" | "True" | "TRUE" => true,
        t => t.parse::<f64>().is_ok_and(|v| v != 0.0),
    })
}

/// A profile from an object, a JSON-encoded object, or a plain id (whose
/// store comes from a separate field, 0 when absent; looked up only then).
fn profile_of(raw: &str, separate_store: impl FnOnce() -> Option<i32>) -> Option<Profile> {
    match usual_profile(raw) {
        Some(profile) => profile,
        None => any_profile(raw, separate_store),
    }
}

/// The form the game nearly always sends,
/// `"{\"ProfileID\":\"<id>\",\"StoreID\":\"<store>\"}"` (or `Store`), read in
/// place: [`any_profile`] would unescape it and parse it as a second object,
/// which made profiles a third of the decoding cost. An empty id (an NPC's,
/// or "no assister", on nearly every real death) is `Some(None)`: no
/// profile, as [`any_profile`] would also say. `None` for anything else
/// ([`any_profile`] then decides).
fn usual_profile(raw: &str) -> Option<Option<Profile>> {
    let rest = raw.strip_prefix(r#""{\"ProfileID\":\""#)?;
    let (id, rest) = rest.split_once(r#"\""#)?;
    let rest = rest
        .strip_prefix(r#",\"StoreID\":\""#)
        .or_else(|| rest.strip_prefix(r#",\"Store\":\""#))?;
    let store = rest.strip_suffix(r#"\"}""#)?;
    // Without a backslash in them, id and store need no unescaping, and the
    // `\"`s around them really are the quotes of the inner object.
    if id.contains('\\') || store.contains('\\') {
        return None;
    }
    if id.is_empty() {
        return Some(None);
    }
    Some(Some(Profile {
        store: i64_of_text(store)
            .and_then(|s| i32::try_from(s).ok())
            .unwrap_or(0),
        id: id.to_owned(),
    }))
}

/// [`profile_of`] for every form.
fn any_profile(raw: &str, separate_store: impl FnOnce() -> Option<i32>) -> Option<Profile> {
    if raw.starts_with('{') {
        return profile_from_object(&Fields::parse(raw).ok()?);
    }
    let text = raw_text(raw)?;
    let text = trim(&text);
    if text.is_empty() {
        return None;
    }
    if text.starts_with('{') {
        return profile_from_object(&Fields::parse(text).ok()?);
    }
    Some(Profile {
        store: separate_store().unwrap_or(0),
        id: text.to_string(),
    })
}

/// A scalar's text: strings unescaped, numbers and bools as written; `None`
/// for null, objects and arrays.
fn raw_text(raw: &str) -> Option<Cow<'_, str>> {
    match raw.as_bytes().first()? {
        b'"' => {
            // The string is well formed (Fields::parse checked it): most game
            // strings have no escapes and are borrowed as they are.
            let contents = raw.get(1..raw.len() - 1)?;
            if contents.contains('\\') {
                scan::unescape(contents).map(Cow::Owned)
            } else {
                Some(Cow::Borrowed(contents))
            }
        }
        b'{' | b'[' | b'n' => None,
        _ => Some(Cow::Borrowed(raw)),
    }
}

/// A string borrowed from the JSON text when it has no escapes.
struct BorrowedOrOwned<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for BorrowedOrOwned<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = BorrowedOrOwned<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(BorrowedOrOwned(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(BorrowedOrOwned(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// [`Fields::parse`] for what the scanner leaves alone: serde_json splits
/// the object, or says why the text is not one.
fn serde_object(json: &str) -> Result<Vec<scan::Field<'_>>, ObjectError> {
    match serde_json::from_str::<RawObject>(json) {
        Ok(object) => Ok(object.0),
        // Only on failure: tell "valid JSON, but not an object" from "not JSON".
        Err(e) => match serde_json::from_str::<serde::de::IgnoredAny>(json) {
            Ok(_) => Err(ObjectError::NotObject),
            Err(_) => Err(ObjectError::NotJson(e)),
        },
    }
}

/// A JSON object as (key, raw value text) pairs, in order.
struct RawObject<'a>(Vec<scan::Field<'a>>);

impl<'de> serde::Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawObject<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((key, value)) =
                    map.next_entry::<BorrowedOrOwned<'de>, &'de RawValue>()?
                {
                    fields.push((key.0, value.get()));
                }
                Ok(RawObject(fields))
            }
        }
        d.deserialize_map(V)
    }
}

/// `str::trim`, skipping its Unicode-aware scan for the usual value with
/// no white space at either end (no Unicode space starts or ends with an
/// ASCII graphic byte).
fn trim(text: &str) -> &str {
    match (text.as_bytes().first(), text.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

fn whole(v: f64) -> Option<i64> {
    (v.fract() == 0.0 && v.abs() < 9.0e15).then_some(v as i64)
}

fn profile_from_object(f: &Fields) -> Option<Profile> {
    let id = f.str("ProfileID").or_else(|| f.str("Profile"))?;
    let store = f.i32("StoreID").or_else(|| f.i32("Store")).unwrap_or(0);
    Some(Profile { store, id })
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

impl PlayerData {
    /// One pass over the fields (scoreboards and match ends carry many
    /// players; later keys win, as with lookups).
    fn decode(f: &Fields) -> PlayerData {
        let mut p = PlayerData::default();
        let (mut profile, mut store) = (None, None);
        for (key, raw) in f.iter() {
            match key {
                "ID" => p.slot = i32_of(raw),
                "Name" => p.name = str_of(raw),
                "Color" => p.color = str_of(raw),
                "Team" => p.team = i32_of(raw),
                "Kills" => p.kills = i64_of(raw),
                "Deaths" => p.deaths = i64_of(raw),
                "Assists" => p.assists = i64_of(raw),
                "Score" => p.score = i64_of(raw),
                "Profile" => profile = Some(raw),
                "Store" => store = i32_of(raw),
                "Alive" => p.alive = flag_of(raw),
                "Bot" => p.bot = flag_of(raw),
                "Hat" => p.hat = str_of(raw),
                "Money" => p.money = i64_of(raw),
                "Premium" => p.premium = flag_of(raw),
                "ClanID" => p.clan_id = str_of(raw).filter(|c| c != "0" && c != "-1"),
                "ClanTag" => p.clan_tag = str_of(raw),
                _ => {}
            }
        }
        p.profile = profile.and_then(|raw| profile_of(raw, || store));
        p
    }

    /// Every `PlayerData<slot>` object of a reply or match_end, in slot order.
    /// An object may also arrive JSON-encoded in a string.
    fn all_in(obj: &Fields) -> Vec<PlayerData> {
        let mut players: Vec<(i64, PlayerData)> = obj
            .iter()
            .filter_map(|(key, value)| {
                let slot_text = key.strip_prefix("PlayerData")?;
                let text = raw_text(value).filter(|t| t.starts_with('{'));
                let json = text.as_deref().unwrap_or(value);
                let mut data = PlayerData::decode(&Fields::parse(json).ok()?);
                if data.slot.is_none() {
                    data.slot = slot_text.parse().ok();
                }
                Some((slot_text.parse().unwrap_or(i64::MAX), data))
            })
            .collect();
        players.sort_by_key(|(slot, _)| *slot);
        players.into_iter().map(|(_, p)| p).collect()
    }
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

/// The body of a request_data (34) event, by CaseID.
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
}

/// End of a match (27 match_end with players, or 57 game_over without).
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

/// One decoded event. Field names follow protocol.md; ids in comments.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// 0
    ServerStartup,
    /// 1: the connection will close; reconnect.
    ServerShutdown,
    /// 2
    LobbyConnect,
    /// 3
    LobbyDisconnect,
    /// 4
    PlayerConnect {
        slot: Option<i32>,
        name: Option<String>,
        ip: Option<String>,
        profile: Option<Profile>,
        is_admin: bool,
    },
    /// 5 (NPCs carry enemy type and rank in survival)
    PlayerSpawn {
        slot: Option<i32>,
        profile: Option<Profile>,
        name: Option<String>,
        team: Option<i32>,
        hat: Option<String>,
        color: Option<String>,
        enemy_type: Option<String>,
        enemy_rank: Option<String>,
    },
    /// 6
    PlayerDeath(Death),
    /// 7
    PlayerDisconnect {
        slot: Option<i32>,
        profile: Option<Profile>,
        kicked: bool,
        kick_reason: Option<String>,
    },
    /// 8
    PlayerTeamChange {
        slot: Option<i32>,
        profile: Option<Profile>,
        old_team: Option<i32>,
        new_team: Option<i32>,
        autobalanced: bool,
    },
    /// 9: real servers name the slot `ID` (the docs say `PlayerID`).
    PlayerLevelUp {
        slot: Option<i32>,
        profile: Option<Profile>,
        level: Option<i64>,
    },
    /// 12
    PlayerLoaded {
        slot: Option<i32>,
        profile: Option<Profile>,
    },
    /// 13
    TdmRoundStart {
        players1: Option<i64>,
        players2: Option<i64>,
    },
    /// 14: winner 0 draw, 1 USC, 2 The Man.
    TdmRoundEnd {
        winner: Option<i32>,
        score1: Option<i64>,
        score2: Option<i64>,
        end_type: Option<i32>,
        flawless: bool,
    },
    /// 16
    TdmSwitchSides {
        score1: Option<i64>,
        score2: Option<i64>,
    },
    /// 17 ctf_taken, 18 ctf_dropped
    CtfFlag {
        taken: bool,
        carrier: Option<i32>,
        carrier_profile: Option<Profile>,
        flag_team: Option<i32>,
    },
    /// 19
    CtfReturned {
        player: Option<i32>,
        profile: Option<Profile>,
    },
    /// 20
    CtfScored {
        carrier: Option<i32>,
        carrier_profile: Option<Profile>,
        scoring_team: Option<i32>,
        score1: Option<i64>,
        score2: Option<i64>,
    },
    /// 27 (with PlayerData) and 57 game_over (without).
    MatchEnd(MatchEnd),
    /// 29
    MatchStart {
        map_name: Option<String>,
        map_file: Option<String>,
        gamemode_id: Option<i32>,
    },
    /// 30
    SurvivalNewWave {
        wave: Option<i64>,
        enemies: Option<i64>,
        chests: Option<i64>,
        chest_price: Option<i64>,
        chest_crash: Option<i64>,
    },
    /// 31
    SurvivalWaveBegins {
        wave: Option<i64>,
        objective: Option<String>,
    },
    /// 32
    SurvivalBuyChest {
        slot: Option<i32>,
        profile: Option<Profile>,
        cost: Option<i64>,
    },
    /// 33
    LogMessage { message: Option<String> },
    /// 34: a reply to one of our requests.
    RequestData {
        case_id: Option<i32>,
        request_id: Option<String>,
        body: ReplyBody,
    },
    /// 35: Source 0 console, 1 RCON.
    CommandEntered {
        command: Option<String>,
        source: Option<i32>,
        return_text: Option<String>,
    },
    /// 36
    RconLoggedIn {
        gamemode_id: Option<i32>,
        map_name: Option<String>,
    },
    /// 39
    WarmupStart,
    /// 41: answer with a ping packet.
    RconPing,
    /// 55 zombrains_helicopter_player_boarded: a player escaped.
    ZombrainsBoarded {
        slot: Option<i32>,
        profile: Option<Profile>,
    },
    /// 56 zombrains_end: players alive and dead at the end.
    ZombrainsEnd {
        alive: Option<i64>,
        dead: Option<i64>,
    },
    /// 42: slot -1 is the server itself; team 0 all, 1/2 team chat.
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
    /// An id protocol.md does not list.
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

/// Protocol names for logs and the bot ("player_death", …).
pub fn event_name(id: u16) -> &'static str {
    match id {
        0 => "server_startup",
        1 => "server_shutdown",
        2 => "lobby_connect",
        3 => "lobby_disconnect",
        4 => "player_connect",
        5 => "player_spawn",
        6 => "player_death",
        7 => "player_disconnect",
        8 => "player_team_change",
        9 => "player_level_up",
        10 => "player_get_powerup",
        11 => "player_damage",
        12 => "player_loaded",
        13 => "tdm_round_start",
        14 => "tdm_round_end",
        15 => "tdm_flag_unlocked",
        16 => "tdm_switch_sides",
        17 => "ctf_taken",
        18 => "ctf_dropped",
        19 => "ctf_returned",
        20 => "ctf_scored",
        21..=26 => "ctf_structure",
        27 => "match_end",
        28 => "match_overtime",
        29 => "match_start",
        30 => "survival_new_wave",
        31 => "survival_flag_unlocked",
        32 => "survival_buy_chest",
        33 => "log_message",
        34 => "request_data",
        35 => "command_entered",
        36 => "rcon_logged_in",
        37 => "match_paused",
        38 => "match_unpaused",
        39 => "warmup_start",
        40 => "rcon_disconnect",
        41 => "rcon_ping",
        42 => "chat_message",
        46 => "player_taunt",
        43..=49 => "survival_vice_or_mission",
        50 => "zombrains_revive",
        51 => "zombrains_buy_weapon",
        52 => "zombrains_begin",
        53 => "zombrains_helicopter_arriving",
        54 => "zombrains_helicopter_boarding",
        55 => "zombrains_helicopter_player_boarded",
        56 => "zombrains_end",
        57 => "game_over",
        58 => "server_empty",
        59 => "weaponsdeal_rankchange",
        60 | 61 => "takeover",
        62 => "player_loadout",
        63 => "survival_bomb_defused",
        64 => "survival_bomb_exploded",
        65 => "survival_bomb_rearmed",
        66 => "server_sleep",
        67 => "server_wake",
        _ => "unknown",
    }
}

/// Ids whose only interesting content is the player who caused them.
fn is_player_action(id: u16) -> bool {
    matches!(id, 10 | 11 | 21..=26 | 43..=51 | 59..=62)
}

/// Decodes one frame's JSON text.
pub fn decode(id: u16, json: &str) -> Result<GameEvent, DecodeError> {
    let f = Fields::parse(json).map_err(|e| match e {
        ObjectError::NotJson(e) => DecodeError::NotJson {
            id,
            reason: e.to_string(),
        },
        ObjectError::NotObject => DecodeError::NotObject { id },
    })?;
    let event = match id {
        0 => Event::ServerStartup,
        1 => Event::ServerShutdown,
        2 => Event::LobbyConnect,
        3 => Event::LobbyDisconnect,
        4 => Event::PlayerConnect {
            slot: f.i32("PlayerID"),
            name: f.str("PlayerName").or_else(|| f.str("Name")),
            ip: f.str("IP"),
            profile: f.profile("Profile", "Store"),
            is_admin: f.flag("IsAdmin"),
        },
        5 => Event::PlayerSpawn {
            slot: f.i32("PlayerID"),
            profile: f.profile("Profile", "Store"),
            name: f.str("Name"),
            team: f.i32("Team"),
            hat: f.str("Hat"),
            color: f.str("Color"),
            enemy_type: f.str("EnemyType"),
            enemy_rank: f.str("EnemyRank"),
        },
        6 => Event::PlayerDeath(Death {
            victim: f.i32("VictimID"),
            killer: f.i32("KillerID"),
            assister: f.i32("AssisterID").filter(|a| *a >= 0),
            victim_profile: f.profile("VictimProfile", "VictimStore"),
            killer_profile: f.profile("KillerProfile", "KillerStore"),
            assister_profile: f.profile("AssisterProfile", "AssisterStore"),
            // "-1": no weapon (the world, NPC attacks).
            weapon: f.str("KillerWeapon").filter(|w| w != "-1"),
            headshot: f.flag("Headshot"),
            death_type: f.i64("DeathType"),
            teamkill: f.flag("Teamkill"),
        }),
        7 => Event::PlayerDisconnect {
            slot: f.i32("PlayerID"),
            profile: f.profile("Profile", "Store"),
            kicked: f.flag("Kicked"),
            kick_reason: f.str("KickReason"),
        },
        8 => Event::PlayerTeamChange {
            slot: f.i32("PlayerID"),
            profile: f.profile("Profile", "Store"),
            old_team: f.i32("OldTeam"),
            new_team: f.i32("NewTeam"),
            autobalanced: f.flag("Autobalanced"),
        },
        9 => Event::PlayerLevelUp {
            slot: f.i32("ID").or_else(|| f.i32("PlayerID")),
            profile: f.profile("Profile", "Store"),
            level: f.i64("Level"),
        },
        12 => Event::PlayerLoaded {
            slot: f.i32("PlayerID"),
            profile: f.profile("Profile", "Store"),
        },
        13 => Event::TdmRoundStart {
            players1: f.i64("Players1"),
            players2: f.i64("Players2"),
        },
        14 => Event::TdmRoundEnd {
            winner: f.i32("Winner"),
            score1: f.i64("Score1"),
            score2: f.i64("Score2"),
            end_type: f.i32("RoundEndType"),
            flawless: f.flag("Flawless"),
        },
        16 => Event::TdmSwitchSides {
            score1: f.i64("Score1"),
            score2: f.i64("Score2"),
        },
        17 | 18 => Event::CtfFlag {
            taken: id == 17,
            carrier: f.i32("CarrierID"),
            carrier_profile: f.profile("CarrierProfile", "CarrierStore"),
            flag_team: f.i32("FlagTeam"),
        },
        19 => Event::CtfReturned {
            player: f.i32("ReturnPlayerID"),
            profile: f.profile("ReturnProfile", "ReturnStore"),
        },
        20 => Event::CtfScored {
            carrier: f.i32("CarrierID"),
            carrier_profile: f.profile("CarrierProfile", "CarrierStore"),
            scoring_team: f.i32("ScoringTeam"),
            score1: f.i64("Score1"),
            score2: f.i64("Score2"),
        },
        27 | 57 => Event::MatchEnd(MatchEnd {
            winner_text: f.str("WinnerText"),
            winner_team: f.i32("WinnerTeam"),
            winner_id: f.i32("WinnerID"),
            gamemode_id: f.i32("GameModeID"),
            map: f.str("CurrentMapName").or_else(|| f.str("MapName")),
            next_map: f.str("NextMap"),
            players: PlayerData::all_in(&f),
        }),
        29 => Event::MatchStart {
            map_name: f.str("MapName"),
            map_file: f.str("MapFile"),
            gamemode_id: f.i32("GameModeID"),
        },
        30 => Event::SurvivalNewWave {
            wave: f.i64("WaveNumber"),
            enemies: f.i64("Enemies"),
            chests: f.i64("Chests"),
            chest_price: f.i64("ChestPrice"),
            chest_crash: f.i64("ChestCrash"),
        },
        31 => Event::SurvivalWaveBegins {
            wave: f.i64("WaveNumber"),
            objective: f.str("WaveObjective"),
        },
        32 => Event::SurvivalBuyChest {
            slot: f.i32("PlayerID"),
            profile: f.profile("Profile", "Store"),
            cost: f.i64("ChestCost"),
        },
        33 => Event::LogMessage {
            message: f.str("Message"),
        },
        34 => {
            let case_id = f.i32("CaseID");
            let body = match case_id {
                Some(7) => ReplyBody::Scoreboard(Scoreboard {
                    server_name: f.str("ServerName"),
                    gamemode_name: f.str("GamemodeName"),
                    gamemode_id: f.i32("GamemodeID"),
                    map: f.str("Map"),
                    time_str: f.str("TimeStr"),
                    team1_score: f.i64("Team1Score"),
                    team2_score: f.i64("Team2Score"),
                    players: PlayerData::all_in(&f),
                }),
                Some(5) => ReplyBody::Match(MatchInfo {
                    server_name: f.str("ServerName"),
                    gamemode_name: f.str("GamemodeName"),
                    gamemode_id: f.i32("GamemodeID"),
                    map: f.str("Map"),
                    players: f.i64("Players"),
                    max_players: f.i64("MaxPlayers"),
                    time_left: f.i64("TimeLeft"),
                    max_time: f.i64("MaxTime"),
                    time_str: f.str("TimeStr"),
                    overtime: f.flag("Overtime"),
                    version: f.str("Version"),
                    max_score: f.i64("MaxScore"),
                    team1_score: f.i64("Team1Score"),
                    team2_score: f.i64("Team2Score"),
                }),
                Some(3) => ReplyBody::Player(
                    PlayerData::all_in(&f)
                        .into_iter()
                        .next()
                        .unwrap_or_else(|| PlayerData::decode(&f)),
                ),
                _ => ReplyBody::Other,
            };
            Event::RequestData {
                case_id,
                request_id: f.str("RequestID"),
                body,
            }
        }
        35 => Event::CommandEntered {
            command: f.str("Command"),
            source: f.i32("Source"),
            return_text: f.str("ReturnText"),
        },
        36 => Event::RconLoggedIn {
            gamemode_id: f.i32("GameModeID"),
            map_name: f.str("MapName"),
        },
        39 => Event::WarmupStart,
        41 => Event::RconPing,
        42 => Event::ChatMessage {
            slot: f.i32("PlayerID"),
            name: f.str("Name"),
            profile: f.profile("Profile", "Store"),
            message: f.str("Message").unwrap_or_default(),
            team: f.i32("Team"),
        },
        55 => Event::ZombrainsBoarded {
            slot: f.i32("PlayerID"),
            profile: f.profile("Profile", "Store"),
        },
        56 => Event::ZombrainsEnd {
            alive: f.i64("Alive"),
            dead: f.i64("Dead"),
        },
        id if is_player_action(id) => Event::PlayerAction {
            id,
            slot: f
                .i32("PlayerID")
                .or_else(|| f.i32("RepairerID"))
                .or_else(|| f.i32("KillerID")),
            profile: f
                .profile("Profile", "Store")
                .or_else(|| f.profile("RepairerProfile", "RepairerStore"))
                .or_else(|| f.profile("KillerProfile", "KillerStore")),
        },
        15 | 28 | 37 | 38 | 40 | 52..=54 | 58 | 63..=67 => Event::Notice { id },
        id => Event::Unknown { id },
    };
    Ok(GameEvent {
        id,
        time: f.i64("Time"),
        event,
    })
}

#[cfg(test)]
mod tests {
    use super::scan::tests::{mutated, sim_event};
    use super::*;
    use proptest::prelude::*;

    fn ev(id: u16, json: &str) -> Event {
        decode(id, json).unwrap().event
    }

    #[test]
    fn profile_forms() {
        let forms = [
            r#"{"Profile":"{\"ProfileID\":\"765\",\"StoreID\":\"0\"}"}"#,
            r#"{"Profile":"{\"ProfileID\":\"765\",\"Store\":0}"}"#,
            r#"{"Profile":"765","Store":"0"}"#,
            r#"{"Profile":765}"#,
            r#"{"Profile":{"ProfileID":"765","StoreID":"0"}}"#,
        ];
        for form in forms {
            let p = Fields::parse(form).unwrap().profile("Profile", "Store");
            assert_eq!(
                p,
                Some(Profile {
                    store: 0,
                    id: "765".into()
                }),
                "{form}"
            );
        }
        let obj = Fields::parse(r#"{"Profile":"42","Store":"2"}"#).unwrap();
        assert_eq!(obj.profile("Profile", "Store").unwrap().store, 2);
        for empty in [
            r#"{"Profile":""}"#,
            r#"{}"#,
            r#"{"Profile":null}"#,
            r#"{"Profile":"{bad"}"#,
        ] {
            assert_eq!(
                Fields::parse(empty).unwrap().profile("Profile", "Store"),
                None,
                "{empty}"
            );
        }
    }

    #[test]
    fn numbers_as_strings_or_numbers() {
        let f = Fields::parse(
            r#"{"a":"12","b":12,"c":"12.0","d":"12.5","e":"abc","f":" -1 ","g":1e300,"h":"a\"b","i":null,"a2":1,"a2":2}"#,
        )
        .unwrap();
        assert_eq!(f.str("h").as_deref(), Some("a\"b"), "escapes decoded");
        assert_eq!(f.str("i"), None);
        assert_eq!(f.i64("a2"), Some(2), "a repeated key: the last one wins");
        assert_eq!(f.i64("a"), Some(12));
        assert_eq!(f.i64("b"), Some(12));
        assert_eq!(f.i64("c"), Some(12));
        assert_eq!(f.i64("d"), None);
        assert_eq!(f.f64("d"), Some(12.5));
        assert_eq!(f.i64("e"), None);
        assert_eq!(f.i64("f"), Some(-1));
        assert_eq!(f.i64("g"), None);
        assert_eq!(f.i32("missing"), None);
    }

    #[test]
    fn death_with_strings_and_missing_fields() {
        let Event::PlayerDeath(d) = ev(
            6,
            r#"{"Time":"1700000000","EventID":"6","VictimID":"3","KillerID":"-1","Headshot":"1","Teamkill":"0","AssisterID":"-1"}"#,
        ) else {
            panic!()
        };
        assert_eq!((d.victim, d.killer, d.assister), (Some(3), Some(-1), None));
        assert!(d.headshot && !d.teamkill);
        assert_eq!(
            decode(6, r#"{"Time":"1700000000"}"#).unwrap().time,
            Some(1_700_000_000)
        );
    }

    #[test]
    fn match_end_player_data() {
        let Event::MatchEnd(m) = ev(
            27,
            r#"{"WinnerTeam":"2","PlayerData10":{"ID":"10","Name":"b","Kills":"3","Profile":"9","Store":"1","Bot":"0"},
                "PlayerData2":{"ID":"2","Name":"a","Kills":5,"Bot":"1","Profile":"-1","Store":"-1"}}"#,
        ) else {
            panic!()
        };
        assert_eq!(m.winner_team, Some(2));
        assert_eq!(m.players.len(), 2);
        assert_eq!(m.players[0].slot, Some(2));
        assert!(m.players[0].bot);
        assert_eq!(
            m.players[1].profile,
            Some(Profile {
                store: 1,
                id: "9".into()
            })
        );
        assert_eq!(m.players[1].kills, Some(3));
    }

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

    #[test]
    fn forms_real_servers_send() {
        let profile = |id: &str, store: i32| Profile {
            store,
            id: id.into(),
        };
        // player_level_up names the slot `ID`.
        assert_eq!(
            ev(
                9,
                r#"{"SkinType":"34","Profile":"{\"ProfileID\":\"7656\",\"StoreID\":\"0\"}","ID":"0","SkinWeapon":"43","Level":"2656","Time":"1","EventID":"9"}"#
            ),
            Event::PlayerLevelUp {
                slot: Some(0),
                profile: Some(profile("7656", 0)),
                level: Some(2656),
            }
        );
        // No assister, no weapon.
        let Event::PlayerDeath(d) = ev(
            6,
            r#"{"KillerID":"-1","VictimID":"3","AssisterID":"-1","AssisterProfile":"{\"ProfileID\":\"\",\"StoreID\":\"-1\"}","KillerWeapon":"-1"}"#,
        ) else {
            panic!()
        };
        // An NPC's empty profile is no profile: never a key.
        assert_eq!(
            (d.assister, d.weapon, d.assister_profile),
            (None, None, None)
        );
        // Zombrains.
        assert_eq!(
            ev(
                55,
                r#"{"PlayerID":"2","Profile":"{\"ProfileID\":\"7656\",\"StoreID\":\"0\"}"}"#
            ),
            Event::ZombrainsBoarded {
                slot: Some(2),
                profile: Some(profile("7656", 0))
            }
        );
        assert_eq!(
            ev(56, r#"{"Alive":"1","Dead":"3"}"#),
            Event::ZombrainsEnd {
                alive: Some(1),
                dead: Some(3)
            }
        );
        for id in 52..=54 {
            assert_eq!(ev(id, "{}"), Event::Notice { id });
        }
        assert!(matches!(
            ev(
                51,
                r#"{"Weapon":"7","Cost":"500","PlayerID":"1","Profile":"{}"}"#
            ),
            Event::PlayerAction {
                id: 51,
                slot: Some(1),
                ..
            }
        ));
        // The flat request_player reply, with `GamemodeID` beside the player.
        let Event::RequestData {
            body: ReplyBody::Player(pd),
            ..
        } = ev(
            34,
            r#"{"CaseID":"3","RequestID":"9","GamemodeID":"0","ID":"4","Name":"Nyx","Profile":"284","Store":"1","Bot":"0","ClanID":"-1","Hat2":"0"}"#,
        )
        else {
            panic!()
        };
        assert_eq!(
            (pd.slot, pd.name.as_deref(), pd.profile, pd.clan_id),
            (Some(4), Some("Nyx"), Some(profile("284", 1)), None)
        );
    }

    #[test]
    fn replies_by_case_id() {
        let Event::RequestData {
            request_id, body, ..
        } = ev(
            34,
            r#"{"CaseID":"7","RequestID":"5","Map":"Fort","Team1Score":"2","PlayerData0":{"ID":"0","Name":"x"}}"#,
        )
        else {
            panic!()
        };
        assert_eq!(request_id.as_deref(), Some("5"));
        let ReplyBody::Scoreboard(s) = body else {
            panic!()
        };
        assert_eq!(
            (s.map.as_deref(), s.team1_score, s.players.len()),
            (Some("Fort"), Some(2), 1)
        );
    }

    #[test]
    fn unknown_and_bad_payloads() {
        assert_eq!(ev(99, r#"{"Time":"1"}"#), Event::Unknown { id: 99 });
        assert_eq!(ev(66, "{}"), Event::Notice { id: 66 });
        assert!(matches!(
            decode(6, "[1]"),
            Err(DecodeError::NotObject { id: 6 })
        ));
        assert!(matches!(
            decode(6, "{\"a\":"),
            Err(DecodeError::NotJson { id: 6, .. })
        ));
        assert_eq!(event_name(41), "rcon_ping");
        assert_eq!(event_name(200), "unknown");
    }

    #[test]
    fn hostile_chat_is_kept_verbatim() {
        let Event::ChatMessage { message, slot, .. } = ev(
            42,
            r#"{"PlayerID":"-1","Name":"","Profile":"","Message":"@everyone \"└┐ **x**\n"}"#,
        ) else {
            panic!()
        };
        assert_eq!(slot, Some(-1));
        assert_eq!(message, "@everyone \"└┐ **x**\n");
    }

    /// Inner profile objects in the usual shape, with ids and stores that
    /// need escaping or trimming, or are not numbers.
    fn profile_object() -> impl Strategy<Value = String> {
        let text = "[0-9 a\"\\\\é{}\t]{0,6}";
        let key = prop::sample::select(&["StoreID", "Store", "Profile"][..]);
        (text, key, text).prop_map(|(id, key, store)| {
            serde_json::json!({ "ProfileID": id, key: store }).to_string()
        })
    }

    proptest! {
        #[test]
        fn usual_profiles_decode_as_any_profile(inner in mutated(profile_object())) {
            let raw = serde_json::to_string(&inner).unwrap();
            prop_assert_eq!(profile_of(&raw, || Some(7)), any_profile(&raw, || Some(7)), "{}", raw);
        }

        #[test]
        fn any_text_decodes_without_panic(id in 0u16..70, json in any::<String>()) {
            let _ = decode(id, &json);
        }

        #[test]
        fn mutated_events_decode_without_panic(id in 0u16..70, json in mutated(sim_event())) {
            let _ = decode(id, &json);
        }
    }
}
