//! Game trackers: one server's ordered events in, domain facts out.
//!
//! A [`Tracker`] per server keeps two things: the `identity` cache (which
//! player sits in which slot, on which team) and the open match with its
//! current TDM round (`tdm`), flag carriers (`ctf`) and highest survival
//! wave (`svl`). Kills and chat work the same in every mode and live here;
//! the mode only decides whether bot kills are NPC facts (survival) and
//! whether same-team kills are teamkills (team modes).
//!
//! The state is plain ordered data (no hash maps), so the same events always
//! give the same facts, and it serializes to JSON: crash recovery stores a
//! [`Tracker::snapshot`] next to its journal offset and resumes from it.
//!
//! Rules where the protocol leaves room:
//! - A record's time is the event's `Time` when plausible (after 2015 and
//!   within a day of the receive time), else the receive time.
//! - A match opens at match_start, or implicitly at the first event that needs
//!   one (rcon_logged_in, a scoreboard, a kill, a round, a capture, a wave, a
//!   match end). A match_start while a match is open abandons it without a
//!   fact: without an end there is no winner to report.
//! - match_end (27) and game_over (57) arrive together: the first closes the
//!   match, the second is ignored (match_end PlayerData still updates identities).
//! - A fact needing a player whose slot is unknown and whose event carries no
//!   profile is skipped with a debug log; chat is kept without a player.

mod ctf;
mod identity;
pub(crate) mod modes;
mod svl;
mod tdm;

use crate::event::{Death, Event, MatchEnd, ReplyBody};
use crate::model::Mode;
use crate::model::ServerInfo;
use crate::model::{
    ChatFact, Fact, FactRecord, KillFact, MatchFact, MatchPlayer, NpcEncounter, PlayerKey,
    PlayerSeen,
};
use crate::pipeline::IngestEvent;
use identity::{Actor, Identity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What one event produced.
#[derive(Debug, Default)]
pub(crate) struct TrackerOutput {
    pub players: Vec<PlayerSeen>,
    pub facts: Vec<FactRecord>,
}

/// The tracker of one server; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct Tracker {
    server: String,
    mode: Mode,
    state: State,
}

/// Everything a tracker remembers between events (what a snapshot holds).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct State {
    identity: Identity,
    matches: Matches,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Matches {
    current: Option<MatchState>,
    /// A match end just closed the match and nothing opened one since: the
    /// other end event of the pair (match_end / game_over) is ignored.
    just_closed: bool,
}

/// The open match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MatchState {
    /// `<server>:<start ms>`.
    id: String,
    started_ms: i64,
    map: Option<String>,
    /// Humans who took part, with their last known team.
    #[serde(with = "pairs")]
    roster: BTreeMap<PlayerKey, Option<i32>>,
    rounds: tdm::Rounds,
    flags: ctf::Flags,
    last_wave: Option<i64>,
    /// Zombrains: players alive at zombrains_end.
    #[serde(default)]
    survivors: Option<i64>,
    /// Another mode's events were seen in this match: it makes no facts
    /// but chat (see `modes`).
    #[serde(default)]
    foreign: Option<Mode>,
}

impl MatchState {
    fn new(cx: &Cx, map: Option<String>) -> MatchState {
        MatchState {
            id: format!("{}:{}", cx.server, cx.time_ms),
            started_ms: cx.time_ms,
            map,
            roster: BTreeMap::new(),
            rounds: tdm::Rounds::default(),
            flags: ctf::Flags::default(),
            last_wave: None,
            survivors: None,
            foreign: None,
        }
    }

    /// `key` played in this match; `team` (when known) replaces the one on record.
    fn took_part(&mut self, key: &PlayerKey, team: Option<i32>) {
        let entry = self.roster.entry(key.clone()).or_default();
        *entry = team.or(*entry);
    }

    /// `key` is now on `team`: noted for the roster and the open round.
    fn team_seen(&mut self, key: &PlayerKey, team: Option<i32>) {
        if let (Some(entry), Some(_)) = (self.roster.get_mut(key), team) {
            *entry = team;
        }
        self.rounds.set_team(key, team);
    }

