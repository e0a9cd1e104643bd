//! Survival: waves of NPC enemies, chests, missions; the match ends when
//! the waves run out or everyone is dead.

use super::{Gen, Winner};
use crate::event::ids;
use serde_json::{json, Value};

impl Gen {
    pub(super) fn svl_match(&mut self) -> Winner {
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
}
