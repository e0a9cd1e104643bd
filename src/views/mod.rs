//! What the CLI shows, and what the bot and the game chat share with it:
//! player lookup, leaderboard, profile, a player's line per mode and the
//! audit log, as text for people and JSON for scripts, over the store's
//! queries.

use crate::model::Mode;
use crate::model::{AuditRecord, LeaderboardRow, ModeStats, PlayerProfile, PlayerSummary};
use crate::store::{Store, StoreResult};
use serde_json::{json, Value};

/// The result of looking a player up by profile id or name part.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    Found(PlayerSummary),
    NotFound,
    /// Several players match; the candidates, best first.
    Ambiguous(Vec<PlayerSummary>),
}

/// Finds one player: an exact profile id, a unique name part, or an exact
/// (case-insensitive) name among several partial matches.
pub fn lookup(store: &dyn Store, query: &str) -> StoreResult<Lookup> {
    let query = query.trim();
    if query.is_empty() {
        return Ok(Lookup::NotFound);
    }
    let mut found = store.find_players(query, 10)?;
    Ok(match found.len() {
        0 => Lookup::NotFound,
        1 => Lookup::Found(found.remove(0)),
        _ => {
            let exact: Vec<_> = found
                .iter()
                .filter(|p| p.key.id == query || p.name.to_lowercase() == query.to_lowercase())
                .cloned()
                .collect();
            if exact.len() == 1 {
                Lookup::Found(exact[0].clone())
            } else {
                Lookup::Ambiguous(found)
            }
        }
    })
}

fn stats_json(mode: Mode, s: &ModeStats) -> serde_json::Map<String, Value> {
    let v = json!({
        "mode": mode.as_str(),
        "mu": s.mu, "sigma": s.sigma, "rating": s.rating(), "elo": s.elo,
        "games": s.games, "kills": s.kills, "deaths": s.deaths,
        "wins": s.wins, "losses": s.losses, "draws": s.draws, "captures": s.captures,
        "best_wave": s.best_wave, "npc_kills": s.npc_kills, "npc_deaths": s.npc_deaths,
        "matches": s.matches, "escapes": s.escapes, "last_updated_ms": s.last_updated_ms,
    });
    match v {
        Value::Object(map) => map,
        _ => unreachable!("json! of an object literal"),
    }
}

/// Leaderboard rows as a JSON array (numbers stay numbers, full precision).
pub fn leaderboard_json(mode: Mode, rows: &[LeaderboardRow]) -> Value {
    Value::Array(
        rows.iter()
            .map(|row| {
                let mut obj = stats_json(mode, &row.stats);
                obj.insert("rank".into(), json!(row.rank));
                obj.insert("name".into(), json!(row.player.name));
                obj.insert("store".into(), json!(row.player.key.store));
                obj.insert("profile_id".into(), json!(row.player.key.id));
                Value::Object(obj)
            })
            .collect(),
    )
}

/// Leaderboard rows as a table (the caller says what an empty page means).
pub fn leaderboard_table(mode: Mode, rows: &[LeaderboardRow]) -> String {
    let mut out = String::new();
    if mode == Mode::Zbr {
        out.push_str(&format!(
            "{:>4}  {:<24} {:>9} {:>10} {:>7} {:>5} {:>7}\n",
            "#", "name", "npc kills", "npc deaths", "escapes", "won", "matches"
        ));
        for r in rows {
            let s = &r.stats;
            out.push_str(&format!(
                "{:>4}  {:<24} {:>9} {:>10} {:>7} {:>5} {:>7}\n",
                r.rank,
                clip(&r.player.name, 24),
                s.npc_kills,
                s.npc_deaths,
                s.escapes,
                s.wins,
                s.matches
            ));
        }
        return out;
    }
    if mode.is_coop() {
        out.push_str(&format!(
            "{:>4}  {:<24} {:>9} {:>9} {:>10} {:>7}\n",
            "#", "name", "best wave", "npc kills", "npc deaths", "matches"
        ));
        for r in rows {
            let s = &r.stats;
            out.push_str(&format!(
                "{:>4}  {:<24} {:>9} {:>9} {:>10} {:>7}\n",
                r.rank,
                clip(&r.player.name, 24),
                s.best_wave,
                s.npc_kills,
                s.npc_deaths,
                s.matches
            ));
        }
        return out;
    }
    out.push_str(&format!(
        "{:>4}  {:<24} {:>7} {:>6} {:>6} {:>7} {:>6} {:>6} {:>11}\n",
        "#", "name", "rating", "mu", "sigma", "elo", "kills", "deaths", "W/L/D"
    ));
    for r in rows {
        let s = &r.stats;
        out.push_str(&format!(
            "{:>4}  {:<24} {:>7.2} {:>6.2} {:>6.2} {:>7.1} {:>6} {:>6} {:>11}\n",
            r.rank,
            clip(&r.player.name, 24),
            s.rating(),
            s.mu,
            s.sigma,
            s.elo,
            s.kills,
            s.deaths,
            format!("{}/{}/{}", s.wins, s.losses, s.draws)
        ));
    }
    out
}

