//! Deathmatch: everyone against everyone; the most kills wins.

use super::{banner, Gen, Winner};

impl Gen {
    pub(super) fn dm_match(&mut self) -> Winner {
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
}
