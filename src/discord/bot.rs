//! The poise layer: slash command declarations that call the plain reply
//! functions, the conversion of a [`Reply`] to Discord's types, button and
//! message events, and the bot's start and stop. Nothing here decides
//! anything the functions in `commands`, `admin` and `relay` do not.

use super::admin::{self, AdminAction, Caller, Permissions};
use super::commands::{self, SERVER_QUERY_TIMEOUT};
use super::outbox::Outbox;
use super::relay;
use super::reply::{escape, Reply};
use super::routes::Routes;
use crate::config::Settings;
use crate::handlers::Context as AppContext;
use crate::model::Mode;
use crate::store::{Store, StoreResult};
use poise::serenity_prelude as serenity;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

type Error = Box<dyn std::error::Error + Send + Sync>;
type Ctx<'a> = poise::Context<'a, BotData, Error>;

/// What every command can reach.
pub struct BotData {
    app: Arc<AppContext>,
    routes: Routes,
    permissions: Permissions,
}

/// The game modes as a slash command choice.
#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum ModeChoice {
    #[name = "dm"]
    Dm,
    #[name = "tdm"]
    Tdm,
    #[name = "ctf"]
    Ctf,
    #[name = "svl"]
    Svl,
    #[name = "zbr"]
    Zbr,
}

impl From<ModeChoice> for Mode {
    fn from(choice: ModeChoice) -> Mode {
        match choice {
            ModeChoice::Dm => Mode::Dm,
            ModeChoice::Tdm => Mode::Tdm,
            ModeChoice::Ctf => Mode::Ctf,
            ModeChoice::Svl => Mode::Svl,
            ModeChoice::Zbr => Mode::Zbr,
        }
    }
}

/// Runs a synchronous store query off the async workers.
async fn blocking<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    Ok(tokio::task::spawn_blocking(job).await?)
}

/// Builds a reply from the store off the async workers and sends it.
async fn send_from_store(
    ctx: Ctx<'_>,
    build: impl FnOnce(&dyn Store) -> StoreResult<Reply> + Send + 'static,
) -> Result<(), Error> {
    let store = ctx.data().app.store.clone();
    let reply = blocking(move || build(store.as_ref())).await??;
    ctx.send(to_poise(reply)).await?;
    Ok(())
}

/// A [`Reply`] as poise sends it (mentions are off framework-wide).
fn to_poise(reply: Reply) -> poise::CreateReply {
    let mut out = poise::CreateReply::default()
        .content(reply.content.clone())
        .ephemeral(reply.ephemeral);
    if let Some(embed) = &reply.embed {
        out = out.embed(to_embed(embed, reply.image.as_ref()));
    }
    if !reply.buttons.is_empty() {
        out = out.components(to_components(&reply));
    }
    if let Some(image) = reply.image {
        out = out.attachment(serenity::CreateAttachment::bytes(image.png, image.filename));
    }
    out
}

fn to_embed(
    embed: &super::reply::Embed,
    image: Option<&super::reply::Image>,
) -> serenity::CreateEmbed {
    let mut out = serenity::CreateEmbed::new().title(&embed.title);
    if !embed.description.is_empty() {
        out = out.description(&embed.description);
    }
    for (name, value, inline) in &embed.fields {
        out = out.field(name, value, *inline);
    }
    if let (true, Some(image)) = (embed.show_image, image) {
        out = out.image(format!("attachment://{}", image.filename));
    }
    out
}

fn to_components(reply: &Reply) -> Vec<serenity::CreateActionRow> {
    vec![serenity::CreateActionRow::Buttons(
        reply
            .buttons
            .iter()
            .map(|b| {
                serenity::CreateButton::new(&b.custom_id)
                    .label(&b.label)
                    .style(serenity::ButtonStyle::Secondary)
                    .disabled(b.disabled)
            })
            .collect(),
    )]
}

async fn autocomplete_player(ctx: Ctx<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let (store, partial) = (ctx.data().app.store.clone(), partial.to_string());
    let choices = blocking(move || commands::player_choices(store.as_ref(), &partial))
        .await
        .unwrap_or_default();
    serenity::CreateAutocompleteResponse::new().set_choices(
        choices
            .into_iter()
            .map(|(label, value)| serenity::AutocompleteChoice::new(label, value))
            .collect(),
    )
}

