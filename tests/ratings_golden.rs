//! Pins `bman::ratings` to the Python `trueskill` 0.4.5 package: every case in
//! `tests/data/trueskill_vectors.json` (made by `tools/trueskill_vectors.py`)
//! must be reproduced to 1e-9 in every mu and sigma.

use bman::ratings::{rate_1v1, rate_two_teams, Rating, TeamOutcome, TrueSkillParams};
use serde::Deserialize;

const TOLERANCE: f64 = 1e-9;

// The vector file must hold exactly this much, so a truncated or empty file
// fails instead of passing vacuously. Update with the generator.
const ONE_VS_ONE_CHAINS: usize = 3;
const ONE_VS_ONE_STEPS: usize = 150;
const TWO_TEAM_CASES: usize = 56;
const TWO_TEAM_DRAWS: usize = 16;

#[derive(Deserialize)]
struct Vectors {
    generator: String,
    one_vs_one: Vec<Chain>,
    two_teams: Vec<TeamCase>,
}

/// `[mu, sigma]`, as the generator writes ratings.
type Pair = [f64; 2];

#[derive(Deserialize)]
struct Chain {
    name: String,
    params: TrueSkillParams,
    initial: Vec<Pair>,
    steps: Vec<Step>,
}

#[derive(Deserialize)]
struct Step {
    winner: usize,
    loser: usize,
    /// Every player's rating after this kill.
    expected: Vec<Pair>,
}

#[derive(Deserialize)]
struct TeamCase {
    name: String,
    params: TrueSkillParams,
    team1: Vec<Pair>,
    team2: Vec<Pair>,
    outcome: String,
    expected_team1: Vec<Pair>,
    expected_team2: Vec<Pair>,
}

fn load() -> Vectors {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/trueskill_vectors.json"
    );
    let text = std::fs::read_to_string(path).expect("read trueskill_vectors.json");
    serde_json::from_str(&text).expect("parse trueskill_vectors.json")
}

fn ratings(pairs: &[Pair]) -> Vec<Rating> {
    pairs
        .iter()
        .map(|&[mu, sigma]| Rating { mu, sigma })
        .collect()
}

/// Asserts every rating is within tolerance and returns the largest difference seen.
fn compare(what: &str, got: &[Rating], want: &[Pair]) -> f64 {
    assert_eq!(got.len(), want.len(), "{what}: player count");
    let mut max = 0.0f64;
    for (i, (g, &[mu, sigma])) in got.iter().zip(want).enumerate() {
        let diff = (g.mu - mu).abs().max((g.sigma - sigma).abs());
        assert!(
            diff <= TOLERANCE,
            "{what}: player {i}: got {g:?}, python mu {mu} sigma {sigma}"
        );
        max = max.max(diff);
    }
    max
}

#[test]
fn vector_file_is_complete() {
    let v = load();
    assert!(
        v.generator.starts_with("trueskill 0.4.5"),
        "{}",
        v.generator
    );
    assert_eq!(v.one_vs_one.len(), ONE_VS_ONE_CHAINS);
    let steps: usize = v.one_vs_one.iter().map(|c| c.steps.len()).sum();
    assert_eq!(steps, ONE_VS_ONE_STEPS);
    assert_eq!(v.two_teams.len(), TWO_TEAM_CASES);
    let draws = v.two_teams.iter().filter(|c| c.outcome == "draw").count();
    assert_eq!(draws, TWO_TEAM_DRAWS);
    // Both the default environment and others are covered.
    let default = TrueSkillParams::default();
    assert!(v.two_teams.iter().any(|c| c.params == default));
    assert!(v.two_teams.iter().any(|c| c.params != default));
    assert!(v.one_vs_one.iter().any(|c| c.params == default));
}

#[test]
fn one_vs_one_chains_match_python() {
    for chain in load().one_vs_one {
        let mut max = 0.0f64;
        let mut players = ratings(&chain.initial);
        assert!(players.iter().all(|&r| r == chain.params.initial()));
        for (n, step) in chain.steps.iter().enumerate() {
            let (w, l) = rate_1v1(players[step.winner], players[step.loser], &chain.params);
            players[step.winner] = w;
            players[step.loser] = l;
            max = max.max(compare(
                &format!("{} step {n}", chain.name),
                &players,
                &step.expected,
            ));
        }
        eprintln!("1-vs-1 {}: max |diff| vs python = {max:e}", chain.name);
    }
}

#[test]
fn two_team_games_match_python() {
    // Scaled environments have larger numbers, so their rounding is reported apart.
    let (mut max_default, mut max_other) = (0.0f64, 0.0f64);
    for case in load().two_teams {
        let outcome = match case.outcome.as_str() {
            "team1" => TeamOutcome::Team1Wins,
            "team2" => TeamOutcome::Team2Wins,
            "draw" => TeamOutcome::Draw,
            other => panic!("{}: unknown outcome {other}", case.name),
        };
        let (t1, t2) = rate_two_teams(
            &ratings(&case.team1),
            &ratings(&case.team2),
            outcome,
            &case.params,
        );
        let diff = compare(&case.name, &t1, &case.expected_team1).max(compare(
            &case.name,
            &t2,
            &case.expected_team2,
        ));
        if case.params == TrueSkillParams::default() {
            max_default = max_default.max(diff);
        } else {
            max_other = max_other.max(diff);
        }
    }
    eprintln!("two teams: max |diff| vs python = {max_default:e} (default params), {max_other:e} (others)");
}
