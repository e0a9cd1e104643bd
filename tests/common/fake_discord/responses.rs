//! What the fake answers when no scripted reply applies: Discord's replies
//! for the gateway URL, the application, messages (created, edited and
//! listed per channel), interaction callbacks,
//! webhooks and command registration, with the messages and commands it
//! keeps so later requests and events see them.

use super::events::SentInteraction;
use super::payloads::{bot_user_json, message_json, msg_id, user_json};
use super::rest::Recorded;
use super::{
    FakeDiscord, Inner, APPLICATION_ID, BOT_USERNAME, CHANNEL_ID, GUILD_ID, GUILD_NAME, OWNER_ID,
};
use poise::serenity_prelude as serenity;
use serde_json::{json, Value};
use std::sync::Arc;

impl FakeDiscord {
    /// The messages the fake created through REST (`POST /channels/{id}/messages`
    /// and interaction webhooks), by id, as returned to the bot.
    pub fn message(&self, id: u64) -> Option<Value> {
        self.inner.lock().messages.get(&id).cloned()
    }

    /// The messages of a channel the fake holds (created through REST and
    /// edited since), oldest first.
    pub fn channel_messages(&self, channel: u64) -> Vec<Value> {
        let channel = channel.to_string();
        let mut list: Vec<Value> = self
            .inner
            .lock()
            .messages
            .values()
            .filter(|m| m["channel_id"].as_str() == Some(channel.as_str()))
            .cloned()
            .collect();
        list.sort_by_key(msg_id);
        list
    }

    /// Deletes a message, as a moderator would in Discord's client: later
    /// edits of it get 404.
    pub fn delete_message(&self, id: u64) {
        self.inner.lock().messages.remove(&id);
    }

    /// The current original response of an interaction (after callback / PATCH @original).
    pub fn original_response(&self, sent: &SentInteraction) -> Option<Value> {
        self.inner.lock().originals.get(&sent.token).cloned()
    }

    /// The last registered commands (as echoed, with ids): `None` global, `Some(guild)`.
    pub fn commands(&self, guild: Option<u64>) -> Option<Vec<Value>> {
        self.inner.lock().commands.get(&guild).cloned()
    }
}

