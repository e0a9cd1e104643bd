//! Discord's JSON shapes the fake builds in both its REST answers and its
//! gateway events: users, the bot user and messages.

use super::{BOT_USERNAME, BOT_USER_ID};
use poise::serenity_prelude as serenity;
use serde_json::{json, Value};

pub(super) fn user_json(id: u64, username: &str, bot: bool) -> Value {
    json!({
        "id": id.to_string(),
        "username": username,
        "discriminator": "0",
        "global_name": null,
        "avatar": null,
        "bot": bot,
        "public_flags": 0,
    })
}

pub(super) fn bot_user_json() -> Value {
    let mut u = user_json(BOT_USER_ID, BOT_USERNAME, true);
    u["verified"] = Value::Bool(true);
    u["mfa_enabled"] = Value::Bool(false);
    u["flags"] = json!(0);
    u
}

pub(super) fn message_json(
    id: u64,
    channel_id: u64,
    author: Value,
    content: &str,
    attachments: Vec<Value>,
    guild_id: Option<u64>,
) -> Value {
    let mut m = json!({
        "id": id.to_string(),
        "channel_id": channel_id.to_string(),
        "author": author,
        "content": content,
        "timestamp": serenity::Timestamp::now().to_string(),
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": attachments,
        "embeds": [],
        "components": [],
        "pinned": false,
        "type": 0,
        "flags": 0,
    });
    if let Some(g) = guild_id {
        m["guild_id"] = Value::String(g.to_string());
    }
    m
}

/// A message JSON's id.
pub fn msg_id(m: &Value) -> u64 {
    m["id"].as_str().and_then(|i| i.parse().ok()).unwrap_or(0)
}
