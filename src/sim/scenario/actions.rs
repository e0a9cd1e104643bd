//! What happens in every mode: players connecting, leaving, changing teams
//! and spawning, console bots, deaths and fights, chat and side events.

use super::cast::{
    bot_name, bot_profile, profile_text, quote, CHAT, ENEMY_NAMES, NPC_PROFILE, ZOMBIE_NAMES,
};
use super::{Gen, MYSTERY_ID};
use crate::event::ids;
use crate::model::Mode;
use serde_json::{json, Value};

impl Gen {
    /// A JSON-encoded profile string: key `StoreID` as real servers send it
    /// (now and then the older `Store` for humans); NPC-style for a slot
    /// nobody is in (no assister, the world).
    pub(super) fn profile_json(&mut self, slot: i64) -> String {
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

    pub(super) fn team(&self, slot: i64) -> i64 {
        self.roster.players.get(&slot).map_or(-1, |p| p.team)
    }

    /// Alive humans and bots (not NPC enemies), optionally of one team.
    pub(super) fn alive(&self, team: Option<i64>) -> Vec<i64> {
        self.roster
            .listed()
            .filter(|(_, p)| p.alive && team.is_none_or(|t| p.team == t))
            .map(|(s, _)| s)
            .collect()
    }

    pub(super) fn team_size(&self, team: i64) -> usize {
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
    pub(super) fn fighters(&self) -> Vec<i64> {
        self.online
            .keys()
            .copied()
            .chain(self.bots.iter().map(|b| b.0))
            .collect()
    }

    /// A human joins: persona `which`, or a random one who is offline. Takes
    /// the lowest free slot, so a slot freed by a disconnect is reused.
    pub(super) fn connect(&mut self, which: Option<usize>) -> Option<i64> {
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
    pub(super) fn add_bot(&mut self) -> i64 {
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
    pub(super) fn console_adds_bot(&self) -> bool {
        self.console_bots && self.match_no < 2
    }

    /// A random human leaves (sometimes kicked), freeing their slot.
    pub(super) fn disconnect(&mut self) {
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

    pub(super) fn change_team(&mut self, slot: i64, team: i64, autobalanced: bool) {
        let (old, profile) = (self.team(slot), self.profile_json(slot));
        self.emit(
            ids::PLAYER_TEAM_CHANGE,
            json!({ "PlayerID": slot, "Profile": profile, "OldTeam": old, "NewTeam": team,
                    "Autobalanced": u8::from(autobalanced) }),
        );
    }

    pub(super) fn spawn(&mut self, slot: i64) {
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

    pub(super) fn spawn_npc(&mut self, slot: i64, wave: i64) {
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
    pub(super) fn death(&mut self, killer: i64, victim: i64) {
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
    pub(super) fn skirmish(&mut self) -> Option<i64> {
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
            let victim = self.rng.pick(&victims)?;
            if teamkill {
                (killer, victim)
            } else {
                self.by_skill(killer, victim)
            }
        };
        self.death(killer, victim);
        Some(victim)
    }

    pub(super) fn respawn_dead(&mut self, p: f64) {
        for slot in self.fighters() {
            if !self.roster.players.get(&slot).is_some_and(|pl| pl.alive) && self.rng.chance(p) {
                self.spawn(slot);
            }
        }
    }

    /// What happens between fights: chat and side events, and this match's
    /// unknown-id event at some point.
    pub(super) fn between(&mut self) {
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

    pub(super) fn mystery(&mut self) {
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

    pub(super) fn chat(&mut self) {
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

    /// The slots of the NPCs alive now.
    pub(super) fn npcs(&self) -> Vec<i64> {
        let players = self.roster.players.iter();
        players.filter(|(_, p)| p.npc).map(|(s, _)| *s).collect()
    }

    /// Between co-op matches players come back, as in a real lobby: each
    /// missing one of the starting head count joins with a good chance, so a
    /// server that lost players to early wipes fills up again.
    pub(super) fn refill_lobby(&mut self) {
        let missing = self.initial.saturating_sub(self.humans().len());
        for _ in 0..missing {
            if self.rng.chance(0.7) {
                self.connect(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{events, opts, s};
    use crate::event::ids;
    use crate::model::Mode;
    use crate::sim::{scenario, SimOptions};
    use serde_json::{Map, Value};

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
}
