//! Deterministic scenarios: the event stream a Boring Man 2 server of one mode
//! would send, generated match by match from a seed.
//!
//! Everything the ingest has to cope with is in here on purpose: every
//! `Profile` form (mostly `StoreID`, as real servers send), slot reuse after
//! a disconnect, bots as real servers show them (`bot<N>` on Steam's store,
//! some added mid-match by the console), NPCs with empty profiles on store
//! -1, suicides, world kills, teamkills, hostile names and chat, numbers sent
//! as strings or numbers, keys in any order, an unknown event id per match.
//! A simulated clock (starting at [`EPOCH`]) stamps `Time`, so the output
//! depends only on the options and tests can pin it.

use super::state::{int, mode_info, Roster};
use super::SimOptions;
use crate::event::ids;
use crate::journal::JournalLine;
use crate::model::Mode;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Write};

/// Unix time of the first event of every scenario.
pub const EPOCH: i64 = 1_760_000_000;
/// Matches a `--dump` writes when `--matches` is not given.
pub const DUMP_MATCHES: u32 = 3;
/// An id the game does not send, once per match: the ingest must keep it.
const MYSTERY_ID: u16 = 99;

/// One scenario event: the frame's event id and its JSON text as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimEvent {
    pub id: u16,
    pub json: String,
}

impl SimEvent {
    /// The event's `Time` field (unix seconds).
    pub fn time(&self) -> Option<i64> {
        let v: Value = serde_json::from_str(&self.json).ok()?;
        int(v.get("Time"))
    }
}

/// SplitMix64: tiny, fast and good enough to make scenarios look random while
/// staying reproducible (there is deliberately no `rand` dependency).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> Option<T> {
        if xs.is_empty() {
            return None;
        }
        Some(xs[(self.next_u64() % xs.len() as u64) as usize])
    }
}

/// Names of the human players; several are hostile on purpose (quotes, frame
/// marks, mentions, backslashes) to exercise escaping downstream.
const NAMES: &[&str] = &[
    "Mordecai",
    "Quote\"Man",
    "Bishop",
    "└┐Frame┐└",
    "Kestrel",
    "@everyone",
    "Vex",
    "Back\\slash",
    "Nyx",
    "Pawnstar",
    "Rook",
    "Osprey",
];
const BOT_NAMES: &[&str] = &["Carl", "Dolores", "Hank", "Mabel", "Gus", "Ida"];
/// Survival enemies; names repeat, as NPC names do.
const ENEMY_NAMES: &[&str] = &["Grunt", "Heavy", "Sniper", "Bomber", "Medic", "Juggernaut"];
/// Zombrains enemies, plain zombies the most common.
const ZOMBIE_NAMES: &[&str] = &["Zombie", "Zombie", "Zombie", "Zpitter", "Zhost", "Zomikaze"];
/// The profile of NPCs, and of "nobody" (no assister, the world).
const NPC_PROFILE: &str = r#"{"ProfileID":"","StoreID":"-1"}"#;
/// Weapons zombrains players buy: (weapon id, cost).
const ZBR_WEAPONS: &[(i64, i64)] = &[(12, 150), (23, 300), (31, 450), (44, 800)];
/// A number two players share on different stores (Discord and GameJolt).
const SHARED_PROFILE_BASE: i64 = 480_000;

/// Chat lines, cycled through so every match shows several of them. `true`
/// marks a server message. `{name}` becomes a connected player's name.
const CHAT: &[(bool, &str)] = &[
    (false, "gg"),
    (false, "@everyone free nitro at http://example.invalid"),
    (false, "!rank"),
    (false, "he said \"hi\" to me"),
    (true, "Server restarts in 10 minutes"),
    (false, "└┐ not a frame ┐└"),
    (false, "!top"),
    (false, "C:\\Users\\boring\\man \\\" tricky"),
    (false, "**bold** _it_ `code` ~~strike~~"),
    (false, "@here come play"),
    (false, "!stats {name}"),
    (false, "<@123456789012345678> look"),
    (false, "line one\nline two"),
    (false, "\"; kick all"),
    (true, "Welcome to the bman simulator"),
    (false, "nice shot"),
];

/// A human who may be connected to the server.
#[derive(Debug, Clone)]
struct Persona {
    name: String,
    profile: String,
    store: i64,
    ip: String,
    admin: bool,
    hat: i64,
    hat2: i64,
    color: i64,
    /// The game's player level; level-ups raise it.
    level: i64,
}

fn personas(rng: &mut Rng, count: usize) -> Vec<Persona> {
    let shared = (SHARED_PROFILE_BASE + rng.range(0, 9_999)).to_string();
    (0..count)
        .map(|i| {
            let base = NAMES[i % NAMES.len()];
            let name = match i / NAMES.len() {
                0 => base.to_owned(),
                n => format!("{base}{n}"),
            };
            let (profile, store) = match i {
                2 => (shared.clone(), 1),
                4 => (shared.clone(), 3),
                5 => (rng.range(1_000, 999_999).to_string(), 2),
                _ if i % 5 == 4 => (rng.range(1_000, 999_999).to_string(), 1),
                _ => (
                    (76_561_198_000_000_000 + rng.range(0, 99_999_999)).to_string(),
                    0,
                ),
            };
            Persona {
                name,
                profile,
                store,
                ip: format!("203.0.113.{}", 10 + i % 240),
                admin: i == 0,
                hat: rng.range(0, 40),
                hat2: rng.range(0, 40),
                color: rng.range(0, 0xff_ffff),
                level: rng.range(1, 3000),
            }
        })
        .collect()
}

/// How a match ended, for match_end and game_over.
struct Winner {
    team: i64,
    id: i64,
    text: String,
    color: String,
}

/// The game's banner for a winning player or team (`WinnerText` is all of it).
fn banner(name: &str) -> String {
    format!("{} WINS", name.to_uppercase())
}

fn team_winner(scores: [i64; 2]) -> Winner {
    let (team, text, color) = match scores[0].cmp(&scores[1]) {
        std::cmp::Ordering::Greater => (1, "USC WINS", "3355647"),
        std::cmp::Ordering::Less => (2, "THE MAN WINS", "16724787"),
        std::cmp::Ordering::Equal => (0, "DRAW", "16777215"),
    };
    Winner {
        team,
        id: -1,
        text: text.into(),
        color: color.into(),
    }
}

