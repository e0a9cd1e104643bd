//! The community ban commands: `/ban player [duration] [reason] [server]`,
//! `/unban player`, `/bans [player] [page]` and `/whois player`. Admins only
//! (deny by default, like `admin`), ephemeral, and every attempt is audited.
//! Plain functions from arguments to a [`Reply`]; the logic is `crate::bans`.
//! A ban or unban tells enforcement at once ([`Context::bans_changed`]).

use super::admin::{audit, denied, Caller, Permissions};
use super::reply::{escape, Embed, Reply};
use crate::bans::{self, ban_line, mask_ip, BanRequest, Refusal, Whois, WHOIS_DAYS};
use crate::handlers::Context;
use crate::model::{now_ms, BanActor, BanQuery};
use crate::store::StoreResult;
use crate::views::clip;

/// Bans per `/bans` page.
pub const BANS_PAGE: usize = 10;

/// The arguments of `/ban`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BanArgs {
    pub player: String,
    /// `30m`, `12h`, `7d`, `permanent`…; none is permanent.
    pub duration: Option<String>,
    pub reason: Option<String>,
    /// One configured server; none is every server.
    pub server: Option<String>,
}

impl BanArgs {
    /// How the audit log names it.
    fn describe(&self) -> String {
        let mut text = format!(
            "ban {} {}",
            self.player,
            self.duration.as_deref().unwrap_or("permanent")
        );
        if let Some(reason) = self.reason.as_deref().filter(|r| !r.trim().is_empty()) {
            text.push_str(&format!(" ({reason})"));
        }
        text
    }
}

fn actor(caller: &Caller) -> BanActor {
    BanActor {
        user_id: Some(caller.user_id),
        name: caller.user_name.clone(),
    }
}

/// Audit text is stored as given (the CLI escapes it when it shows it).
fn plain(text: &str) -> String {
    text.to_string()
}

/// Runs a store job off the async workers; a failure becomes the answer.
async fn blocking<T: Send + 'static>(
    ctx: &Context,
    job: impl FnOnce(&dyn crate::store::Store) -> StoreResult<T> + Send + 'static,
) -> Result<T, String> {
    ctx.with_store(job)
        .await
        .map_err(|e| format!("failed: {e}"))
}

/// Audits the attempt and answers with `result` (audit) and `reply` (the caller).
async fn answer(
    ctx: &Context,
    caller: &Caller,
    scope: &str,
    command: String,
    result: Result<(String, String), String>,
) -> Reply {
    let (audit_text, reply) = match result {
        Ok(pair) => pair,
        Err(failed) => (failed.clone(), escape(&failed)),
    };
    audit(ctx, caller, scope, command, true, &audit_text).await;
    Reply::ephemeral(clip(&reply, 1900))
}

fn refused(refusal: &Refusal) -> (String, String) {
    (
        format!("refused: {}", refusal.message(&plain)),
        refusal.message(&escape),
    )
}

/// `/ban`: stores the ban; enforcement kicks the player wherever bman sees them.
pub async fn ban(
    ctx: &Context,
    permissions: &Permissions,
    caller: &Caller,
    args: BanArgs,
) -> Reply {
    let scope = args.server.clone().unwrap_or_else(|| "all".into());
    if !permissions.is_admin(caller) {
        return denied(ctx, caller, &scope, args.describe()).await;
    }
    let servers: Vec<String> = ctx.servers().iter().map(|s| s.name().to_string()).collect();
    let by = actor(caller);
    let request = args.clone();
    let outcome = blocking(ctx, move |store| {
        let request = BanRequest {
            query: &request.player,
            duration: request.duration.as_deref(),
            reason: request.reason.as_deref(),
            server: request.server.as_deref(),
            by,
            now_ms: now_ms(),
        };
        bans::issue(store, &servers, &request)
    })
    .await;
    let result = outcome.map(|issued| match issued {
        Ok(ban) => {
            ctx.bans_changed();
            let now = now_ms();
            (
                format!("banned {}", ban_line(&ban, now, &plain)),
                format!(
                    "**Banned** {}\nThey are kicked from every server in scope where bman sees them.",
                    ban_line(&ban, now, &escape)
                ),
            )
        }
        Err(refusal) => refused(&refusal),
    });
    answer(ctx, caller, &scope, args.describe(), result).await
}

/// `/unban`: lifts every active ban of the player.
pub async fn unban(
    ctx: &Context,
    permissions: &Permissions,
    caller: &Caller,
    player: String,
) -> Reply {
    let command = format!("unban {player}");
    if !permissions.is_admin(caller) {
        return denied(ctx, caller, "all", command).await;
    }
    let by = actor(caller);
    let query = player.clone();
    let outcome = blocking(ctx, move |store| bans::lift(store, &query, by, now_ms())).await;
    let result = outcome.map(|lifted| match lifted {
        Ok((player, n)) => {
            ctx.bans_changed();
            let text = |esc: &dyn Fn(&str) -> String| {
                format!(
                    "lifted {n} ban{} of {} ({} {})",
                    if n == 1 { "" } else { "s" },
                    esc(&player.name),
                    player.key.store_name(),
                    esc(&player.key.id)
                )
            };
            (text(&plain), text(&escape))
        }
        Err(refusal) => refused(&refusal),
    });
    answer(ctx, caller, "all", command, result).await
}

