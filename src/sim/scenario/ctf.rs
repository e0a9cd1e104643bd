//! Capture the flag: flag runs (captures, drops, throws, returns) and a
//! generator destroyed and repaired.

use super::{team_winner, Gen, Winner};
use crate::event::ids;
use crate::model::Mode;
use crate::sim::state::mode_info;
use serde_json::{json, Value};

impl Gen {
    pub(super) fn ctf_match(&mut self) -> Winner {
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
        let team = self.attacking_team();
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
}