/// The default answer for a request: (status, JSON body or none for 204).
pub(super) fn default_reply(inner: &Arc<Inner>, rec: &Recorded) -> (u16, Option<Value>) {
    let Some(rest) = rec.path.strip_prefix("/api/v10/") else {
        return not_found();
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let body = rec.json.clone().unwrap_or(Value::Null);
    let ws_url = format!("ws{}/gateway-ws", inner.base.trim_start_matches("http"));
    match (rec.method.as_str(), parts.as_slice()) {
        ("GET", ["gateway"]) => (200, Some(json!({"url": ws_url}))),
        ("GET", ["gateway", "bot"]) => (
            200,
            Some(json!({
                "url": ws_url,
                "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
            })),
        ),
        ("GET", ["oauth2", "applications", "@me"]) => (
            200,
            Some(json!({
                "id": APPLICATION_ID.to_string(),
                "name": BOT_USERNAME,
                "icon": null,
                "description": "",
                "rpc_origins": [],
                "bot_public": false,
                "bot_require_code_grant": false,
                "owner": user_json(OWNER_ID, "owner", false),
                "verify_key": "0000",
                "team": null,
                "flags": 0,
                "bot": bot_user_json(),
            })),
        ),
        ("GET", ["users", "@me"]) => (200, Some(bot_user_json())),
        // Opening a DM: a fresh private channel with the recipient, whose
        // messages then go to `POST /channels/{id}/messages` like any other.
        ("POST", ["users", "@me", "channels"]) => {
            let recipient: u64 = body["recipient_id"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .or_else(|| body["recipient_id"].as_u64())
                .unwrap_or(0);
            (
                200,
                Some(json!({
                    "id": inner.next_id().to_string(),
                    "type": 1,
                    "last_message_id": null,
                    "recipients": [user_json(recipient, &format!("user{recipient}"), false)],
                })),
            )
        }
        // The bot is in GUILD_ID only; every channel is a text channel there.
        ("GET", ["guilds", guild]) if guild.parse() == Ok(GUILD_ID) => (
            200,
            Some(
                json!({"id": GUILD_ID.to_string(), "name": GUILD_NAME, "owner_id": OWNER_ID.to_string()}),
            ),
        ),
        ("GET", ["guilds", _]) => (
            404,
            Some(json!({"message": "Unknown Guild", "code": 10004})),
        ),
        // The channel's latest messages, newest first, as Discord lists them.
        ("GET", ["channels", channel, "messages"]) => {
            let limit = query_param(rec, "limit").unwrap_or(50).min(100);
            let channel = channel.to_string();
            let s = inner.lock();
            let mut list: Vec<&Value> = s
                .messages
                .values()
                .filter(|m| m["channel_id"].as_str() == Some(channel.as_str()))
                .collect();
            list.sort_by_key(|m| std::cmp::Reverse(msg_id(m)));
            let list: Vec<Value> = list.into_iter().take(limit).cloned().collect();
            (200, Some(Value::Array(list)))
        }
        ("GET", ["channels", channel]) => (
            200,
            Some(json!({
                "id": channel,
                "type": 0,
                "guild_id": GUILD_ID.to_string(),
                "name": format!("channel-{channel}"),
            })),
        ),
        ("POST", ["channels", channel, "messages"]) => {
            let channel: u64 = channel.parse().unwrap_or(0);
            let m = echo_message(inner, channel, &body, rec, None);
            inner.lock().messages.insert(msg_id(&m), m.clone());
            (200, Some(m))
        }
        // A channel message edit, or a webhook (interaction follow-up) edit;
        // `@original` is handled below.
        ("PATCH", ["channels", _, "messages", id] | ["webhooks", _, _, "messages", id])
            if *id != "@original" =>
        {
            let id: u64 = id.parse().unwrap_or(0);
            let mut s = inner.lock();
            match s.messages.get_mut(&id) {
                Some(m) => {
                    merge_edit(inner, m, &body, rec);
                    (200, Some(m.clone()))
                }
                None => not_found(),
            }
        }
        ("DELETE", ["channels", _, "messages", id]) => {
            let id: u64 = id.parse().unwrap_or(0);
            inner.lock().messages.remove(&id);
            (204, None)
        }
        ("POST", ["channels", _, "typing"]) => (204, None),
        ("POST", ["interactions", _, token, "callback"]) => {
            let kind = body["type"].as_u64().unwrap_or(0);
            // 4: message, 5: deferred message; 7 update / 6 deferred update
            // edit the component's message, which is not tracked here.
            if kind == 4 || kind == 5 {
                let channel = interaction_channel(inner, token);
                let data = if kind == 4 {
                    body["data"].clone()
                } else {
                    json!({})
                };
                let m = echo_message(inner, channel, &data, rec, Some(APPLICATION_ID));
                let mut s = inner.lock();
                s.messages.insert(msg_id(&m), m.clone());
                s.originals.insert(token.to_string(), m);
                if kind == 5 {
                    s.deferred.insert(token.to_string());
                } else {
                    s.deferred.remove(*token);
                }
            }
            (204, None)
        }
        ("GET", ["webhooks", _, token, "messages", "@original"]) => {
            match inner.lock().originals.get(*token) {
                Some(m) => (200, Some(m.clone())),
                None => not_found(),
            }
        }
        ("PATCH", ["webhooks", _, token, "messages", "@original"]) => {
            let channel = interaction_channel(inner, token);
            let fresh = echo_message(inner, channel, &json!({}), rec, Some(APPLICATION_ID));
            let mut s = inner.lock();
            let m = s.originals.entry(token.to_string()).or_insert(fresh);
            merge_edit(inner, m, &body, rec);
            let m = m.clone();
            s.messages.insert(msg_id(&m), m.clone());
            (200, Some(m))
        }
        ("DELETE", ["webhooks", ..]) => (204, None),
        ("POST", ["webhooks", _, token]) => {
            // As on Discord, the first follow-up after a deferred response
            // (callback type 5) fills in the "thinking…" original.
            let mut s = inner.lock();
            if s.deferred.remove(*token) {
                if let Some(m) = s.originals.get_mut(*token) {
                    merge_edit(inner, m, &body, rec);
                    let m = m.clone();
                    s.messages.insert(msg_id(&m), m.clone());
                    return (200, Some(m));
                }
            }
            drop(s);
            let channel = interaction_channel(inner, token);
            let m = echo_message(inner, channel, &body, rec, Some(APPLICATION_ID));
            inner.lock().messages.insert(msg_id(&m), m.clone());
            (200, Some(m))
        }
        ("PUT", ["applications", _, "commands"]) => {
            (200, Some(Value::Array(register(inner, None, &body))))
        }
        ("PUT", ["applications", _, "guilds", guild, "commands"]) => {
            let guild = guild.parse().ok();
            (200, Some(Value::Array(register(inner, guild, &body))))
        }
        ("GET", ["applications", _, "commands"]) => (
            200,
            Some(Value::Array(
                inner
                    .lock()
                    .commands
                    .get(&None)
                    .cloned()
                    .unwrap_or_default(),
            )),
        ),
        ("GET", ["applications", _, "guilds", guild, "commands"]) => {
            let guild: Option<u64> = guild.parse().ok();
            (
                200,
                Some(Value::Array(
                    inner
                        .lock()
                        .commands
                        .get(&guild)
                        .cloned()
                        .unwrap_or_default(),
                )),
            )
        }
        _ => not_found(),
    }
}

/// A number in the request's query string (serenity writes `?&a=1&b=2`).
fn query_param(rec: &Recorded, name: &str) -> Option<usize> {
    rec.query
        .as_deref()?
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
}

fn not_found() -> (u16, Option<Value>) {
    (404, Some(json!({"message": "404: Not Found", "code": 0})))
}

/// The channel of the interaction with this token, else [`CHANNEL_ID`].
fn interaction_channel(inner: &Arc<Inner>, token: &str) -> u64 {
    inner
        .lock()
        .interaction_channels
        .get(token)
        .copied()
        .unwrap_or(CHANNEL_ID)
}

/// A Message as Discord would return it for a create request `body`.
fn echo_message(
    inner: &Inner,
    channel_id: u64,
    body: &Value,
    rec: &Recorded,
    webhook: Option<u64>,
) -> Value {
    let content = body["content"].as_str().unwrap_or("");
    let mut m = message_json(
        inner.next_id(),
        channel_id,
        bot_user_json(),
        content,
        echo_attachments(inner, body, rec),
        None,
    );
    for key in ["embeds", "components", "tts", "flags"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            m[key] = v.clone();
        }
    }
    if let Some(w) = webhook {
        m["webhook_id"] = Value::String(w.to_string());
        m["application_id"] = Value::String(w.to_string());
    }
    m
}

fn merge_edit(inner: &Inner, m: &mut Value, body: &Value, rec: &Recorded) {
    for key in ["content", "embeds", "components", "flags"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            m[key] = v.clone();
        }
    }
    if body.get("attachments").is_some() || !rec.files.is_empty() {
        m["attachments"] = Value::Array(echo_attachments(inner, body, rec));
    }
    m["edited_timestamp"] = Value::String(serenity::Timestamp::now().to_string());
}

