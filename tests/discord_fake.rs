//! The fake Discord (`tests/common/fake_discord/`) driven by the real
//! serenity/poise client: REST recording and replies, 429s, the gateway
//! handshake, slash commands, autocomplete, buttons and MESSAGE_CREATE.

mod common;

use common::fake_discord::*;
use poise::serenity_prelude as serenity;
use serde_json::{json, Value};
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

type Error = Box<dyn std::error::Error + Send + Sync>;
type Ctx<'a> = poise::Context<'a, (), Error>;

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// `HTTPS_PROXY` is process-wide; it is only set while [`proxy_is_ignored_with_ratelimiter`]
/// builds its client, and every client build here holds this lock.
static ENV_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn http(fake: &FakeDiscord) -> serenity::Http {
    let _env = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    fake.http("test-token")
}

fn message_posts(fake: &FakeDiscord, channel: u64) -> Vec<Recorded> {
    fake.requests_to("POST", &format!("/api/v10/channels/{channel}/messages"))
}

#[tokio::test]
async fn send_message_is_recorded_with_allowed_mentions() {
    let fake = FakeDiscord::start().await;
    let http = http(&fake);
    let msg = serenity::ChannelId::new(42)
        .send_message(
            &http,
            serenity::CreateMessage::new()
                .content("hello <@1> @everyone")
                .allowed_mentions(serenity::CreateAllowedMentions::new()),
        )
        .await
        .expect("message sent");
    assert_eq!(msg.content, "hello <@1> @everyone");
    assert_eq!(msg.channel_id.get(), 42);
    assert_eq!(msg.author.id.get(), BOT_USER_ID);

    let posts = message_posts(&fake, 42);
    assert_eq!(posts.len(), 1, "{:#?}", fake.requests());
    let body = posts[0].json.as_ref().expect("JSON body");
    // serenity 0.12 serialises an empty CreateAllowedMentions with all three lists.
    assert_eq!(
        body["allowed_mentions"],
        json!({"parse": [], "users": [], "roles": []})
    );
    assert_eq!(body["content"], "hello <@1> @everyone");
    assert_eq!(posts[0].header("authorization"), Some("Bot test-token"));
    assert_eq!(posts[0].header("content-type"), Some("application/json"));
    assert!(!posts[0].multipart);
    assert_eq!(fake.requests().len(), 1, "nothing else was called");

    // Ids increase; the fake keeps what it returned.
    let second = serenity::ChannelId::new(42)
        .say(&http, "again")
        .await
        .unwrap();
    assert!(second.id > msg.id);
    assert_eq!(fake.message(second.id.get()).unwrap()["content"], "again");
}

#[tokio::test]
async fn message_with_file_is_multipart() {
    let fake = FakeDiscord::start().await;
    let http = http(&fake);
    let msg = serenity::ChannelId::new(7)
        .send_message(
            &http,
            serenity::CreateMessage::new().content("chart").add_file(
                serenity::CreateAttachment::bytes(vec![137, 80, 78, 71], "c.png"),
            ),
        )
        .await
        .expect("sent");
    assert_eq!(msg.attachments.len(), 1);
    assert_eq!(msg.attachments[0].filename, "c.png");
    let post = &message_posts(&fake, 7)[0];
    assert!(post.multipart);
    assert_eq!(post.pointer("/content"), Some(&json!("chart")));
    assert_eq!(
        post.pointer("/attachments"),
        Some(&json!([{"id": 0, "filename": "c.png", "description": null}]))
    );
    assert_eq!(post.files.len(), 1);
    assert_eq!(post.files[0].field, "files[0]");
    assert_eq!(post.files[0].filename, "c.png");
    assert_eq!(post.files[0].content_type.as_deref(), Some("image/png"));
    assert_eq!(post.files[0].bytes, vec![137, 80, 78, 71]);
}

/// With the proxy (so the ratelimiter off) serenity does not retry a 429: the
/// caller gets `UnsuccessfulRequest` with status 429 and must retry itself.
#[tokio::test]
async fn rate_limited_send_surfaces_as_429_error() {
    let fake = FakeDiscord::start().await;
    let http = http(&fake);
    fake.rate_limit_next(1, 0.5);
    let err = serenity::ChannelId::new(42)
        .say(&http, "first")
        .await
        .expect_err("429 is an error without serenity's ratelimiter");
    let serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(resp)) = &err else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(resp.status_code.as_u16(), 429);
    assert_eq!(resp.error.message, "You are being rate limited.");
    assert_eq!(resp.error.code, 0);
    assert_eq!(
        resp.method,
        serenity::http::LightMethod::Post.reqwest_method()
    );
    assert!(resp.url.ends_with("/api/v10/channels/42/messages"));

    let started = tokio::time::Instant::now();
    serenity::ChannelId::new(42)
        .say(&http, "second")
        .await
        .expect("the next send goes through");
    assert!(started.elapsed() < Duration::from_millis(400), "no wait");
    let posts = message_posts(&fake, 42);
    assert_eq!(posts.len(), 2);
    assert!(posts[0].rate_limited && posts[0].status == 429);
    assert!(!posts[1].rate_limited && posts[1].status == 200);
}

