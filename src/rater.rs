//! Applies facts to players' per-mode stats: ratings (README "How recording works", **Ratings**)
//! and counters. The live writer and `bman rerate` share it, so a rerate of
//! stored facts gives exactly what a fresh replay of the journal gives.

use crate::model::Mode;
use crate::model::{Fact, FactRecord, ModeStats, PlayerKey, RatingChange};
use crate::ratings::{
    self, Glicko2Params, Rating, SkillState, SkillSystem, TeamOutcome, TrueSkillParams,
};
use std::collections::{BTreeSet, HashMap};

/// Rating parameters: TrueSkill for dm rounds/kills and ctf captures, Elo K for tdm kills.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatingParams {
    pub trueskill: TrueSkillParams,
    pub elo_k: f64,
    /// Which system rates each mode's kills, rounds and captures (`[ratings]`).
    pub systems: RatingSystems,
}

/// `[ratings]`: the system per rated mode, Weng-Lin's performance noise and
/// Glicko-2's volatility constraint. New players start at TrueSkill's mu and
/// sigma under every system.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatingSystems {
    pub dm: SkillSystem,
    pub tdm: SkillSystem,
    pub ctf: SkillSystem,
    pub weng_lin_beta: f64,
    pub glicko2_tau: f64,
}

impl Default for RatingSystems {
    /// TrueSkill everywhere (what earlier releases did); Weng-Lin's beta 25/6;
    /// Glicko-2's tau 0.5 (Glickman suggests 0.3 to 1.2).
    fn default() -> Self {
        RatingSystems {
            dm: SkillSystem::TrueSkill,
            tdm: SkillSystem::TrueSkill,
            ctf: SkillSystem::TrueSkill,
            weng_lin_beta: 25.0 / 6.0,
            glicko2_tau: 0.5,
        }
    }
}

impl RatingSystems {
    pub fn of(&self, mode: Mode) -> SkillSystem {
        match mode {
            Mode::Dm => self.dm,
            Mode::Tdm => self.tdm,
            Mode::Ctf => self.ctf,
            Mode::Svl | Mode::Zbr => SkillSystem::TrueSkill,
        }
    }
}

impl RatingParams {
    fn glicko2(&self) -> Glicko2Params {
        Glicko2Params {
            tau: self.systems.glicko2_tau,
            start: self.trueskill.initial(),
        }
    }

    /// The chance that `a` beats `b` one on one under `mode`'s system.
    pub fn duel_chance(&self, mode: Mode, a: Rating, b: Rating) -> f64 {
        match self.systems.of(mode) {
            SkillSystem::TrueSkill => ratings::trueskill_duel_chance(a, b, &self.trueskill),
            SkillSystem::WengLin => ratings::weng_lin_duel_chance(a, b, self.systems.weng_lin_beta),
            SkillSystem::Glicko2 => self.glicko2().duel_chance(a, b),
        }
    }

    fn rate_1v1(
        &self,
        mode: Mode,
        winner: SkillState,
        loser: SkillState,
    ) -> (SkillState, SkillState) {
        let keep = |(w, l): (Rating, Rating)| {
            (
                SkillState {
                    rating: w,
                    ..winner
                },
                SkillState { rating: l, ..loser },
            )
        };
        match self.systems.of(mode) {
            SkillSystem::TrueSkill => keep(ratings::rate_1v1(
                winner.rating,
                loser.rating,
                &self.trueskill,
            )),
            SkillSystem::WengLin => keep(ratings::weng_lin_1v1(
                winner.rating,
                loser.rating,
                self.systems.weng_lin_beta,
            )),
            SkillSystem::Glicko2 => ratings::glicko2_1v1(winner, loser, &self.glicko2()),
        }
    }

    fn rate_two_teams(
        &self,
        mode: Mode,
        team1: &[SkillState],
        team2: &[SkillState],
        outcome: TeamOutcome,
    ) -> (Vec<SkillState>, Vec<SkillState>) {
        let ratings = |team: &[SkillState]| team.iter().map(|s| s.rating).collect::<Vec<_>>();
        let keep = |(n1, n2): (Vec<Rating>, Vec<Rating>)| {
            let with = |before: &[SkillState], after: Vec<Rating>| {
                before
                    .iter()
                    .zip(after)
                    .map(|(b, rating)| SkillState { rating, ..*b })
                    .collect()
            };
            (with(team1, n1), with(team2, n2))
        };
        match self.systems.of(mode) {
            SkillSystem::TrueSkill => keep(ratings::rate_two_teams(
                &ratings(team1),
                &ratings(team2),
                outcome,
                &self.trueskill,
            )),
            SkillSystem::WengLin => keep(ratings::weng_lin_teams(
                &ratings(team1),
                &ratings(team2),
                outcome,
                self.systems.weng_lin_beta,
            )),
            SkillSystem::Glicko2 => ratings::glicko2_teams(team1, team2, outcome, &self.glicko2()),
        }
    }
}

