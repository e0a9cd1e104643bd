//! The candidate rating systems `bman evaluate` compares: each predicts a
//! contest before learning from it, over players numbered by the walk.

use super::game::Game;
use crate::ratings::{self, Rating, TeamOutcome, TrueSkillParams};
use serde_json::{json, Value};
use skillratings::glicko2::{Glicko2Config, Glicko2Rating};
use skillratings::trueskill::{TrueSkillConfig, TrueSkillRating};
use skillratings::weng_lin::{WengLinConfig, WengLinRating};
use skillratings::Outcomes;

/// Which system, by the name the report and the config use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    TrueSkill,
    Elo,
    Glicko2,
    WengLin,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::TrueSkill, Kind::Elo, Kind::Glicko2, Kind::WengLin];

    pub fn name(self) -> &'static str {
        match self {
            Kind::TrueSkill => "trueskill",
            Kind::Elo => "elo",
            Kind::Glicko2 => "glicko2",
            Kind::WengLin => "weng-lin",
        }
    }
}

/// One system with one set of parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Params {
    TrueSkill(TrueSkillParams),
    /// K factor.
    Elo(f64),
    /// Glicko-2's volatility constraint tau (start 1500 ± 350, volatility 0.06).
    Glicko2(f64),
    /// Weng-Lin's performance noise beta (start 25 ± 25/3, as TrueSkill).
    WengLin(f64),
}

impl Params {
    pub fn kind(&self) -> Kind {
        match self {
            Params::TrueSkill(_) => Kind::TrueSkill,
            Params::Elo(_) => Kind::Elo,
            Params::Glicko2(_) => Kind::Glicko2,
            Params::WengLin(_) => Kind::WengLin,
        }
    }

    /// The parameters as the report shows them.
    pub fn to_json(self) -> Value {
        match self {
            Params::TrueSkill(p) => json!({
                "mu": p.mu, "sigma": p.sigma, "beta": p.beta, "tau": p.tau,
                "draw_probability": p.draw_probability,
            }),
            Params::Elo(k) => json!({ "k": k, "start": ratings::ELO_START }),
            Params::Glicko2(tau) => json!({ "tau": tau, "rating": 1500.0, "deviation": 350.0 }),
            Params::WengLin(beta) => json!({ "beta": beta, "mu": 25.0, "sigma": 25.0 / 3.0 }),
        }
    }

    /// The grid a tuned run searches: the configured values scaled up and
    /// down around them (the configured point itself included).
    pub fn grid(&self) -> Vec<Params> {
        match *self {
            Params::TrueSkill(p) => [0.5, 1.0, 1.5, 2.0, 3.0]
                .into_iter()
                .flat_map(|b| {
                    [1.0, 4.0].map(|t| {
                        Params::TrueSkill(TrueSkillParams {
                            beta: p.beta * b,
                            tau: p.tau * t,
                            ..p
                        })
                    })
                })
                .collect(),
            Params::Elo(k) => [0.25, 0.5, 1.0, 1.5, 2.0]
                .map(|f| Params::Elo(k * f))
                .to_vec(),
            Params::Glicko2(tau) => [0.3, 0.6, 0.9, 1.2]
                .into_iter()
                .chain((![0.3, 0.6, 0.9, 1.2].contains(&tau)).then_some(tau))
                .map(Params::Glicko2)
                .collect(),
            Params::WengLin(beta) => [0.5, 1.0, 1.5, 2.0]
                .map(|f| Params::WengLin(beta * f))
                .to_vec(),
        }
    }

