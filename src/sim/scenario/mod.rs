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
//!
//! This file drives a match (warm-up, start, the mode's script, the end);
//! `actions` holds what every mode does (connects, spawns, deaths, chat),
//! `cast` who plays and what they say, and `dm`, `tdm`, `ctf`, `svl`, `zbr`
//! the per-mode scripts. Every draw comes from one `Rng` in a fixed order:
//! reordering calls changes every later event, and so the dumps under
//! tests/data/expected.

mod actions;
mod cast;
mod ctf;
mod dm;
mod skill;
mod svl;
mod tdm;
#[cfg(test)]
mod tests;
mod zbr;

use super::rng::Rng;
use super::state::{int, mode_info, Roster};
use super::SimOptions;
use crate::event::ids;
use crate::journal::JournalLine;
use crate::model::Mode;
use cast::{bot_name, personas, Persona};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Write};

pub use skill::TrueSkill;

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

impl Scenario {
    /// The humans' hidden skills (`--skill-spread`; empty without it).
    pub fn true_skills(&self) -> Vec<TrueSkill> {
        self.gen.true_skills()
    }
}

/// The scenario for `opts` (mode, seed, players; `matches` or endless).
pub fn scenario(opts: &SimOptions) -> Scenario {
    let mut rng = Rng::new(opts.seed ^ (opts.mode as u64 + 1).wrapping_mul(0x5851_f42d_4c95_7f2d));
    let humans = usize::from(opts.players);
    let personas = personas(&mut rng, humans + 4);
    let skills = opts
        .skill_spread
        .map(|spread| skill::draw_skills(opts.seed, spread, personas.len()));
    let bots: Vec<(i64, String)> = (0..usize::from(opts.bot_count()))
        .map(|i| (humans as i64 + 1 + i as i64, bot_name(i)))
        .collect();
    Scenario {
        gen: Gen {
            rng,
            mode: opts.mode,
            roster: Roster::new(opts.mode, EPOCH),
            personas,
            skills,
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
    let mut events = scenario(&opts);
    for ev in &mut events {
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
    let skills = events.true_skills();
    if !skills.is_empty() {
        // Not a journal line: `bman replay` skips it with one warning.
        serde_json::to_writer(&mut *out, &serde_json::json!({ "true_skills": skills }))?;
        out.write_all(b"\n")?;
    }
    out.flush()
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

/// The generator: a roster fed by its own events plus who is behind each slot.
struct Gen {
    rng: Rng,
    mode: Mode,
    roster: Roster,
    personas: Vec<Persona>,
    /// Each persona's hidden true skill (`--skill-spread`).
    skills: Option<Vec<f64>>,
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

    /// One match: warm-up, start, the mode's script, match_end and game_over.
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
}
