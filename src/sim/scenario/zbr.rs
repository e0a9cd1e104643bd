//! Zombrains, the co-op zombie mode.

use super::{banner, Gen, Winner};
use crate::event::ids;
use serde_json::json;

/// Weapons zombrains players buy: (weapon id, cost).
const ZBR_WEAPONS: &[(i64, i64)] = &[(12, 150), (23, 300), (31, 450), (44, 800)];

impl Gen {
    /// Zombrains: hordes of zombies, dead players revived by the living,
    /// weapons bought with bounty money, then a helicopter for whoever is
    /// still alive. Some matches the zombies win.
    pub(super) fn zbr_match(&mut self) -> Winner {
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
    use super::super::tests::{events, s};
    use crate::event::ids;
    use crate::model::Mode;
    use crate::sim::state::int;
    use serde_json::{Map, Value};

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
}