    /// The match fact: match_end's PlayerData first, then roster players who
    /// were not in it (they left early), one entry per player, sorted.
    fn into_fact(self, end: &MatchEnd, listed: Vec<MatchPlayer>, coop_won: Option<bool>) -> Fact {
        let mut players = listed;
        players.extend(self.roster.into_iter().map(|(key, team)| MatchPlayer {
            key,
            team,
            kills: None,
            deaths: None,
            score: None,
        }));
        // Stable: for a duplicated key the PlayerData entry comes first and stays.
        players.sort_by(|a, b| a.key.cmp(&b.key));
        players.dedup_by(|later, first| later.key == first.key);
        Fact::Match(MatchFact {
            map: self.map.or_else(|| end.map.clone()),
            started_ms: Some(self.started_ms),
            winner_team: end.winner_team,
            winner_text: end.winner_text.clone(),
            players,
            last_wave: self.last_wave,
            coop_won,
        })
    }
}

impl Matches {
    fn start(&mut self, cx: &Cx, map: Option<String>) {
        if let Some(old) = &self.current {
            cx.skip(&format!(
                "match {} abandoned: a new match started before its end",
                old.id
            ));
        }
        self.just_closed = false;
        self.current = Some(MatchState::new(cx, map));
    }

    /// The open match; one opens implicitly when bman joined mid-match.
    fn ensure(&mut self, cx: &Cx) -> &mut MatchState {
        if self.current.is_none() {
            tracing::debug!(server = %cx.server, "match opened implicitly (joined mid-match)");
            self.just_closed = false;
        }
        self.current
            .get_or_insert_with(|| MatchState::new(cx, None))
    }

    /// Takes the match a match end closes, or `None` for the second end event of a pair.
    fn close(&mut self, cx: &Cx) -> Option<MatchState> {
        if self.current.is_none() && std::mem::take(&mut self.just_closed) {
            return None;
        }
        self.ensure(cx);
        self.just_closed = true;
        self.current.take()
    }

    fn id(&self) -> Option<&str> {
        self.current.as_ref().map(|m| m.id.as_str())
    }
}

/// Where the output of the event being handled goes, and when it happened.
struct Cx<'a> {
    server: &'a str,
    mode: Mode,
    time_ms: i64,
    out: &'a mut TrackerOutput,
}

impl Cx<'_> {
    fn fact(&mut self, match_id: Option<&str>, fact: Fact) {
        self.out.facts.push(FactRecord {
            server: self.server.to_owned(),
            mode: self.mode,
            time_ms: self.time_ms,
            match_id: match_id.map(str::to_owned),
            fact,
        });
    }

    fn seen(&mut self, seen: Option<PlayerSeen>) {
        self.out.players.extend(seen);
    }

    /// Something in the event could not be used; the rest of it still is.
    fn skip(&self, why: &str) {
        tracing::debug!(server = %self.server, "{why}");
    }
}

/// The game's `Time` before 2015 cannot be right.
const MIN_PLAUSIBLE_S: i64 = 1_420_070_400;
/// How far the game's clock may be from the receive time and still be trusted.
const MAX_SKEW_MS: u64 = 24 * 3600 * 1000;

/// The event's `Time` in ms when plausible, else the receive time.
fn record_time(time_s: Option<i64>, ts_ms: i64) -> i64 {
    time_s
        .filter(|t| *t >= MIN_PLAUSIBLE_S)
        .and_then(|t| t.checked_mul(1000))
        .filter(|ms| ms.abs_diff(ts_ms) <= MAX_SKEW_MS)
        .unwrap_or(ts_ms)
}

/// Slot ids are non-negative; -1 means "nobody" (the world, the server).
fn slot(slot: Option<i32>) -> Option<i32> {
    slot.filter(|s| *s >= 0)
}

impl Tracker {
    pub fn new(server: &ServerInfo) -> Tracker {
        Tracker {
            server: server.name.clone(),
            mode: server.mode,
            state: State::default(),
        }
    }

    /// The server this tracker follows.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// State as JSON, so crash recovery can resume exactly where it was.
    pub fn snapshot(&self) -> String {
        serde_json::to_string(&self.state)
            .expect("tracker state has only string map keys and plain values")
    }

    pub(crate) fn restore(
        server: &ServerInfo,
        snapshot: &str,
    ) -> Result<Tracker, serde_json::Error> {
        Ok(Tracker {
            state: serde_json::from_str(snapshot)?,
            ..Tracker::new(server)
        })
    }