/// Per-(player, mode) stats in memory, and which ones changed since the last take.
#[derive(Debug)]
pub(crate) struct Rater {
    params: RatingParams,
    stats: HashMap<(PlayerKey, Mode), ModeStats>,
    dirty: BTreeSet<(PlayerKey, Mode)>,
}

impl Rater {
    pub fn new(params: RatingParams) -> Rater {
        Rater {
            params,
            stats: HashMap::new(),
            dirty: BTreeSet::new(),
        }
    }

    /// Players of `record` whose stats in its mode are not in memory yet.
    pub fn missing(&self, record: &FactRecord) -> Vec<PlayerKey> {
        if matches!(record.fact, Fact::Chat(_)) {
            return Vec::new();
        }
        let mut keys: Vec<PlayerKey> = record.fact.players().into_iter().cloned().collect();
        keys.retain(|k| !self.stats.contains_key(&(k.clone(), record.mode)));
        keys.sort();
        keys.dedup();
        keys
    }

    /// Puts stats loaded from the store into memory (not marked changed).
    pub fn load(&mut self, mode: Mode, key: PlayerKey, stats: ModeStats) {
        self.stats.insert((key, mode), stats);
    }

    /// The stats changed since the last call, for writing.
    pub(crate) fn take_changed(&mut self) -> Vec<(PlayerKey, Mode, ModeStats)> {
        std::mem::take(&mut self.dirty)
            .into_iter()
            .filter_map(|(key, mode)| {
                let stats = *self.stats.get(&(key.clone(), mode))?;
                Some((key, mode, stats))
            })
            .collect()
    }

