//! The player commands' logic: `/leaderboard`, `/rating`, `/profile`,
//! `/matchup`, `/servers` and player-name autocompletion, as plain functions from
//! arguments and store (or server handles) to a [`Reply`]. The store calls
//! are synchronous; the bot runs them on blocking threads.

use super::chart::rating_chart;
use super::reply::{code_safe, escape, unix_secs, Button, Embed, Image, Reply};
use crate::model::Mode;
use crate::model::{LeaderboardQuery, MinGames, PlayerProfile};
use crate::rater::RatingParams;
use crate::rcon::ServerHandle;
use crate::store::{Store, StoreResult};
use crate::views::{self, clip, mode_line, LineStyle, Lookup};
use std::time::Duration;

/// Rows per leaderboard page.
pub const PAGE_SIZE: usize = 10;
/// How long `/servers` waits for each game server's match info.
pub const SERVER_QUERY_TIMEOUT: Duration = Duration::from_millis(1500);
/// Discord shows at most 25 autocomplete choices.
const MAX_CHOICES: usize = 25;

/// The custom id of a leaderboard page button: `lb:<mode>:<page>`.
pub(crate) fn page_button_id(mode: Mode, page: usize) -> String {
    format!("lb:{mode}:{page}")
}

/// Reads a leaderboard page button's custom id back.
pub fn parse_page_button(custom_id: &str) -> Option<(Mode, usize)> {
    let mut parts = custom_id.strip_prefix("lb:")?.splitn(2, ':');
    let mode = parts.next()?.parse().ok()?;
    let page = parts.next()?.parse().ok().filter(|p| *p >= 1)?;
    Some((mode, page))
}

/// One page (1-based) of a mode's leaderboard, with previous/next buttons.
pub fn leaderboard(store: &dyn Store, mode: Mode, page: usize) -> StoreResult<Reply> {
    let page = page.max(1);
    let mut rows = store.leaderboard(&LeaderboardQuery {
        offset: (page - 1) * PAGE_SIZE,
        ..LeaderboardQuery::ranked(mode, PAGE_SIZE + 1, MinGames::DEFAULT)
    })?;
    let has_next = rows.len() > PAGE_SIZE;
    rows.truncate(PAGE_SIZE);
    let description = if rows.is_empty() {
        format!(
            "No ranked {mode} players on page {page} (players need {} rated games).",
            MinGames::DEFAULT.0
        )
    } else {
        format!(
            "```text\n{}```",
            code_safe(&views::leaderboard_table(mode, &rows))
        )
    };
    Ok(Reply {
        embed: Some(Embed {
            title: format!("{} leaderboard, page {page}", mode.as_str().to_uppercase()),
            description,
            ..Embed::default()
        }),
        buttons: vec![
            Button {
                custom_id: page_button_id(mode, page.saturating_sub(1).max(1)),
                label: "◀ Previous".into(),
                disabled: page == 1,
            },
            Button {
                custom_id: page_button_id(mode, page + 1),
                label: "Next ▶".into(),
                disabled: !has_next,
            },
        ],
        ..Reply::default()
    })
}

/// A player by profile id or name part; `Err` is the reply to give instead.
fn find(store: &dyn Store, query: &str) -> StoreResult<Result<PlayerProfile, Reply>> {
    let summary = match views::lookup(store, query)? {
        Lookup::Found(summary) => summary,
        Lookup::NotFound => {
            return Ok(Err(Reply::ephemeral(format!(
                "No player matches “{}”.",
                escape(&clip(query, 64))
            ))))
        }
        Lookup::Ambiguous(candidates) => {
            let list: Vec<String> = candidates
                .iter()
                .map(|c| {
                    format!(
                        "• {} ({} {})",
                        escape(&c.name),
                        c.key.store_name(),
                        escape(&c.key.id)
                    )
                })
                .collect();
            return Ok(Err(Reply::ephemeral(format!(
                "Several players match “{}”; which one? (a platform and id picks one, e.g. `Steam 123`)\n{}",
                escape(&clip(query, 64)),
                list.join("\n")
            ))));
        }
    };
    Ok(match store.profile(&summary.key)? {
        Some(profile) => Ok(profile),
        None => Err(Reply::ephemeral("That player has no profile yet.")),
    })
}