    /// Feeds one event; appends what it produced to `out`. Never panics, whatever the input.
    pub fn on_event(&mut self, event: &IngestEvent, out: &mut TrackerOutput) {
        let first_new = out.facts.len();
        let was_foreign = self.foreign_match();
        self.track(event, out);
        let implied = modes::implied_mode(&event.event.event, event.event.id);
        let foreign_event = implied.is_some_and(|m| m != self.mode);
        if let (Some(seen), true) = (implied, foreign_event) {
            self.mark_foreign(seen, event.event.id);
        }
        if was_foreign || foreign_event || self.foreign_match() {
            let kept: Vec<FactRecord> = out
                .facts
                .drain(first_new..)
                .filter(|f| matches!(f.fact, Fact::Chat(_)))
                .collect();
            out.facts.extend(kept);
        }
    }

    fn foreign_match(&self) -> bool {
        let current = self.state.matches.current.as_ref();
        current.is_some_and(|game| game.foreign.is_some())
    }

    /// The open match holds events of mode `seen`, not this server's: warns
    /// once per match, naming the server, the configured mode and what the
    /// events imply.
    fn mark_foreign(&mut self, seen: Mode, id: u16) {
        let current = self.state.matches.current.as_mut();
        if current.as_ref().is_some_and(|game| game.foreign.is_some()) {
            return;
        }
        tracing::warn!(
            server = %self.server,
            "server {} is configured as {} but sends {} events ({}): its match is journaled \
             but not recorded or rated; check its `mode` (or [bm] port) in bmsettings.ini",
            self.server,
            self.mode,
            seen,
            crate::event::event_name(id),
        );
        if let Some(game) = current {
            game.foreign = Some(seen);
        }
    }

