//! The gateway events tests send: slash commands, autocomplete, button
//! clicks and selects (`INTERACTION_CREATE`) and chat messages
//! (`MESSAGE_CREATE`), from an [`Actor`]; each checked against serenity's
//! own model types before it goes out.

use super::payloads::{bot_user_json, message_json, user_json};
use super::rest::Recorded;
use super::{FakeDiscord, APPLICATION_ID, CHANNEL_ID, GUILD_ID};
use poise::serenity_prelude as serenity;
use serde_json::{json, Value};

/// Who does something in a `send_*` helper: a guild member (default) or a DM user.
#[derive(Clone, Debug)]
pub struct Actor {
    /// The user's id.
    pub user_id: u64,
    /// The user's `username`.
    pub username: String,
    /// Role ids of the member (ignored in DMs).
    pub roles: Vec<u64>,
    /// The member's resolved permissions (interaction `member.permissions`).
    pub permissions: u64,
    /// Where it happens.
    pub channel_id: u64,
    /// `Some(guild)` for a guild, `None` for a DM.
    pub guild_id: Option<u64>,
}

impl Actor {
    /// A member of [`GUILD_ID`] in [`CHANNEL_ID`], no roles, basic permissions.
    pub fn user(user_id: u64) -> Self {
        Self {
            user_id,
            username: format!("user{user_id}"),
            roles: Vec::new(),
            // VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY | USE_APPLICATION_COMMANDS
            permissions: (1 << 10) | (1 << 11) | (1 << 16) | (1 << 31),
            channel_id: CHANNEL_ID,
            guild_id: Some(GUILD_ID),
        }
    }

    /// With these member roles.
    pub fn roles(mut self, roles: &[u64]) -> Self {
        self.roles = roles.to_vec();
        self
    }

    /// With these member permission bits.
    pub fn permissions(mut self, bits: u64) -> Self {
        self.permissions = bits;
        self
    }

    /// In this channel.
    pub fn in_channel(mut self, channel_id: u64) -> Self {
        self.channel_id = channel_id;
        self
    }

    /// In a DM (no guild, no member).
    pub fn dm(mut self) -> Self {
        self.guild_id = None;
        self
    }

    /// With this user name.
    pub fn named(mut self, username: &str) -> Self {
        self.username = username.to_string();
        self
    }

    fn user_json(&self) -> Value {
        user_json(self.user_id, &self.username, false)
    }

    fn member_json(&self, with_user: bool, with_permissions: bool) -> Value {
        let mut m = json!({
            "roles": self.roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            "nick": null,
            "avatar": null,
            "joined_at": "2024-01-01T00:00:00.000000+00:00",
            "premium_since": null,
            "deaf": false,
            "mute": false,
            "flags": 0,
            "pending": false,
            "communication_disabled_until": null,
        });
        if with_user {
            m["user"] = self.user_json();
        }
        if with_permissions {
            m["permissions"] = Value::String(self.permissions.to_string());
        }
        m
    }
}

/// An interaction the fake sent, to find the bot's reply by.
#[derive(Clone, Debug)]
pub struct SentInteraction {
    /// The interaction id.
    pub id: u64,
    /// The interaction token.
    pub token: String,
    /// The full `INTERACTION_CREATE` `d` payload sent.
    pub payload: Value,
}

impl SentInteraction {
    /// `/api/v10/interactions/{id}/{token}/callback`: the initial response.
    pub fn callback_path(&self) -> String {
        format!("/api/v10/interactions/{}/{}/callback", self.id, self.token)
    }

    /// `/api/v10/webhooks/{app}/{token}`: follow-ups (POST) and, below it,
    /// `/messages/@original` (PATCH after a defer).
    pub fn webhook_path(&self) -> String {
        format!("/api/v10/webhooks/{APPLICATION_ID}/{}", self.token)
    }

    /// Whether `r` is any REST call answering this interaction (callback or webhook).
    pub fn is_reply(&self, r: &Recorded) -> bool {
        r.path == self.callback_path() || r.path.starts_with(&self.webhook_path())
    }
}

