//! Community bans as the bot and the CLI handle them: ban lengths, finding
//! the one player a query means, issuing, lifting and listing bans, `/whois`,
//! and the one renderer of a ban line and of a kick reason. Plain functions
//! over the store (synchronous, like the store), so the bot, the CLI and the
//! tests share them; enforcement is `handlers::bans`. README "Community bans".

use crate::model::{
    Ban, BanActor, BanLift, BanQuery, IpNeighbour, PlayerKey, PlayerProfile, PlayerSummary,
};
use crate::store::{Store, StoreResult};
use crate::views::{lookup, utc_time, Lookup};
use std::net::IpAddr;

/// `/whois` lists profiles that shared an IP and were seen this many days back.
pub const WHOIS_DAYS: i64 = 90;
/// At most this many such profiles.
const WHOIS_NEIGHBOURS: usize = 10;
/// Longest ban reason kept.
pub const MAX_REASON_CHARS: usize = 200;
/// The longest ban that is not permanent: 10 years.
const MAX_BAN_MS: i64 = 10 * 365 * 86_400_000;

/// A ban length: `30m`, `12h`, `7d`, `2w` (a whole number and a unit), or
/// `permanent`. `Ok(None)` is permanent; the `Err` says what is accepted.
pub fn parse_duration(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim().to_ascii_lowercase();
    if matches!(text.as_str(), "permanent" | "perm" | "forever") {
        return Ok(None);
    }
    let bad = || {
        format!(
            "{text:?} is not a ban length: use e.g. 30m, 12h, 7d, 2w or permanent (at most 10 years)"
        )
    };
    let unit_at = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(unit_at);
    let number: i64 = number.parse().map_err(|_| bad())?;
    let unit_ms = match unit {
        "m" | "min" | "mins" | "minutes" => 60_000,
        "h" | "hours" => 3_600_000,
        "d" | "days" => 86_400_000,
        "w" | "weeks" => 7 * 86_400_000,
        _ => return Err(bad()),
    };
    match number.checked_mul(unit_ms) {
        Some(ms) if ms > 0 && ms <= MAX_BAN_MS => Ok(Some(ms)),
        _ => Err(bad()),
    }
}

/// Why a ban command did nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// No recorded human matches (bots and the server are never recorded).
    NotFound(String),
    /// Several players match; the candidates, best first.
    Ambiguous(String, Vec<PlayerSummary>),
    /// A bot or NPC: never banned.
    Bot(String),
    BadDuration(String),
    /// Not a configured server; the configured ones.
    UnknownServer(String, Vec<String>),
    /// `/unban` of a player without an active ban.
    NotBanned(PlayerSummary),
}

impl Refusal {
    /// The refusal in words, with user and game text passed through `esc`.
    pub fn message(&self, esc: &dyn Fn(&str) -> String) -> String {
        match self {
            Refusal::NotFound(query) => format!(
                "No player matches \u{201c}{}\u{201d}: only humans bman has recorded can be banned (never bots or the server itself).",
                esc(query)
            ),
            Refusal::Ambiguous(query, candidates) => {
                let list: Vec<String> = candidates
                    .iter()
                    .map(|c| format!("\u{2022} {}", player_text(c, esc)))
                    .collect();
                format!(
                    "Several players match \u{201c}{}\u{201d}; nothing was done. Use one of these profile ids:\n{}",
                    esc(query),
                    list.join("\n")
                )
            }
            Refusal::Bot(who) => format!("{} is a bot: bots and NPCs are never banned.", esc(who)),
            Refusal::BadDuration(why) => esc(why),
            Refusal::UnknownServer(name, known) => format!(
                "No server named \u{201c}{}\u{201d}; configured: {}.",
                esc(name),
                esc(&known.join(", "))
            ),
            Refusal::NotBanned(player) => {
                format!("{} has no active ban.", player_text(player, esc))
            }
        }
    }
}

/// `Name (Steam 7656…)`.
fn player_text(p: &PlayerSummary, esc: &dyn Fn(&str) -> String) -> String {
    format!(
        "{} ({} {})",
        esc(&p.name),
        p.key.store_name(),
        esc(&p.key.id)
    )
}

/// The one human `query` names: an exact profile id, or a name (part) that
/// only one player matches (the CLI's and the bot's lookup rule).
pub fn resolve(store: &dyn Store, query: &str) -> StoreResult<Result<PlayerSummary, Refusal>> {
    let query = query.trim();
    Ok(match lookup(store, query)? {
        Lookup::Found(p) if p.key.is_bot() => Err(Refusal::Bot(p.name)),
        Lookup::Found(p) => Ok(p),
        // `bot2`: how real servers name bots, which bman never records.
        Lookup::NotFound if !query.is_empty() && PlayerKey::new(0, query).is_bot() => {
            Err(Refusal::Bot(query.to_string()))
        }
        Lookup::NotFound => Err(Refusal::NotFound(query.to_string())),
        Lookup::Ambiguous(candidates) => Err(Refusal::Ambiguous(query.to_string(), candidates)),
    })
}