/// A profile as JSON.
pub fn profile_json(p: &PlayerProfile) -> Value {
    json!({
        "name": p.player.name,
        "store": p.player.key.store,
        "platform": p.player.key.store_name(),
        "profile_id": p.player.key.id,
        "names": p.names,
        "color": p.color, "premium": p.premium, "hat": p.hat,
        "clan_id": p.clan_id, "clan_tag": p.clan_tag,
        "first_seen_ms": p.first_seen_ms, "last_seen_ms": p.last_seen_ms,
        "level": p.level,
        "modes": p.modes.iter().map(|(mode, stats, rank)| {
            let mut obj = stats_json(*mode, stats);
            obj.insert("rank".into(), json!(rank));
            Value::Object(obj)
        }).collect::<Vec<_>>(),
    })
}

/// A profile for people.
pub fn profile_text(p: &PlayerProfile) -> String {
    let mut out = format!(
        "{} ({} {})\n",
        p.player.name,
        p.player.key.store_name(),
        p.player.key.id
    );
    if let Some(tag) = &p.clan_tag {
        out.push_str(&format!("clan: {tag}\n"));
    }
    if let Some(level) = p.level {
        out.push_str(&format!("level: {level}\n"));
    }
    out.push_str(&format!("names: {}\n", p.names.join(", ")));
    for (mode, s, rank) in &p.modes {
        let line = mode_line(*mode, s, *rank, LineStyle::Terminal);
        out.push_str(&format!("{mode}: {line}\n"));
    }
    out
}

/// Who reads a [`mode_line`]: the terminal (`bman profile`), Discord
/// (`/rating`, `/profile`: markdown) or the game chat (`!rank`, `!stats`:
/// compact, as the chat line is short).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineStyle {
    Terminal,
    Discord,
    Chat,
}

/// What a [`mode_line`] can show after the rank.
#[derive(Clone, Copy)]
enum Shown {
    Rating,
    Elo,
    KillsDeaths,
    WinsLossesDraws,
    Captures,
    BestWave,
    NpcKills,
    NpcDeaths,
    Escapes,
    Won,
    Matches,
}

/// A player's rank and stats in `mode` on one line, without their name or a
/// line break, e.g. `#4  rating 21.30 (mu 27.10, sigma 1.94)  elo 1531.6  …`,
/// `#4 · rating **21.30** (mu 27.10, σ 1.94) · elo 1532 · …` or
/// `#4 in dm, rating 21.3, K/D 120/80`. Co-op modes have no rating: they show
/// NPC kills and deaths with best wave (survival) or escapes (zombrains).
pub(crate) fn mode_line(mode: Mode, s: &ModeStats, rank: usize, style: LineStyle) -> String {
    use LineStyle::{Chat, Discord, Terminal};
    use Shown::*;
    let shown: &[Shown] = match (mode, style) {
        (Mode::Zbr, _) => &[NpcKills, NpcDeaths, Escapes, Won],
        (Mode::Svl, Chat) => &[BestWave, NpcKills, NpcDeaths],
        (Mode::Svl, _) => &[BestWave, NpcKills, NpcDeaths, Matches],
        (_, Terminal) | (Mode::Ctf, Discord) => {
            &[Rating, Elo, KillsDeaths, WinsLossesDraws, Captures]
        }
        (_, Discord) => &[Rating, Elo, KillsDeaths, WinsLossesDraws],
        (Mode::Tdm, Chat) => &[Rating, Elo, KillsDeaths],
        (_, Chat) => &[Rating, KillsDeaths],
    };
    let item = |shown: Shown| match (shown, style) {
        (Rating, Terminal) => format!(
            "rating {:.2} (mu {:.2}, sigma {:.2})",
            s.rating(),
            s.mu,
            s.sigma
        ),
        (Rating, Discord) => format!(
            "rating **{:.2}** (mu {:.2}, σ {:.2})",
            s.rating(),
            s.mu,
            s.sigma
        ),
        (Rating, Chat) => format!("rating {:.1}", s.rating()),
        (Elo, Terminal) => format!("elo {:.1}", s.elo),
        (Elo, _) => format!("elo {:.0}", s.elo),
        (KillsDeaths, _) => format!("K/D {}/{}", s.kills, s.deaths),
        (WinsLossesDraws, _) => format!("W/L/D {}/{}/{}", s.wins, s.losses, s.draws),
        (Captures, _) => format!("captures {}", s.captures),
        (BestWave, _) => format!("best wave {}", s.best_wave),
        (NpcKills, Terminal) => format!("npc kills {}", s.npc_kills),
        (NpcKills, Discord) => format!("NPC kills {}", s.npc_kills),
        (NpcKills, Chat) => format!("{} NPC kills", s.npc_kills),
        (NpcDeaths, Terminal) => format!("npc deaths {}", s.npc_deaths),
        (NpcDeaths, Discord) => format!("deaths {}", s.npc_deaths),
        (NpcDeaths, Chat) => format!("{} deaths", s.npc_deaths),
        (Escapes, Chat) => format!("{} escapes", s.escapes),
        (Escapes, _) => format!("escapes {}", s.escapes),
        (Won, Chat) => format!("won {}/{}", s.wins, s.matches),
        (Won, _) => format!("won {} of {} matches", s.wins, s.matches),
        (Matches, _) => format!("matches {}", s.matches),
    };
    let (head, separator) = match style {
        Terminal => (format!("#{rank}"), "  "),
        Discord => (format!("#{rank}"), " · "),
        Chat => (format!("#{rank} in {mode}"), ", "),
    };
    std::iter::once(head)
        .chain(shown.iter().map(|&what| item(what)))
        .collect::<Vec<_>>()
        .join(separator)
}

