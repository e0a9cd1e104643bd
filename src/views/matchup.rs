//! `/matchup`: two players' ratings in one mode, the chance that the first
//! wins a duel under the mode's rating system, and their head-to-head
//! record from stored kills.

use crate::model::{HeadToHead, Mode, ModeStats, PlayerProfile, PlayerSummary};
use crate::rater::RatingParams;
use crate::ratings::Rating;
use crate::store::{Store, StoreResult};

/// One side of a matchup: the player and, if they played the mode, their
/// stats there and rank.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    pub player: PlayerSummary,
    pub stats: Option<(ModeStats, usize)>,
}

/// What `/matchup` shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Matchup {
    pub mode: Mode,
    pub a: Side,
    pub b: Side,
    /// The chance that `a` wins a duel against `b`.
    pub a_wins: f64,
    /// `None` where the store keeps no kills per pair ([`crate::store::keeps_kill_pairs`]).
    pub head_to_head: Option<HeadToHead>,
}

/// The rated mode to compare in when none is asked for: the one the two
/// have played most together (by the fewer games of the two), else deathmatch.
pub fn default_mode(a: &PlayerProfile, b: &PlayerProfile) -> Mode {
    let games = |p: &PlayerProfile, mode: Mode| p.in_mode(mode).map(|(s, _)| s.games);
    Mode::ALL
        .into_iter()
        .filter(|m| !m.is_coop())
        .filter_map(|m| Some((games(a, m)?.min(games(b, m)?), m)))
        .max_by_key(|&(shared, m)| (shared, std::cmp::Reverse(m)))
        .map_or(Mode::Dm, |(_, m)| m)
}

/// The matchup of `a` and `b` in `mode` (a rated mode). A player who has
/// not played it counts with a new player's rating.
pub fn matchup(
    store: &dyn Store,
    a: &PlayerProfile,
    b: &PlayerProfile,
    mode: Mode,
    params: &RatingParams,
) -> StoreResult<Matchup> {
    let side = |p: &PlayerProfile| Side {
        player: p.player.clone(),
        stats: p.in_mode(mode),
    };
    let (a, b) = (side(a), side(b));
    let rating = |s: &Side| {
        s.stats.map_or(params.trueskill.initial(), |(s, _)| Rating {
            mu: s.mu,
            sigma: s.sigma,
        })
    };
    Ok(Matchup {
        mode,
        a_wins: params.duel_chance(mode, rating(&a), rating(&b)),
        head_to_head: store.head_to_head(&a.player.key, &b.player.key, mode)?,
        a,
        b,
    })
}

/// A probability as a percentage people read: one decimal, and never a
/// flat 0% or 100% for what is merely unlikely.
pub fn percent(p: f64) -> String {
    let pct = p * 100.0;
    if pct < 0.1 {
        "<0.1%".into()
    } else if pct > 99.9 {
        ">99.9%".into()
    } else {
        format!("{pct:.1}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PlayerKey;
    use crate::ratings::TrueSkillParams;
    use serde_json::Value;

    /// The 1-vs-1 cases of the Python `trueskill` win-probability vectors
    /// (tools/win_probability_vectors.py).
    #[test]
    fn duels_match_python_trueskill() {
        let vectors: Value = serde_json::from_str(include_str!(
            "../../tests/data/win_probability_vectors.json"
        ))
        .unwrap();
        let rating = |v: &Value| Rating {
            mu: v[0][0].as_f64().unwrap(),
            sigma: v[0][1].as_f64().unwrap(),
        };
        let mut duels = 0;
        for case in vectors["pairs"].as_array().unwrap() {
            if case["team1"].as_array().unwrap().len() != 1
                || case["team2"].as_array().unwrap().len() != 1
            {
                continue;
            }
            duels += 1;
            let p: TrueSkillParams = serde_json::from_value(case["params"].clone()).unwrap();
            let got = crate::ratings::trueskill_duel_chance(
                rating(&case["team1"]),
                rating(&case["team2"]),
                &p,
            );
            let want = case["p"].as_f64().unwrap();
            assert!((got - want).abs() < 1e-9, "{case}: {got}");
        }
        assert_eq!(duels, 6);
    }

    #[test]
    fn default_mode_is_the_most_shared_rated_mode() {
        let profile = |modes: &[(Mode, i64)]| PlayerProfile {
            player: PlayerSummary {
                key: PlayerKey::new(0, "x"),
                name: "x".into(),
            },
            names: vec![],
            color: None,
            premium: false,
            hat: None,
            clan_id: None,
            clan_tag: None,
            first_seen_ms: 0,
            last_seen_ms: 0,
            level: None,
            modes: modes
                .iter()
                .map(|&(m, games)| {
                    let s = ModeStats {
                        games,
                        ..ModeStats::initial(&TrueSkillParams::default())
                    };
                    (m, s, 1)
                })
                .collect(),
        };
        let a = profile(&[(Mode::Dm, 500), (Mode::Tdm, 40), (Mode::Svl, 900)]);
        let b = profile(&[(Mode::Dm, 3), (Mode::Tdm, 60), (Mode::Svl, 900)]);
        assert_eq!(default_mode(&a, &b), Mode::Tdm, "co-op modes have no duel");
        assert_eq!(default_mode(&a, &profile(&[(Mode::Ctf, 9)])), Mode::Dm);
        assert_eq!(percent(0.62449), "62.4%");
        assert_eq!(percent(2.6e-8), "<0.1%");
        assert_eq!(percent(0.99951), ">99.9%");
    }
}