/// Proof that `HttpBuilder::proxy` is ignored while the ratelimiter is on
/// (serenity 0.12.5 src/http/ratelimiting.rs:199 builds with proxy `None`):
/// the request goes to `https://discord.com`, here caught as an HTTPS
/// `CONNECT discord.com:443` by a local listener posing as the system proxy.
#[tokio::test]
async fn proxy_is_ignored_with_ratelimiter() {
    let fake = FakeDiscord::start().await;
    let catcher = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let catcher_url = format!("http://{}", catcher.local_addr().unwrap());
    let http = {
        let _env = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let vars = [
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
            "NO_PROXY",
            "no_proxy",
        ];
        let saved: Vec<_> = vars.iter().map(|v| (*v, std::env::var_os(v))).collect();
        for v in vars {
            std::env::remove_var(v);
        }
        std::env::set_var("HTTPS_PROXY", &catcher_url);
        let http = serenity::HttpBuilder::new("test-token")
            .proxy(fake.url())
            .ratelimiter_disabled(false)
            .build();
        for (v, old) in saved {
            match old {
                Some(old) => std::env::set_var(v, old),
                None => std::env::remove_var(v),
            }
        }
        http
    };
    let send = tokio::spawn(async move { serenity::ChannelId::new(42).say(&http, "x").await });
    let (mut conn, _) = tokio::time::timeout(T, catcher.accept())
        .await
        .expect("the request went to the system proxy, not the fake")
        .unwrap();
    let mut buf = vec![0u8; 1024];
    let n = tokio::io::AsyncReadExt::read(&mut conn, &mut buf)
        .await
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(head.starts_with("CONNECT discord.com:443 "), "{head}");
    drop(conn);
    assert!(send.await.unwrap().is_err());
    assert!(fake.requests().is_empty(), "the fake saw nothing");
}

// ---- a poise bot through the fake gateway ----

#[poise::command(slash_command)]
async fn ping(ctx: Ctx<'_>) -> Result<(), Error> {
    ctx.say("pong").await?;
    Ok(())
}

#[poise::command(slash_command)]
async fn chart(ctx: Ctx<'_>) -> Result<(), Error> {
    ctx.send(poise::CreateReply::default().content("here").attachment(
        serenity::CreateAttachment::bytes(b"PNGDATA".to_vec(), "chart.png"),
    ))
    .await?;
    Ok(())
}

#[poise::command(slash_command)]
async fn slow(ctx: Ctx<'_>) -> Result<(), Error> {
    ctx.defer().await?;
    ctx.say("done later").await?;
    Ok(())
}

async fn autocomplete_player(_ctx: Ctx<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    serenity::CreateAutocompleteResponse::new().set_choices(vec![
        serenity::AutocompleteChoice::from(format!("{partial}-one")),
        serenity::AutocompleteChoice::from(format!("{partial}-two")),
    ])
}

#[poise::command(slash_command)]
async fn rating(
    ctx: Ctx<'_>,
    #[autocomplete = "autocomplete_player"] player: String,
    games: Option<i64>,
    who: Option<serenity::User>,
) -> Result<(), Error> {
    let who = who.map(|u| u.name).unwrap_or_default();
    ctx.say(format!("{player} {games:?} {who} by {}", ctx.author().id))
        .await?;
    Ok(())
}

#[poise::command(slash_command)]
async fn menu(ctx: Ctx<'_>) -> Result<(), Error> {
    ctx.send(
        poise::CreateReply::default()
            .content("pick")
            .components(vec![serenity::CreateActionRow::Buttons(vec![
                serenity::CreateButton::new("next").label("Next"),
            ])]),
    )
    .await?;
    Ok(())
}