/// What a ban command asks for.
#[derive(Debug, Clone)]
pub struct BanRequest<'a> {
    pub query: &'a str,
    /// `None`: permanent.
    pub duration: Option<&'a str>,
    pub reason: Option<&'a str>,
    /// `None`: every server.
    pub server: Option<&'a str>,
    pub by: BanActor,
    pub now_ms: i64,
}

/// Checks and stores a ban; the stored ban, or why there is none.
/// `servers` are the configured server names (a scope must be one of them).
pub fn issue(
    store: &dyn Store,
    servers: &[String],
    request: &BanRequest,
) -> StoreResult<Result<Ban, Refusal>> {
    let until_ms = match request.duration.map(parse_duration).transpose() {
        Ok(length) => length.flatten().map(|ms| request.now_ms.saturating_add(ms)),
        Err(why) => return Ok(Err(Refusal::BadDuration(why))),
    };
    let scope = match request.server.map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) if servers.iter().any(|s| s == name) => vec![name.to_string()],
        Some(name) => {
            return Ok(Err(Refusal::UnknownServer(
                name.to_string(),
                servers.to_vec(),
            )))
        }
        None => Vec::new(),
    };
    let player = match resolve(store, request.query)? {
        Ok(player) => player,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let reason = request.reason.unwrap_or("").trim();
    let ban = Ban {
        name: player.name,
        player: player.key,
        reason: crate::views::clip(reason, MAX_REASON_CHARS),
        by: request.by.clone(),
        created_ms: request.now_ms,
        until_ms,
        servers: scope,
        lifted: None,
    };
    store.add_ban(&ban)?;
    Ok(Ok(ban))
}