/// `/rating player [mode]`: the player's rating in one mode or every mode played.
pub fn rating(store: &dyn Store, query: &str, mode: Option<Mode>) -> StoreResult<Reply> {
    let profile = match find(store, query)? {
        Ok(p) => p,
        Err(reply) => return Ok(reply),
    };
    let name = escape(&profile.player.name);
    let lines: Vec<String> = profile
        .modes
        .iter()
        .filter(|(m, _, _)| mode.is_none_or(|wanted| wanted == *m))
        .map(|(m, s, rank)| format!("**{m}** {}", mode_line(*m, s, *rank, LineStyle::Discord)))
        .collect();
    Ok(Reply::text(if lines.is_empty() {
        match mode {
            Some(m) => format!("{name} has not played {m} yet."),
            None => format!("{name} has no rated games yet."),
        }
    } else {
        format!("**{name}**\n{}", lines.join("\n"))
    }))
}

/// `/profile player`: stats per mode with ranks, names, clan, platform, and
/// the rating-history chart.
pub fn profile(store: &dyn Store, query: &str) -> StoreResult<Reply> {
    let profile = match find(store, query)? {
        Ok(p) => p,
        Err(reply) => return Ok(reply),
    };
    let key = &profile.player.key;
    let mut fields: Vec<(String, String, bool)> = profile
        .modes
        .iter()
        .map(|(m, s, rank)| {
            let line = mode_line(*m, s, *rank, LineStyle::Discord);
            (m.as_str().to_uppercase(), line, false)
        })
        .collect();
    let names: Vec<String> = profile
        .names
        .iter()
        .rev()
        .take(10)
        .map(|n| escape(n))
        .collect();
    fields.push(("Names used".into(), clip(&names.join(", "), 1000), false));
    if let Some(tag) = &profile.clan_tag {
        fields.push(("Clan".into(), escape(tag), true));
    }
    if let Some(level) = profile.level {
        fields.push(("Level".into(), level.to_string(), true));
    }
    fields.push((
        "Platform".into(),
        format!("{} {}", key.store_name(), escape(&key.id)),
        true,
    ));
    fields.push((
        "Seen".into(),
        format!(
            "first <t:{}:d>, last <t:{}:R>",
            profile.first_seen_ms / 1000,
            profile.last_seen_ms / 1000
        ),
        true,
    ));
    let mut histories = Vec::new();
    for (mode, _, _) in profile.modes.iter().filter(|(m, _, _)| !m.is_coop()) {
        histories.push((*mode, store.rating_history(key, *mode)?));
    }
    let title = format!("{} — rating history", profile.player.name);
    let image = match rating_chart(&title, &histories) {
        Ok(png) => png.map(|png| Image {
            filename: "rating.png".into(),
            png,
        }),
        Err(e) => {
            tracing::warn!("{e}");
            None
        }
    };
    Ok(Reply {
        embed: Some(Embed {
            title: escape(&profile.player.name),
            description: String::new(),
            fields,
            show_image: image.is_some(),
        }),
        image,
        ..Reply::default()
    })
}

/// `/matchup player1 player2 [mode]`: both ratings in the mode (by default
/// the one they played most), the chance that player1 wins a duel, and the
/// kills between them.
pub fn matchup(
    store: &dyn Store,
    first: &str,
    second: &str,
    mode: Option<Mode>,
    params: &RatingParams,
) -> StoreResult<Reply> {
    let (a, b) = match (find(store, first)?, find(store, second)?) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(reply), _) | (_, Err(reply)) => return Ok(reply),
    };
    if a.player.key == b.player.key {
        return Ok(Reply::ephemeral("Pick two different players."));
    }
    let mode = mode.unwrap_or_else(|| views::default_mode(&a, &b));
    if mode.is_coop() {
        return Ok(Reply::ephemeral(format!(
            "{mode} is played together against NPCs: there is no duel to predict."
        )));
    }
    let m = views::matchup(store, &a, &b, mode, params)?;
    // Embed titles hold 256 characters; names are cut well below that.
    let name = |s: &views::Side| escape(&clip(&s.player.name, 100));
    let (name_a, name_b) = (name(&m.a), name(&m.b));
    let side = |s: &views::Side| match s.stats {
        Some((stats, rank)) => mode_line(mode, &stats, rank, LineStyle::Discord),
        None => format!(
            "no rated {mode} games yet: counted as a new player (mu {:.2}, σ {:.2})",
            params.trueskill.mu, params.trueskill.sigma
        ),
    };
    let record = match m.head_to_head {
        Some(h) if h.kills + h.deaths == 0 => format!("no kills between them in {mode} yet"),
        Some(h) => format!(
            "{name_a} killed {name_b} {} · {name_b} killed {name_a} {}",
            times(h.kills),
            times(h.deaths)
        ),
        None => format!("kills between two players are not recorded in {mode}"),
    };
    Ok(Reply {
        embed: Some(Embed {
            title: format!(
                "{} vs {} · {}",
                name_a,
                name_b,
                mode.as_str().to_uppercase()
            ),
            description: format!(
                "**{name_a}** wins a duel against **{name_b}** with a chance of **{}** \
                 ({}, from both ratings).",
                views::percent(m.a_wins),
                params.systems.of(mode).display_name()
            ),
            fields: vec![
                (name_a.clone(), side(&m.a), false),
                (name_b.clone(), side(&m.b), false),
                ("Head-to-head".into(), record, false),
            ],
            show_image: false,
        }),
        ..Reply::default()
    })
}