    /// A fresh system with these parameters and no players yet.
    pub fn start(&self) -> Box<dyn System> {
        match *self {
            Params::TrueSkill(p) => Box::new(TrueSkillSystem {
                p,
                players: Vec::new(),
            }),
            Params::Elo(k) => Box::new(EloSystem {
                k,
                players: Vec::new(),
            }),
            Params::Glicko2(tau) => Box::new(Glicko2System {
                c: Glicko2Config {
                    tau,
                    ..Glicko2Config::new()
                },
                players: Vec::new(),
            }),
            Params::WengLin(beta) => Box::new(WengLinSystem {
                c: WengLinConfig {
                    beta,
                    ..WengLinConfig::new()
                },
                players: Vec::new(),
            }),
        }
    }
}

/// A rating system under evaluation.
pub trait System {
    /// The chance that the first side of `game` wins (the killer, team `a`).
    fn predict(&mut self, game: &Game) -> f64;
    /// Learns from what happened.
    fn update(&mut self, game: &Game);
    /// Every player's rating on the scale the leaderboard ranks by
    /// (conservative where the system has an uncertainty), by player number.
    fn leaderboard(&self) -> Vec<f64>;
}

/// The rating of player `i`, growing the table with `fresh` ratings.
fn slot<R: Copy>(players: &mut Vec<R>, i: u32, fresh: R) -> R {
    let i = i as usize;
    if players.len() <= i {
        players.resize(i + 1, fresh);
    }
    players[i]
}

fn team<R: Copy>(players: &mut Vec<R>, ids: &[u32], fresh: R) -> Vec<R> {
    ids.iter().map(|&i| slot(players, i, fresh)).collect()
}

fn store<R>(players: &mut [R], ids: &[u32], new: Vec<R>) {
    for (&i, r) in ids.iter().zip(new) {
        players[i as usize] = r;
    }
}

/// Today's system, updating exactly as the rater does (`src/ratings.rs`).
struct TrueSkillSystem {
    p: TrueSkillParams,
    players: Vec<Rating>,
}

impl TrueSkillSystem {
    fn config(&self) -> TrueSkillConfig {
        TrueSkillConfig {
            draw_probability: self.p.draw_probability,
            beta: self.p.beta,
            dynamics_factor: self.p.tau,
        }
    }
}

impl System for TrueSkillSystem {
    /// Φ((Σμ_a − Σμ_b) / √((n_a + n_b)·β² + Σσ²)), the Python `trueskill`
    /// docs' recipe, with its erfc approximation; equal sums are exactly
    /// even (the approximation gives 0.50000002 there).
    fn predict(&mut self, game: &Game) -> f64 {
        let fresh = self.p.initial();
        let as_ts = |r: Rating| TrueSkillRating::from(r);
        let (a, b) = match game {
            Game::Duel { winner, loser } => (
                vec![slot(&mut self.players, *winner, fresh)],
                vec![slot(&mut self.players, *loser, fresh)],
            ),
            Game::Teams { a, b, .. } => (
                team(&mut self.players, a, fresh),
                team(&mut self.players, b, fresh),
            ),
            Game::Skirmish { .. } => return 0.5,
        };
        let sum = |t: &[Rating]| t.iter().map(|r| r.mu).sum::<f64>();
        if sum(&a) == sum(&b) {
            return 0.5;
        }
        let a: Vec<_> = a.into_iter().map(as_ts).collect();
        let b: Vec<_> = b.into_iter().map(as_ts).collect();
        skillratings::trueskill::expected_score_two_teams(&a, &b, &self.config()).0
    }

    fn update(&mut self, game: &Game) {
        let fresh = self.p.initial();
        match game {
            Game::Duel { winner, loser } => {
                let (w, l) = (
                    slot(&mut self.players, *winner, fresh),
                    slot(&mut self.players, *loser, fresh),
                );
                let (w, l) = ratings::rate_1v1(w, l, &self.p);
                self.players[*winner as usize] = w;
                self.players[*loser as usize] = l;
            }
            Game::Teams { a, b, outcome, .. } => {
                let (ra, rb) = (
                    team(&mut self.players, a, fresh),
                    team(&mut self.players, b, fresh),
                );
                let (na, nb) = ratings::rate_two_teams(&ra, &rb, *outcome, &self.p);
                store(&mut self.players, a, na);
                store(&mut self.players, b, nb);
            }
            Game::Skirmish { .. } => {}
        }
    }