/// Lifts every active ban of the player `query` names; the player and how
/// many bans were lifted.
pub fn lift(
    store: &dyn Store,
    query: &str,
    by: BanActor,
    now_ms: i64,
) -> StoreResult<Result<(PlayerSummary, usize), Refusal>> {
    let player = match resolve(store, query)? {
        Ok(player) => player,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let lifted = store.lift_bans(&player.key, &BanLift { by, at_ms: now_ms })?;
    if lifted == 0 {
        return Ok(Err(Refusal::NotBanned(player)));
    }
    Ok(Ok((player, lifted)))
}

/// `until 2026-12-24` (`until 2026-12-24 18:30 UTC` when less than two days
/// away, where the hour matters), or `permanently`.
pub fn until_text(until_ms: Option<i64>, now_ms: i64) -> String {
    match until_ms {
        None => "permanently".into(),
        Some(until) if until - now_ms < 2 * 86_400_000 => {
            format!("until {} UTC", &utc_time(until)[..16])
        }
        Some(until) => format!("until {}", &utc_time(until)[..10]),
    }
}

/// The default `[bans] kick_message`.
pub const DEFAULT_KICK_MESSAGE: &str = "banned {until}: {reason}";

/// The kick reason from the `kick_message` template: `{until}` becomes
/// [`until_text`], `{reason}` the ban's reason; with no reason the text that
/// would trail it (`: `) goes too.
pub fn kick_reason(template: &str, ban: &Ban, now_ms: i64) -> String {
    let text = template
        .replace("{until}", &until_text(ban.until_ms, now_ms))
        .replace("{reason}", &ban.reason);
    text.trim_end_matches([' ', ':', '-', '\u{2014}'])
        .to_string()
}

/// One ban as a line: who, until when, why, by whom and when, where, and
/// whether it was lifted or is over. Every stored text goes through `esc`.
pub fn ban_line(ban: &Ban, now_ms: i64, esc: &dyn Fn(&str) -> String) -> String {
    let who = PlayerSummary {
        key: ban.player.clone(),
        name: ban.name.clone(),
    };
    let mut line = format!(
        "{} {}",
        player_text(&who, esc),
        until_text(ban.until_ms, now_ms)
    );
    if !ban.reason.is_empty() {
        line.push_str(&format!(": {}", esc(&ban.reason)));
    }
    line.push_str(&format!(
        " (by {}, {} UTC; {})",
        esc(&ban.by.name),
        &utc_time(ban.created_ms)[..16],
        if ban.servers.is_empty() {
            "all servers".to_string()
        } else {
            esc(&ban.servers.join(", "))
        }
    ));
    if let Some(lift) = &ban.lifted {
        line.push_str(&format!(
            " [lifted by {}, {} UTC]",
            esc(&lift.by.name),
            &utc_time(lift.at_ms)[..16]
        ));
    } else if !ban.is_active(now_ms) {
        line.push_str(" [over]");
    }
    line
}

/// `bman bans`: one [`ban_line`] per ban, control characters escaped.
pub fn bans_text(bans: &[Ban], now_ms: i64) -> String {
    if bans.is_empty() {
        return "No bans.\n".into();
    }
    let esc = |s: &str| crate::views::printable(s);
    bans.iter()
        .map(|b| format!("{}\n", ban_line(b, now_ms, &esc)))
        .collect()
}

/// `bman bans --json`: an array of bans, with `active` as of `now_ms`;
/// Discord user ids are strings (they exceed 2^53), `null` for the CLI.
pub fn bans_json(bans: &[Ban], now_ms: i64) -> String {
    let actor = |a: &BanActor| serde_json::json!({ "user_id": a.user_id.map(|id| id.to_string()), "name": a.name });
    let rows: Vec<serde_json::Value> = bans
        .iter()
        .map(|b| {
            serde_json::json!({
                "store": b.player.store,
                "profile_id": b.player.id,
                "name": b.name,
                "reason": b.reason,
                "by": actor(&b.by),
                "created_ms": b.created_ms,
                "until_ms": b.until_ms,
                "servers": b.servers,
                "lifted": b.lifted.as_ref().map(|l| serde_json::json!({ "by": actor(&l.by), "at_ms": l.at_ms })),
                "active": b.is_active(now_ms),
            })
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// What `/whois` shows (admins only): the player, their bans, and other
/// profiles seen from the same IP addresses, each with whether it is banned.
#[derive(Debug, Clone, PartialEq)]
pub struct Whois {
    pub profile: PlayerProfile,
    pub bans: Vec<Ban>,
    /// Each with whether it has an active ban now.
    pub neighbours: Vec<(IpNeighbour, bool)>,
}

pub fn whois(store: &dyn Store, query: &str, now_ms: i64) -> StoreResult<Result<Whois, Refusal>> {
    let player = match resolve(store, query)? {
        Ok(player) => player,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let Some(profile) = store.profile(&player.key)? else {
        return Ok(Err(Refusal::NotFound(query.to_string())));
    };
    let bans = store.bans(&BanQuery {
        player: Some(player.key.clone()),
        ..BanQuery::all()
    })?;
    let since = now_ms.saturating_sub(WHOIS_DAYS * 86_400_000);
    let mut neighbours = Vec::new();
    for n in store.ip_neighbours(&player.key, since, WHOIS_NEIGHBOURS)? {
        let banned = !store
            .bans(&BanQuery {
                player: Some(n.player.key.clone()),
                limit: 1,
                ..BanQuery::active(now_ms)
            })?
            .is_empty();
        neighbours.push((n, banned));
    }
    Ok(Ok(Whois {
        profile,
        bans,
        neighbours,
    }))
}

/// An IP address with its host part hidden: `203.0.113.x` for IPv4 (and
/// IPv4-mapped IPv6), the first three groups and `x` for IPv6; anything
/// else is hidden whole.
pub fn mask_ip(ip: &str) -> String {
    let parsed: Option<IpAddr> = ip.trim().parse().ok();
    let v4 = match parsed {
        Some(IpAddr::V4(v4)) => Some(v4),
        Some(IpAddr::V6(v6)) => v6.to_ipv4_mapped(),
        None => None,
    };
    if let Some(v4) = v4 {
        let [a, b, c, _] = v4.octets();
        return format!("{a}.{b}.{c}.x");
    }
    match parsed {
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:x", s[0], s[1], s[2])
        }
        _ => "(hidden)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m"), Ok(Some(1_800_000)));
        assert_eq!(parse_duration(" 12H "), Ok(Some(43_200_000)));
        assert_eq!(parse_duration("7d"), Ok(Some(604_800_000)));
        assert_eq!(parse_duration("2w"), Ok(Some(1_209_600_000)));
        assert_eq!(parse_duration("permanent"), Ok(None));
        for bad in ["", "0d", "d", "7", "7y", "-1d", "99999999999999d", "3650d1"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_duration("3650d").is_ok());
        assert!(parse_duration("3651d").is_err());
    }

    #[test]
    fn masks_hide_the_host() {
        assert_eq!(mask_ip("203.0.113.77"), "203.0.113.x");
        assert_eq!(mask_ip("::ffff:198.51.100.9"), "198.51.100.x");
        assert_eq!(mask_ip("2001:db8:85a3::8a2e:370:7334"), "2001:db8:85a3:x");
        assert_eq!(mask_ip("not an ip 1.2.3.4"), "(hidden)");
    }

    #[test]
    fn kick_reasons_and_until() {
        let day = 86_400_000;
        let now = 1_797_638_400_000; // 2026-12-19 00:00 UTC
        let mut ban = Ban {
            player: PlayerKey::new(0, "1"),
            name: "x".into(),
            reason: "aimbot".into(),
            by: BanActor::cli(),
            created_ms: now,
            until_ms: Some(now + 5 * day),
            servers: vec![],
            lifted: None,
        };
        assert_eq!(
            kick_reason(DEFAULT_KICK_MESSAGE, &ban, now),
            "banned until 2026-12-24: aimbot"
        );
        ban.until_ms = Some(now + 30 * 60_000);
        assert_eq!(
            kick_reason(DEFAULT_KICK_MESSAGE, &ban, now),
            "banned until 2026-12-19 00:30 UTC: aimbot"
        );
        ban.until_ms = None;
        ban.reason.clear();
        assert_eq!(
            kick_reason(DEFAULT_KICK_MESSAGE, &ban, now),
            "banned permanently"
        );
        assert_eq!(
            kick_reason("no entry ({until})", &ban, now),
            "no entry (permanently)"
        );
    }
}