    /// Every player's stats in `mode` (rerate's result).
    pub fn all(&self, mode: Mode) -> Vec<(PlayerKey, ModeStats)> {
        let mut all: Vec<_> = self
            .stats
            .iter()
            .filter(|((_, m), _)| *m == mode)
            .map(|((k, _), s)| (k.clone(), *s))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    fn entry(&mut self, key: &PlayerKey, mode: Mode, time_ms: i64) -> &mut ModeStats {
        self.dirty.insert((key.clone(), mode));
        let initial = ModeStats::initial(&self.params.trueskill);
        let stats = self.stats.entry((key.clone(), mode)).or_insert(initial);
        stats.last_updated_ms = stats.last_updated_ms.max(time_ms);
        stats
    }

    fn rating(&mut self, key: &PlayerKey, mode: Mode, time_ms: i64) -> SkillState {
        let s = self.entry(key, mode, time_ms);
        SkillState {
            rating: Rating {
                mu: s.mu,
                sigma: s.sigma,
            },
            volatility: s.volatility,
        }
    }

    /// Sets a new rating (and Elo) and returns the change it made.
    fn set(
        &mut self,
        key: &PlayerKey,
        mode: Mode,
        time_ms: i64,
        skill: SkillState,
        elo: f64,
    ) -> RatingChange {
        let rating = skill.rating;
        let s = self.entry(key, mode, time_ms);
        s.volatility = skill.volatility;
        let change = RatingChange {
            mu: rating.mu,
            sigma: rating.sigma,
            elo,
            delta_mu: rating.mu - s.mu,
            delta_sigma: rating.sigma - s.sigma,
            delta_elo: elo - s.elo,
        };
        s.mu = rating.mu;
        s.sigma = rating.sigma;
        s.elo = elo;
        change
    }

    /// Applies one fact; returns the rating changes it caused (empty for unrated facts).
    pub fn apply(&mut self, record: &FactRecord) -> Vec<(PlayerKey, RatingChange)> {
        let (mode, t) = (record.mode, record.time_ms);
        let mut changes = Vec::new();
        let Some(fact) = record.fact.humans_only() else {
            return changes;
        };
        match &*fact {
            Fact::Kill(kill) => {
                if kill.teamkill || kill.killer == kill.victim {
                    return changes;
                }
                self.entry(&kill.killer, mode, t).kills += 1;
                self.entry(&kill.victim, mode, t).deaths += 1;
                match mode {
                    Mode::Dm => {
                        let (w, l) = (
                            self.rating(&kill.killer, mode, t),
                            self.rating(&kill.victim, mode, t),
                        );
                        let (w2, l2) = self.params.rate_1v1(mode, w, l);
                        for (key, rating) in [(&kill.killer, w2), (&kill.victim, l2)] {
                            self.entry(key, mode, t).games += 1;
                            let elo = self.entry(key, mode, t).elo;
                            changes.push((key.clone(), self.set(key, mode, t, rating, elo)));
                        }
                    }
                    Mode::Tdm => {
                        let killer_elo = self.entry(&kill.killer, mode, t).elo;
                        let victim_elo = self.entry(&kill.victim, mode, t).elo;
                        let (k2, v2) = ratings::elo_kill(killer_elo, victim_elo, self.params.elo_k);
                        for (key, elo) in [(&kill.killer, k2), (&kill.victim, v2)] {
                            let rating = self.rating(key, mode, t);
                            changes.push((key.clone(), self.set(key, mode, t, rating, elo)));
                        }
                    }
                    Mode::Ctf | Mode::Svl | Mode::Zbr => {}
                }
            }
            Fact::Round(round) => {
                let outcome = match round.winner {
                    1 => TeamOutcome::Team1Wins,
                    2 => TeamOutcome::Team2Wins,
                    _ => TeamOutcome::Draw,
                };
                changes = self.rate_teams(mode, t, &round.team1, &round.team2, outcome);
                for (team, won) in [(&round.team1, 1), (&round.team2, 2)] {
                    for key in team {
                        let s = self.entry(key, mode, t);
                        match round.winner {
                            0 => s.draws += 1,
                            w if w == won => s.wins += 1,
                            _ => s.losses += 1,
                        }
                    }
                }
            }
            Fact::Capture(capture) => {
                if let Some(carrier) = &capture.carrier {
                    self.entry(carrier, mode, t).captures += 1;
                }
                changes = self.rate_teams(
                    mode,
                    t,
                    &capture.scoring,
                    &capture.other,
                    TeamOutcome::Team1Wins,
                );
            }
            Fact::Match(m) => {
                for p in &m.players {
                    let s = self.entry(&p.key, mode, t);
                    s.matches += 1;
                    if mode.is_coop() {
                        s.games += 1;
                    }
                    // Zombrains: the humans win or lose together.
                    match m.coop_won {
                        Some(true) => s.wins += 1,
                        Some(false) => s.losses += 1,
                        None => {}
                    }
                    // Capture the flag decides wins per match (the original tool swapped these).
                    if mode == Mode::Ctf {
                        match (m.winner_team, p.team) {
                            (Some(w @ (1 | 2)), Some(team @ (1 | 2))) if w == team => s.wins += 1,
                            (Some(1 | 2), Some(1 | 2)) => s.losses += 1,
                            (Some(0), Some(1 | 2)) => s.draws += 1,
                            _ => {}
                        }
                    }
                }
            }
            Fact::Wave(wave) => {
                for key in &wave.players {
                    let s = self.entry(key, mode, t);
                    s.best_wave = s.best_wave.max(wave.wave);
                }
            }
            Fact::NpcKill { player, .. } => self.entry(player, mode, t).npc_kills += 1,
            Fact::NpcDeath { player, .. } => self.entry(player, mode, t).npc_deaths += 1,
            Fact::Escape { player } => self.entry(player, mode, t).escapes += 1,
            Fact::Chat(_) => {}
        }
        changes
    }

    /// A two-team game; every player's `games` goes up by one.
    fn rate_teams(
        &mut self,
        mode: Mode,
        t: i64,
        team1: &[PlayerKey],
        team2: &[PlayerKey],
        outcome: TeamOutcome,
    ) -> Vec<(PlayerKey, RatingChange)> {
        if team1.is_empty() || team2.is_empty() {
            return Vec::new();
        }
        let r1: Vec<SkillState> = team1.iter().map(|k| self.rating(k, mode, t)).collect();
        let r2: Vec<SkillState> = team2.iter().map(|k| self.rating(k, mode, t)).collect();
        let (n1, n2) = self.params.rate_two_teams(mode, &r1, &r2, outcome);
        let mut changes = Vec::new();
        for (key, rating) in team1.iter().zip(n1).chain(team2.iter().zip(n2)) {
            self.entry(key, mode, t).games += 1;
            let elo = self.entry(key, mode, t).elo;
            changes.push((key.clone(), self.set(key, mode, t, rating, elo)));
        }
        changes
    }
}

/// Recomputes every rating of `mode` from the stored facts with `params`
/// (`bman rerate`), so parameter changes and fixes apply to the past.
/// `progress` is told how many facts are done. Returns the number of facts.
pub fn rerate(
    store: &dyn crate::store::Store,
    params: RatingParams,
    mode: Mode,
    progress: &dyn Fn(usize, usize),
) -> crate::store::StoreResult<usize> {
    let mut facts = store.facts(mode)?;
    let mut rater = Rater::new(params);
    let total = facts.len();
    for (done, fact) in facts.iter_mut().enumerate() {
        fact.changes = rater.apply(&fact.record);
        if done % 1024 == 0 {
            progress(done, total);
        }
    }
    progress(total, total);
    store.replace_ratings(mode, &facts, &rater.all(mode))?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CaptureFact, KillFact, MatchFact, MatchPlayer, RoundFact};

