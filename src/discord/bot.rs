//! The bot's life: the poise framework and serenity client built from the
//! settings, gateway events (button clicks, bridged chat messages) and
//! command errors, announcements forwarded to the outbox, the live board's
//! tasks, a restart without
//! the Message Content intent when Discord refuses it, and the stop. The
//! commands themselves are declared in `slash`.

use super::admin::{Caller, Permissions};
use super::board::Boards;
use super::card::result_panel;
use super::outbox::Outbox;
use super::relay;
use super::reply::escape;
use super::routes::Routes;
use super::slash::{self, all_commands, BotData, Error};
use crate::config::Settings;
use crate::handlers;
use crate::rater::RatingParams;

use poise::serenity_prelude as serenity;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

/// Buttons (leaderboard pages) and messages in bridged chat channels.
async fn on_event(
    framework: poise::FrameworkContext<'_, BotData, Error>,
    event: &serenity::FullEvent,
) -> Result<(), Error> {
    let (http, data) = (&framework.serenity_context.http, framework.user_data);
    match event {
        serenity::FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Component(click),
        } => slash::turn_page(http, data, click).await?,
        serenity::FullEvent::Message { new_message: m } if !m.author.bot => {
            if data.routes.bridged(m.channel_id.get()).is_empty() || m.content.trim().is_empty() {
                return Ok(());
            }
            let caller = Caller {
                user_id: m.author.id.get(),
                user_name: m
                    .member
                    .as_ref()
                    .and_then(|member| member.nick.clone())
                    .unwrap_or_else(|| m.author.display_name().to_string()),
                role_ids: m
                    .member
                    .as_ref()
                    .map(|member| member.roles.iter().map(|r| r.get()).collect())
                    .unwrap_or_default(),
            };
            let relayed = relay::to_game(
                &data.app,
                &data.routes,
                &data.permissions,
                m.channel_id.get(),
                &caller,
                &m.content,
            )
            .await;
            if let Err(why) = relayed {
                tracing::debug!(
                    channel_id = m.channel_id.get(),
                    "message not relayed: {why}"
                );
            }
        }
        _ => {}
    }
    Ok(())
}

async fn on_error(error: poise::FrameworkError<'_, BotData, Error>) {
    match error {
        poise::FrameworkError::Command { error, ctx, .. } => {
            error!(command = %ctx.command().name, "command failed: {error}");
            let reply = poise::CreateReply::default()
                .content("Something went wrong; the error is in bman's log.")
                .ephemeral(true);
            let _ = ctx.send(reply).await;
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                warn!("while handling a bot error: {e}");
            }
        }
    }
}