fn times(n: i64) -> String {
    match n {
        1 => "once".into(),
        n => format!("{n} times"),
    }
}

/// Players whose name contains `partial`, for autocompletion: (label, value)
/// where the value is the profile id (an exact match for the lookup).
pub fn player_choices(store: &dyn Store, partial: &str) -> Vec<(String, String)> {
    let partial = partial.trim();
    if partial.is_empty() {
        return Vec::new();
    }
    store
        .find_players(partial, MAX_CHOICES)
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let label = clip(
                &format!("{} ({} {})", p.name, p.key.store_name(), p.key.id),
                100,
            );
            (label, clip(&p.key.id, 100))
        })
        .collect()
}

/// Configured server names containing `partial` (case-insensitive).
pub(crate) fn server_choices(servers: &[ServerHandle], partial: &str) -> Vec<String> {
    let partial = partial.to_lowercase();
    servers
        .iter()
        .map(|s| s.name().to_string())
        .filter(|name| name.to_lowercase().contains(&partial))
        .take(MAX_CHOICES)
        .collect()
}

/// `/servers`: every configured server, connected or not and since when, and
/// (for connected ones) map, mode, players and scores, asked of the servers
/// concurrently with a short timeout.
pub async fn servers(servers: &[ServerHandle], timeout: Duration) -> Reply {
    let infos = futures::future::join_all(servers.iter().map(|s| async move {
        if s.status().is_connected() {
            Some(s.with_timeout(timeout).match_info().await)
        } else {
            None
        }
    }))
    .await;
    let fields = servers
        .iter()
        .zip(infos)
        .map(|(server, info)| {
            let status = server.status();
            let connection = match status.connected_since {
                Some(since) => format!("🟢 connected since <t:{}:R>", unix_secs(since)),
                None => {
                    let why = status
                        .last_error
                        .as_deref()
                        .map(|e| format!(" ({})", escape(&clip(e, 120))))
                        .unwrap_or_default();
                    format!("🔴 not connected{why}")
                }
            };
            let details = match info {
                Some(Ok(m)) => {
                    let mut d = format!(
                        "\n{} on {} · {}/{} players",
                        m.gamemode_name
                            .as_deref()
                            .map_or_else(|| server.mode().to_string(), escape),
                        m.map.as_deref().map_or_else(|| "?".to_string(), escape),
                        m.players.unwrap_or(0),
                        m.max_players
                            .map_or_else(|| "?".to_string(), |n| n.to_string())
                    );
                    if let (Some(a), Some(b)) = (m.team1_score, m.team2_score) {
                        d.push_str(&format!(" · score {a}–{b}"));
                    }
                    if let Some(t) = &m.time_str {
                        d.push_str(&format!(" · {}", escape(t)));
                    }
                    d
                }
                Some(Err(e)) => format!("\n{}", escape(&e.to_string())),
                None => String::new(),
            };
            (
                format!("{} ({})", server.name(), server.mode()),
                format!("{connection}{details}"),
                false,
            )
        })
        .collect();
    Reply {
        embed: Some(Embed {
            title: "Servers".into(),
            description: if servers.is_empty() {
                "No servers are configured.".into()
            } else {
                String::new()
            },
            fields,
            show_image: false,
        }),
        ..Reply::default()
    }
}