/// Audit records as a JSON array, in the given order. `user_id` is a string:
/// Discord ids exceed 2^53, so readers that parse JSON numbers as doubles
/// (JavaScript, jq before 1.7) would round them; Discord's API sends them as
/// strings for the same reason.
pub fn audit_json(records: &[AuditRecord]) -> Value {
    Value::Array(
        records
            .iter()
            .map(|r| {
                json!({
                    "time_ms": r.time_ms,
                    "user_id": r.user_id.to_string(),
                    "user_name": r.user_name,
                    "server": r.server,
                    "command": r.command,
                    "allowed": r.allowed,
                    "result": r.result,
                })
            })
            .collect(),
    )
}

/// Audit records as a table, one line each. Every string came from a Discord
/// user or a game server, so it goes through [`printable`] before [`clip`].
pub fn audit_table(records: &[AuditRecord]) -> String {
    if records.is_empty() {
        return "No audit records.\n".to_string();
    }
    let line = |[time, user, id, server, status, command, result]: [&str; 7]| {
        format!(
            "{time:<19}  {user:<20} {id:>20}  {server:<16} {status:<7}  {command:<40}  {result}\n"
        )
    };
    let mut out = line([
        "time (UTC)",
        "user",
        "user id",
        "server",
        "status",
        "command",
        "result",
    ]);
    for r in records {
        out.push_str(&line([
            &utc_time(r.time_ms),
            &clip(&printable(&r.user_name), 20),
            &r.user_id.to_string(),
            &clip(&printable(&r.server), 16),
            if r.allowed { "allowed" } else { "denied" },
            &clip(&printable(&r.command), 40),
            &clip(&printable(&r.result), 60),
        ]));
    }
    out
}

/// Unix ms as UTC `YYYY-MM-DD HH:MM:SS` (proleptic Gregorian, Howard
/// Hinnant's days-to-civil algorithm: exact for every i64, no date crate).
pub(crate) fn utc_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, time) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = era * 400 + yoe + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

/// `s` with control characters (newlines, NUL, ANSI escapes) and bidi
/// overrides written as Rust escapes (`\n`, `\u{1b}`), so a hostile name or
/// game reply can neither break a table row nor restyle the terminal.
pub(crate) fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Several players matched: one line each with what tells them apart
/// (platform and id, the modes they played with their games, last seen).
pub fn candidates_text(store: &dyn Store, candidates: &[PlayerSummary]) -> StoreResult<String> {
    let mut out = String::new();
    for c in candidates {
        out.push_str(&format!(
            "  {} ({} {})",
            c.name,
            c.key.store_name(),
            c.key.id
        ));
        if let Some(p) = store.profile(&c.key)? {
            let modes: Vec<String> = p
                .modes
                .iter()
                .map(|(mode, s, _)| format!("{mode} {} games", s.games))
                .collect();
            if !modes.is_empty() {
                out.push_str(&format!(": {}", modes.join(", ")));
            }
            out.push_str(&format!("; last seen {}", utc_time(p.last_seen_ms)));
        }
        out.push('\n');
    }
    Ok(out)
}

