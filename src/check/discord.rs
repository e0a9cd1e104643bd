//! Discord's part of `bman check`: `GET /users/@me`, `/guilds/{id}` and
//! `/channels/{id}` with the bot's own HTTP client (so through
//! `DISCORD_API_PROXY` when set), each with a timeout.

use super::{shown, within, CheckLine};
use crate::config::Settings;
use crate::discord::bot::http_client;
use poise::serenity_prelude as serenity;
use serde_json::Value;
use std::time::Duration;

/// Per request.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request gave no answer.
enum Failure {
    Status(u16, String),
    Unreachable(String),
    TimedOut,
}

async fn get(http: &serenity::Http, route: serenity::Route<'_>) -> Result<Value, Failure> {
    let request = serenity::Request::new(route, serenity::LightMethod::Get);
    match within(TIMEOUT, http.fire::<Value>(request)).await {
        None => Err(Failure::TimedOut),
        Some(Ok(v)) => Ok(v),
        Some(Err(serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(r)))) => {
            Err(Failure::Status(r.status_code.as_u16(), r.error.message))
        }
        Some(Err(e)) => Err(Failure::Unreachable(e.to_string())),
    }
}

/// The token, then (if it works) the guild and every configured channel.
pub(super) async fn check(settings: &Settings) -> Vec<CheckLine> {
    let Some(token) = &settings.discord_token else {
        return vec![CheckLine::skip(
            "discord",
            "DISCORD_TOKEN is not set: the bot is off, recording only (README: Discord setup)",
        )];
    };
    let http = http_client(token.expose(), settings.discord_api_proxy.as_deref());
    let via = match &settings.discord_api_proxy {
        Some(proxy) => format!(" through DISCORD_API_PROXY {proxy}"),
        None => String::new(),
    };
    let me = match get(&http, serenity::Route::UserMe).await {
        Ok(me) => me,
        Err(Failure::Status(401, _)) => {
            return vec![CheckLine::fail(
                "discord",
                "the token is refused (401 Unauthorized): copy the bot's token from the Discord developer portal (Bot, Reset Token) into DISCORD_TOKEN",
            )]
        }
        Err(failure) => return vec![CheckLine::fail("discord", unreachable(failure, &via))],
    };
    let mut lines = vec![CheckLine::ok(
        "discord",
        format!(
            "the token works: the bot is {} (id {}){via}",
            shown(me["username"].as_str().unwrap_or("?")),
            me["id"].as_str().unwrap_or("?")
        ),
    )];
    let d = &settings.discord;
    match d.guild_id {
        None => lines.push(CheckLine::skip(
            "discord guild",
            "[discord] guild_id is not set: slash commands are registered globally (they can take up to an hour to appear)",
        )),
        Some(id) => {
            let route = serenity::Route::Guild {
                guild_id: serenity::GuildId::new(id.max(1)),
            };
            lines.push(match get(&http, route).await {
                Ok(guild) => CheckLine::ok(
                    "discord guild",
                    format!("{id}: the bot sees {}", shown(guild["name"].as_str().unwrap_or("?"))),
                ),
                Err(Failure::Status(403 | 404, message)) => CheckLine::fail(
                    "discord guild",
                    format!("{id}: the bot cannot see this guild ({message}): invite it with the link in README \"Discord setup\", or fix [discord] guild_id"),
                ),
                Err(failure) => CheckLine::fail("discord guild", unreachable(failure, &via)),
            });
        }
    }
    let mut channels: Vec<(u64, String)> = Vec::new();
    let mut add = |id: Option<u64>, key: String| {
        if let Some(id) = id.filter(|id| !channels.iter().any(|(c, _)| c == id)) {
            channels.push((id, key));
        }
    };
    add(
        d.announce_channel_id,
        "[discord] announce_channel_id".into(),
    );
    add(d.chat_channel_id, "[discord] chat_channel_id".into());
    add(d.status_channel_id, "[discord] status_channel_id".into());
    for s in &settings.servers {
        add(
            s.announce_channel_id,
            format!("[server.{}] announce_channel_id", s.name),
        );
        add(
            s.chat_channel_id,
            format!("[server.{}] chat_channel_id", s.name),
        );
        add(
            s.status_channel_id,
            format!("[server.{}] status_channel_id", s.name),
        );
    }
    for (id, key) in channels {
        let route = serenity::Route::Channel {
            channel_id: serenity::ChannelId::new(id.max(1)),
        };
        let label = format!("discord channel {id}");
        lines.push(match get(&http, route).await {
            Ok(channel) => CheckLine::ok(
                label,
                format!("#{} ({key})", shown(channel["name"].as_str().unwrap_or("?"))),
            ),
            Err(Failure::Status(403 | 404, message)) => CheckLine::fail(
                label,
                format!("the bot cannot see this channel ({message}): give it View Channel and Send Messages there, or fix {key}"),
            ),
            Err(failure) => CheckLine::fail(label, unreachable(failure, &via)),
        });
    }
    lines
}

fn unreachable(failure: Failure, via: &str) -> String {
    match failure {
        Failure::TimedOut => format!(
            "no answer from Discord{via} within {}s: check the network (or DISCORD_API_PROXY)",
            TIMEOUT.as_secs()
        ),
        Failure::Status(status, message) => {
            format!("Discord answered {status} ({message}){via}")
        }
        Failure::Unreachable(e) => {
            format!("cannot reach Discord{via}: {e}: check the network (or DISCORD_API_PROXY)")
        }
    }
}