async fn autocomplete_server(ctx: Ctx<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let names = commands::server_choices(ctx.data().app.servers(), partial);
    serenity::CreateAutocompleteResponse::new().set_choices(
        names
            .into_iter()
            .map(serenity::AutocompleteChoice::from)
            .collect(),
    )
}

/// A mode's leaderboard, with previous/next page buttons.
#[poise::command(slash_command)]
async fn leaderboard(
    ctx: Ctx<'_>,
    #[description = "Game mode"] mode: ModeChoice,
    #[description = "Page (10 players per page)"]
    #[min = 1]
    page: Option<u32>,
) -> Result<(), Error> {
    let page = page.unwrap_or(1) as usize;
    send_from_store(ctx, move |store| {
        commands::leaderboard(store, mode.into(), page)
    })
    .await
}

/// A player's rating in one mode or in every mode they played.
#[poise::command(slash_command)]
async fn rating(
    ctx: Ctx<'_>,
    #[description = "Name (or part of it) or profile id"]
    #[autocomplete = "autocomplete_player"]
    player: String,
    #[description = "Game mode (all when left out)"] mode: Option<ModeChoice>,
) -> Result<(), Error> {
    send_from_store(ctx, move |store| {
        commands::rating(store, &player, mode.map(Mode::from))
    })
    .await
}

/// A player's stats per mode, names, clan and rating history chart.
#[poise::command(slash_command)]
async fn profile(
    ctx: Ctx<'_>,
    #[description = "Name (or part of it) or profile id"]
    #[autocomplete = "autocomplete_player"]
    player: String,
) -> Result<(), Error> {
    ctx.defer().await?;
    send_from_store(ctx, move |store| commands::profile(store, &player)).await
}

/// Every configured game server: connection, map, mode, players, scores.
#[poise::command(slash_command)]
async fn servers(ctx: Ctx<'_>) -> Result<(), Error> {
    ctx.defer().await?;
    let reply = commands::servers(ctx.data().app.servers(), SERVER_QUERY_TIMEOUT).await;
    ctx.send(to_poise(reply)).await?;
    Ok(())
}

/// Who invoked a command, with the roles the interaction reports (no cache
/// or HTTP lookup needed).
fn caller_of(ctx: Ctx<'_>) -> Caller {
    let author = ctx.author();
    let member = match ctx {
        poise::Context::Application(app) => app.interaction.member.as_deref(),
        poise::Context::Prefix(_) => None,
    };
    Caller {
        user_id: author.id.get(),
        user_name: author.name.clone(),
        role_ids: member
            .map(|m| m.roles.iter().map(|r| r.get()).collect())
            .unwrap_or_default(),
    }
}

async fn run_admin(ctx: Ctx<'_>, server: String, action: AdminAction) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let caller = caller_of(ctx);
    let data = ctx.data();
    let reply = admin::run(&data.app, &data.permissions, &caller, &server, action).await;
    ctx.send(to_poise(reply)).await?;
    Ok(())
}

/// Run a console command on a game server (admins only).
#[poise::command(slash_command, default_member_permissions = "MANAGE_GUILD")]
async fn rcon(
    ctx: Ctx<'_>,
    #[description = "Server name"]
    #[autocomplete = "autocomplete_server"]
    server: String,
    #[description = "Console command"] command: String,
) -> Result<(), Error> {
    run_admin(ctx, server, AdminAction::Rcon { command }).await
}

/// Say something in a game server's chat (admins only).
#[poise::command(
    slash_command,
    rename = "say",
    default_member_permissions = "MANAGE_GUILD"
)]
async fn say_cmd(
    ctx: Ctx<'_>,
    #[description = "Server name"]
    #[autocomplete = "autocomplete_server"]
    server: String,
    #[description = "Text"] text: String,
) -> Result<(), Error> {
    run_admin(ctx, server, AdminAction::Say { text }).await
}

/// Kick a player from a game server (admins only).
#[poise::command(slash_command, default_member_permissions = "MANAGE_GUILD")]
async fn kick(
    ctx: Ctx<'_>,
    #[description = "Server name"]
    #[autocomplete = "autocomplete_server"]
    server: String,
    #[description = "Player name as shown in game"] player: String,
    #[description = "Reason shown to the player"] reason: Option<String>,
) -> Result<(), Error> {
    run_admin(ctx, server, AdminAction::Kick { player, reason }).await
}