async fn on_event(ctx: &serenity::Context, event: &serenity::FullEvent) -> Result<(), Error> {
    match event {
        serenity::FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Component(click),
        } => {
            let roles = click.member.as_ref().map(|m| m.roles.len()).unwrap_or(0);
            click
                .create_response(
                    ctx,
                    serenity::CreateInteractionResponse::UpdateMessage(
                        serenity::CreateInteractionResponseMessage::new().content(format!(
                            "clicked {} on {} ({roles} roles)",
                            click.data.custom_id, click.message.id
                        )),
                    ),
                )
                .await?;
        }
        serenity::FullEvent::Message { new_message } if !new_message.author.bot => {
            let roles = new_message
                .member
                .as_ref()
                .map(|m| m.roles.clone())
                .unwrap_or_default();
            new_message
                .channel_id
                .say(
                    ctx,
                    format!(
                        "relay {}: {} {roles:?}",
                        new_message.author.id, new_message.content
                    ),
                )
                .await?;
        }
        _ => {}
    }
    Ok(())
}

struct Bot {
    shard_manager: std::sync::Arc<serenity::ShardManager>,
    task: tokio::task::JoinHandle<Result<(), serenity::Error>>,
}

impl Bot {
    async fn start(fake: &FakeDiscord) -> Self {
        let framework = poise::Framework::<(), Error>::builder()
            .options(poise::FrameworkOptions {
                commands: vec![ping(), chart(), slow(), rating(), menu()],
                event_handler: |fw, event| Box::pin(on_event(fw.serenity_context, event)),
                ..Default::default()
            })
            .setup(|ctx, _ready, framework| {
                Box::pin(async move {
                    poise::builtins::register_in_guild(
                        ctx,
                        &framework.options().commands,
                        serenity::GuildId::new(GUILD_ID),
                    )
                    .await?;
                    Ok(())
                })
            })
            .build();
        let mut client = serenity::ClientBuilder::new_with_http(
            http(fake),
            serenity::GatewayIntents::non_privileged(),
        )
        .framework(framework)
        .await
        .expect("client builds");
        let shard_manager = client.shard_manager.clone();
        let task = tokio::spawn(async move { client.start().await });
        Bot {
            shard_manager,
            task,
        }
    }

    async fn stop(self, fake: &FakeDiscord) {
        self.shard_manager.shutdown_all().await;
        tokio::time::timeout(T, self.task)
            .await
            .expect("client stops")
            .expect("client task")
            .expect("client ran cleanly");
        assert!(fake.disconnected(T).await, "gateway closed");
    }
}

async fn started_bot(fake: &FakeDiscord) -> Bot {
    init_tracing();
    let bot = Bot::start(fake).await;
    assert!(fake.connected(T).await, "gateway connected");
    assert!(fake.ready(T).await, "READY sent");
    let put = format!("/api/v10/applications/{APPLICATION_ID}/guilds/{GUILD_ID}/commands");
    fake.wait_for(|r| r.is("PUT", &put), T)
        .await
        .expect("commands registered");
    bot
}

#[tokio::test]
async fn poise_bot_connects_registers_and_answers_ping() {
    let fake = FakeDiscord::start_with(FakeOptions {
        heartbeat_interval: Duration::from_millis(150),
    })
    .await;
    let bot = started_bot(&fake).await;

    // Start-up REST calls and the handshake.
    let paths: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(paths[0], "GET /api/v10/gateway", "{paths:#?}");
    assert!(paths.contains(&"GET /api/v10/oauth2/applications/@me".to_string()));
    assert_eq!(fake.connect_queries(), vec![Some("v=10".to_string())]);
    let identify = fake.identify().expect("IDENTIFY");
    assert_eq!(identify["token"], "Bot test-token");
    assert_eq!(
        identify["intents"],
        json!(serenity::GatewayIntents::non_privileged().bits())
    );
    assert_eq!(identify["shard"], json!([0, 1]));
    assert_eq!(identify["compress"], json!(true));
    let registered = fake.commands(Some(GUILD_ID)).expect("guild commands");
    let mut names: Vec<&str> = registered
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["chart", "menu", "ping", "rating", "slow"]);

    // Heartbeats are ACKed, so the shard stays on one connection.
    assert!(fake.wait_heartbeats(2, T).await, "heartbeats");
    assert_eq!(fake.connections(), 1);

    let sent = fake.send_command("ping", json!([]), &Actor::user(77)).await;
    let reply = fake.wait_reply(&sent, T).await.expect("ping answered");
    assert!(reply.is("POST", &sent.callback_path()));
    assert_eq!(reply.status, 204);
    assert_eq!(reply.pointer("/type"), Some(&json!(4)));
    assert_eq!(reply.pointer("/data/content"), Some(&json!("pong")));
    assert_eq!(fake.original_response(&sent).unwrap()["content"], "pong");

    bot.stop(&fake).await;
}