    fn key(id: &str) -> PlayerKey {
        PlayerKey {
            store: 0,
            id: id.into(),
        }
    }

    fn record(mode: Mode, time_ms: i64, fact: Fact) -> FactRecord {
        FactRecord {
            server: "s".into(),
            mode,
            time_ms,
            match_id: None,
            fact,
        }
    }

    #[test]
    fn duel_chances_follow_the_modes_system() {
        let params = RatingParams {
            trueskill: TrueSkillParams::default(),
            elo_k: 32.0,
            systems: RatingSystems {
                tdm: SkillSystem::WengLin,
                ctf: SkillSystem::Glicko2,
                ..RatingSystems::default()
            },
        };
        let strong = Rating {
            mu: 30.0,
            sigma: 2.0,
        };
        let weak = Rating {
            mu: 22.0,
            sigma: 4.0,
        };
        let mut chances = Vec::new();
        for mode in [Mode::Dm, Mode::Tdm, Mode::Ctf] {
            let p = params.duel_chance(mode, strong, weak);
            assert!(p > 0.5 && p < 1.0, "{mode}: {p}");
            assert!((p + params.duel_chance(mode, weak, strong) - 1.0).abs() < 1e-7);
            let even = params.duel_chance(mode, weak, weak);
            // TrueSkill's cdf is an approximation (as in Python), good to 1e-7.
            assert!((even - 0.5).abs() < 1e-7, "{mode}: {even}");
            chances.push(p);
        }
        // Three different models, three different answers.
        assert!(
            chances[0] != chances[1] && chances[1] != chances[2],
            "{chances:?}"
        );
    }

    fn rater() -> Rater {
        Rater::new(RatingParams {
            trueskill: TrueSkillParams::default(),
            elo_k: 32.0,
            systems: RatingSystems::default(),
        })
    }

    fn stats(r: &Rater, mode: Mode, id: &str) -> ModeStats {
        r.all(mode)
            .into_iter()
            .find(|(k, _)| *k == key(id))
            .unwrap()
            .1
    }

    fn kill(killer: &str, victim: &str, teamkill: bool) -> Fact {
        Fact::Kill(KillFact {
            killer: key(killer),
            victim: key(victim),
            weapon: None,
            headshot: false,
            teamkill,
            killer_at: None,
            victim_at: None,
        })
    }

    #[test]
    fn ctf_wins_go_to_the_winning_team_not_the_losers() {
        let mut r = rater();
        let player = |id: &str, team| MatchPlayer {
            key: key(id),
            team: Some(team),
            kills: None,
            deaths: None,
            score: None,
        };
        r.apply(&record(
            Mode::Ctf,
            1,
            Fact::Match(MatchFact {
                map: None,
                started_ms: None,
                winner_team: Some(2),
                winner_text: None,
                players: vec![player("red", 1), player("blue", 2)],
                last_wave: None,
                coop_won: None,
            }),
        ));
        assert_eq!(
            (
                stats(&r, Mode::Ctf, "blue").wins,
                stats(&r, Mode::Ctf, "blue").losses
            ),
            (1, 0)
        );
        assert_eq!(
            (
                stats(&r, Mode::Ctf, "red").wins,
                stats(&r, Mode::Ctf, "red").losses
            ),
            (0, 1)
        );
    }