/// `{"name", "type", "value"}` for a slash-command option, the type taken from
/// the JSON value: string 3, integer 4, boolean 5, float 10.
pub fn opt(name: &str, value: impl Into<Value>) -> Value {
    let value = value.into();
    let kind = match &value {
        Value::String(_) => 3,
        Value::Bool(_) => 5,
        Value::Number(n) if n.is_i64() || n.is_u64() => 4,
        Value::Number(_) => 10,
        other => panic!("opt({name}): use opt_typed for {other}"),
    };
    json!({"name": name, "type": kind, "value": value})
}

/// An option with an explicit type (6 user, 7 channel, 8 role, 9 mentionable,
/// 11 attachment take snowflake strings). A user option's user is added to
/// `resolved.users` (and `members` in a guild) automatically.
pub fn opt_typed(name: &str, kind: u8, value: impl Into<Value>) -> Value {
    json!({"name": name, "type": kind, "value": value.into()})
}

/// A subcommand (type 1) with its options.
pub fn subcommand(name: &str, options: Value) -> Value {
    json!({"name": name, "type": 1, "options": options})
}

/// A subcommand group (type 2) with its subcommands.
pub fn subcommand_group(name: &str, subcommands: Value) -> Value {
    json!({"name": name, "type": 2, "options": subcommands})
}

/// Marks an option as the one being typed (autocomplete): `"focused": true`.
pub fn focused(mut option: Value) -> Value {
    option["focused"] = Value::Bool(true);
    option
}

impl FakeDiscord {
    /// Sends a slash-command `INTERACTION_CREATE` (type 2) for `/name` with
    /// `options` (a JSON array, see [`opt`], [`subcommand`]).
    pub async fn send_command(&self, name: &str, options: Value, actor: &Actor) -> SentInteraction {
        self.send_command_interaction(2, name, options, actor).await
    }

    /// Sends an autocomplete `INTERACTION_CREATE` (type 4) for `/name`; mark the
    /// option being typed with `"focused": true` (see [`focused`]).
    pub async fn send_autocomplete(
        &self,
        name: &str,
        options: Value,
        actor: &Actor,
    ) -> SentInteraction {
        self.send_command_interaction(4, name, options, actor).await
    }

    async fn send_command_interaction(
        &self,
        kind: u8,
        name: &str,
        options: Value,
        actor: &Actor,
    ) -> SentInteraction {
        let (command_id, command_guild) = self.command_id(name, actor.guild_id);
        let mut resolved = json!({});
        collect_resolved_users(&options, actor, &mut resolved);
        let mut data = json!({
            "id": command_id.to_string(),
            "name": name,
            "type": 1,
            "options": options,
            "resolved": resolved,
        });
        if let Some(g) = command_guild {
            data["guild_id"] = Value::String(g.to_string());
        }
        self.send_interaction(kind, data, None, actor).await
    }

    /// Sends a button click (`MESSAGE_COMPONENT`, type 3, component_type 2) on
    /// message `message_id` with `custom_id`. The message is the one the bot
    /// created through the fake if known, else a minimal bot message.
    pub async fn send_button_click(
        &self,
        custom_id: &str,
        message_id: u64,
        actor: &Actor,
    ) -> SentInteraction {
        self.send_component(
            json!({"custom_id": custom_id, "component_type": 2}),
            message_id,
            actor,
        )
        .await
    }

    /// Sends a string-select choice (`MESSAGE_COMPONENT`, component_type 3).
    pub async fn send_select(
        &self,
        custom_id: &str,
        values: &[&str],
        message_id: u64,
        actor: &Actor,
    ) -> SentInteraction {
        self.send_component(
            json!({"custom_id": custom_id, "component_type": 3, "values": values}),
            message_id,
            actor,
        )
        .await
    }

    async fn send_component(&self, data: Value, message_id: u64, actor: &Actor) -> SentInteraction {
        let message = self.message(message_id).unwrap_or_else(|| {
            message_json(
                message_id,
                actor.channel_id,
                bot_user_json(),
                "",
                Vec::new(),
                None,
            )
        });
        self.send_interaction(3, data, Some(message), actor).await
    }

