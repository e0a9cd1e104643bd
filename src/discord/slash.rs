//! The slash commands as Discord sees them: their declarations (names,
//! options, autocompletion, permissions) calling the plain functions of
//! `commands` and `admin`, the leaderboard's page buttons, and a [`Reply`]
//! converted to Discord's types.

use super::admin::{self, AdminAction, Caller, Permissions};
use super::bans::{self, BanArgs};
use super::commands::{self, SERVER_QUERY_TIMEOUT};
use super::link;
use super::reply::{Embed, Image, Reply};
use super::routes::Routes;
use crate::handlers;
use crate::model::Mode;
use crate::rater::RatingParams;
use crate::store::{Store, StoreResult};
use poise::serenity_prelude as serenity;
use std::sync::Arc;

pub(super) type Error = Box<dyn std::error::Error + Send + Sync>;
type Ctx<'a> = poise::Context<'a, BotData, Error>;

/// What every command can reach.
pub(crate) struct BotData {
    pub(super) app: Arc<handlers::Context>,
    pub(super) routes: Routes,
    pub(super) permissions: Permissions,
    /// The configured rating parameters (`/matchup`'s duel chance).
    pub(super) rating: RatingParams,
}

/// The game modes as a slash command choice.
#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub(crate) enum ModeChoice {
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

fn to_embed(embed: &Embed, image: Option<&Image>) -> serenity::CreateEmbed {
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
    #[description = "Name (or part of it) or profile id (yours, once linked, when left out)"]
    #[autocomplete = "autocomplete_player"]
    player: Option<String>,
    #[description = "Game mode (all when left out)"] mode: Option<ModeChoice>,
) -> Result<(), Error> {
    let user_id = ctx.author().id.get();
    send_from_store(ctx, move |store| {
        match link::player_or_linked(store, player, user_id)? {
            Ok(player) => commands::rating(store, &player, mode.map(Mode::from)),
            Err(reply) => Ok(reply),
        }
    })
    .await
}

/// A player's stats per mode, names, clan and rating history chart.
#[poise::command(slash_command)]
async fn profile(
    ctx: Ctx<'_>,
    #[description = "Name (or part of it) or profile id (yours, once linked, when left out)"]
    #[autocomplete = "autocomplete_player"]
    player: Option<String>,
) -> Result<(), Error> {
    // Resolved before the defer: a "link first" answer must stay ephemeral,
    // which a follow-up to a public defer cannot be.
    let (store, user_id) = (ctx.data().app.store.clone(), ctx.author().id.get());
    let player =
        match blocking(move || link::player_or_linked(store.as_ref(), player, user_id)).await?? {
            Ok(player) => player,
            Err(reply) => {
                ctx.send(to_poise(reply)).await?;
                return Ok(());
            }
        };
    ctx.defer().await?;
    send_from_store(ctx, move |store| commands::profile(store, &player)).await
}

/// Link your Discord account to your game profile: a one-time code for `!link` in game.
#[poise::command(slash_command, rename = "link")]
async fn link_cmd(ctx: Ctx<'_>) -> Result<(), Error> {
    let reply = link::issue(
        &ctx.data().app.links,
        &caller_of(ctx),
        ctx.author().bot,
        crate::links::Moment::now(),
    );
    ctx.send(to_poise(reply)).await?;
    Ok(())
}

/// Remove the link between your Discord account and your game profile.
#[poise::command(slash_command)]
async fn unlink(ctx: Ctx<'_>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let reply = link::unlink(&ctx.data().app, &caller_of(ctx)).await;
    ctx.send(to_poise(reply)).await?;
    Ok(())
}