    #[test]
    fn kills_rate_per_mode_and_teamkills_do_not() {
        let mut r = rater();
        assert!(r
            .apply(&record(Mode::Dm, 1, kill("a", "b", true)))
            .is_empty());
        assert!(r.all(Mode::Dm).is_empty(), "a teamkill touches nobody");
        let changes = r.apply(&record(Mode::Dm, 2, kill("a", "b", false)));
        assert_eq!(changes.len(), 2);
        assert!(changes[0].1.delta_mu > 0.0 && changes[1].1.delta_mu < 0.0);
        assert_eq!(
            (
                stats(&r, Mode::Dm, "a").kills,
                stats(&r, Mode::Dm, "b").deaths
            ),
            (1, 1)
        );
        assert_eq!(
            stats(&r, Mode::Dm, "a").last_updated_ms,
            2,
            "the fact's time, not a frozen one"
        );

        let changes = r.apply(&record(Mode::Tdm, 3, kill("a", "b", false)));
        assert_eq!((changes[0].1.elo, changes[1].1.elo), (1016.0, 984.0));
        assert_eq!(changes[0].1.delta_mu, 0.0, "tdm kills move Elo only");
    }

    #[test]
    fn rounds_and_captures_rate_teams_and_count_results() {
        let mut r = rater();
        r.apply(&record(
            Mode::Tdm,
            1,
            Fact::Round(RoundFact {
                round: 1,
                team1: vec![key("a"), key("b")],
                team2: vec![key("c")],
                winner: 0,
                score1: None,
                score2: None,
                map: None,
                loadouts: Vec::new(),
            }),
        ));
        assert_eq!(stats(&r, Mode::Tdm, "a").draws, 1);
        assert_eq!(stats(&r, Mode::Tdm, "c").games, 1);
        let changes = r.apply(&record(
            Mode::Ctf,
            2,
            Fact::Capture(CaptureFact {
                carrier: None,
                scoring_team: 1,
                scoring: vec![key("a")],
                other: vec![key("c")],
            }),
        ));
        assert_eq!(changes.len(), 2, "a bot's capture still rates the humans");
        assert_eq!(stats(&r, Mode::Ctf, "a").captures, 0);
        let loaded = r.missing(&record(Mode::Ctf, 3, kill("a", "z", false)));
        assert_eq!(
            loaded,
            vec![key("z")],
            "only players not in memory are loaded"
        );
    }

    /// Facts an earlier release stored with Steam-looking bots in them rate
    /// as if the bots had never been there.
    #[test]
    fn stored_facts_naming_bots_leave_the_bots_out() {
        let (mut with_bots, mut humans_only) = (rater(), rater());
        let round = |team1: &[&str], team2: &[&str]| {
            Fact::Round(RoundFact {
                round: 1,
                team1: team1.iter().map(|id| key(id)).collect(),
                team2: team2.iter().map(|id| key(id)).collect(),
                winner: 1,
                score1: None,
                score2: None,
                map: None,
                loadouts: Vec::new(),
            })
        };
        for (old, new) in [
            (kill("a", "bot2", false), None),
            (kill("bot13", "a", false), None),
            (kill("a", "b", false), Some(kill("a", "b", false))),
            (round(&["a", "bot2"], &["b"]), Some(round(&["a"], &["b"]))),
            (
                Fact::Escape {
                    player: key("bot5"),
                },
                None,
            ),
        ] {
            let mode = if matches!(old, Fact::Round(_)) {
                Mode::Tdm
            } else {
                Mode::Dm
            };
            with_bots.apply(&record(mode, 1, old));
            if let Some(new) = new {
                humans_only.apply(&record(mode, 1, new));
            }
        }
        for mode in [Mode::Dm, Mode::Tdm, Mode::Zbr] {
            assert_eq!(with_bots.all(mode), humans_only.all(mode), "{mode}");
        }
        assert_eq!(stats(&with_bots, Mode::Dm, "a").kills, 1);
    }
}