    /// Sends an `INTERACTION_CREATE` of `kind` with this `data` (and `message`
    /// for components): the general form of the helpers above.
    pub async fn send_interaction(
        &self,
        kind: u8,
        data: Value,
        message: Option<Value>,
        actor: &Actor,
    ) -> SentInteraction {
        let id = self.inner.next_id();
        let token = format!("fake-interaction-token-{id}");
        let mut d = json!({
            "id": id.to_string(),
            "application_id": APPLICATION_ID.to_string(),
            "type": kind,
            "data": data,
            "channel_id": actor.channel_id.to_string(),
            "channel": {"id": actor.channel_id.to_string(), "type": if actor.guild_id.is_some() { 0 } else { 1 }},
            "token": token,
            "version": 1,
            "app_permissions": "2251799813685247",
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 10_485_760,
        });
        match actor.guild_id {
            Some(g) => {
                d["guild_id"] = Value::String(g.to_string());
                d["guild_locale"] = Value::String("en-US".into());
                d["member"] = actor.member_json(true, true);
                d["authorizing_integration_owners"] = json!({"0": g.to_string()});
                d["context"] = json!(0);
            }
            None => {
                d["user"] = actor.user_json();
                d["authorizing_integration_owners"] = json!({"0": "0"});
                d["context"] = json!(1);
            }
        }
        if let Some(m) = message {
            d["message"] = m;
        }
        if let Err(e) = serde_json::from_value::<serenity::Interaction>(d.clone()) {
            panic!("fake discord built an interaction serenity rejects: {e}\n{d:#}");
        }
        self.inner
            .lock()
            .interaction_channels
            .insert(token.clone(), actor.channel_id);
        self.send_dispatch("INTERACTION_CREATE", d.clone()).await;
        SentInteraction {
            id,
            token,
            payload: d,
        }
    }

    /// Sends `MESSAGE_CREATE` for a user message in a guild channel of
    /// [`GUILD_ID`]; returns the message id.
    pub async fn send_message_create(
        &self,
        channel_id: u64,
        author_id: u64,
        roles: &[u64],
        content: &str,
    ) -> u64 {
        let actor = Actor::user(author_id).roles(roles).in_channel(channel_id);
        self.send_message_create_as(&actor, content).await
    }

    /// Sends `MESSAGE_CREATE` from `actor` (guild message with `member`, or a DM).
    pub async fn send_message_create_as(&self, actor: &Actor, content: &str) -> u64 {
        let id = self.inner.next_id();
        let mut m = message_json(
            id,
            actor.channel_id,
            actor.user_json(),
            content,
            Vec::new(),
            actor.guild_id,
        );
        if actor.guild_id.is_some() {
            m["member"] = actor.member_json(false, false);
        }
        if let Err(e) = serde_json::from_value::<serenity::Message>(m.clone()) {
            panic!("fake discord built a message serenity rejects: {e}\n{m:#}");
        }
        self.send_dispatch("MESSAGE_CREATE", m).await;
        id
    }

    fn command_id(&self, name: &str, guild: Option<u64>) -> (u64, Option<u64>) {
        let s = self.inner.lock();
        let find = |key: Option<u64>| {
            s.commands.get(&key).and_then(|cmds| {
                cmds.iter()
                    .find(|c| c["name"] == name)
                    .and_then(|c| c["id"].as_str()?.parse().ok())
            })
        };
        if let Some(id) = guild.and_then(|g| find(Some(g))) {
            return (id, guild);
        }
        if let Some(id) = find(None) {
            return (id, None);
        }
        (1_000_000_000_000_000_000 + name.len() as u64, None)
    }
}

fn collect_resolved_users(options: &Value, actor: &Actor, resolved: &mut Value) {
    let Some(options) = options.as_array() else {
        return;
    };
    for o in options {
        if o["type"] == 6 || o["type"] == 9 {
            if let Some(id) = o["value"].as_str() {
                let other = Actor {
                    user_id: id.parse().unwrap_or(0),
                    username: format!("user{id}"),
                    roles: Vec::new(),
                    ..actor.clone()
                };
                resolved["users"][id] = other.user_json();
                if actor.guild_id.is_some() {
                    resolved["members"][id] = other.member_json(false, true);
                }
            }
        }
        if o.get("options").is_some() {
            collect_resolved_users(&o["options"], actor, resolved);
        }
    }
}