    fn track(&mut self, event: &IngestEvent, out: &mut TrackerOutput) {
        let mut cx = Cx {
            server: &self.server,
            mode: self.mode,
            time_ms: record_time(event.event.time, event.ts_ms),
            out,
        };
        let State { identity, matches } = &mut self.state;
        match &event.event.event {
            Event::PlayerConnect {
                slot: s,
                name,
                ip,
                profile,
                ..
            } => match slot(*s) {
                Some(s) => {
                    let seen = identity.connect(
                        s,
                        name.as_ref(),
                        ip.as_ref(),
                        profile.as_ref(),
                        cx.time_ms,
                    );
                    cx.seen(seen);
                }
                None => cx.skip("player_connect without a slot"),
            },
            Event::PlayerLoaded { slot: s, profile } => match slot(*s) {
                Some(s) => identity.learn(s, profile.as_ref()),
                None => cx.skip("player_loaded without a slot"),
            },
            Event::PlayerLevelUp {
                slot: s,
                profile,
                level,
            } => {
                if let Actor::Human(key) = identity.resolve(slot(*s), profile.as_ref()) {
                    cx.seen(Some(PlayerSeen {
                        level: *level,
                        ..identity::seen(&key, cx.time_ms)
                    }));
                }
            }
            Event::ZombrainsBoarded { slot: s, profile } => {
                if let Actor::Human(player) = identity.resolve(slot(*s), profile.as_ref()) {
                    let game = matches.ensure(&cx);
                    game.took_part(&player, None);
                    let id = game.id.clone();
                    cx.fact(Some(&id), Fact::Escape { player });
                }
            }
            Event::ZombrainsEnd { alive, .. } => matches.ensure(&cx).survivors = *alive,
            Event::PlayerSpawn {
                slot: s,
                profile,
                name,
                team,
                hat,
                color,
                enemy_type,
                enemy_rank,
                loadout,
            } => {
                let Some(s) = slot(*s) else {
                    return cx.skip("player_spawn without a slot");
                };
                let npc = (enemy_type.is_some() || enemy_rank.is_some()).then(|| NpcEncounter {
                    enemy_type: enemy_type.clone(),
                    enemy_rank: enemy_rank.clone(),
                    weapon: None,
                });
                let Some(key) = identity.spawn(s, profile.as_ref(), npc, name.as_ref(), *team)
                else {
                    return;
                };
                cx.seen(Some(PlayerSeen {
                    name: name.clone(),
                    color: color.clone(),
                    hat: hat.clone(),
                    ..identity::seen(&key, cx.time_ms)
                }));
                if let Some(game) = matches.current.as_mut() {
                    game.took_part(&key, *team);
                    game.team_seen(&key, *team);
                    if cx.mode == Mode::Tdm {
                        game.rounds.spawned(&key, *team, loadout);
                    }
                }
            }
            // Whatever else a player does tells who sits in the slot.
            Event::PlayerAction {
                slot: s, profile, ..
            }
            | Event::SurvivalBuyChest {
                slot: s, profile, ..
            } => {
                if let Some(s) = slot(*s) {
                    identity.learn(s, profile.as_ref());
                }
            }
            Event::PlayerDeath(death) => on_death(identity, matches, death, &mut cx),
            Event::PlayerDisconnect { slot: s, .. } => match slot(*s) {
                Some(s) => identity.disconnect(s),
                None => cx.skip("player_disconnect without a slot"),
            },
            Event::PlayerTeamChange {
                slot: s,
                profile,
                new_team,
                ..
            } => {
                let (Some(s), Some(team)) = (slot(*s), *new_team) else {
                    return cx.skip("player_team_change without a slot or team");
                };
                identity.learn(s, profile.as_ref());
                if let (Some(key), Some(game)) =
                    (identity.set_team(s, team), matches.current.as_mut())
                {
                    game.team_seen(&key, Some(team));
                }
            }
            Event::TdmRoundStart { .. } => matches.ensure(&cx).rounds.start(identity, &cx),
            Event::TdmRoundEnd {
                winner,
                score1,
                score2,
                ..
            } => {
                let game = matches.ensure(&cx);
                let map = game.map.clone();
                if let Some(fact) = game
                    .rounds
                    .end(identity, *winner, (*score1, *score2), map, &cx)
                {
                    let id = game.id.clone();
                    cx.fact(Some(&id), fact);
                }
            }
            Event::CtfFlag {
                taken,
                carrier,
                carrier_profile,
                flag_team,
            } => {
                identity.resolve(*carrier, carrier_profile.as_ref());
                if let Some(game) = matches.current.as_mut() {
                    game.flags
                        .moved(*flag_team, slot(*carrier).filter(|_| *taken));
                }
            }
            Event::CtfReturned { player, profile } => {
                identity.resolve(*player, profile.as_ref());
                if let Some(game) = matches.current.as_mut() {
                    game.flags.moved(identity.team(slot(*player)), None);
                }
            }
            Event::CtfScored {
                carrier,
                carrier_profile,
                scoring_team,
                ..
            } => {
                let actor = identity.resolve(*carrier, carrier_profile.as_ref());
                let game = matches.ensure(&cx);
                if let Some(fact) =
                    ctf::scored(game, identity, (*carrier, actor), *scoring_team, &cx)
                {
                    let id = game.id.clone();
                    cx.fact(Some(&id), fact);
                }
            }
            Event::MatchStart { map_name, .. } => matches.start(&cx, map_name.clone()),
            Event::MatchEnd(end) => on_match_end(identity, matches, end, &mut cx),
            Event::SurvivalNewWave {
                wave,
                enemies,
                chests,
                chest_price,
                ..
            } => {
                let Some(wave) = *wave else {
                    return cx.skip("survival_new_wave without a wave number");
                };
                let game = matches.ensure(&cx);
                let fact = svl::new_wave(game, identity, wave, *enemies, *chests, *chest_price);
                let id = game.id.clone();
                cx.fact(Some(&id), fact);
            }
            Event::RequestData {
                body: ReplyBody::Scoreboard(board),
                ..
            } => {
                let seen = identity.rebuild(&board.players, cx.time_ms);
                cx.out.players.extend(seen);
                let game = matches.ensure(&cx);
                if game.map.is_none() {
                    game.map.clone_from(&board.map);
                }
                for (key, team) in identity.teams() {
                    game.team_seen(&key, Some(team));
                }
            }
            Event::RequestData {
                body: ReplyBody::Player(pd),
                ..
            } => {
                let seen = identity.player_data(pd, cx.time_ms);
                cx.seen(seen);
            }
            Event::RconLoggedIn { map_name, .. } => {
                let game = matches.ensure(&cx);
                if game.map.is_none() {
                    game.map.clone_from(map_name);
                }
            }
            Event::ChatMessage {
                slot: s,
                name,
                profile,
                message,
                team,
            } => {
                let player = match identity.resolve(*s, profile.as_ref()) {
                    Actor::Human(key) => Some(key),
                    Actor::Unknown => {
                        cx.skip("chat_message from an unknown slot: kept without a player");
                        None
                    }
                    Actor::Bot | Actor::World => None,
                };
                let chat = ChatFact {
                    player,
                    name: name.clone(),
                    message: message.clone(),
                    team: *team,
                };
                cx.fact(matches.id(), Fact::Chat(chat));
            }
            _ => {}
        }
    }
}

