//! The hidden skill model of `bman simulate --skill-spread S`: every human
//! gets a true skill drawn from a normal distribution with standard
//! deviation `S` (bots have 0), and a fight between two players goes to
//! each with the logistic chance of their skill difference, so a rating
//! system can be checked against the truth. Without `--skill-spread` none
//! of this draws a number, so the scenario stays exactly as before.

use super::Gen;
use crate::sim::rng::Rng;
use serde::Serialize;

/// One human's hidden skill, as `--dump` lists it at the end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrueSkill {
    pub store: i64,
    pub profile: String,
    pub name: String,
    pub skill: f64,
}

/// `count` skills from a normal distribution with deviation `spread`
/// (Box–Muller), from their own seeded stream so the scenario's draws stay
/// in the same order.
pub(super) fn draw_skills(seed: u64, spread: f64, count: usize) -> Vec<f64> {
    let mut rng = Rng::new(seed ^ 0x7255_e5c1_11a1_5eed);
    (0..count)
        .map(|_| {
            let (u, v) = (rng.unit(), rng.unit());
            spread * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        })
        .collect()
}

/// The chance that skill `a` beats skill `b`.
pub(super) fn win_chance(a: f64, b: f64) -> f64 {
    1.0 / (1.0 + (b - a).exp())
}

impl Gen {
    /// The true skill behind a slot (0 for bots and anyone unknown).
    fn skill(&self, slot: i64) -> f64 {
        match (&self.skills, self.online.get(&slot)) {
            (Some(skills), Some(&persona)) => skills.get(persona).copied().unwrap_or(0.0),
            _ => 0.0,
        }
    }

    /// `(killer, victim)` of a fight the scenario picked, decided by skill:
    /// the pair is swapped with the chance the victim had to win it.
    pub(super) fn by_skill(&mut self, killer: i64, victim: i64) -> (i64, i64) {
        if self.skills.is_none() {
            return (killer, victim);
        }
        let p = win_chance(self.skill(killer), self.skill(victim));
        if self.rng.chance(p) {
            (killer, victim)
        } else {
            (victim, killer)
        }
    }

    /// The team that attacks the flag: with skills, team 1 with the logistic
    /// chance of the difference of the teams' mean skill among the living.
    pub(super) fn attacking_team(&mut self) -> i64 {
        if self.skills.is_none() {
            return self.rng.range(1, 2);
        }
        let mean = |g: &Gen, team| {
            let alive = g.alive(Some(team));
            alive.iter().map(|&s| g.skill(s)).sum::<f64>() / alive.len().max(1) as f64
        };
        let p = win_chance(mean(self, 1), mean(self, 2));
        if self.rng.chance(p) {
            1
        } else {
            2
        }
    }

    /// Every persona's true skill (empty without `--skill-spread`).
    pub(super) fn true_skills(&self) -> Vec<TrueSkill> {
        let Some(skills) = &self.skills else {
            return Vec::new();
        };
        self.personas
            .iter()
            .zip(skills)
            .map(|(p, &skill)| TrueSkill {
                store: p.store,
                profile: p.profile.clone(),
                name: p.name.clone(),
                skill,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skills_are_seeded_and_spread_as_asked() {
        let a = draw_skills(7, 2.0, 4000);
        assert_eq!(a, draw_skills(7, 2.0, 4000));
        assert_ne!(a, draw_skills(8, 2.0, 4000));
        let mean = a.iter().sum::<f64>() / a.len() as f64;
        let sd = (a.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / a.len() as f64).sqrt();
        assert!(mean.abs() < 0.1 && (sd - 2.0).abs() < 0.1, "{mean} {sd}");
        assert!(draw_skills(7, 0.0, 10).iter().all(|&x| x == 0.0));
    }

    #[test]
    fn dump_lists_the_skills_last_and_skill_decides_fights() {
        let dump = |spread: Option<f64>| {
            let opts = crate::sim::SimOptions {
                skill_spread: spread,
                matches: Some(40),
                ..crate::sim::SimOptions::default()
            };
            let mut out = Vec::new();
            crate::sim::dump(&opts, &mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        let plain = dump(None);
        assert!(!plain.contains("true_skills"));
        let skilled = dump(Some(3.0));
        assert_eq!(skilled, dump(Some(3.0)), "deterministic from the seed");
        let last: serde_json::Value =
            serde_json::from_str(skilled.lines().last().unwrap()).unwrap();
        let skills = last["true_skills"].as_array().unwrap();
        assert_eq!(skills.len(), 6 + 4, "every persona, connected or not");
        // The most skilled persona kills more than it dies; the least, less.
        let mut net = std::collections::HashMap::<String, i64>::new();
        for line in skilled.lines() {
            let line: serde_json::Value = serde_json::from_str(line).unwrap();
            let Some(event) = line["json"].as_str() else {
                continue;
            };
            let event: serde_json::Value = serde_json::from_str(event).unwrap();
            for (side, sign) in [("KillerProfile", 1), ("VictimProfile", -1)] {
                if let Some(profile) = event[side].as_str() {
                    *net.entry(profile.to_owned()).or_default() += sign;
                }
            }
        }
        let net_of = |s: &serde_json::Value| {
            let profile = super::super::cast::profile_text(
                s["profile"].as_str().unwrap(),
                "StoreID",
                s["store"].as_i64().unwrap(),
            );
            net.get(&profile).copied().unwrap_or(0)
        };
        let by = |a: &&serde_json::Value, b: &&serde_json::Value| {
            a["skill"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["skill"].as_f64().unwrap())
        };
        let (best, worst) = (
            skills.iter().max_by(by).unwrap(),
            skills.iter().min_by(by).unwrap(),
        );
        assert!(
            net_of(best) > 0 && net_of(worst) < 0,
            "{best} {}, {worst} {}",
            net_of(best),
            net_of(worst)
        );
    }

    #[test]
    fn logistic_chances() {
        assert_eq!(win_chance(1.0, 1.0), 0.5);
        assert!((win_chance(1.0, 0.0) - 0.731_058_578_630_004_9).abs() < 1e-12);
        assert!((win_chance(0.0, 1.0) + win_chance(1.0, 0.0) - 1.0).abs() < 1e-12);
    }
}
