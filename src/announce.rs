//! Match results and survival wave milestones as announcements: a built-in
//! [`Handler`] that posts to the announcement bus (the Discord bot sends them
//! to channels; without it they appear in the log).

use crate::handler::{Announcement, Context, Delivery, Handler};
use crate::mode::Mode;
use crate::store::{Fact, LeaderboardQuery, MatchFact, Store, WaveFact};
use std::sync::Mutex;

/// Announces finished matches, every `milestone_waves`-th survival wave, and
/// new best-wave records.
pub struct MatchAnnouncer {
    milestone_waves: u32,
    /// The community's best survival wave (all servers), loaded from the
    /// store on first use.
    record: Mutex<Option<i64>>,
}

impl MatchAnnouncer {
    pub fn new(milestone_waves: u32) -> MatchAnnouncer {
        MatchAnnouncer {
            milestone_waves,
            record: Mutex::new(None),
        }
    }
}

/// Team names as the game shows them.
pub fn team_name(team: i32) -> &'static str {
    match team {
        1 => "USC",
        2 => "The Man",
        _ => "nobody",
    }
}

/// "SERVER (mode) on MAP: WINNER wins. Top: A 12/3, B 9/4, C 7/7".
pub fn match_text(store: &dyn Store, server: &str, mode: Mode, m: &MatchFact) -> String {
    let map = m.map.as_deref().unwrap_or("an unknown map");
    let winner = match (mode, m.winner_team, m.winner_text.as_deref()) {
        (Mode::Svl, _, _) => format!("reached wave {}", m.last_wave.unwrap_or(0)),
        (_, _, Some(text)) if !text.is_empty() => format!("{text} wins"),
        (_, Some(0), _) => "a draw".to_string(),
        (_, Some(team @ (1 | 2)), _) => format!("{} wins", team_name(team)),
        _ => "no winner".to_string(),
    };
    let mut players: Vec<_> = m.players.iter().filter(|p| p.kills.is_some()).collect();
    players.sort_by_key(|p| std::cmp::Reverse((p.kills, std::cmp::Reverse(p.deaths))));
    let top: Vec<String> = players
        .iter()
        .take(3)
        .map(|p| {
            let name = store
                .profile(&p.key)
                .ok()
                .flatten()
                .map_or_else(|| p.key.id.clone(), |pr| pr.player.name);
            format!("{name} {}/{}", p.kills.unwrap_or(0), p.deaths.unwrap_or(0))
        })
        .collect();
    let top = if top.is_empty() {
        String::new()
    } else {
        format!(". Top: {}", top.join(", "))
    };
    format!("{server} ({mode}) on {map}: {winner}{top}")
}

impl MatchAnnouncer {
    fn wave_texts(&self, server: &str, wave: &WaveFact) -> Vec<String> {
        let mut texts = Vec::new();
        if self.milestone_waves > 0
            && wave.wave > 0
            && wave.wave % i64::from(self.milestone_waves) == 0
        {
            texts.push(format!(
                "{server}: wave {} reached with {} players",
                wave.wave,
                wave.players.len()
            ));
        }
        let mut guard = self.record.lock().unwrap_or_else(|e| e.into_inner());
        let record = guard.get_or_insert(0);
        if wave.wave > *record && !wave.players.is_empty() {
            *record = wave.wave;
            texts.push(format!(
                "{server}: new survival record, wave {}!",
                wave.wave
            ));
        }
        texts
    }

    /// Reads the stored best wave once, off the async workers.
    async fn load_record(&self, store: std::sync::Arc<dyn Store>) {
        if self
            .record
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
        {
            return;
        }
        let query = LeaderboardQuery {
            mode: Mode::Svl,
            limit: 1,
            offset: 0,
            min_games: None,
            active_since_ms: None,
        };
        let best = tokio::task::spawn_blocking(move || store.leaderboard(&query))
            .await
            .ok()
            .and_then(Result::ok)
            .and_then(|rows| rows.first().map(|r| r.stats.best_wave))
            .unwrap_or(0);
        self.record
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(best);
    }
}

#[async_trait::async_trait]
impl Handler for MatchAnnouncer {
    fn name(&self) -> &str {
        "announcements"
    }

    fn wants(&self, delivery: &Delivery) -> bool {
        delivery
            .facts
            .iter()
            .any(|f| matches!(f.fact, Fact::Match(_) | Fact::Wave(_)))
    }

    async fn handle(&self, ctx: &Context, delivery: &Delivery) {
        let server = delivery.event.server.clone();
        for fact in &delivery.facts {
            let store = ctx.store.clone();
            let texts = match &fact.fact {
                Fact::Match(m) => {
                    let (m, server) = (m.clone(), server.clone());
                    let text = tokio::task::spawn_blocking(move || {
                        match_text(store.as_ref(), &server.name, server.mode, &m)
                    })
                    .await;
                    text.into_iter().collect()
                }
                Fact::Wave(w) => {
                    self.load_record(store).await;
                    self.wave_texts(&server.name, w)
                }
                _ => Vec::new(),
            };
            for text in texts {
                ctx.announce(Announcement {
                    server: Some(server.name.clone()),
                    text,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PlayerKey;

    fn wave(n: i64, players: usize) -> WaveFact {
        WaveFact {
            wave: n,
            enemies: None,
            chests: None,
            chest_price: None,
            players: (0..players)
                .map(|i| PlayerKey {
                    store: 0,
                    id: i.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn milestones_and_community_records() {
        let a = MatchAnnouncer::new(5);
        *a.record.lock().unwrap() = Some(6);
        assert_eq!(
            a.wave_texts("s1", &wave(5, 2)),
            ["s1: wave 5 reached with 2 players"]
        );
        assert!(
            a.wave_texts("s1", &wave(6, 2)).is_empty(),
            "equal to the record is no record"
        );
        assert_eq!(
            a.wave_texts("s2", &wave(7, 1)),
            ["s2: new survival record, wave 7!"]
        );
        assert!(
            a.wave_texts("s1", &wave(7, 3)).is_empty(),
            "the record is the community's"
        );
        assert!(
            a.wave_texts("s1", &wave(9, 0)).is_empty(),
            "nobody reached it"
        );
    }
}