/// Attachments of a create/edit: new uploads (`files[n]` parts) and kept ones.
fn echo_attachments(inner: &Inner, body: &Value, rec: &Recorded) -> Vec<Value> {
    let mut out = Vec::new();
    for f in &rec.files {
        let id = inner.next_id();
        out.push(json!({
            "id": id.to_string(),
            "filename": f.filename,
            "size": f.bytes.len(),
            "url": format!("https://cdn.discordapp.com/attachments/0/{id}/{}", f.filename),
            "proxy_url": format!("https://media.discordapp.net/attachments/0/{id}/{}", f.filename),
            "content_type": f.content_type,
        }));
    }
    if let Some(kept) = body["attachments"].as_array() {
        for a in kept {
            // Existing attachments are referenced by real (string/large) ids.
            if a.get("filename").is_none() && a["id"].as_str().is_some() {
                out.push(json!({
                    "id": a["id"],
                    "filename": "kept",
                    "size": 0,
                    "url": "https://cdn.discordapp.com/attachments/kept",
                    "proxy_url": "https://media.discordapp.net/attachments/kept",
                }));
            }
        }
    }
    out
}

/// Stores and echoes registered commands with ids, as Discord does.
fn register(inner: &Arc<Inner>, guild: Option<u64>, body: &Value) -> Vec<Value> {
    let cmds: Vec<Value> = body
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut c| {
            let id = inner.next_id();
            c["id"] = Value::String(id.to_string());
            c["application_id"] = Value::String(APPLICATION_ID.to_string());
            c["version"] = Value::String(id.to_string());
            if c.get("type").is_none() {
                c["type"] = json!(1);
            }
            if c.get("description").is_none() {
                c["description"] = Value::String(String::new());
            }
            if let Some(g) = guild {
                c["guild_id"] = Value::String(g.to_string());
            }
            c
        })
        .collect();
    inner.lock().commands.insert(guild, cmds.clone());
    cmds
}