/// Ban a player from a game server (admins only).
#[poise::command(slash_command, default_member_permissions = "MANAGE_GUILD")]
async fn ban(
    ctx: Ctx<'_>,
    #[description = "Server name"]
    #[autocomplete = "autocomplete_server"]
    server: String,
    #[description = "Player name as shown in game"] player: String,
    #[description = "Reason shown to the player"] reason: Option<String>,
) -> Result<(), Error> {
    run_admin(ctx, server, AdminAction::Ban { player, reason }).await
}

/// Every slash command the bot registers.
pub fn all_commands() -> Vec<poise::Command<BotData, Error>> {
    vec![
        leaderboard(),
        rating(),
        profile(),
        servers(),
        rcon(),
        say_cmd(),
        kick(),
        ban(),
    ]
}

/// Buttons (leaderboard pages) and messages in bridged chat channels.
async fn on_event(
    framework: poise::FrameworkContext<'_, BotData, Error>,
    event: &serenity::FullEvent,
) -> Result<(), Error> {
    let (http, data) = (&framework.serenity_context.http, framework.user_data);
    match event {
        serenity::FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Component(click),
        } => {
            let Some((mode, page)) = commands::parse_page_button(&click.data.custom_id) else {
                return Ok(());
            };
            let store = data.app.store.clone();
            let reply =
                blocking(move || commands::leaderboard(store.as_ref(), mode, page)).await??;
            let mut message = serenity::CreateInteractionResponseMessage::new()
                .components(to_components(&reply))
                .allowed_mentions(serenity::CreateAllowedMentions::new());
            if let Some(embed) = &reply.embed {
                message = message.embed(to_embed(embed, None));
            }
            click
                .create_response(
                    http,
                    serenity::CreateInteractionResponse::UpdateMessage(message),
                )
                .await?;
        }
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

/// Posts every announcement (escaped, mentions off) to its channel.
fn forward_announcements(app: &AppContext, routes: Routes, outbox: Outbox) -> JoinHandle<()> {
    let mut announcements = app.subscribe();
    tokio::spawn(async move {
        loop {
            match announcements.recv().await {
                Ok(a) => {
                    if let Some(channel) = routes.channel(a.server.as_deref(), a.topic) {
                        outbox.push(channel, escape(&a.text));
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
pub fn http_client(token: &str, proxy: Option<&str>) -> serenity::Http {
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
    stop_outbox: CancellationToken,
    /// The outbox's sender task.
    sender: JoinHandle<()>,
}

/// Why the bot did not start.
#[derive(Debug, thiserror::Error)]
#[error("the Discord bot could not start: {0}")]
pub struct BotError(String);

/// What a client is built from; kept so it can be built again.
#[derive(Clone)]
struct ClientSpec {
    token: String,
    proxy: Option<String>,
    guild: Option<serenity::GuildId>,
    app: Arc<AppContext>,
    routes: Routes,
    permissions: Permissions,
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
            .map_err(|e| BotError(e.to_string()))
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
        app: Arc<AppContext>,
    ) -> Result<Bot, BotError> {
        let spec = ClientSpec {
            token: token.to_string(),
            proxy: settings.discord_api_proxy.clone(),
            guild: settings.discord.guild_id.map(serenity::GuildId::new),
            app: app.clone(),
            routes: Routes::new(settings),
            permissions: Permissions::new(&settings.discord),
        };
        let read_messages = !spec.routes.chat_channels().is_empty();
        let client = spec.build(read_messages).await?;
        let stop_outbox = CancellationToken::new();
        let (outbox, sender) = Outbox::start(client.http.clone(), stop_outbox.clone());
        let forwarder = forward_announcements(&app, spec.routes.clone(), outbox);
        let shards = Arc::new(std::sync::Mutex::new(client.shard_manager.clone()));
        let client = tokio::spawn(run_client(client, spec, read_messages, shards.clone()));
        Ok(Bot {
            shards,
            client,
            forwarder,
            stop_outbox,
            sender,
        })
    }

    /// Disconnects, after a last attempt (at most 2 s) to post what is queued.
    pub async fn stop(self) {
        let limit = std::time::Duration::from_secs(2);
        self.forwarder.abort();
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