/// Two players: their ratings, who would win a duel, and their kills of each other.
#[poise::command(slash_command)]
async fn matchup(
    ctx: Ctx<'_>,
    #[description = "First player: name (or part of it) or profile id"]
    #[autocomplete = "autocomplete_player"]
    player1: String,
    #[description = "Second player: name (or part of it) or profile id"]
    #[autocomplete = "autocomplete_player"]
    player2: String,
    #[description = "Game mode (default: the one both played most)"] mode: Option<ModeChoice>,
) -> Result<(), Error> {
    let params = ctx.data().rating;
    send_from_store(ctx, move |store| {
        commands::matchup(store, &player1, &player2, mode.map(Mode::from), &params)
    })
    .await
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

/// Sends an ephemeral ban command reply built by `discord::bans`.
async fn send_ephemeral(ctx: Ctx<'_>, reply: Reply) -> Result<(), Error> {
    ctx.send(to_poise(reply)).await?;
    Ok(())
}

/// Ban a player from every server, or one (admins only).
#[poise::command(slash_command, default_member_permissions = "MANAGE_GUILD")]
async fn ban(
    ctx: Ctx<'_>,
    #[description = "Name (or part of it) or profile id"]
    #[autocomplete = "autocomplete_player"]
    player: String,
    #[description = "How long: 30m, 12h, 7d, 2w or permanent (default)"] duration: Option<String>,
    #[description = "Reason, shown to the player when kicked"] reason: Option<String>,
    #[description = "Only this server (default: all servers)"]
    #[autocomplete = "autocomplete_server"]
    server: Option<String>,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let args = BanArgs {
        player,
        duration,
        reason,
        server,
    };
    let data = ctx.data();
    let reply = bans::ban(&data.app, &data.permissions, &caller_of(ctx), args).await;
    send_ephemeral(ctx, reply).await
}

/// Lift a player's bans (admins only).
#[poise::command(slash_command, default_member_permissions = "MANAGE_GUILD")]
async fn unban(
    ctx: Ctx<'_>,
    #[description = "Name (or part of it) or profile id"]
    #[autocomplete = "autocomplete_player"]
    player: String,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let data = ctx.data();
    let reply = bans::unban(&data.app, &data.permissions, &caller_of(ctx), player).await;
    send_ephemeral(ctx, reply).await
}

/// Active bans, newest first, or every ban of one player (admins only).
#[poise::command(
    slash_command,
    rename = "bans",
    default_member_permissions = "MANAGE_GUILD"
)]
async fn list_bans(
    ctx: Ctx<'_>,
    #[description = "Only this player's bans"]
    #[autocomplete = "autocomplete_player"]
    player: Option<String>,
    #[description = "Page (10 bans per page)"]
    #[min = 1]
    page: Option<u32>,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let page = page.unwrap_or(1) as usize;
    let data = ctx.data();
    let reply = bans::list(&data.app, &data.permissions, &caller_of(ctx), player, page).await;
    send_ephemeral(ctx, reply).await
}

/// Who is this: names, seen, modes, bans and profiles sharing an IP (admins only).
#[poise::command(slash_command, default_member_permissions = "MANAGE_GUILD")]
async fn whois(
    ctx: Ctx<'_>,
    #[description = "Name (or part of it) or profile id"]
    #[autocomplete = "autocomplete_player"]
    player: String,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let data = ctx.data();
    let reply = bans::whois(&data.app, &data.permissions, &caller_of(ctx), player).await;
    send_ephemeral(ctx, reply).await
}

/// Every slash command the bot registers.
pub(crate) fn all_commands() -> Vec<poise::Command<BotData, Error>> {
    vec![
        leaderboard(),
        rating(),
        profile(),
        matchup(),
        servers(),
        rcon(),
        say_cmd(),
        kick(),
        ban(),
        unban(),
        list_bans(),
        whois(),
        link_cmd(),
        unlink(),
    ]
}

/// A click on a leaderboard page button: the message turns to that page.
pub(super) async fn turn_page(
    http: &serenity::Http,
    data: &BotData,
    click: &serenity::ComponentInteraction,
) -> Result<(), Error> {
    let Some((mode, page)) = commands::parse_page_button(&click.data.custom_id) else {
        return Ok(());
    };
    let store = data.app.store.clone();
    let reply = blocking(move || commands::leaderboard(store.as_ref(), mode, page)).await??;
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
    Ok(())
}