/// An event's JSON with its keys in a shuffled order (real servers follow
/// no order; `Time` and `EventID` can be anywhere), the same for the same rng.
pub(crate) fn shuffled(fields: Map<String, Value>, rng: &mut Rng) -> String {
    let mut fields: Vec<(String, Value)> = fields.into_iter().collect();
    for i in (1..fields.len()).rev() {
        fields.swap(i, rng.range(0, i as i64) as usize);
    }
    let body: Vec<String> = fields
        .into_iter()
        .map(|(k, v)| format!("{}:{v}", Value::String(k)))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// A JSON-encoded profile, `ProfileID` first as the game writes it.
fn profile_text(id: &str, store_key: &str, store: i64) -> String {
    json!({ "ProfileID": id, store_key: store.to_string() }).to_string()
}

/// A bot's profile: real servers give bots Steam's store and a `bot<N>` id.
fn bot_profile(slot: i64) -> String {
    profile_text(&format!("bot{slot}"), "StoreID", 0)
}

fn bot_name(i: usize) -> String {
    match i / BOT_NAMES.len() {
        0 => BOT_NAMES[i].to_owned(),
        n => format!("{} {}", BOT_NAMES[i % BOT_NAMES.len()], n + 1),
    }
}

/// A console parameter in double quotes, `"` and `\` escaped.
fn quote(param: &str) -> String {
    format!("\"{}\"", param.replace('\\', "\\\\").replace('"', "\\\""))
}

/// An endless (or `--matches`-long) scenario; see [`scenario`].
pub struct Scenario {
    gen: Gen,
    matches_left: Option<u32>,
}

impl Iterator for Scenario {
    type Item = SimEvent;

    fn next(&mut self) -> Option<SimEvent> {
        loop {
            if let Some(ev) = self.gen.out.pop_front() {
                return Some(ev);
            }
            match &mut self.matches_left {
                Some(0) => return None,
                Some(n) => *n -= 1,
                None => {}
            }
            self.gen.play_match();
        }
    }
}

/// The scenario for `opts` (mode, seed, players; `matches` or endless).
pub fn scenario(opts: &SimOptions) -> Scenario {
    let mut rng = Rng::new(opts.seed ^ (opts.mode as u64 + 1).wrapping_mul(0x5851_f42d_4c95_7f2d));
    let humans = usize::from(opts.players);
    let personas = personas(&mut rng, humans + 4);
    let bots: Vec<(i64, String)> = (0..usize::from(opts.bot_count()))
        .map(|i| (humans as i64 + 1 + i as i64, bot_name(i)))
        .collect();
    Scenario {
        gen: Gen {
            rng,
            mode: opts.mode,
            roster: Roster::new(opts.mode, EPOCH),
            personas,
            initial: humans,
            online: BTreeMap::new(),
            console_bots: !bots.is_empty() && !opts.mode.is_coop(),
            bots,
            npc_base: (humans as i64 + usize::from(opts.bot_count()) as i64 + 10).max(100),
            clock: EPOCH,
            match_no: 0,
            chat_cursor: 0,
            mystery_pending: false,
            out: VecDeque::new(),
        },
        matches_left: opts.matches,
    }
}

/// Writes the scenario as journal lines (`--dump`); `--matches` defaults to
/// [`DUMP_MATCHES`] so the output is finite.
pub fn dump(opts: &SimOptions, out: &mut impl Write) -> io::Result<()> {
    let opts = SimOptions {
        matches: Some(opts.matches.unwrap_or(DUMP_MATCHES)),
        ..opts.clone()
    };
    for ev in scenario(&opts) {
        let line = JournalLine {
            ts_ms: ev.time().unwrap_or(EPOCH) * 1000,
            server: "sim".into(),
            mode: opts.mode,
            id: ev.id,
            json: ev.json,
        };
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// The generator: a roster fed by its own events plus who is behind each slot.
struct Gen {
    rng: Rng,
    mode: Mode,
    roster: Roster,
    personas: Vec<Persona>,
    /// Humans connected when the scenario starts (`--players`).
    initial: usize,
    /// Connected humans: slot -> persona index.
    online: BTreeMap<i64, usize>,
    /// Bot slots and names.
    bots: Vec<(i64, String)>,
    /// The console adds a bot mid-match in the first matches (dm, tdm, ctf
    /// with bots).
    console_bots: bool,
    /// First slot of NPC enemies, above every human and bot slot.
    npc_base: i64,
    clock: i64,
    match_no: usize,
    chat_cursor: usize,
    /// The unknown-id event of this match is still to come.
    mystery_pending: bool,
    out: VecDeque<SimEvent>,
}

impl Gen {
    /// Stamps, loosens (most numbers become strings), records and queues an event.
    fn emit(&mut self, id: u16, fields: Value) {
        let Value::Object(mut o) = fields else {
            unreachable!("events are built as JSON objects");
        };
        self.pause(0, 2);
        o.insert("Time".into(), json!(self.clock));
        o.insert("EventID".into(), json!(id));
        for v in o.values_mut() {
            if let Value::Number(n) = v {
                if !self.rng.chance(0.08) {
                    *v = Value::String(n.to_string());
                }
            }
        }
        self.roster.apply(id, &o);
        let json = shuffled(o, &mut self.rng);
        self.out.push_back(SimEvent { id, json });
    }

    fn pause(&mut self, lo: i64, hi: i64) {
        self.clock += self.rng.range(lo, hi);
    }

    fn pos(&mut self) -> f64 {
        self.rng.range(0, 40_000) as f64 / 10.0
    }

    /// A JSON-encoded profile string: key `StoreID` as real servers send it
    /// (now and then the older `Store` for humans); NPC-style for a slot
    /// nobody is in (no assister, the world).
    fn profile_json(&mut self, slot: i64) -> String {
        let Some(p) = self.roster.players.get(&slot) else {
            return NPC_PROFILE.to_owned();
        };
        let (profile, store, bot) = (p.profile.clone(), p.store, p.bot);
        let key = if bot || self.rng.chance(0.9) {
            "StoreID"
        } else {
            "Store"
        };
        profile_text(&profile, key, store)
    }

    fn team(&self, slot: i64) -> i64 {
        self.roster.players.get(&slot).map_or(-1, |p| p.team)
    }

    /// Alive humans and bots (not NPC enemies), optionally of one team.
    fn alive(&self, team: Option<i64>) -> Vec<i64> {
        self.roster
            .listed()
            .filter(|(_, p)| p.alive && team.is_none_or(|t| p.team == t))
            .map(|(s, _)| s)
            .collect()
    }

    fn team_size(&self, team: i64) -> usize {
        self.roster.listed().filter(|(_, p)| p.team == team).count()
    }

    fn smaller_team(&self) -> i64 {
        if self.team_size(1) <= self.team_size(2) {
            1
        } else {
            2
        }
    }

    fn humans(&self) -> Vec<i64> {
        self.online.keys().copied().collect()
    }

    /// Connected humans and bots.
    fn fighters(&self) -> Vec<i64> {
        self.online
            .keys()
            .copied()
            .chain(self.bots.iter().map(|b| b.0))
            .collect()
    }

    fn play_match(&mut self) {
        if self.match_no == 0 {
            for i in 0..self.initial {
                self.connect(Some(i));
            }
        }
        let info = mode_info(self.mode);
        let (map, file) = info.maps[self.match_no % info.maps.len()];
        let (next_map, next_file) = info.maps[(self.match_no + 1) % info.maps.len()];
        self.pause(20, 60);
        if self.rng.chance(0.5) {
            self.emit(ids::WARMUP_START, json!({ "WarmupTime": 30 }));
            self.pause(25, 30);
        }
        let md5 = format!("{:016x}{:016x}", self.rng.next_u64(), self.rng.next_u64());
        self.emit(
            ids::MATCH_START,
            json!({ "MapName": map, "MapFile": file, "GameModeID": info.id, "WorkshopID": 0, "MD5": md5 }),
        );
        self.mystery_pending = true;
        self.chat();
        self.chat();
        let winner = match self.mode {
            Mode::Dm => self.dm_match(),
            Mode::Tdm => self.tdm_match(),
            Mode::Ctf => self.ctf_match(),
            Mode::Svl => self.svl_match(),
            Mode::Zbr => self.zbr_match(),
        };
        if self.mystery_pending {
            self.mystery();
        }
        self.pause(1, 3);
        // Zombrains ends with game_over alone.
        if self.mode != Mode::Zbr {
            let mut end = json!({
                "WinnerText": winner.text, "WinnerColor": winner.color, "WinnerID": winner.id,
                "WinnerTeam": winner.team, "GameModeID": info.id, "NextMapFile": next_file, "NextMap": next_map,
            });
            if let Value::Object(o) = &mut end {
                self.roster.put_player_data(o);
            }
            self.emit(ids::MATCH_END, end);
        }
        self.emit(
            ids::GAME_OVER,
            json!({
                "WinnerText": winner.text, "WinnerColor": winner.color, "WinnerID": winner.id,
                "WinnerTeam": winner.team, "GameModeID": info.id, "CurrentMapName": map, "CurrentMapFile": file,
            }),
        );
        self.match_no += 1;
    }

    /// A human joins: persona `which`, or a random one who is offline. Takes
    /// the lowest free slot, so a slot freed by a disconnect is reused.
    fn connect(&mut self, which: Option<usize>) -> Option<i64> {
        let offline: Vec<usize> = (0..self.personas.len())
            .filter(|i| !self.online.values().any(|o| o == i))
            .collect();
        let idx = which.or_else(|| self.rng.pick(&offline))?;
        let slot = self.free_slot();
        let p = self.personas[idx].clone();
        let mut ev = json!({ "IP": p.ip, "PlayerName": p.name, "PlayerID": slot, "IsAdmin": u8::from(p.admin) });
        // Mostly the real `StoreID` form; rotate so the older forms appear too.
        let form = (idx + self.match_no) % 5;
        let key = if form == 3 { "Store" } else { "StoreID" };
        ev["Profile"] = match form {
            4 => json!(p.profile),
            _ => json!(profile_text(&p.profile, key, p.store)),
        };
        if form == 4 || self.rng.chance(0.2) {
            ev["Store"] = json!(p.store);
        }
        self.emit(ids::PLAYER_CONNECT, ev);
        self.online.insert(slot, idx);
        let profile = self.profile_json(slot);
        self.emit(
            ids::PLAYER_LOADED,
            json!({ "PlayerID": slot, "Profile": profile }),
        );
        if self.mode.is_team_mode() {
            let team = self.smaller_team();
            self.change_team(slot, team, false);
        }
        Some(slot)
    }

    /// The lowest slot nobody (human, bot or NPC) is in.
    fn free_slot(&self) -> i64 {
        let taken =
            |s: &i64| self.roster.players.contains_key(s) || self.bots.iter().any(|b| b.0 == *s);
        (1..).find(|s| !taken(s)).unwrap_or(i64::MAX)
    }

    /// The console adds a bot (as `addbot` does): the game echoes the
    /// command (Source 0), and the bot is first seen in a team change; it
    /// spawns next. Returns its slot.
    fn add_bot(&mut self) -> i64 {
        let team = if self.mode.is_team_mode() {
            self.smaller_team()
        } else {
            0
        };
        let slot = self.free_slot();
        self.emit(
            ids::COMMAND_ENTERED,
            json!({ "Command": format!("addbot \"{team}\" \"0\""), "Source": "0",
                    "ReturnText": format!("ADDBOT: Added bot to team {team}") }),
        );
        self.bots.push((slot, bot_name(self.bots.len())));
        self.emit(
            ids::PLAYER_TEAM_CHANGE,
            json!({ "PlayerID": slot, "Profile": bot_profile(slot), "OldTeam": -1, "NewTeam": team,
                    "Autobalanced": 0 }),
        );
        slot
    }

    /// Whether the console adds a bot in this match (the first two).
    fn console_adds_bot(&self) -> bool {
        self.console_bots && self.match_no < 2
    }

    /// A random human leaves (sometimes kicked), freeing their slot.
    fn disconnect(&mut self) {
        let humans = self.humans();
        if humans.len() < 2 {
            return;
        }
        let Some(slot) = self.rng.pick(&humans) else {
            return;
        };
        let p = self.personas[self.online[&slot]].clone();
        let kicked = self.rng.chance(0.3);
        if kicked {
            // An admin at the server console; the game echoes it.
            let ev = json!({
                "Command": format!("kick {} {}", quote(&p.name), quote("AFK")), "Source": "0",
                "ReturnText": format!("KICK: Kicking player {}...", p.name),
            });
            self.emit(ids::COMMAND_ENTERED, ev);
        }
        let profile = self.profile_json(slot);
        self.emit(
            ids::PLAYER_DISCONNECT,
            json!({
                "IP": p.ip, "PlayerID": slot, "Profile": profile, "IsAdmin": u8::from(p.admin),
                "Kicked": u8::from(kicked), "KickReason": if kicked { "AFK" } else { "" },
            }),
        );
        self.online.remove(&slot);
    }

    fn change_team(&mut self, slot: i64, team: i64, autobalanced: bool) {
        let (old, profile) = (self.team(slot), self.profile_json(slot));
        self.emit(
            ids::PLAYER_TEAM_CHANGE,
            json!({ "PlayerID": slot, "Profile": profile, "OldTeam": old, "NewTeam": team,
                    "Autobalanced": u8::from(autobalanced) }),
        );
    }

    fn spawn(&mut self, slot: i64) {
        let (name, hat, hat2, color) = match self.online.get(&slot) {
            Some(&i) => {
                let p = &self.personas[i];
                (p.name.clone(), p.hat, p.hat2, p.color)
            }
            None => {
                let name = self.bots.iter().find(|b| b.0 == slot).map(|b| b.1.clone());
                (name.unwrap_or_default(), 0, 0, 0x80_8080)
            }
        };
        let team = match self.mode {
            Mode::Dm => 0,
            Mode::Svl | Mode::Zbr => 1,
            Mode::Tdm | Mode::Ctf => match self.team(slot) {
                t @ (1 | 2) => t,
                _ => self.smaller_team(),
            },
        };
        let profile = if self.online.contains_key(&slot) {
            self.profile_json(slot)
        } else {
            bot_profile(slot)
        };
        let ev = json!({
            "PlayerID": slot, "Profile": profile, "X": self.pos(), "Y": self.pos(), "Hat": hat, "Hat2": hat2, "Name": name,
            "Color": color, "Team": team, "Weap1": self.rng.range(1, 60), "Weap2": self.rng.range(1, 60),
            "Equip": self.rng.range(0, 12), "OffWeap": self.rng.range(0, 8), "OffWeap2": -1,
        });
        self.emit(ids::PLAYER_SPAWN, ev);
    }

    fn spawn_npc(&mut self, slot: i64, wave: i64) {
        let names = if self.mode == Mode::Zbr {
            ZOMBIE_NAMES
        } else {
            ENEMY_NAMES
        };
        let kind = self.rng.range(0, names.len() as i64 - 1);
        let ev = json!({
            "PlayerID": slot, "Profile": NPC_PROFILE, "X": self.pos(), "Y": self.pos(), "Hat": 0, "Hat2": 0,
            "Name": names[kind as usize], "Color": 0xff_0000, "Team": 2, "Weap1": self.rng.range(1, 60),
            "Weap2": -1, "Equip": -1, "OffWeap": -1, "OffWeap2": -1,
            "EnemyType": kind, "EnemyRank": self.rng.range(0, wave / 3),
        });
        self.emit(ids::PLAYER_SPAWN, ev);
    }

    /// A player_death; `killer` -1 is the world, `killer == victim` a suicide.
    fn death(&mut self, killer: i64, victim: i64) {
        let world = killer < 0;
        let suicide = killer == victim;
        let teamkill = self.mode.is_team_mode()
            && !world
            && !suicide
            && self.team(killer) == self.team(victim);
        let helpers: Vec<i64> = self
            .alive(None)
            .into_iter()
            .filter(|&s| {
                s != killer
                    && s != victim
                    && !(self.mode.is_team_mode() && self.team(s) == self.team(victim))
            })
            .collect();
        let assister = match self.rng.pick(&helpers) {
            Some(a) if !world && !suicide && self.rng.chance(0.3) => a,
            _ => -1,
        };
        let npc_killer = self.roster.players.get(&killer).is_some_and(|p| p.npc);
        let mut ev = json!({
            "VictimID": victim, "KillerID": killer, "AssisterID": assister,
            "VictimProfile": self.profile_json(victim), "KillerProfile": self.profile_json(killer),
            "AssisterProfile": self.profile_json(assister),
            "KillerWeapon": if world || npc_killer { -1 } else { self.rng.range(1, 60) },
            "Headshot": u8::from(!world && !suicide && self.rng.chance(0.25)),
            "DeathType": if world { 2 } else { i64::from(suicide) },
            "Drone": u8::from(self.rng.chance(0.03)),
            "Teamkill": u8::from(teamkill),
        });
        self.place(&mut ev, victim, "Victim");
        self.place(&mut ev, if suicide { -1 } else { killer }, "Killer");
        self.place(&mut ev, assister, "Assist");
        self.emit(ids::PLAYER_DEATH, ev);
    }

    /// Adds `<prefix>X/Y` for a real player, except now and then (positions
    /// may be missing from death events).
    fn place(&mut self, ev: &mut Value, who: i64, prefix: &str) {
        if who >= 0 && self.rng.chance(0.8) {
            ev[format!("{prefix}X")] = json!(self.pos());
            ev[format!("{prefix}Y")] = json!(self.pos());
        }
    }

    /// One fight outcome between alive humans and bots; returns the victim.
    fn skirmish(&mut self) -> Option<i64> {
        let alive = self.alive(None);
        let roll = self.rng.range(0, 99);
        let (killer, victim) = if roll < 6 {
            let v = self.rng.pick(&alive)?;
            (v, v)
        } else if roll < 11 {
            (-1, self.rng.pick(&alive)?)
        } else {
            let killer = self.rng.pick(&alive)?;
            let kt = self.team(killer);
            let teamkill = self.mode.is_team_mode() && roll < 17;
            let victims: Vec<i64> = alive
                .iter()
                .copied()
                .filter(|&v| {
                    v != killer && (!self.mode.is_team_mode() || (self.team(v) == kt) == teamkill)
                })
                .collect();
            (killer, self.rng.pick(&victims)?)
        };
        self.death(killer, victim);
        Some(victim)
    }

    fn respawn_dead(&mut self, p: f64) {
        for slot in self.fighters() {
            if !self.roster.players.get(&slot).is_some_and(|pl| pl.alive) && self.rng.chance(p) {
                self.spawn(slot);
            }
        }
    }

    /// What happens between fights: chat and side events, and this match's
    /// unknown-id event at some point.
    fn between(&mut self) {
        if self.mystery_pending && self.rng.chance(0.05) {
            self.mystery();
        }
        if !self.rng.chance(0.3) {
            return;
        }
        match self.rng.range(0, 19) {
            0..=9 => self.chat(),
            10..=12 => {
                let msg = self.rng.pick(&[
                    "Map vote started",
                    "Autobalance in 5 seconds",
                    "Sudden death!",
                ]);
                let ev = json!({ "Message": msg, "Color": self.rng.range(0, 0xff_ffff) });
                self.emit(ids::LOG_MESSAGE, ev);
            }
            13..=15 => self.player_event(ids::PLAYER_LEVEL_UP),
            16..=18 => self.player_event(ids::PLAYER_LOADOUT),
            _ => self.player_event(ids::PLAYER_GET_POWERUP),
        }
    }

    fn mystery(&mut self) {
        self.mystery_pending = false;
        let ev =
            json!({ "Mystery": "an event id bman does not know", "Value": self.rng.range(0, 9) });
        self.emit(MYSTERY_ID, ev);
    }

    /// A human's level-up, loadout or power-up.
    fn player_event(&mut self, id: u16) {
        let Some(slot) = self.rng.pick(&self.humans()) else {
            return;
        };
        // A level-up names the slot `ID`, the other events `PlayerID`.
        let slot_key = if id == ids::PLAYER_LEVEL_UP {
            "ID"
        } else {
            "PlayerID"
        };
        let mut ev = json!({ slot_key: slot, "Profile": self.profile_json(slot) });
        if id == ids::PLAYER_LEVEL_UP {
            let persona = &mut self.personas[self.online[&slot]];
            persona.level += 1;
            ev["Level"] = json!(persona.level);
        }
        let mut put = |k: &str, lo: i64, hi: i64| ev[k] = json!(self.rng.range(lo, hi));
        match id {
            ids::PLAYER_LEVEL_UP => {
                put("SkinWeapon", -1, 60);
                put("SkinType", 0, 40);
            }
            ids::PLAYER_LOADOUT => {
                put("Weap1", 1, 60);
                put("Weap2", 1, 60);
                put("Dualwield", 0, 1);
                put("Equip", 0, 12);
                put("OffWeap", 0, 8);
                put("OffWeap2", -1, 8);
            }
            _ => {
                put("PowerUp", 0, 6);
                put("X", 0, 4000);
                put("Y", 0, 4000);
            }
        }
        self.emit(id, ev);
    }

    fn chat(&mut self) {
        let (server, line) = CHAT[self.chat_cursor % CHAT.len()];
        self.chat_cursor += 1;
        let humans = self.humans();
        let speaker = self.rng.pick(&humans).filter(|_| !server);
        let named = self
            .rng
            .pick(&humans)
            .map(|s| self.personas[self.online[&s]].name.clone());
        let message = line.replace("{name}", named.as_deref().unwrap_or("nobody"));
        let ev = match speaker {
            Some(slot) => {
                let team = if self.mode.is_team_mode() && self.rng.chance(0.3) {
                    self.team(slot)
                } else {
                    0
                };
                let p = &self.personas[self.online[&slot]];
                let (name, color) = (p.name.clone(), p.color);
                json!({ "PlayerID": slot, "Name": name, "Profile": self.profile_json(slot), "Message": message,
                        "Team": team, "NameColor": color })
            }
            None => {
                json!({ "PlayerID": -1, "Name": "Server", "Profile": "", "Message": message, "Team": 0,
                        "NameColor": 0xff_ff00 })
            }
        };
        self.emit(ids::CHAT_MESSAGE, ev);
    }

    fn dm_match(&mut self) -> Winner {
        for slot in self.fighters() {
            self.spawn(slot);
        }
        let steps = self.rng.range(25, 40);
        for step in 0..steps {
            if step == steps / 3 {
                self.disconnect();
            }
            if step == steps / 2 && self.console_adds_bot() {
                let bot = self.add_bot();
                self.spawn(bot);
            }
            if step == 2 * steps / 3 {
                if let Some(slot) = self.connect(None) {
                    self.spawn(slot);
                }
            }
            self.skirmish();
            self.respawn_dead(0.7);
            self.between();
        }
        let best = self
            .roster
            .listed()
            .max_by_key(|(s, p)| (p.kills, -s))
            .map(|(s, p)| (s, p.clone()));
        match best {
            Some((slot, p)) => Winner {
                team: 0,
                id: slot,
                text: banner(&p.name),
                color: p.color,
            },
            None => Winner {
                team: 0,
                id: -1,
                text: "DRAW".into(),
                color: "16777215".into(),
            },
        }
    }

    fn head_count(&self) -> Value {
        json!({
            "Alive1": self.alive(Some(1)).len(), "Alive2": self.alive(Some(2)).len(),
            "Players1": self.team_size(1), "Players2": self.team_size(2),
        })
    }

    fn tdm_match(&mut self) -> Winner {
        const ROUNDS: i64 = 6;
        for round in 1..=ROUNDS {
            self.pause(5, 10);
            if round == ROUNDS / 2 + 1 {
                let [s1, s2] = self.roster.team_scores;
                self.emit(ids::TDM_SWITCH_SIDES, json!({ "Score1": s1, "Score2": s2 }));
                self.connect(None);
            }
            if self.team_size(1).abs_diff(self.team_size(2)) >= 2 {
                let big = if self.team_size(1) > self.team_size(2) {
                    1
                } else {
                    2
                };
                let members: Vec<i64> = self
                    .roster
                    .listed()
                    .filter(|(_, p)| p.team == big)
                    .map(|(s, _)| s)
                    .collect();
                if let Some(slot) = self.rng.pick(&members) {
                    self.change_team(slot, 3 - big, true);
                }
            }
            if round == 2 && self.console_adds_bot() {
                self.add_bot();
            }
            for slot in self.fighters() {
                self.spawn(slot);
            }
            let start = self.head_count();
            self.emit(ids::TDM_ROUND_START, start);
            let mut lost = [0u32; 2];
            for step in 0..self.rng.range(4, 14) {
                if self.alive(Some(1)).is_empty() || self.alive(Some(2)).is_empty() {
                    break;
                }
                if round == 2 && step == 1 {
                    let humans: Vec<i64> = self
                        .alive(None)
                        .into_iter()
                        .filter(|s| self.online.contains_key(s))
                        .collect();
                    if let Some(slot) = self.rng.pick(&humans) {
                        self.change_team(slot, 3 - self.team(slot), false);
                    }
                }
                if round == 3 && step == 2 {
                    self.disconnect();
                }
                if let Some(victim) = self.skirmish() {
                    if let t @ (1 | 2) = self.team(victim) {
                        lost[t as usize - 1] += 1;
                    }
                }
                self.between();
            }
            let (a1, a2) = (self.alive(Some(1)).len(), self.alive(Some(2)).len());
            let (winner, end_type) = if (a1 == 0) != (a2 == 0) {
                (if a1 > 0 { 1 } else { 2 }, 1)
            } else if a1 != a2 && self.rng.chance(0.35) {
                let mut flag = self.head_count();
                flag["FlagX"] = json!(self.pos());
                flag["FlagY"] = json!(self.pos());
                self.emit(ids::TDM_FLAG_UNLOCKED, flag);
                (if a1 > a2 { 1 } else { 2 }, 2)
            } else {
                (
                    match a1.cmp(&a2) {
                        std::cmp::Ordering::Greater => 1,
                        std::cmp::Ordering::Less => 2,
                        std::cmp::Ordering::Equal => 0,
                    },
                    0,
                )
            };
            let mut scores = self.roster.team_scores;
            if winner > 0 {
                scores[winner - 1] += 1;
            }
            let flawless = winner > 0 && lost[winner - 1] == 0;
            let end = json!({
                "Players1": self.team_size(1), "Players2": self.team_size(2), "Winner": winner,
                "Score1": scores[0], "Score2": scores[1], "RoundEndType": end_type, "Flawless": u8::from(flawless),
            });
            self.emit(ids::TDM_ROUND_END, end);
        }
        team_winner(self.roster.team_scores)
    }

    fn ctf_match(&mut self) -> Winner {
        for slot in self.fighters() {
            self.spawn(slot);
        }
        let max = mode_info(Mode::Ctf).max_score;
        for play in 0..self.rng.range(5, 9) {
            if self.roster.team_scores.iter().any(|&s| s >= max) {
                break;
            }
            match play {
                1 => self.disconnect(),
                2 => {
                    self.generator();
                    if self.console_adds_bot() {
                        let bot = self.add_bot();
                        self.spawn(bot);
                    }
                }
                3 => {
                    if let Some(slot) = self.connect(None) {
                        self.spawn(slot);
                    }
                }
                _ => {}
            }
            for _ in 0..self.rng.range(1, 4) {
                self.skirmish();
                self.respawn_dead(0.8);
                self.between();
            }
            self.flag_run();
            self.respawn_dead(1.0);
        }
        team_winner(self.roster.team_scores)
    }

    /// A generator destroyed by one team and repaired by the other. Each goes
    /// out under the other's id (the game numbers 21 repaired, 22 destroyed):
    /// the decoder reads both alike, and the dumps under tests/data/expected
    /// pin the ids as sent.
    fn generator(&mut self) {
        let team = self.rng.range(1, 2);
        if let Some(killer) = self.rng.pick(&self.alive(Some(3 - team))) {
            let profile = self.profile_json(killer);
            self.emit(
                ids::CTF_GENERATOR_REPAIRED,
                json!({ "ID": 1, "Team": team, "KillerID": killer, "KillerProfile": profile }),
            );
        }
        if let Some(fixer) = self.rng.pick(&self.alive(Some(team))) {
            let profile = self.profile_json(fixer);
            self.emit(
                ids::CTF_GENERATOR_DESTROYED,
                json!({ "ID": 1, "Team": team, "RepairerID": fixer, "RepairerProfile": profile }),
            );
        }
    }

    fn flag_event(&mut self, id: u16, carrier: i64, mut fields: Value) {
        fields["CarrierID"] = json!(carrier);
        fields["CarrierProfile"] = json!(self.profile_json(carrier));
        self.emit(id, fields);
    }

    fn score(&mut self, carrier: i64, team: i64) {
        let mut scores = self.roster.team_scores;
        scores[team as usize - 1] += 1;
        let fields = json!({ "ScoringTeam": team, "Score1": scores[0], "Score2": scores[1] });
        self.flag_event(ids::CTF_SCORED, carrier, fields);
    }

    /// One attack on the enemy flag: a capture, a carrier killed (flag returned
    /// or picked up by a teammate who scores), or a throw that times out.
    fn flag_run(&mut self) {
        let team = self.rng.range(1, 2);
        let enemy = 3 - team;
        let Some(carrier) = self.rng.pick(&self.alive(Some(team))) else {
            return;
        };
        let taken =
            json!({ "FlagTeam": enemy, "WasHome": 1, "FlagX": self.pos(), "FlagY": self.pos() });
        self.flag_event(ids::CTF_TAKEN, carrier, taken);
        match self.rng.range(0, 9) {
            0..=4 => self.score(carrier, team),
            5..=7 => {
                let killer = self.rng.pick(&self.alive(Some(enemy))).unwrap_or(-1);
                self.death(killer, carrier);
                let dropped = json!({ "FlagTeam": enemy, "Thrown": 0, "FlagX": self.pos(), "FlagY": self.pos() });
                self.flag_event(ids::CTF_DROPPED, carrier, dropped);
                match self.rng.pick(&self.alive(Some(team))) {
                    Some(mate) if self.rng.chance(0.5) => {
                        let retaken = json!({ "FlagTeam": enemy, "WasHome": 0, "FlagX": self.pos(), "FlagY": self.pos() });
                        self.flag_event(ids::CTF_TAKEN, mate, retaken);
                        self.score(mate, team);
                    }
                    _ => self.flag_return(killer),
                }
            }
            _ => {
                let thrown = json!({ "FlagTeam": enemy, "Thrown": 1, "FlagX": self.pos(), "FlagY": self.pos() });
                self.flag_event(ids::CTF_DROPPED, carrier, thrown);
                self.flag_return(-1);
            }
        }
    }

    /// ctf_returned, by a player (ReturnType 0) or by timeout (1, no player).
    fn flag_return(&mut self, by: i64) {
        let ev = json!({
            "ReturnPlayerID": by, "ReturnProfile": self.profile_json(by), "ReturnType": u8::from(by < 0),
            "FlagX": self.pos(), "FlagY": self.pos(),
        });
        self.emit(ids::CTF_RETURNED, ev);
    }

    fn svl_match(&mut self) -> Winner {
        self.refill_lobby();
        let waves = self.rng.range(6, 9);
        for wave in 1..=waves {
            self.pause(10, 20);
            if wave == 2 {
                self.disconnect();
            }
            let enemies = (3 + 2 * wave).min(20);
            let price = 150 + 50 * wave;
            let ev = json!({
                "WaveNumber": wave, "Enemies": enemies, "Chests": 1 + wave / 2, "ChestPrice": price,
                "ChestCrash": u8::from(self.rng.chance(0.2)),
            });
            self.emit(ids::SURVIVAL_NEW_WAVE, ev);
            if wave == 4 {
                self.connect(None);
            }
            self.respawn_dead(1.0);
            let objective =
                self.rng
                    .pick(&["Kill all enemies", "Hold the flag", "Defuse the bomb"]);
            self.emit(
                ids::SURVIVAL_WAVE_BEGINS,
                json!({ "WaveObjective": objective, "WaveNumber": wave }),
            );
            let mission = self.rng.chance(0.5).then(|| self.mission_start());
            for i in 0..enemies {
                self.spawn_npc(self.npc_base + i, wave);
            }
            loop {
                let npcs = self.npcs();
                let (Some(npc), Some(human)) =
                    (self.rng.pick(&npcs), self.rng.pick(&self.alive(None)))
                else {
                    break;
                };
                match self.rng.range(0, 99) {
                    0..=79 => self.death(human, npc),
                    80..=96 => self.death(npc, human),
                    97 => self.death(human, human),
                    _ => self.death(-1, human),
                }
                if self.rng.chance(0.15) {
                    self.buy_chest(price);
                }
                self.between();
            }
            let wiped = self.alive(None).is_empty();
            if let Some(mission) = mission {
                // Completed unless everyone died; see `mission_start` for the ids.
                let outcome = if wiped {
                    ids::SURVIVAL_FAIL_MISSION
                } else {
                    ids::SURVIVAL_TAKE_MISSION
                };
                self.emit(outcome, mission);
            }
            if wiped {
                return Winner {
                    team: 2,
                    id: -1,
                    text: "GAME OVER".into(),
                    color: "16724787".into(),
                };
            }
        }
        Winner {
            team: 1,
            id: -1,
            text: "SURVIVORS WIN".into(),
            color: "3355647".into(),
        }
    }

    /// The slots of the NPCs alive now.
    fn npcs(&self) -> Vec<i64> {
        let players = self.roster.players.iter();
        players.filter(|(_, p)| p.npc).map(|(s, _)| *s).collect()
    }

    /// Between co-op matches players come back, as in a real lobby: each
    /// missing one of the starting head count joins with a good chance, so a
    /// server that lost players to early wipes fills up again.
    fn refill_lobby(&mut self) {
        let missing = self.initial.saturating_sub(self.humans().len());
        for _ in 0..missing {
            if self.rng.chance(0.7) {
                self.connect(None);
            }
        }
    }

    /// A survival mission starts; returns its fields for the outcome event.
    /// Servers name them `Mission`/`Reward` or `Type`/`Amount`. The start goes
    /// out as 47 and a completion as 48, where the game numbers 47 complete
    /// and 48 take: the decoder reads all three alike, and the dumps under
    /// tests/data/expected pin the ids as sent.
    fn mission_start(&mut self) -> Value {
        let name = self.rng.pick(&[
            "Kill 10 enemies",
            "Protect the generator",
            "Collect 3 crates",
        ]);
        let reward = 100 * self.rng.range(1, 5);
        let fields = if self.rng.chance(0.7) {
            json!({ "Mission": name, "Reward": reward })
        } else {
            json!({ "Type": name, "Amount": reward })
        };
        self.emit(ids::SURVIVAL_COMPLETE_MISSION, fields.clone());
        fields
    }

    fn buy_chest(&mut self, price: i64) {
        let rich: Vec<i64> = self
            .roster
            .listed()
            .filter(|(_, p)| p.money >= price)
            .map(|(s, _)| s)
            .collect();
        let Some(slot) = self.rng.pick(&rich) else {
            return;
        };
        let money = self.roster.players[&slot].money - price;
        let ev = json!({
            "PlayerID": slot, "Profile": self.profile_json(slot), "ChestID": self.rng.range(0, 5),
            "ChestCost": price, "PlayerMoney": money,
        });
        self.emit(ids::SURVIVAL_BUY_CHEST, ev);
    }

    /// Zombrains: hordes of zombies, dead players revived by the living,
    /// weapons bought with bounty money, then a helicopter for whoever is
    /// still alive. Some matches the zombies win.
    fn zbr_match(&mut self) -> Winner {
        self.refill_lobby();
        self.emit(ids::ZOMBRAINS_BEGIN, json!({}));
        for slot in self.fighters() {
            self.spawn(slot);
        }
        // Each encounter kills a player with this chance: some matches are
        // hopeless, most are survivable.
        let bite = if self.rng.chance(0.4) { 0.35 } else { 0.1 };
        let hordes = self.rng.range(4, 6);
        for horde in 1..=hordes {
            self.pause(10, 20);
            match horde {
                2 => self.disconnect(),
                3 => {
                    if let Some(slot) = self.connect(None) {
                        self.spawn(slot);
                    }
                }
                _ => {}
            }
            if horde == hordes {
                let ev = json!({ "LandingX": self.pos(), "LandingY": self.pos() });
                self.emit(ids::ZOMBRAINS_HELICOPTER_ARRIVING, ev);
            }
            for _ in 0..self.rng.range(3, 3 + horde * 2) {
                let slot = (self.npc_base..)
                    .find(|s| !self.roster.players.contains_key(s))
                    .unwrap_or(self.npc_base);
                self.spawn_npc(slot, horde);
            }
            self.zbr_horde(bite);
            if self.alive(None).is_empty() {
                return self.zbr_end(&[]);
            }
        }
        let boarding = json!({ "X": self.pos(), "Y": self.pos() });
        self.emit(ids::ZOMBRAINS_HELICOPTER_BOARDING, boarding);
        let mut boarded = Vec::new();
        for slot in self.alive(None) {
            if self.rng.chance(0.8) {
                let profile = self.profile_json(slot);
                self.emit(
                    ids::ZOMBRAINS_HELICOPTER_PLAYER_BOARDED,
                    json!({ "PlayerID": slot, "Profile": profile }),
                );
                boarded.push(slot);
            }
        }
        self.zbr_end(&boarded)
    }

    /// Fights one horde until the zombies or the players are all dead.
    fn zbr_horde(&mut self, bite: f64) {
        loop {
            let zombies = self.npcs();
            let (Some(zombie), Some(player)) =
                (self.rng.pick(&zombies), self.rng.pick(&self.alive(None)))
            else {
                return;
            };
            let roll = self.rng.range(0, 99) as f64 / 100.0;
            if roll < bite {
                self.death(zombie, player);
            } else if roll < bite + 0.02 {
                self.death(-1, player);
            } else if roll < bite + 0.03 {
                self.death(player, player);
            } else {
                self.death(player, zombie);
            }
            let down: Vec<i64> = self
                .roster
                .listed()
                .filter(|(_, p)| !p.alive)
                .map(|(s, _)| s)
                .collect();
            if !self.alive(None).is_empty() && self.rng.chance(0.25) {
                if let Some(slot) = self.rng.pick(&down) {
                    let profile = self.profile_json(slot);
                    self.emit(
                        ids::ZOMBRAINS_REVIVE,
                        json!({ "PlayerID": slot, "Profile": profile }),
                    );
                }
            }
            if self.rng.chance(0.1) {
                self.buy_weapon();
            }
            self.between();
        }
    }

    /// zombrains_buy_weapon by a living player who can afford one.
    fn buy_weapon(&mut self) {
        let (weapon, cost) = self.rng.pick(ZBR_WEAPONS).unwrap_or((12, 150));
        let rich: Vec<i64> = self
            .roster
            .listed()
            .filter(|(_, p)| p.alive && p.money >= cost)
            .map(|(s, _)| s)
            .collect();
        if let Some(slot) = self.rng.pick(&rich) {
            let profile = self.profile_json(slot);
            let ev =
                json!({ "Weapon": weapon, "Cost": cost, "PlayerID": slot, "Profile": profile });
            self.emit(ids::ZOMBRAINS_BUY_WEAPON, ev);
        }
    }

    /// zombrains_end, and the winner game_over names: the first player who
    /// boarded (else anyone alive), or the zombies when nobody survived.
    fn zbr_end(&mut self, boarded: &[i64]) -> Winner {
        let alive = self.alive(None);
        let dead = self.roster.listed().count() - alive.len();
        self.emit(
            ids::ZOMBRAINS_END,
            json!({ "Alive": alive.len(), "Dead": dead }),
        );
        match boarded.first().or(alive.first()) {
            Some(&slot) => {
                let p = &self.roster.players[&slot];
                Winner {
                    team: -1,
                    id: slot,
                    text: banner(&p.name),
                    color: p.color.clone(),
                }
            }
            None => Winner {
                team: -1,
                id: -1,
                text: "ZOMBIES WIN".into(),
                color: "16724787".into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimOptions;
    use serde_json::Map;
    use std::collections::HashMap;

    fn opts(mode: Mode, seed: u64) -> SimOptions {
        SimOptions {
            mode,
            seed,
            matches: Some(3),
            ..SimOptions::default()
        }
    }

    fn events(mode: Mode, seed: u64) -> Vec<(u16, Map<String, Value>)> {
        scenario(&opts(mode, seed))
            .map(|e| match serde_json::from_str(&e.json) {
                Ok(Value::Object(o)) => (e.id, o),
                other => panic!("event {} is not a JSON object: {other:?}", e.json),
            })
            .collect()
    }

    fn s(v: Option<&Value>) -> String {
        match v {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => String::new(),
        }
    }

    #[test]
    fn same_seed_same_events_other_seed_differs() {
        for mode in Mode::ALL {
            let a: Vec<SimEvent> = scenario(&opts(mode, 7)).collect();
            let b: Vec<SimEvent> = scenario(&opts(mode, 7)).collect();
            let c: Vec<SimEvent> = scenario(&opts(mode, 8)).collect();
            assert_eq!(a, b, "{mode}");
            assert_ne!(a, c, "{mode}");
        }
    }

    #[test]
    fn endless_scenario_keeps_going_and_matches_bound_it() {
        let unlimited = SimOptions {
            matches: None,
            ..opts(Mode::Tdm, 1)
        };
        let ends = scenario(&unlimited)
            .take(20_000)
            .filter(|e| e.id == ids::MATCH_END)
            .count();
        assert!(ends > 3, "only {ends} matches in 20000 events");
        assert_eq!(
            scenario(&opts(Mode::Tdm, 1))
                .filter(|e| e.id == ids::MATCH_END)
                .count(),
            3
        );
    }

    #[test]
    fn every_event_has_time_and_event_id_and_time_advances() {
        for mode in Mode::ALL {
            let mut last = EPOCH;
            for (id, ev) in events(mode, 3) {
                assert_eq!(int(ev.get("EventID")), Some(id as i64), "{mode} {ev:?}");
                let t = int(ev.get("Time")).expect("Time");
                assert!(t >= last, "{mode}: time went back");
                last = t;
            }
        }
    }

    #[test]
    fn player_data_agrees_with_death_events() {
        for mode in [Mode::Dm, Mode::Tdm, Mode::Ctf, Mode::Svl] {
            for seed in 1..4 {
                let mut tally: HashMap<i64, (i64, i64)> = HashMap::new();
                let mut ends = 0;
                for (id, ev) in events(mode, seed) {
                    let slot = |k: &str| int(ev.get(k)).unwrap_or(-1);
                    match id {
                        ids::MATCH_START => tally.clear(),
                        ids::PLAYER_CONNECT | ids::PLAYER_DISCONNECT => {
                            tally.remove(&slot("PlayerID"));
                        }
                        ids::PLAYER_DEATH => {
                            tally.entry(slot("VictimID")).or_default().1 += 1;
                            let killer = slot("KillerID");
                            if killer >= 0 && killer != slot("VictimID") && slot("Teamkill") != 1 {
                                tally.entry(killer).or_default().0 += 1;
                            }
                        }
                        ids::MATCH_END => {
                            ends += 1;
                            let data: Vec<_> = ev
                                .iter()
                                .filter(|(k, _)| k.starts_with("PlayerData"))
                                .collect();
                            assert!(!data.is_empty(), "{mode}: match_end without PlayerData");
                            for (key, pd) in data {
                                let slot = int(pd.get("ID")).unwrap();
                                assert_eq!(key, &format!("PlayerData{slot}"));
                                let want = tally.get(&slot).copied().unwrap_or_default();
                                let got = (
                                    int(pd.get("Kills")).unwrap(),
                                    int(pd.get("Deaths")).unwrap(),
                                );
                                assert_eq!(got, want, "{mode} seed {seed} slot {slot}");
                                // Bots as real servers list them: `bot<N>` on store 0.
                                let bot = s(pd.get("Bot")) == "1";
                                let profile = s(pd.get("Profile"));
                                assert_eq!(bot, profile.starts_with("bot"), "{profile}");
                                if bot {
                                    assert_eq!(profile, format!("bot{slot}"));
                                    assert_eq!(s(pd.get("Store")), "0");
                                    assert_eq!(s(pd.get("ClanID")), "");
                                } else {
                                    assert_ne!(s(pd.get("ClanID")), "");
                                }
                                assert!(pd.get("Hat2").is_some());
                                assert_eq!(pd.get("X").is_some(), s(pd.get("Alive")) == "1");
                            }
                        }
                        _ => {}
                    }
                }
                assert_eq!(ends, 3);
            }
        }
        assert!(!events(Mode::Zbr, 1)
            .iter()
            .any(|(id, _)| *id == ids::MATCH_END));
    }

    #[test]
    fn profile_forms_stores_and_shared_numbers_all_appear() {
        let evs = events(Mode::Dm, 1);
        let profiles: Vec<String> = evs
            .iter()
            .flat_map(|(_, e)| {
                e.iter()
                    .filter(|(k, _)| k.ends_with("Profile"))
                    .map(|(_, v)| s(Some(v)))
            })
            .collect();
        assert!(profiles
            .iter()
            .any(|p| p.contains("\"StoreID\":\"0\"") && p.contains("7656119")));
        // `StoreID` is what real servers send; the older `Store` stays a minority.
        let count = |key: &str| profiles.iter().filter(|p| p.contains(key)).count();
        let (store_id, store) = (count("\"StoreID\":\""), count("\"Store\":\""));
        assert!(store > 0 && store_id > 4 * store, "{store_id} vs {store}");
        assert!(
            profiles
                .iter()
                .any(|p| p.starts_with("{\"ProfileID\":\"bot") && p.ends_with("\"StoreID\":\"0\"}")),
            "bots"
        );
        assert!(profiles.iter().any(|p| p == NPC_PROFILE), "no assister");
        assert!(profiles.iter().any(|p| p.is_empty()), "server chat");
        let plain = evs.iter().any(|(id, e)| {
            *id == ids::PLAYER_CONNECT
                && e.contains_key("Store")
                && !s(e.get("Profile")).starts_with('{')
        });
        assert!(
            plain,
            "plain profile with a separate Store in player_connect"
        );
        let mut by_number: HashMap<String, Vec<i64>> = HashMap::new();
        for (id, e) in &evs {
            if *id == ids::PLAYER_CONNECT {
                let (p, store) =
                    super::super::state::parse_profile(e.get("Profile"), e.get("Store"));
                by_number.entry(p).or_default().push(store);
            }
        }
        let stores: Vec<i64> = by_number.values().flatten().copied().collect();
        for store in 0..=3 {
            assert!(stores.contains(&store), "store {store} never connects");
        }
        assert!(
            by_number.values().any(|s| s.iter().any(|&x| x != s[0])),
            "a number on two stores"
        );
    }

    #[test]
    fn hostile_text_and_chat_commands_appear() {
        let evs = events(Mode::Tdm, 2);
        let chat: Vec<String> = evs
            .iter()
            .filter(|(id, _)| *id == ids::CHAT_MESSAGE)
            .map(|(_, e)| s(e.get("Message")))
            .collect();
        for needle in [
            "@everyone",
            "@here",
            "\"",
            "└",
            "┐",
            "\\",
            "**",
            "<@",
            "\n",
            "\"; kick all",
            "!rank",
            "!top",
        ] {
            assert!(
                chat.iter().any(|m| m.contains(needle)),
                "no chat with {needle:?}"
            );
        }
        assert!(chat.iter().any(|m| m.starts_with("!stats ") && m.len() > 7));
        assert!(evs.iter().any(|(id, e)| *id == ids::CHAT_MESSAGE
            && s(e.get("PlayerID")) == "-1"
            && s(e.get("Profile")).is_empty()));
        let names: Vec<String> = evs
            .iter()
            .filter(|(id, _)| *id == ids::PLAYER_CONNECT)
            .map(|(_, e)| s(e.get("PlayerName")))
            .collect();
        for needle in ["\"", "└", "@everyone"] {
            assert!(
                names.iter().any(|n| n.contains(needle)),
                "no player named with {needle:?}"
            );
        }
    }

    #[test]
    fn deaths_cover_every_kind() {
        for mode in [Mode::Dm, Mode::Tdm, Mode::Ctf] {
            let evs: Vec<_> = (5..8).flat_map(|seed| events(mode, seed)).collect();
            let bots: Vec<String> = evs
                .iter()
                .filter(|(id, e)| *id == ids::PLAYER_SPAWN && s(e.get("Profile")).contains("\"bot"))
                .map(|(_, e)| s(e.get("PlayerID")))
                .collect();
            let deaths: Vec<&Map<String, Value>> = evs
                .iter()
                .filter(|(id, _)| *id == ids::PLAYER_DEATH)
                .map(|(_, e)| e)
                .collect();
            let has = |f: &dyn Fn(&Map<String, Value>) -> bool| deaths.iter().any(|e| f(e));
            assert!(
                has(&|e| s(e.get("KillerID")) == s(e.get("VictimID"))),
                "{mode} suicide"
            );
            assert!(
                has(&|e| s(e.get("KillerID")) == "-1" && s(e.get("KillerWeapon")) == "-1"),
                "{mode} world"
            );
            // No assister: -1 with an NPC-style profile and no position.
            for e in &deaths {
                if s(e.get("AssisterID")) == "-1" {
                    assert_eq!(s(e.get("AssisterProfile")), NPC_PROFILE);
                    assert!(!e.contains_key("AssistX") && !e.contains_key("AssistY"));
                }
            }
            assert!(has(&|e| s(e.get("Headshot")) == "1"), "{mode} headshot");
            assert!(has(&|e| s(e.get("AssisterID")) != "-1"), "{mode} assist");
            assert!(
                has(&|e| !e.contains_key("VictimX")),
                "{mode} missing position"
            );
            assert!(
                has(&|e| bots.contains(&s(e.get("KillerID")))),
                "{mode} bot kills"
            );
            assert!(
                has(&|e| bots.contains(&s(e.get("VictimID")))),
                "{mode} bot dies"
            );
            assert_eq!(
                has(&|e| s(e.get("Teamkill")) == "1"),
                mode.is_team_mode(),
                "{mode} teamkill"
            );
            assert!(
                evs.iter().any(|(id, _)| *id == MYSTERY_ID),
                "{mode} unknown id"
            );
        }
    }

    #[test]
    fn disconnected_slots_are_reused_by_new_players() {
        for mode in Mode::ALL {
            let evs = events(mode, 1);
            let mut left: Vec<(String, String)> = Vec::new();
            let mut reused = false;
            for (id, e) in &evs {
                match *id {
                    ids::PLAYER_DISCONNECT => left.push((s(e.get("PlayerID")), s(e.get("IP")))),
                    ids::PLAYER_CONNECT => {
                        reused |= left.iter().any(|(slot, ip)| {
                            *slot == s(e.get("PlayerID")) && *ip != s(e.get("IP"))
                        })
                    }
                    _ => {}
                }
            }
            assert!(reused, "{mode}: no slot reused by another player");
        }
    }

    /// Co-op lobbies refill between matches instead of draining to one
    /// player after a few early wipes.
    #[test]
    fn coop_lobbies_stay_populated() {
        for mode in [Mode::Svl, Mode::Zbr] {
            let o = SimOptions {
                matches: Some(30),
                ..opts(mode, 1)
            };
            let mut online: i64 = 0;
            let mut fewest = i64::MAX;
            for e in scenario(&o) {
                match e.id {
                    ids::PLAYER_CONNECT => online += 1,
                    ids::PLAYER_DISCONNECT => online -= 1,
                    ids::MATCH_END | ids::GAME_OVER => fewest = fewest.min(online),
                    _ => {}
                }
            }
            assert!(
                fewest * 2 >= i64::from(o.players),
                "{mode}: down to {fewest}"
            );
        }
    }

    #[test]
    fn tdm_rounds_ctf_flags_and_survival_waves() {
        let tdm = events(Mode::Tdm, 1);
        let ends: Vec<String> = tdm
            .iter()
            .filter(|(id, _)| *id == ids::TDM_ROUND_END)
            .map(|(_, e)| s(e.get("Winner")))
            .collect();
        assert!(ends.contains(&"1".into()) && ends.contains(&"2".into()));
        assert!(
            tdm.iter().any(|(id, _)| *id == ids::TDM_SWITCH_SIDES)
                && tdm.iter().any(|(id, _)| *id == ids::TDM_ROUND_START)
        );
        assert!(tdm
            .iter()
            .any(|(id, e)| *id == ids::PLAYER_TEAM_CHANGE && s(e.get("Autobalanced")) == "1"));
        let draws = (1..6)
            .flat_map(|seed| events(Mode::Tdm, seed))
            .filter(|(id, e)| *id == ids::TDM_ROUND_END && s(e.get("Winner")) == "0");
        assert!(draws.count() > 0, "no drawn round in five seeds");

        let ctf = events(Mode::Ctf, 1);
        for id in ids::CTF_TAKEN..=ids::CTF_GENERATOR_DESTROYED {
            assert!(ctf.iter().any(|(i, _)| *i == id), "ctf event {id}");
        }
        let mut team = HashMap::new();
        for (id, e) in &ctf {
            match *id {
                ids::PLAYER_SPAWN | ids::PLAYER_TEAM_CHANGE => {
                    let t = e.get(if *id == ids::PLAYER_SPAWN {
                        "Team"
                    } else {
                        "NewTeam"
                    });
                    team.insert(s(e.get("PlayerID")), s(t));
                }
                ids::CTF_SCORED => {
                    assert_eq!(team[&s(e.get("CarrierID"))], s(e.get("ScoringTeam")))
                }
                _ => {}
            }
        }

        let svl = events(Mode::Svl, 1);
        let humans: Vec<String> = svl
            .iter()
            .filter(|(id, _)| *id == ids::PLAYER_CONNECT)
            .map(|(_, e)| s(e.get("PlayerID")))
            .collect();
        let npcs: Vec<String> = svl
            .iter()
            .filter(|(id, e)| {
                *id == ids::PLAYER_SPAWN
                    && e.contains_key("EnemyType")
                    && e.contains_key("EnemyRank")
            })
            .map(|(_, e)| s(e.get("PlayerID")))
            .collect();
        assert!(!npcs.is_empty() && npcs.iter().all(|n| !humans.contains(n)));
        for (id, e) in &svl {
            if *id == ids::PLAYER_SPAWN && e.contains_key("EnemyType") {
                assert_eq!(s(e.get("Profile")), NPC_PROFILE);
            }
        }
        // Missions carry Mission/Reward or Type/Amount.
        let missions: Vec<_> = svl
            .iter()
            .filter(|(id, _)| {
                (ids::SURVIVAL_COMPLETE_MISSION..=ids::SURVIVAL_FAIL_MISSION).contains(id)
            })
            .collect();
        assert!(missions
            .iter()
            .any(|(id, _)| *id == ids::SURVIVAL_COMPLETE_MISSION));
        for (_, e) in missions {
            assert!(e.contains_key("Mission") || e.contains_key("Type"), "{e:?}");
            assert!(
                e.contains_key("Reward") || e.contains_key("Amount"),
                "{e:?}"
            );
        }
        for id in [
            ids::SURVIVAL_NEW_WAVE,
            ids::SURVIVAL_WAVE_BEGINS,
            ids::SURVIVAL_BUY_CHEST,
        ] {
            assert!(svl.iter().any(|(i, _)| *i == id), "svl event {id}");
        }
        let mut wave = 0;
        let mut late = false;
        for (id, e) in &svl {
            match *id {
                ids::SURVIVAL_NEW_WAVE => wave = int(e.get("WaveNumber")).unwrap(),
                ids::PLAYER_CONNECT => late |= wave > 3,
                _ => {}
            }
        }
        assert!(late, "nobody joined after wave 3");
        assert!(!svl.iter().any(|(id, e)| *id == ids::PLAYER_SPAWN
            && s(e.get("Team")) != "2"
            && s(e.get("Profile")).contains("-1")));
    }

    #[test]
    fn small_and_empty_servers_do_not_panic() {
        for mode in Mode::ALL {
            for players in [0, 1, 2, 40] {
                let o = SimOptions {
                    players,
                    ..opts(mode, 9)
                };
                assert!(
                    scenario(&o).filter(|e| e.id == ids::GAME_OVER).count() == 3,
                    "{mode} {players}"
                );
            }
        }
    }

    #[test]
    fn dump_writes_journal_lines() {
        let mut out = Vec::new();
        dump(
            &SimOptions {
                matches: None,
                ..opts(Mode::Ctf, 4)
            },
            &mut out,
        )
        .unwrap();
        let lines: Vec<JournalLine> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let events: Vec<SimEvent> = scenario(&opts(Mode::Ctf, 4)).collect();
        assert_eq!(lines.len(), events.len());
        for (line, ev) in lines.iter().zip(&events) {
            assert_eq!(
                (line.id, &line.json, line.mode, line.server.as_str()),
                (ev.id, &ev.json, Mode::Ctf, "sim")
            );
            assert_eq!(line.ts_ms, ev.time().unwrap() * 1000);
        }
    }

    fn with(mode: Mode, seed: u64, f: impl FnOnce(&mut SimOptions)) -> SimOptions {
        let mut o = opts(mode, seed);
        f(&mut o);
        o
    }

    fn parsed(o: &SimOptions) -> Vec<(u16, Map<String, Value>)> {
        scenario(o)
            .map(|e| match serde_json::from_str(&e.json) {
                Ok(Value::Object(o)) => (e.id, o),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    /// Slots that spawned with a bot profile (`bot<slot>` on Steam's store).
    fn bot_slots(evs: &[(u16, Map<String, Value>)]) -> Vec<String> {
        let mut slots: Vec<String> = evs
            .iter()
            .filter(|(id, e)| *id == ids::PLAYER_SPAWN && s(e.get("Profile")).contains("\"bot"))
            .map(|(_, e)| {
                let slot = s(e.get("PlayerID"));
                let want = format!("{{\"ProfileID\":\"bot{slot}\",\"StoreID\":\"0\"}}");
                assert_eq!(s(e.get("Profile")), want);
                assert!(!e.contains_key("EnemyType"), "bots are not NPCs");
                slot
            })
            .collect();
        slots.sort();
        slots.dedup();
        slots
    }

    #[test]
    fn bots_option_sets_how_many_bots_play() {
        let bots = |mode, n: Option<u16>| bot_slots(&parsed(&with(mode, 1, |o| o.bots = n)));
        // Two at the start plus one the console adds in each of the first two matches.
        assert_eq!(bots(Mode::Dm, None).len(), 4);
        assert_eq!(bots(Mode::Ctf, Some(3)).len(), 5);
        assert!(bots(Mode::Tdm, Some(0)).is_empty());
        assert!(bots(Mode::Svl, None).is_empty());
        assert!(bots(Mode::Zbr, None).is_empty());
        for mode in [Mode::Svl, Mode::Zbr] {
            let evs = parsed(&with(mode, 1, |o| o.bots = Some(2)));
            assert_eq!(bot_slots(&evs).len(), 2, "{mode}");
            let addbot = evs.iter().any(|(id, e)| {
                *id == ids::COMMAND_ENTERED && s(e.get("Command")).starts_with("addbot")
            });
            assert!(!addbot, "{mode}: no console bots in co-op");
        }
    }

    #[test]
    fn console_addbot_is_echoed_then_team_change_then_spawn() {
        for mode in [Mode::Dm, Mode::Tdm, Mode::Ctf] {
            let evs = events(mode, 1);
            let mut added = 0;
            for (i, (id, e)) in evs.iter().enumerate() {
                if *id != ids::COMMAND_ENTERED || !s(e.get("Command")).starts_with("addbot") {
                    continue;
                }
                added += 1;
                let (change_id, change) = &evs[i + 1];
                assert_eq!(
                    *change_id,
                    ids::PLAYER_TEAM_CHANGE,
                    "{mode}: the bot is first seen in a team change"
                );
                let slot = s(change.get("PlayerID"));
                let profile = format!("{{\"ProfileID\":\"bot{slot}\",\"StoreID\":\"0\"}}");
                assert_eq!(s(change.get("Profile")), profile);
                let team = s(change.get("NewTeam"));
                assert_eq!(team == "0", mode == Mode::Dm, "{mode}: team {team}");
                assert_eq!(s(e.get("Command")), format!("addbot \"{team}\" \"0\""));
                assert_eq!(
                    s(e.get("ReturnText")),
                    format!("ADDBOT: Added bot to team {team}")
                );
                assert_eq!(s(e.get("Source")), "0");
                // Never seen before, in any event or PlayerData.
                let before = evs[..i].iter().any(|(_, e)| {
                    e.values().any(|v| s(Some(v)) == profile)
                        || e.iter().any(|(k, v)| {
                            k.starts_with("PlayerData")
                                && s(v.get("Profile")) == format!("bot{slot}")
                        })
                });
                assert!(!before, "{mode}: bot{slot} seen before addbot");
                let spawn = evs[i + 2..]
                    .iter()
                    .position(|(id, e)| *id == ids::PLAYER_SPAWN && s(e.get("PlayerID")) == slot);
                let death = evs[i + 2..].iter().position(|(id, e)| {
                    *id == ids::PLAYER_DEATH
                        && (s(e.get("VictimID")) == slot || s(e.get("KillerID")) == slot)
                });
                assert!(
                    spawn.is_some() && death.is_none_or(|d| Some(d) > spawn),
                    "{mode}: spawns first"
                );
            }
            assert_eq!(
                added, 2,
                "{mode}: one console bot in each of the first two matches"
            );
        }
    }

    #[test]
    fn npcs_have_empty_profiles_and_repeating_names() {
        for (mode, names) in [(Mode::Svl, ENEMY_NAMES), (Mode::Zbr, ZOMBIE_NAMES)] {
            let evs = events(mode, 2);
            let spawned: Vec<String> = evs
                .iter()
                .filter(|(id, e)| {
                    *id == ids::PLAYER_SPAWN
                        && e.contains_key("EnemyType")
                        && e.contains_key("EnemyRank")
                })
                .map(|(_, e)| {
                    assert_eq!(s(e.get("Profile")), NPC_PROFILE);
                    s(e.get("Name"))
                })
                .collect();
            assert!(
                spawned.iter().all(|n| names.contains(&n.as_str())),
                "{mode}"
            );
            let distinct: std::collections::BTreeSet<&String> = spawned.iter().collect();
            assert!(
                distinct.len() > 1 && spawned.len() > 2 * distinct.len(),
                "{mode}: {distinct:?}"
            );
        }
    }

    #[test]
    fn zombrains_match_order_and_both_outcomes() {
        let evs = events(Mode::Zbr, 1);
        let matches: Vec<&[(u16, Map<String, Value>)]> = evs
            .split_inclusive(|(id, _)| *id == ids::GAME_OVER)
            .filter(|m| m.iter().any(|(id, _)| *id == ids::GAME_OVER))
            .collect();
        assert_eq!(matches.len(), 3);
        let (mut won, mut lost) = (0, 0);
        for m in matches {
            let sent: Vec<u16> = m.iter().map(|(id, _)| *id).collect();
            let at = |id: u16| sent.iter().position(|&i| i == id);
            let last = |id: u16| sent.iter().rposition(|&i| i == id);
            assert!(!sent.contains(&ids::MATCH_END), "no match_end in zombrains");
            assert!(
                !sent
                    .iter()
                    .any(
                        |id| (ids::SURVIVAL_NEW_WAVE..=ids::SURVIVAL_BUY_CHEST).contains(id)
                            || (ids::SURVIVAL_COMPLETE_MISSION..=ids::SURVIVAL_FAIL_MISSION)
                                .contains(id)
                    ),
                "no survival events"
            );
            let (start, begin, end, over) = (
                at(ids::MATCH_START).unwrap(),
                at(ids::ZOMBRAINS_BEGIN).unwrap(),
                at(ids::ZOMBRAINS_END).unwrap(),
                at(ids::GAME_OVER).unwrap(),
            );
            assert!(start < begin && begin < end && over == sent.len() - 1);
            assert_eq!(m[start].1["GameModeID"], "3");
            for id in [ids::ZOMBRAINS_REVIVE, ids::ZOMBRAINS_BUY_WEAPON] {
                assert!(sent.contains(&id), "zombrains event {id}");
            }
            for (id, e) in m {
                match *id {
                    ids::ZOMBRAINS_REVIVE => {
                        assert!(e.contains_key("PlayerID") && e.contains_key("Profile"))
                    }
                    ids::ZOMBRAINS_BUY_WEAPON => {
                        for k in ["Weapon", "Cost", "PlayerID", "Profile"] {
                            assert!(e.contains_key(k), "{k}");
                        }
                    }
                    _ => {}
                }
            }
            let end_ev = &m[end].1;
            let alive = int(end_ev.get("Alive")).unwrap();
            assert!(int(end_ev.get("Dead")).is_some());
            let over_ev = &m[over].1;
            assert_eq!(s(over_ev.get("WinnerTeam")), "-1");
            assert_eq!(s(over_ev.get("GameModeID")), "3");
            assert!(
                over_ev.contains_key("CurrentMapName")
                    && s(over_ev.get("CurrentMapFile")).ends_with('\\')
            );
            let boarded: Vec<String> = m
                .iter()
                .filter(|(id, _)| *id == ids::ZOMBRAINS_HELICOPTER_PLAYER_BOARDED)
                .map(|(_, e)| s(e.get("PlayerID")))
                .collect();
            if alive > 0 {
                won += 1;
                let (heli, boarding) = (
                    at(ids::ZOMBRAINS_HELICOPTER_ARRIVING).unwrap(),
                    at(ids::ZOMBRAINS_HELICOPTER_BOARDING).unwrap(),
                );
                assert!(heli < boarding && boarding < end);
                assert!(
                    at(ids::ZOMBRAINS_HELICOPTER_PLAYER_BOARDED).is_none_or(|b| b > boarding)
                        && last(ids::ZOMBRAINS_HELICOPTER_PLAYER_BOARDED).is_none_or(|b| b < end)
                );
                let winner = s(over_ev.get("WinnerID"));
                assert!(boarded.is_empty() || boarded[0] == winner);
                let name = m
                    .iter()
                    .rev()
                    .find(|(id, e)| *id == ids::PLAYER_SPAWN && s(e.get("PlayerID")) == winner)
                    .map(|(_, e)| s(e.get("Name")))
                    .unwrap();
                assert_eq!(
                    s(over_ev.get("WinnerText")),
                    format!("{} WINS", name.to_uppercase())
                );
            } else {
                lost += 1;
                assert!(boarded.is_empty() && at(ids::ZOMBRAINS_HELICOPTER_BOARDING).is_none());
                assert_eq!(s(over_ev.get("WinnerID")), "-1");
                assert_eq!(s(over_ev.get("WinnerText")), "ZOMBIES WIN");
            }
        }
        assert!(won > 0 && lost > 0, "won {won}, lost {lost}");
        // Humans kill zombies and die to them (the zombies' weapon is -1).
        let npcs: Vec<String> = evs
            .iter()
            .filter(|(id, e)| *id == ids::PLAYER_SPAWN && e.contains_key("EnemyType"))
            .map(|(_, e)| s(e.get("PlayerID")))
            .collect();
        let deaths = || {
            evs.iter()
                .filter(|(id, _)| *id == ids::PLAYER_DEATH)
                .map(|(_, e)| e)
        };
        assert!(deaths().any(|e| npcs.contains(&s(e.get("VictimID")))));
        assert!(deaths()
            .any(|e| npcs.contains(&s(e.get("KillerID"))) && s(e.get("KillerWeapon")) == "-1"));
    }

    #[test]
    fn game_mode_ids_and_events_match_the_mode() {
        for (mode, gid) in [
            (Mode::Dm, "0"),
            (Mode::Tdm, "1"),
            (Mode::Ctf, "2"),
            (Mode::Svl, "4"),
            (Mode::Zbr, "3"),
        ] {
            for (id, e) in events(mode, 4) {
                if matches!(id, ids::MATCH_END | ids::MATCH_START | ids::GAME_OVER) {
                    assert_eq!(s(e.get("GameModeID")), gid, "{mode} event {id}");
                    let file = s(e
                        .get("MapFile")
                        .or(e.get("CurrentMapFile"))
                        .or(e.get("NextMapFile")));
                    assert!(file.starts_with("maps\\") && file.ends_with('\\'), "{file}");
                }
                if mode != Mode::Zbr {
                    assert!(
                        !(ids::ZOMBRAINS_REVIVE..=ids::ZOMBRAINS_END).contains(&id),
                        "{mode}: zombrains event {id}"
                    );
                }
                if mode != Mode::Svl {
                    assert!(
                        !(ids::SURVIVAL_NEW_WAVE..=ids::SURVIVAL_BUY_CHEST).contains(&id)
                            && !(ids::SURVIVAL_COMPLETE_MISSION..=ids::SURVIVAL_FAIL_MISSION)
                                .contains(&id),
                        "{mode}: survival event {id}"
                    );
                }
            }
        }
    }

    #[test]
    fn keys_are_shuffled_the_same_way_for_the_same_seed() {
        for mode in Mode::ALL {
            let a: Vec<SimEvent> = scenario(&opts(mode, 5)).collect();
            assert_eq!(a, scenario(&opts(mode, 5)).collect::<Vec<_>>());
            let first_keys: std::collections::BTreeSet<String> = a
                .iter()
                .filter(|e| e.id == ids::PLAYER_DEATH)
                .map(|e| e.json[2..].split('"').next().unwrap().to_owned())
                .collect();
            assert!(first_keys.len() > 5, "{mode}: {first_keys:?}");
            assert!(first_keys.contains("Time") && first_keys.contains("EventID"));
        }
    }

    #[test]
    fn level_ups_name_the_slot_id_and_raise_the_level() {
        let evs = events(Mode::Dm, 1);
        let mut levels: HashMap<String, i64> = HashMap::new();
        let mut seen = 0;
        for (id, e) in &evs {
            if *id != ids::PLAYER_LEVEL_UP {
                continue;
            }
            seen += 1;
            assert!(
                !e.contains_key("PlayerID")
                    && e.contains_key("SkinWeapon")
                    && e.contains_key("SkinType")
            );
            let level = int(e.get("Level")).unwrap();
            let who = s(e.get("Profile"));
            assert!(who.contains("ProfileID") && int(e.get("ID")).is_some());
            if let Some(before) = levels.insert(who, level) {
                assert!(level > before);
            }
        }
        assert!(seen > 2, "{seen} level-ups");
    }

    #[test]
    fn real_keys_and_console_kicks_appear() {
        let evs = events(Mode::Dm, 1);
        assert!(evs
            .iter()
            .filter(|(id, _)| *id == ids::PLAYER_SPAWN)
            .all(|(_, e)| e.contains_key("Hat2")));
        assert!(evs
            .iter()
            .filter(|(id, _)| *id == ids::CHAT_MESSAGE)
            .all(|(_, e)| e.contains_key("NameColor")));
        let kicks: Vec<Mode> = Mode::ALL
            .into_iter()
            .filter(|&mode| {
                let evs = events(mode, 3);
                evs.windows(2).any(|w| {
                    let ((a, cmd), (b, gone)) = (&w[0], &w[1]);
                    if (*a, *b) != (ids::COMMAND_ENTERED, ids::PLAYER_DISCONNECT) {
                        return false;
                    }
                    let name = evs
                        .iter()
                        .find(|(id, e)| {
                            *id == ids::PLAYER_CONNECT
                                && s(e.get("PlayerID")) == s(gone.get("PlayerID"))
                        })
                        .map(|(_, e)| s(e.get("PlayerName")))
                        .unwrap();
                    assert_eq!(s(cmd.get("Source")), "0");
                    assert_eq!(
                        s(cmd.get("ReturnText")),
                        format!("KICK: Kicking player {name}...")
                    );
                    let params = crate::sim::server::parse_params(&s(cmd.get("Command"))).unwrap();
                    assert_eq!(params, ["kick", name.as_str(), "AFK"]);
                    assert_eq!(s(gone.get("Kicked")), "1");
                    true
                })
            })
            .collect();
        assert!(!kicks.is_empty(), "no console kick in any mode");
    }
}
