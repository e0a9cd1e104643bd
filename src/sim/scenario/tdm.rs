//! Team deathmatch: rounds won by elimination, the flag or time, sides
//! switched at half time, autobalance.

use super::{team_winner, Gen, Winner};
use crate::event::ids;
use serde_json::{json, Value};

impl Gen {
    fn head_count(&self) -> Value {
        json!({
            "Alive1": self.alive(Some(1)).len(), "Alive2": self.alive(Some(2)).len(),
            "Players1": self.team_size(1), "Players2": self.team_size(2),
        })
    }

    pub(super) fn tdm_match(&mut self) -> Winner {
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
}