/// Posts every announcement to its channel: its card as an embed, else its
/// text (escaped); mentions off either way.
fn forward_announcements(
    app: &handlers::Context,
    routes: Routes,
    outbox: Outbox,
) -> JoinHandle<()> {
    let mut announcements = app.subscribe();
    tokio::spawn(async move {
        loop {
            match announcements.recv().await {
                Ok(a) => {
                    if let Some(channel) = routes.channel(a.server.as_deref(), a.topic) {
                        match &a.card {
                            Some(card) => outbox.push_card(channel, result_panel(card)),
                            None => outbox.push(channel, escape(&a.text)),
                        }
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    warn!("the Discord bot fell behind; {n} announcements were not posted")
                }
                Err(RecvError::Closed) => break,
            }
        }
    })
}

/// The Discord side's HTTP client: discord.com, or `DISCORD_API_PROXY`.
/// serenity's own rate limiter sends its requests straight to discord.com,
/// bypassing the proxy, so behind a proxy it is off: the proxy owns the
/// buckets, and the outbox still waits out any 429 it passes on.
pub(crate) fn http_client(token: &str, proxy: Option<&str>) -> serenity::Http {
    let mut builder = serenity::HttpBuilder::new(token);
    if let Some(proxy) = proxy {
        builder = builder
            .proxy(proxy.trim_end_matches('/'))
            .ratelimiter_disabled(true);
    }
    builder.build()
}

/// A running bot.
pub struct Bot {
    /// The live client's shards (replaced when the client is rebuilt).
    shards: Arc<std::sync::Mutex<Arc<serenity::ShardManager>>>,
    client: JoinHandle<()>,
    forwarder: JoinHandle<()>,
    /// DMs confirming links made in game.
    confirmations: JoinHandle<()>,
    /// The live board's tasks, one per server with a status channel.
    boards: Boards,
    outbox: Outbox,
    stop_outbox: CancellationToken,
    /// The outbox's sender task.
    sender: JoinHandle<()>,
}

/// Why the bot did not start.
#[derive(Debug, thiserror::Error)]
#[error("the Discord bot could not start: {0}")]
pub struct BotError(#[source] serenity::Error);

/// What a client is built from; kept so it can be built again.
#[derive(Clone)]
struct ClientSpec {
    token: String,
    proxy: Option<String>,
    guild: Option<serenity::GuildId>,
    app: Arc<handlers::Context>,
    routes: Routes,
    permissions: Permissions,
    rating: RatingParams,
}

impl ClientSpec {
    /// A serenity client with the poise framework; `read_messages` adds
    /// the (privileged) intents the Discord-to-game relay needs.
    async fn build(&self, read_messages: bool) -> Result<serenity::Client, BotError> {
        let mut intents = serenity::GatewayIntents::GUILDS;
        if read_messages {
            intents |= serenity::GatewayIntents::GUILD_MESSAGES
                | serenity::GatewayIntents::MESSAGE_CONTENT;
        }
        let guild = self.guild;
        let data = BotData {
            app: self.app.clone(),
            routes: self.routes.clone(),
            permissions: self.permissions.clone(),
            rating: self.rating,
        };
        let framework = poise::Framework::builder()
            .options(poise::FrameworkOptions {
                commands: all_commands(),
                event_handler: |framework, event| Box::pin(on_event(framework, event)),
                on_error: |error| Box::pin(on_error(error)),
                allowed_mentions: Some(serenity::CreateAllowedMentions::new()),
                ..Default::default()
            })
            .setup(move |ctx, ready, framework| {
                Box::pin(async move {
                    let commands = &framework.options().commands;
                    match guild {
                        Some(guild) => {
                            poise::builtins::register_in_guild(ctx, commands, guild).await?
                        }
                        None => poise::builtins::register_globally(ctx, commands).await?,
                    }
                    info!(
                        "Discord bot connected as {}; {} slash commands registered {}",
                        ready.user.name,
                        commands.len(),
                        match guild {
                            Some(g) => format!("in guild {g}"),
                            None => "globally (they can take up to an hour to appear)".into(),
                        }
                    );
                    Ok(data)
                })
            })
            .build();
        let http = http_client(&self.token, self.proxy.as_deref());
        serenity::ClientBuilder::new_with_http(http, intents)
            .framework(framework)
            .await
            .map_err(BotError)
    }
}

/// Runs the client until it stops. If Discord refuses the message content
/// intent (not switched on for the application), the bot goes on without
/// the Discord-to-game relay instead of going offline.
async fn run_client(
    mut client: serenity::Client,
    spec: ClientSpec,
    mut read_messages: bool,
    shards: Arc<std::sync::Mutex<Arc<serenity::ShardManager>>>,
) {
    loop {
        match client.start().await {
            Ok(()) => return,
            Err(serenity::Error::Gateway(serenity::GatewayError::DisallowedGatewayIntents))
                if read_messages => {}
            Err(e) => {
                error!("the Discord bot stopped: {e} (recording goes on)");
                return;
            }
        }
        warn!("Discord refused the Message Content intent: messages in the chat channel are not relayed to the game. Switch on \"Message Content Intent\" for the bot in the Discord developer portal and restart bman (README: Discord setup). Everything else keeps working.");
        read_messages = false;
        client = match spec.build(false).await {
            Ok(client) => client,
            Err(e) => {
                error!("{e} (recording goes on)");
                return;
            }
        };
        *shards.lock().unwrap_or_else(|e| e.into_inner()) = client.shard_manager.clone();
    }
}

impl Bot {
    /// Connects the bot with `token`, next to the running ingest of `app`.
    pub async fn start(
        settings: &Settings,
        token: &str,
        app: Arc<handlers::Context>,
    ) -> Result<Bot, BotError> {
        let spec = ClientSpec {
            token: token.to_string(),
            proxy: settings.discord_api_proxy.clone(),
            guild: settings.discord.guild_id.map(serenity::GuildId::new),
            app: app.clone(),
            routes: Routes::new(settings),
            permissions: Permissions::new(&settings.discord),
            rating: crate::pipeline::rating_params(settings),
        };
        let read_messages = !spec.routes.chat_channels().is_empty();
        let client = spec.build(read_messages).await?;
        let stop_outbox = CancellationToken::new();
        let (outbox, sender) = Outbox::start(
            client.http.clone(),
            stop_outbox.clone(),
            app.metrics.discord.clone(),
        );
        let confirmations = super::link::send_confirmations(client.http.clone(), &app.links);
        let boards = Boards::spawn(client.http.clone(), &app, &spec.routes, &outbox);
        let forwarder = forward_announcements(&app, spec.routes.clone(), outbox.clone());
        let shards = Arc::new(std::sync::Mutex::new(client.shard_manager.clone()));
        let client = tokio::spawn(run_client(client, spec, read_messages, shards.clone()));
        Ok(Bot {
            shards,
            client,
            forwarder,
            confirmations,
            boards,
            outbox,
            stop_outbox,
            sender,
        })
    }

    /// Disconnects, after a last attempt (at most 2 s) to post what is queued.
    pub async fn stop(self) {
        let limit = std::time::Duration::from_secs(2);
        self.forwarder.abort();
        self.confirmations.abort();
        self.boards.stop(&self.outbox);
        self.stop_outbox.cancel();
        let _ = tokio::time::timeout(limit, self.sender).await;
        let shards = self
            .shards
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        shards.shutdown_all().await;
        let _ = tokio::time::timeout(limit, self.client).await;
    }
}