/// Cuts `s` to at most `width` characters, marking a cut with `…` (tables,
/// chat replies and Discord fields all have a width).
pub(crate) fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        s.chars()
            .take(width.saturating_sub(1))
            .chain(std::iter::once('…'))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times() {
        for (ms, text) in [
            (0, "1970-01-01 00:00:00"),
            (-1, "1969-12-31 23:59:59"),
            (951_782_400_000, "2000-02-29 00:00:00"),
            (1_714_564_800_999, "2024-05-01 12:00:00"),
            (253_402_300_799_999, "9999-12-31 23:59:59"),
        ] {
            assert_eq!(utc_time(ms), text, "{ms}");
        }
        // The extremes format without overflowing.
        utc_time(i64::MIN);
        utc_time(i64::MAX);
    }

    #[test]
    fn mode_lines_per_style() {
        let s = ModeStats {
            mu: 27.104,
            sigma: 1.935,
            elo: 1531.6,
            games: 212,
            kills: 120,
            deaths: 80,
            wins: 9,
            losses: 4,
            draws: 1,
            captures: 3,
            best_wave: 12,
            npc_kills: 340,
            npc_deaths: 7,
            matches: 15,
            escapes: 2,
            last_updated_ms: 0,
        };
        let rated = "#4  rating 21.30 (mu 27.10, sigma 1.94)  elo 1531.6  K/D 120/80  W/L/D 9/4/1  captures 3";
        let discord =
            "#4 · rating **21.30** (mu 27.10, σ 1.94) · elo 1532 · K/D 120/80 · W/L/D 9/4/1";
        for (mode, style, line) in [
            (Mode::Dm, LineStyle::Terminal, rated.to_string()),
            (Mode::Ctf, LineStyle::Terminal, rated.to_string()),
            (
                Mode::Svl,
                LineStyle::Terminal,
                "#4  best wave 12  npc kills 340  npc deaths 7  matches 15".into(),
            ),
            (
                Mode::Zbr,
                LineStyle::Terminal,
                "#4  npc kills 340  npc deaths 7  escapes 2  won 9 of 15 matches".into(),
            ),
            (Mode::Tdm, LineStyle::Discord, discord.to_string()),
            (
                Mode::Ctf,
                LineStyle::Discord,
                format!("{discord} · captures 3"),
            ),
            (
                Mode::Svl,
                LineStyle::Discord,
                "#4 · best wave 12 · NPC kills 340 · deaths 7 · matches 15".into(),
            ),
            (
                Mode::Zbr,
                LineStyle::Discord,
                "#4 · NPC kills 340 · deaths 7 · escapes 2 · won 9 of 15 matches".into(),
            ),
            (
                Mode::Dm,
                LineStyle::Chat,
                "#4 in dm, rating 21.3, K/D 120/80".into(),
            ),
            (
                Mode::Tdm,
                LineStyle::Chat,
                "#4 in tdm, rating 21.3, elo 1532, K/D 120/80".into(),
            ),
            (
                Mode::Ctf,
                LineStyle::Chat,
                "#4 in ctf, rating 21.3, K/D 120/80".into(),
            ),
            (
                Mode::Svl,
                LineStyle::Chat,
                "#4 in svl, best wave 12, 340 NPC kills, 7 deaths".into(),
            ),
            (
                Mode::Zbr,
                LineStyle::Chat,
                "#4 in zbr, 340 NPC kills, 7 deaths, 2 escapes, won 9/15".into(),
            ),
        ] {
            assert_eq!(mode_line(mode, &s, 4, style), line, "{mode} {style:?}");
        }
    }

    #[test]
    fn audit_table_escapes_and_clips() {
        let record = AuditRecord {
            time_ms: 1_714_564_800_000,
            user_id: 80_351_110_224_678_912,
            user_name: "Evil\nAdmin\u{1b}[2J".into(),
            server: "eu-tdm".into(),
            command: format!("say {}", "x".repeat(2000)),
            allowed: false,
            result: "denied: not an admin\u{202e}".into(),
        };
        let table = audit_table(std::slice::from_ref(&record));
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 2, "{table}");
        let row = lines[1];
        assert!(
            row.starts_with("2024-05-01 12:00:00  Evil\\nAdmin\\u{1b}[2J"),
            "{row}"
        );
        assert!(row.contains(" 80351110224678912  eu-tdm"), "{row}");
        assert!(row.contains("denied "), "{row}");
        assert!(row.contains(&format!("say {}…", "x".repeat(35))), "{row}");
        assert!(row.ends_with("denied: not an admin\\u{202e}"), "{row}");
        assert!(!table.contains('\u{1b}') && !table.contains('\u{202e}'));
        assert_eq!(audit_table(&[]), "No audit records.\n");
    }
}