#[tokio::test]
async fn poise_bot_attachment_defer_autocomplete_button_and_relay() {
    let fake = FakeDiscord::start().await;
    let bot = started_bot(&fake).await;
    let member = Actor::user(77).roles(&[5, 6]);

    // A reply with a file: multipart callback.
    let sent = fake.send_command("chart", json!([]), &member).await;
    let reply = fake.wait_reply(&sent, T).await.expect("chart answered");
    assert!(reply.multipart);
    assert_eq!(reply.pointer("/type"), Some(&json!(4)));
    assert_eq!(reply.pointer("/data/content"), Some(&json!("here")));
    assert_eq!(
        reply.pointer("/data/attachments"),
        Some(&json!([{"id": 0, "filename": "chart.png", "description": null}]))
    );
    assert_eq!(reply.files.len(), 1);
    assert_eq!(reply.files[0].filename, "chart.png");
    assert_eq!(reply.files[0].bytes, b"PNGDATA");

    // Defer (callback type 5); poise's next `say` is a follow-up POST to the
    // webhook, which on Discord (and here) fills in the deferred original.
    let sent = fake.send_command("slow", json!([]), &member).await;
    let followup = fake
        .wait_for(|r| r.is("POST", &sent.webhook_path()), T)
        .await
        .expect("deferred reply followed up");
    let callback = &fake.requests_to("POST", &sent.callback_path())[0];
    assert_eq!(callback.pointer("/type"), Some(&json!(5)));
    assert!(callback.seq < followup.seq);
    assert_eq!(followup.pointer("/content"), Some(&json!("done later")));
    assert_eq!(
        fake.original_response(&sent).unwrap()["content"],
        "done later"
    );

    // Options, a resolved user, and autocomplete.
    let sent = fake
        .send_command(
            "rating",
            json!([
                opt("player", "bob"),
                opt("games", 3),
                opt_typed("who", 6, "88")
            ]),
            &member,
        )
        .await;
    let reply = fake.wait_reply(&sent, T).await.expect("rating answered");
    assert_eq!(
        reply.pointer("/data/content"),
        Some(&json!("bob Some(3) user88 by 77"))
    );
    let sent = fake
        .send_autocomplete("rating", json!([focused(opt("player", "bo"))]), &member)
        .await;
    let reply = fake
        .wait_reply(&sent, T)
        .await
        .expect("autocomplete answered");
    assert_eq!(reply.pointer("/type"), Some(&json!(8)));
    assert_eq!(
        reply.pointer("/data/choices"),
        Some(
            &json!([{"name": "bo-one", "value": "bo-one"}, {"name": "bo-two", "value": "bo-two"}])
        )
    );

    // A button on the bot's message.
    let sent = fake.send_command("menu", json!([]), &member).await;
    fake.wait_reply(&sent, T).await.expect("menu answered");
    let menu = fake.original_response(&sent).expect("menu message");
    assert_eq!(menu["components"][0]["components"][0]["custom_id"], "next");
    let click = fake.send_button_click("next", msg_id(&menu), &member).await;
    let reply = fake.wait_reply(&click, T).await.expect("click answered");
    assert_eq!(reply.pointer("/type"), Some(&json!(7)));
    assert_eq!(
        reply.pointer("/data/content"),
        Some(&json!(format!(
            "clicked next on {} (2 roles)",
            msg_id(&menu)
        )))
    );

    let select = fake
        .send_select("pick", &["a", "b"], msg_id(&menu), &member)
        .await;
    let reply = fake.wait_reply(&select, T).await.expect("select answered");
    assert_eq!(reply.pointer("/type"), Some(&json!(7)));

    // A DM invocation (user instead of member).
    let sent = fake
        .send_command("ping", json!([]), &Actor::user(78).dm())
        .await;
    let reply = fake.wait_reply(&sent, T).await.expect("DM ping answered");
    assert_eq!(reply.pointer("/data/content"), Some(&json!("pong")));

    // MESSAGE_CREATE reaches the event handler; its reply is a channel message.
    fake.send_message_create(CHANNEL_ID, 99, &[7], "gg").await;
    let relay = fake
        .wait_for(
            |r| r.is("POST", &format!("/api/v10/channels/{CHANNEL_ID}/messages")),
            T,
        )
        .await
        .expect("relayed");
    assert_eq!(
        relay.pointer("/content"),
        Some(&json!("relay 99: gg [RoleId(7)]"))
    );

    // No command went unanswered and nothing unexpected 404ed.
    let unknown: Vec<Value> = fake
        .requests()
        .iter()
        .filter(|r| r.status == 404)
        .map(|r| json!([r.method, r.path]))
        .collect();
    assert!(unknown.is_empty(), "{unknown:?}");
    bot.stop(&fake).await;
}