    fn leaderboard(&self) -> Vec<f64> {
        self.players.iter().map(|r| r.mu - 3.0 * r.sigma).collect()
    }
}

/// Elo per kill (the original tool's team deathmatch rule); a team's
/// strength is its mean Elo.
struct EloSystem {
    k: f64,
    players: Vec<f64>,
}

/// The chance that Elo `a` beats Elo `b`.
fn elo_expected(a: f64, b: f64) -> f64 {
    1.0 / (1.0 + 10f64.powf((b - a) / 400.0))
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

impl System for EloSystem {
    fn predict(&mut self, game: &Game) -> f64 {
        match game {
            Game::Duel { winner, loser }
            | Game::Skirmish {
                killer: winner,
                victim: loser,
            } => elo_expected(
                slot(&mut self.players, *winner, ratings::ELO_START),
                slot(&mut self.players, *loser, ratings::ELO_START),
            ),
            Game::Teams { a, b, .. } => elo_expected(
                mean(&team(&mut self.players, a, ratings::ELO_START)),
                mean(&team(&mut self.players, b, ratings::ELO_START)),
            ),
        }
    }

    /// Kills move Elo in every mode; team games only where kills are not
    /// rated (capture the flag), moving each player by the team's change.
    fn update(&mut self, game: &Game) {
        match game {
            Game::Duel { winner, loser }
            | Game::Skirmish {
                killer: winner,
                victim: loser,
            } => {
                let (w, l) = ratings::elo_kill(
                    slot(&mut self.players, *winner, ratings::ELO_START),
                    slot(&mut self.players, *loser, ratings::ELO_START),
                    self.k,
                );
                self.players[*winner as usize] = w;
                self.players[*loser as usize] = l;
            }
            Game::Teams {
                a,
                b,
                outcome,
                learn_elo,
            } => {
                if !learn_elo {
                    return;
                }
                let score = match outcome {
                    TeamOutcome::Team1Wins => 1.0,
                    TeamOutcome::Team2Wins => 0.0,
                    TeamOutcome::Draw => 0.5,
                };
                let delta = self.k * (score - self.predict(game));
                for (ids, sign) in [(a, 1.0), (b, -1.0)] {
                    for &i in ids.iter() {
                        self.players[i as usize] += sign * delta;
                    }
                }
            }
        }
    }

    fn leaderboard(&self) -> Vec<f64> {
        self.players.clone()
    }
}

/// Glicko-2 with one rating period per contest, as the rater runs it
/// (`src/ratings.rs`), on Glicko's own scale.
struct Glicko2System {
    c: Glicko2Config,
    players: Vec<Glicko2Rating>,
}

impl System for Glicko2System {
    fn predict(&mut self, game: &Game) -> f64 {
        let fresh = Glicko2Rating::new();
        match game {
            Game::Duel { winner, loser } => {
                skillratings::glicko2::expected_score(
                    &slot(&mut self.players, *winner, fresh),
                    &slot(&mut self.players, *loser, fresh),
                )
                .0
            }
            Game::Teams { a, b, .. } => {
                skillratings::glicko2::expected_score(
                    &ratings::glicko2_composite(&team(&mut self.players, a, fresh)),
                    &ratings::glicko2_composite(&team(&mut self.players, b, fresh)),
                )
                .0
            }
            Game::Skirmish { .. } => 0.5,
        }
    }

    fn update(&mut self, game: &Game) {
        let fresh = Glicko2Rating::new();
        match game {
            Game::Duel { winner, loser } => {
                let (w, l) = skillratings::glicko2::glicko2(
                    &slot(&mut self.players, *winner, fresh),
                    &slot(&mut self.players, *loser, fresh),
                    &Outcomes::WIN,
                    &self.c,
                );
                self.players[*winner as usize] = w;
                self.players[*loser as usize] = l;
            }
            Game::Teams { a, b, outcome, .. } => {
                let (na, nb) = ratings::glicko2_teams_native(
                    &team(&mut self.players, a, fresh),
                    &team(&mut self.players, b, fresh),
                    *outcome,
                    &self.c,
                );
                store(&mut self.players, a, na);
                store(&mut self.players, b, nb);
            }
            Game::Skirmish { .. } => {}
        }
    }

    fn leaderboard(&self) -> Vec<f64> {
        self.players
            .iter()
            .map(|r| r.rating - 2.0 * r.deviation)
            .collect()
    }
}

/// Weng-Lin (OpenSkill's Bradley–Terry full-pairing model).
struct WengLinSystem {
    c: WengLinConfig,
    players: Vec<WengLinRating>,
}

impl System for WengLinSystem {
    fn predict(&mut self, game: &Game) -> f64 {
        let fresh = WengLinRating::new();
        match game {
            Game::Duel { winner, loser } => {
                skillratings::weng_lin::expected_score(
                    &slot(&mut self.players, *winner, fresh),
                    &slot(&mut self.players, *loser, fresh),
                    &self.c,
                )
                .0
            }
            Game::Teams { a, b, .. } => {
                skillratings::weng_lin::expected_score_two_teams(
                    &team(&mut self.players, a, fresh),
                    &team(&mut self.players, b, fresh),
                    &self.c,
                )
                .0
            }
            Game::Skirmish { .. } => 0.5,
        }
    }

    fn update(&mut self, game: &Game) {
        let fresh = WengLinRating::new();
        match game {
            Game::Duel { winner, loser } => {
                let (w, l) = skillratings::weng_lin::weng_lin(
                    &slot(&mut self.players, *winner, fresh),
                    &slot(&mut self.players, *loser, fresh),
                    &Outcomes::WIN,
                    &self.c,
                );
                self.players[*winner as usize] = w;
                self.players[*loser as usize] = l;
            }
            Game::Teams { a, b, outcome, .. } => {
                let (ra, rb) = (
                    team(&mut self.players, a, fresh),
                    team(&mut self.players, b, fresh),
                );
                let (na, nb) = skillratings::weng_lin::weng_lin_two_teams(
                    &ra,
                    &rb,
                    &outcome.for_team1(),
                    &self.c,
                );
                store(&mut self.players, a, na);
                store(&mut self.players, b, nb);
            }
            Game::Skirmish { .. } => {}
        }
    }

    fn leaderboard(&self) -> Vec<f64> {
        self.players
            .iter()
            .map(|r| r.rating - 3.0 * r.uncertainty)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Python `trueskill` package's documented win probability
    /// (tools/win_probability_vectors.py), for 1v1 and uneven teams.
    #[test]
    fn trueskill_chances_match_python() {
        let vectors: Value = serde_json::from_str(include_str!(
            "../../tests/data/win_probability_vectors.json"
        ))
        .unwrap();
        let pairs = vectors["pairs"].as_array().unwrap();
        assert_eq!(pairs.len(), 14);
        let ratings = |v: &Value| -> Vec<Rating> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|r| Rating {
                    mu: r[0].as_f64().unwrap(),
                    sigma: r[1].as_f64().unwrap(),
                })
                .collect()
        };
        for case in pairs {
            let p: TrueSkillParams = serde_json::from_value(case["params"].clone()).unwrap();
            let (a, b) = (ratings(&case["team1"]), ratings(&case["team2"]));
            let mut system = TrueSkillSystem {
                p,
                players: a.iter().chain(&b).copied().collect(),
            };
            let ids = |from: usize, n: usize| (from as u32..(from + n) as u32).collect::<Vec<_>>();
            let game = if a.len() == 1 && b.len() == 1 {
                Game::Duel {
                    winner: 0,
                    loser: 1,
                }
            } else {
                Game::Teams {
                    a: ids(0, a.len()),
                    b: ids(a.len(), b.len()),
                    outcome: TeamOutcome::Team1Wins,
                    learn_elo: false,
                }
            };
            let want = case["p"].as_f64().unwrap();
            let got = system.predict(&game);
            assert!((got - want).abs() < 1e-12, "{case}: got {got}");
        }
    }

    /// Glickman's worked example ("Example of the Glicko-2 system", in
    /// http://www.glicko.net/glicko/glicko2.pdf): a 1500/200 player against
    /// 1400/30, 1550/100 and 1700/300. With the player's own deviation at 0
    /// our chance is the paper's E(μ, μj, φj): 0.639, 0.432, 0.303; and the
    /// update we rate with gives the paper's 1464.06 / 151.52 / 0.05999.
    #[test]
    fn glicko2_matches_the_paper() {
        let rating = |rating, deviation| Glicko2Rating {
            rating,
            deviation,
            volatility: 0.06,
        };
        let opponents = [
            rating(1400.0, 30.0),
            rating(1550.0, 100.0),
            rating(1700.0, 300.0),
        ];
        for (opponent, want) in opponents.iter().zip([0.639, 0.432, 0.303]) {
            let mut system = Glicko2System {
                c: Glicko2Config {
                    tau: 0.5,
                    ..Glicko2Config::new()
                },
                players: vec![rating(1500.0, 0.0), *opponent],
            };
            let p = system.predict(&Game::Duel {
                winner: 0,
                loser: 1,
            });
            assert!((p - want).abs() < 5e-4, "{opponent:?}: {p}");
        }
        let config = Glicko2Config {
            tau: 0.5,
            ..Glicko2Config::new()
        };
        let results: Vec<_> = opponents
            .iter()
            .zip([Outcomes::WIN, Outcomes::LOSS, Outcomes::LOSS])
            .map(|(o, r)| (*o, r))
            .collect();
        let after =
            skillratings::glicko2::glicko2_rating_period(&rating(1500.0, 200.0), &results, &config);
        assert!((after.rating - 1464.06).abs() < 0.01, "{after:?}");
        assert!((after.deviation - 151.52).abs() < 0.01, "{after:?}");
        assert!((after.volatility - 0.05999).abs() < 1e-5, "{after:?}");
    }

    #[test]
    fn grids_hold_the_configured_point() {
        for p in [
            Params::TrueSkill(TrueSkillParams::default()),
            Params::Elo(32.0),
            Params::Glicko2(0.5),
            Params::Glicko2(0.6),
            Params::WengLin(25.0 / 6.0),
        ] {
            assert!(p.grid().contains(&p), "{p:?}");
            assert!(p.grid().len() > 2);
        }
    }

    #[test]
    fn unknown_players_are_even_and_a_win_favours_the_winner() {
        for p in [
            Params::TrueSkill(TrueSkillParams::default()),
            Params::Elo(32.0),
            Params::Glicko2(0.5),
            Params::WengLin(25.0 / 6.0),
        ] {
            let mut s = p.start();
            let duel = Game::Duel {
                winner: 0,
                loser: 1,
            };
            assert!((s.predict(&duel) - 0.5).abs() < 1e-12, "{p:?}");
            s.update(&duel);
            assert!(s.predict(&duel) > 0.5, "{p:?}");
            let teams = Game::Teams {
                a: vec![0, 2],
                b: vec![1, 3],
                outcome: TeamOutcome::Team1Wins,
                learn_elo: true,
            };
            assert!(s.predict(&teams) > 0.5, "{p:?}");
            let before = s.leaderboard();
            s.update(&teams);
            let after = s.leaderboard();
            assert!(after[2] > before[2] && after[3] < before[3], "{p:?}");
        }
    }
}
