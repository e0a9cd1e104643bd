//! What the simulated server knows about its current match, rebuilt only from
//! the events it has emitted.
//!
//! The scenario generator feeds every event it produces through
//! [`Roster::apply`], and so does the server for every event it delivers. The
//! `PlayerData` objects of match_end and of request replies are therefore
//! rendered from the event stream itself, which keeps their kill and death
//! counts consistent with the death events by construction.

use crate::event::ids;
use crate::model::Mode;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The fixed facts the simulator reports about each mode. `id` is the
/// GameModeID: the ids real servers send (0 deathmatch, 3 zombrains, 4
/// survival), and for tdm and ctf ids bman does not take for any mode.
pub(crate) struct ModeInfo {
    pub id: i64,
    pub name: &'static str,
    pub max_score: i64,
    /// (MapName, MapFile) rotation; matches cycle through it. Map files are
    /// folders, written with backslashes and a trailing one, as the game does.
    pub maps: &'static [(&'static str, &'static str)],
}

pub(crate) fn mode_info(mode: Mode) -> &'static ModeInfo {
    const DM: ModeInfo = ModeInfo {
        id: 0,
        name: "Deathmatch",
        max_score: 30,
        maps: &[
            ("Cargo", r"maps\stock\cargo\"),
            ("Facility", r"maps\stock\facility\"),
            ("Rooftops", r"maps\workshop\rooftops\"),
        ],
    };
    const TDM: ModeInfo = ModeInfo {
        id: 1,
        name: "Team Deathmatch",
        max_score: 6,
        maps: &[
            ("Bunker", r"maps\stock\bunker\"),
            ("Quarry", r"maps\stock\quarry\"),
            ("Harbor", r"maps\stock\harbor\"),
        ],
    };
    const CTF: ModeInfo = ModeInfo {
        id: 2,
        name: "Capture the Flag",
        max_score: 3,
        maps: &[
            ("Twin Towers", r"maps\stock\twintowers\"),
            ("Canyon", r"maps\stock\canyon\"),
        ],
    };
    const SVL: ModeInfo = ModeInfo {
        id: 4,
        name: "Survival",
        max_score: 0,
        maps: &[
            ("Outpost", r"maps\stock\outpost\"),
            ("Mineshaft", r"maps\stock\mineshaft\"),
            ("Lab", r"maps\stock\lab\"),
        ],
    };
    const ZBR: ModeInfo = ModeInfo {
        id: 3,
        name: "Zombrains",
        max_score: 0,
        maps: &[
            ("Fields", r"maps\stock\fields\"),
            ("Farmhouse", r"maps\stock\farmhouse\"),
            ("Mall", r"maps\stock\mall\"),
        ],
    };
    match mode {
        Mode::Dm => &DM,
        Mode::Tdm => &TDM,
        Mode::Ctf => &CTF,
        Mode::Svl => &SVL,
        Mode::Zbr => &ZBR,
    }
}

/// Whether a profile marks a bot or an NPC: `bot<digits>` (real bots are
/// Steam profiles named so), store -1, or an empty id (NPCs).
pub(crate) fn is_bot_profile(profile: &str, store: i64) -> bool {
    let numbered = profile
        .strip_prefix("bot")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    store == -1 || profile.is_empty() || numbered
}

/// Reads an integer sent either as a JSON string or a JSON number.
pub(crate) fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::String(s) => s.trim().parse::<f64>().ok().map(|f| f as i64),
        Value::Number(n) => n.as_f64().map(|f| f as i64),
        _ => None,
    }
}

/// Reads a decimal sent either as a JSON string or a JSON number.
fn float(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// Decodes every `Profile` form the game sends into (profile id, store):
/// a JSON-encoded string with `StoreID` or `Store`, or a plain id with the
/// store in a separate field (Steam when that field is missing).
pub(crate) fn parse_profile(profile: Option<&Value>, store: Option<&Value>) -> (String, i64) {
    let raw = text(profile);
    if raw.trim_start().starts_with('{') {
        if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(&raw) {
            let store = int(o.get("StoreID").or(o.get("Store"))).unwrap_or(0);
            return (text(o.get("ProfileID")), store);
        }
    }
    if raw.is_empty() {
        return (raw, int(store).unwrap_or(-1));
    }
    (raw, int(store).unwrap_or(0))
}

/// One occupied slot, as the events describe it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Player {
    pub name: String,
    pub profile: String,
    pub store: i64,
    pub team: i64,
    pub color: String,
    pub hat: String,
    pub hat2: String,
    pub kills: i64,
    pub deaths: i64,
    pub assists: i64,
    pub score: i64,
    pub money: i64,
    pub alive: bool,
    pub pos: (f64, f64),
    /// A bot or an NPC, by its profile ([`is_bot_profile`]).
    pub bot: bool,
    /// A survival or zombrains enemy (spawned with an EnemyType); not a
    /// player in PlayerData.
    pub npc: bool,
}

impl Player {
    fn new(name: String, profile: String, store: i64) -> Self {
        Player {
            bot: is_bot_profile(&profile, store),
            name,
            profile,
            store,
            team: -1,
            color: "16777215".into(),
            hat: "0".into(),
            hat2: "0".into(),
            kills: 0,
            deaths: 0,
            assists: 0,
            score: 0,
            money: 0,
            alive: false,
            pos: (0.0, 0.0),
            npc: false,
        }
    }
}

/// Score rules of the simulated game (PlayerData `Score`).
const KILL_SCORE: i64 = 10;
const ASSIST_SCORE: i64 = 3;
const CAPTURE_SCORE: i64 = 50;
/// Money a survivor earns per enemy killed.
pub(crate) const NPC_BOUNTY: i64 = 100;

/// The current match as seen through the emitted events.
#[derive(Debug, Clone)]
pub(crate) struct Roster {
    pub mode: Mode,
    pub players: BTreeMap<i64, Player>,
    pub map: (String, String),
    pub team_scores: [i64; 2],
    /// Time of the last event applied (unix seconds).
    pub clock: i64,
    pub match_started: i64,
}

impl Roster {
    pub fn new(mode: Mode, clock: i64) -> Self {
        let (name, file) = mode_info(mode).maps[0];
        Roster {
            mode,
            players: BTreeMap::new(),
            map: (name.into(), file.into()),
            team_scores: [0, 0],
            clock,
            match_started: clock,
        }
    }

    /// Updates the state with one event (the JSON object as sent).
    ///
    /// Kill rule: a death counts for the victim; it counts as a kill for the
    /// killer unless it is a suicide, a world kill or a teamkill.
    pub fn apply(&mut self, id: u16, ev: &Map<String, Value>) {
        if let Some(t) = int(ev.get("Time")) {
            self.clock = t;
        }
        let slot = |key: &str| int(ev.get(key)).unwrap_or(-1);
        match id {
            ids::PLAYER_CONNECT => {
                let (profile, store) = parse_profile(ev.get("Profile"), ev.get("Store"));
                let player = Player::new(text(ev.get("PlayerName")), profile, store);
                self.players.insert(slot("PlayerID"), player);
            }
            ids::PLAYER_SPAWN => {
                let (profile, store) = parse_profile(ev.get("Profile"), ev.get("Store"));
                let p = self
                    .players
                    .entry(slot("PlayerID"))
                    .or_insert_with(|| Player::new(String::new(), profile.clone(), store));
                p.name = text(ev.get("Name"));
                p.profile = profile;
                p.store = store;
                p.team = int(ev.get("Team")).unwrap_or(p.team);
                p.color = text(ev.get("Color"));
                p.hat = text(ev.get("Hat"));
                p.hat2 = text(ev.get("Hat2"));
                p.alive = true;
                p.pos = (
                    float(ev.get("X")).unwrap_or(0.0),
                    float(ev.get("Y")).unwrap_or(0.0),
                );
                p.npc = ev.contains_key("EnemyType");
                p.bot = is_bot_profile(&p.profile, store);
            }
            ids::PLAYER_DEATH => self.apply_death(ev),
            ids::PLAYER_DISCONNECT => {
                self.players.remove(&slot("PlayerID"));
            }
            // A bot the console adds mid-match is first seen here.
            ids::PLAYER_TEAM_CHANGE => {
                let (profile, store) = parse_profile(ev.get("Profile"), ev.get("Store"));
                let p = self
                    .players
                    .entry(slot("PlayerID"))
                    .or_insert_with(|| Player::new(String::new(), profile, store));
                p.team = int(ev.get("NewTeam")).unwrap_or(p.team);
                p.alive = false;
            }
            ids::TDM_ROUND_END | ids::TDM_SWITCH_SIDES | ids::CTF_SCORED => {
                self.team_scores = [
                    int(ev.get("Score1")).unwrap_or(0),
                    int(ev.get("Score2")).unwrap_or(0),
                ];
                if id == ids::CTF_SCORED {
                    if let Some(p) = self.players.get_mut(&slot("CarrierID")) {
                        p.score += CAPTURE_SCORE;
                    }
                }
            }
            ids::MATCH_START => {
                self.map = (text(ev.get("MapName")), text(ev.get("MapFile")));
                self.team_scores = [0, 0];
                self.match_started = self.clock;
                self.players.retain(|_, p| !p.npc);
                for p in self.players.values_mut() {
                    (p.kills, p.deaths, p.assists, p.score, p.money) = (0, 0, 0, 0, 0);
                    p.alive = false;
                }
            }
            ids::SURVIVAL_BUY_CHEST => {
                if let Some(p) = self.players.get_mut(&slot("PlayerID")) {
                    p.money = int(ev.get("PlayerMoney")).unwrap_or(p.money);
                }
            }
            // Back on their feet where they fell.
            ids::ZOMBRAINS_REVIVE => {
                if let Some(p) = self.players.get_mut(&slot("PlayerID")) {
                    p.alive = true;
                }
            }
            ids::ZOMBRAINS_BUY_WEAPON => {
                if let Some(p) = self.players.get_mut(&slot("PlayerID")) {
                    p.money -= int(ev.get("Cost")).unwrap_or(0);
                }
            }
            _ => {}
        }
    }

    fn apply_death(&mut self, ev: &Map<String, Value>) {
        let victim = int(ev.get("VictimID")).unwrap_or(-1);
        let killer = int(ev.get("KillerID")).unwrap_or(-1);
        let assister = int(ev.get("AssisterID")).unwrap_or(-1);
        let teamkill = int(ev.get("Teamkill")) == Some(1);
        let victim_npc = match self.players.get_mut(&victim) {
            Some(v) => {
                v.deaths += 1;
                v.alive = false;
                v.npc
            }
            None => false,
        };
        if killer != victim {
            if let Some(k) = self.players.get_mut(&killer) {
                if let (Some(x), Some(y)) = (float(ev.get("KillerX")), float(ev.get("KillerY"))) {
                    k.pos = (x, y);
                }
                if !teamkill {
                    k.kills += 1;
                    k.score += KILL_SCORE;
                    if victim_npc {
                        k.money += NPC_BOUNTY;
                    }
                }
            }
        }
        if let Some(a) = self.players.get_mut(&assister) {
            a.assists += 1;
            a.score += ASSIST_SCORE;
        }
        if victim_npc {
            self.players.remove(&victim);
        }
    }

    /// The players a scoreboard lists: humans and bots, not NPC enemies.
    pub fn listed(&self) -> impl Iterator<Item = (i64, &Player)> {
        self.players
            .iter()
            .filter(|(_, p)| !p.npc)
            .map(|(s, p)| (*s, p))
    }

    /// Finds a listed player by slot id, else by name (exact, then ignoring case).
    pub fn find(&self, key: &str) -> Option<i64> {
        let key = key.trim();
        if let Ok(slot) = key.parse::<i64>() {
            if self.listed().any(|(s, _)| s == slot) {
                return Some(slot);
            }
        }
        self.listed()
            .find(|(_, p)| p.name == key)
            .or_else(|| {
                self.listed()
                    .find(|(_, p)| p.name.eq_ignore_ascii_case(key))
            })
            .map(|(s, _)| s)
    }

    /// The `PlayerData` object of one slot (all values as strings).
    pub(crate) fn player_data(&self, slot: i64) -> Option<Map<String, Value>> {
        let p = self.players.get(&slot)?;
        // Clan and premium are not in any event; derive them from the profile
        // so every observer of the same stream agrees on them.
        let h = p
            .profile
            .bytes()
            .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
        let (clan_id, clan_tag) = match h % 4 {
            _ if p.bot => ("", ""),
            1 => ("17", "BMC"),
            2 => ("42", "\"└q┐\""),
            _ => ("-1", ""),
        };
        let mut o = Map::new();
        let mut put = |k: &str, v: String| {
            o.insert(k.to_owned(), Value::String(v));
        };
        put("ID", slot.to_string());
        put("Name", p.name.clone());
        put("Color", p.color.clone());
        put("Team", p.team.to_string());
        put("Kills", p.kills.to_string());
        put("Deaths", p.deaths.to_string());
        put("Assists", p.assists.to_string());
        put("Score", p.score.to_string());
        put("Profile", p.profile.clone());
        put("Store", p.store.to_string());
        put("Alive", u8::from(p.alive).to_string());
        put("Bot", u8::from(p.bot).to_string());
        put("Hat", p.hat.clone());
        put("Hat2", p.hat2.clone());
        put("Money", p.money.to_string());
        put("RespawnCost", "0".into());
        put(
            "Premium",
            if h % 3 == 0 && !p.bot { "1" } else { "0" }.into(),
        );
        put("ClanID", clan_id.into());
        put("ClanTag", clan_tag.into());
        put("WeaponsDealRank", "0".into());
        if p.alive {
            put("X", format!("{:.1}", p.pos.0));
            put("Y", format!("{:.1}", p.pos.1));
        }
        Some(o)
    }

    /// Adds `PlayerData<slot>` for every listed player.
    pub(crate) fn put_player_data(&self, out: &mut Map<String, Value>) {
        for (slot, _) in self.listed() {
            if let Some(pd) = self.player_data(slot) {
                out.insert(format!("PlayerData{slot}"), Value::Object(pd));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(o) => o,
            _ => unreachable!("test events are objects"),
        }
    }

    #[test]
    fn profile_forms_decode_alike() {
        let j = json!("{\"ProfileID\":\"76561198000000001\",\"StoreID\":\"0\"}");
        assert_eq!(
            parse_profile(Some(&j), None),
            ("76561198000000001".into(), 0)
        );
        let j = json!("{\"ProfileID\":\"4242\",\"Store\":\"3\"}");
        assert_eq!(parse_profile(Some(&j), None), ("4242".into(), 3));
        assert_eq!(
            parse_profile(Some(&json!("4242")), Some(&json!(1))),
            ("4242".into(), 1)
        );
        assert_eq!(parse_profile(Some(&json!("")), None), (String::new(), -1));
        assert_eq!(parse_profile(None, None), (String::new(), -1));
    }

    #[test]
    fn deaths_kills_and_npc_removal() {
        let mut r = Roster::new(Mode::Svl, 0);
        r.apply(
            ids::PLAYER_CONNECT,
            &obj(json!({"PlayerID": "1", "PlayerName": "a", "Profile": "11", "Store": "0"})),
        );
        r.apply(
            ids::PLAYER_SPAWN,
            &obj(json!({"PlayerID": 1, "Name": "a", "Team": "1", "Profile": "11", "Store": "0"})),
        );
        r.apply(
            ids::PLAYER_SPAWN,
            &obj(
                json!({"PlayerID": "100", "Name": "Grunt", "Team": "2", "EnemyType": "1",
                "Profile": "{\"ProfileID\":\"\",\"StoreID\":\"-1\"}"}),
            ),
        );
        r.apply(
            ids::PLAYER_DEATH,
            &obj(json!({"VictimID": "100", "KillerID": "1", "AssisterID": "-1"})),
        );
        r.apply(
            ids::PLAYER_DEATH,
            &obj(json!({"VictimID": "1", "KillerID": "1", "AssisterID": "-1"})),
        );
        let p = &r.players[&1];
        assert_eq!(
            (p.kills, p.deaths, p.money, p.alive),
            (1, 1, NPC_BOUNTY, false)
        );
        assert!(!r.players.contains_key(&100));
        assert_eq!(r.find("A"), Some(1));
        assert_eq!(r.find("1"), Some(1));
        assert_eq!(r.find("100"), None);
        let pd = r.player_data(1).unwrap();
        assert_eq!(pd["Kills"], "1");
        assert!(pd.get("X").is_none(), "dead players have no position");
    }

    #[test]
    fn bots_are_listed_as_real_servers_list_them() {
        assert!(is_bot_profile("bot2", 0) && is_bot_profile("bot13", 1));
        assert!(is_bot_profile("", -1) && is_bot_profile("4242", -1));
        assert!(!is_bot_profile("bot", 0) && !is_bot_profile("bots2", 0));
        assert!(!is_bot_profile("76561198000000001", 0));
        let mut r = Roster::new(Mode::Tdm, 0);
        // Added by the console: first seen in a team change, then spawning.
        r.apply(
            ids::PLAYER_TEAM_CHANGE,
            &obj(json!({"PlayerID": "7", "NewTeam": "2", "OldTeam": "-1",
                "Profile": "{\"ProfileID\":\"bot7\",\"StoreID\":\"0\"}"})),
        );
        assert_eq!(r.players[&7].team, 2);
        r.apply(
            ids::PLAYER_SPAWN,
            &obj(
                json!({"PlayerID": "7", "Name": "Carl", "Team": "2", "Hat2": "3",
                "Profile": "{\"ProfileID\":\"bot7\",\"StoreID\":\"0\"}"}),
            ),
        );
        let pd = r.player_data(7).unwrap();
        for (key, want) in [
            ("Profile", "bot7"),
            ("Store", "0"),
            ("Bot", "1"),
            ("ClanID", ""),
            ("Name", "Carl"),
            ("Hat2", "3"),
            ("Alive", "1"),
        ] {
            assert_eq!(pd[key], want, "{key}");
        }
        r.apply(
            ids::PLAYER_CONNECT,
            &obj(json!({"PlayerID": "1", "PlayerName": "a", "Profile": "11", "Store": "0"})),
        );
        let human = r.player_data(1).unwrap();
        assert_eq!(human["Bot"], "0");
        assert!(["-1", "17", "42"].contains(&human["ClanID"].as_str().unwrap()));
    }
}