/// `/bans [player] [page]`: active bans, newest first; with a player, all
/// of theirs (lifted and over ones marked).
pub async fn list(
    ctx: &Context,
    permissions: &Permissions,
    caller: &Caller,
    player: Option<String>,
    page: usize,
) -> Reply {
    let page = page.max(1);
    let command = match &player {
        Some(p) => format!("bans {p} page {page}"),
        None => format!("bans page {page}"),
    };
    if !permissions.is_admin(caller) {
        return denied(ctx, caller, "all", command).await;
    }
    let now = now_ms();
    let outcome = blocking(ctx, move |store| {
        let mut query = BanQuery {
            limit: BANS_PAGE,
            offset: (page - 1) * BANS_PAGE,
            ..BanQuery::active(now)
        };
        if let Some(p) = &player {
            match bans::resolve(store, p)? {
                Ok(found) => {
                    query.player = Some(found.key);
                    query.active_at_ms = None;
                }
                Err(refusal) => return Ok(Err(refusal)),
            }
        }
        Ok(Ok(store.bans(&query)?))
    })
    .await;
    let result = outcome.map(|listed| match listed {
        Ok(found) if found.is_empty() => {
            let text = format!("No bans on page {page}.");
            (text.clone(), text)
        }
        Ok(found) => {
            let lines = |esc: &dyn Fn(&str) -> String| {
                found
                    .iter()
                    .map(|b| format!("\u{2022} {}", clip(&ban_line(b, now, esc), 180)))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            (
                format!("{} bans listed", found.len()),
                format!("**Bans, page {page}**\n{}", lines(&escape)),
            )
        }
        Err(refusal) => refused(&refusal),
    });
    answer(ctx, caller, "all", command, result).await
}

/// `/whois`: names, first/last seen, modes, bans, and other profiles seen
/// from the same IP addresses in the last [`WHOIS_DAYS`] days, with their
/// ban status. IP addresses only ever appear masked.
pub async fn whois(
    ctx: &Context,
    permissions: &Permissions,
    caller: &Caller,
    player: String,
) -> Reply {
    let command = format!("whois {player}");
    if !permissions.is_admin(caller) {
        return denied(ctx, caller, "all", command).await;
    }
    let now = now_ms();
    let query = player.clone();
    let outcome = blocking(ctx, move |store| bans::whois(store, &query, now)).await;
    let reply = match &outcome {
        Ok(Ok(found)) => Some(whois_reply(found, now)),
        _ => None,
    };
    let result = outcome.map(|found| match found {
        Ok(w) => (
            format!(
                "shown: {} bans, {} profiles sharing an IP",
                w.bans.len(),
                w.neighbours.len()
            ),
            String::new(),
        ),
        Err(refusal) => refused(&refusal),
    });
    let answered = answer(ctx, caller, "all", command, result).await;
    reply.unwrap_or(answered)
}

fn whois_reply(w: &Whois, now: i64) -> Reply {
    let p = &w.profile;
    let key = &p.player.key;
    let names: Vec<String> = p.names.iter().rev().take(10).map(|n| escape(n)).collect();
    let modes: Vec<String> = p
        .modes
        .iter()
        .map(|(mode, s, _)| format!("{mode} {} games", s.games))
        .collect();
    let bans: Vec<String> = w
        .bans
        .iter()
        .take(5)
        .map(|b| format!("\u{2022} {}", clip(&ban_line(b, now, &escape), 200)))
        .collect();
    let neighbours: Vec<String> = w
        .neighbours
        .iter()
        .map(|(n, banned)| {
            let ips: Vec<String> = n.shared_ips.iter().map(|ip| mask_ip(ip)).collect();
            format!(
                "\u{2022} {} ({} {}) via {}, last seen <t:{}:R>{}",
                escape(&n.player.name),
                n.player.key.store_name(),
                escape(&n.player.key.id),
                ips.join(", "),
                n.last_seen_ms / 1000,
                if *banned { ", **banned**" } else { "" }
            )
        })
        .collect();
    let or_none = |lines: Vec<String>| {
        if lines.is_empty() {
            "none".to_string()
        } else {
            clip(&lines.join("\n"), 1000)
        }
    };
    Reply {
        embed: Some(Embed {
            title: format!("Who is {}", escape(&p.player.name)),
            description: format!("{} {}", key.store_name(), escape(&key.id)),
            fields: vec![
                ("Names used".into(), clip(&names.join(", "), 1000), false),
                (
                    "Seen".into(),
                    format!(
                        "first <t:{}:d>, last <t:{}:R>",
                        p.first_seen_ms / 1000,
                        p.last_seen_ms / 1000
                    ),
                    true,
                ),
                ("Modes played".into(), or_none(modes), true),
                ("Bans".into(), or_none(bans), false),
                (
                    format!("Same IP address, last {WHOIS_DAYS} days"),
                    or_none(neighbours),
                    false,
                ),
            ],
            show_image: false,
        }),
        ephemeral: true,
        ..Reply::default()
    }
}