/// A death in any mode: human-vs-human kills everywhere, NPC kills and
/// deaths in survival; suicides, world kills and bot kills make no fact.
fn on_death(identity: &mut Identity, matches: &mut Matches, d: &Death, cx: &mut Cx) {
    let killer = identity.resolve(d.killer, d.killer_profile.as_ref());
    let victim = identity.resolve(d.victim, d.victim_profile.as_ref());
    let game = matches.ensure(cx);
    for (actor, s) in [(&killer, d.killer), (&victim, d.victim)] {
        if let Some(key) = actor.human() {
            game.took_part(key, identity.team(slot(s)));
        }
    }
    let same_slot = slot(d.killer).is_some() && d.killer == d.victim;
    if same_slot || (killer.human().is_some() && killer == victim) {
        return; // suicide
    }
    let coop = cx.mode.is_coop();
    let fact = match (killer, victim) {
        (Actor::Human(killer), Actor::Human(victim)) => {
            let (kt, vt) = (identity.team(slot(d.killer)), identity.team(slot(d.victim)));
            let same_team = cx.mode.is_team_mode() && matches!(kt, Some(1 | 2)) && kt == vt;
            Fact::Kill(KillFact {
                killer,
                victim,
                weapon: d.weapon.clone(),
                headshot: d.headshot,
                teamkill: d.teamkill || same_team,
                killer_at: d.killer_at,
                victim_at: d.victim_at,
            })
        }
        (Actor::Unknown, _) | (_, Actor::Unknown) => {
            return cx.skip("player_death with an unknown slot and no profile");
        }
        (Actor::Human(player), Actor::Bot) if coop => Fact::NpcKill {
            player,
            npc: Some(encounter(identity.npc(slot(d.victim)), d)),
        },
        (Actor::Bot | Actor::World, Actor::Human(player)) if coop => Fact::NpcDeath {
            player,
            npc: Some(encounter(identity.npc(slot(d.killer)), d)),
        },
        _ => return, // world kills, bots, NPCs among themselves
    };
    let id = game.id.clone();
    cx.fact(Some(&id), fact);
}

/// The NPC of a survival death: its kind as it spawned, the death's weapon.
fn encounter(npc: Option<&NpcEncounter>, d: &Death) -> NpcEncounter {
    NpcEncounter {
        weapon: d.weapon.clone(),
        ..npc.cloned().unwrap_or_default()
    }
}

/// match_end (with PlayerData) or game_over (without): closes the match.
fn on_match_end(identity: &mut Identity, matches: &mut Matches, end: &MatchEnd, cx: &mut Cx) {
    let winner = identity.resolve(slot(end.winner_id), None);
    let mut listed = Vec::new();
    for pd in &end.players {
        let Some(seen) = identity.player_data(pd, cx.time_ms) else {
            continue;
        };
        listed.push(MatchPlayer {
            key: seen.key.clone(),
            team: pd.team,
            kills: pd.kills,
            deaths: pd.deaths,
            score: pd.score,
        });
        cx.out.players.push(seen);
    }
    let Some(game) = matches.close(cx) else {
        return cx.skip("second end event of a closed match ignored");
    };
    // Zombrains: the humans won when the game names a human winner or
    // someone survived to the end.
    let coop_won = (cx.mode == Mode::Zbr)
        .then(|| winner.human().is_some() || game.survivors.is_some_and(|n| n > 0));
    let id = game.id.clone();
    cx.fact(Some(&id), game.into_fact(end, listed, coop_won));
}

/// JSON object keys must be strings, so maps keyed by a [`PlayerKey`] are
/// stored as a list of `[key, value]` pairs.
mod pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub(crate) fn serialize<S: Serializer, K: Serialize, V: Serialize>(
        map: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map)
    }

    pub fn deserialize<'de, D, K, V>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        D: Deserializer<'de>,
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
    {
        Vec::<(K, V)>::deserialize(d).map(|pairs| pairs.into_iter().collect())
    }
}

#[cfg(test)]
mod tests;
