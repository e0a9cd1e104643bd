//! Linked accounts end to end: the real bot on a local fake Discord and the
//! ingest recording a simulated server over TCP. `/link` gives a code, a
//! human types `!link CODE` in the game chat, the game chat and a DM
//! confirm, and `/rating` and `/profile` without a player answer for the
//! linked profile; wrong, expired, reused codes, bots and the server itself
//! never link; `/unlink` undoes it. Everything is audited.

mod common;

use bman::config::DiscordSettings;
use bman::discord::bot::Bot;
use bman::links::{LinkRequest, Moment, CODE_TTL};
use bman::model::Mode;
use bman::sim::SimHandle;
use common::fake_discord::{opt, Actor, FakeDiscord, Recorded, SentInteraction, GUILD_ID};
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const USER: u64 = 7;

fn chat(slot: i64, name: &str, message: &str) -> String {
    json!({"Time": "1760009999", "EventID": "42", "PlayerID": slot.to_string(), "Name": name, "Profile": "", "Message": message, "Team": "0"})
        .to_string()
}

/// The interaction's first answer (callback) as sent.
async fn callback(fake: &FakeDiscord, sent: &SentInteraction) -> Recorded {
    fake.wait_for(
        |r| r.method == "POST" && r.path == sent.callback_path(),
        WAIT,
    )
    .await
    .expect("the interaction is answered")
}

/// The follow-up after a defer.
async fn follow_up(fake: &FakeDiscord, sent: &SentInteraction) -> Recorded {
    fake.wait_follow_up(sent, WAIT)
        .await
        .expect("a follow-up after the defer")
}

fn text(r: &Recorded, pointer: &str) -> String {
    r.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn ephemeral(r: &Recorded, pointer: &str) -> bool {
    r.pointer(pointer).and_then(Value::as_u64).unwrap_or(0) & 64 == 64
}

/// Waits until the simulator got a `say` containing `part`; returns it.
async fn said(sim: &SimHandle, part: &str) -> String {
    assert!(
        sim.wait_until(
            |s| s
                .commands
                .iter()
                .any(|c| c.starts_with("say ") && c.contains(part)),
            WAIT
        )
        .await,
        "no say with {part:?}: {:?}",
        sim.stats().commands
    );
    sim.stats()
        .commands
        .into_iter()
        .find(|c| c.starts_with("say ") && c.contains(part))
        .unwrap()
}

/// `/link` for `actor`: the code from the ephemeral reply.
async fn link_code(fake: &FakeDiscord, actor: &Actor) -> String {
    let sent = fake.send_command("link", json!([]), actor).await;
    let reply = callback(fake, &sent).await;
    assert!(
        ephemeral(&reply, "/data/flags"),
        "the code is for the caller only"
    );
    let content = text(&reply, "/data/content");
    let code = content
        .split("**")
        .nth(1)
        .unwrap_or_else(|| panic!("a code in {content:?}"))
        .to_string();
    assert_eq!(code.len(), 6, "{content}");
    code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discord_user_links_their_game_profile() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeDiscord::start().await;
    let opts = common::one_dm_match_sim_opts();
    let events = common::scenario_events(&opts).len();
    let sim = bman::sim::serve(opts).await.unwrap();
    let mut settings = common::settings(
        &[("eu-dm", Mode::Dm, sim.local_addr().port(), "pw")],
        dir.path(),
    );
    settings.discord = DiscordSettings {
        guild_id: Some(GUILD_ID),
        ..DiscordSettings::default()
    };
    settings.discord_api_proxy = Some(fake.url());
    // The scenario's own `!rank` lines would be answered in the same chat.
    settings.chat_commands.enabled = false;
    let (ingest, recorder) = common::start(&settings).await;
    let bot = Bot::start(&settings, "test-token", ingest.context.clone())
        .await
        .unwrap();
    assert!(fake.ready(WAIT).await, "the bot logs in");
    common::wait_journaled(dir.path(), "eu-dm", events).await;

    // Registered: /link and /unlink, and `player` is optional on /rating and /profile.
    let registered = fake
        .wait_for(|r| r.method == "PUT" && r.path.ends_with("/commands"), WAIT)
        .await
        .expect("commands registered");
    let commands = registered.json.unwrap();
    let command = |name: &str| {
        commands
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("/{name} registered"))
            .clone()
    };
    command("link");
    command("unlink");
    for name in ["rating", "profile"] {
        let player = command(name)["options"][0].clone();
        assert_eq!(player["name"], "player");
        assert_ne!(player["required"], true, "/{name} player is optional");
    }

    // Who is on the server: two humans and a bot.
    let store = recorder.store.clone();
    let board = ingest.handles[0].scoreboard().await.unwrap();
    let humans: Vec<_> = board
        .players
        .iter()
        .filter(|p| !p.bot && p.profile.is_some())
        .collect();
    assert!(humans.len() >= 2, "{board:?}");
    let (me, other) = (humans[0], humans[1]);
    let my_key = me.profile.as_ref().unwrap().key();
    let my_name = me.name.clone().unwrap();
    let slot = |p: &bman::event::PlayerData| i64::from(p.slot.unwrap());
    let bot_slot = board
        .players
        .iter()
        .find(|p| p.bot)
        .map(slot)
        .expect("a bot");

    // Before linking, /rating and /profile without a player say what to do.
    let actor = Actor::user(USER).named("player7");
    for name in ["rating", "profile"] {
        let sent = fake.send_command(name, json!([]), &actor).await;
        let reply = callback(&fake, &sent).await;
        assert!(
            text(&reply, "/data/content").contains("use /link"),
            "{:?}",
            reply.json
        );
        assert!(ephemeral(&reply, "/data/flags"), "/{name}: ephemeral");
    }

    // /link, then `!link code` (any case) in the game chat.
    let code = link_code(&fake, &actor).await;
    sim.inject(
        42,
        chat(
            slot(me),
            &my_name,
            &format!("!link {}", code.to_lowercase()),
        ),
    );
    let confirmed = said(&sim, "is now linked to Discord user player7").await;
    assert_eq!(
        confirmed,
        format!(
            "say {}",
            bman::rcon::console_quote(&format!("{my_name} is now linked to Discord user player7"))
        )
    );
    let link = store.account_link(USER).unwrap().expect("stored");
    assert_eq!(
        (link.player.clone(), link.player_name.clone()),
        (my_key.clone(), my_name.clone())
    );

    // The DM: a channel with the user, then the message in it.
    let opened = fake
        .wait_for(|r| r.is("POST", "/api/v10/users/@me/channels"), WAIT)
        .await
        .expect("a DM channel opened");
    let recipient = opened.pointer("/recipient_id").map(|v| match v.as_str() {
        Some(id) => id.to_string(),
        None => v.to_string(),
    });
    assert_eq!(recipient, Some(USER.to_string()));
    let dm = fake
        .wait_for(
            |r| r.method == "POST" && r.path.ends_with("/messages") && r.seq > opened.seq,
            WAIT,
        )
        .await
        .expect("the DM is sent");
    assert!(
        text(&dm, "/content").contains("is now linked to"),
        "{:?}",
        dm.json
    );
    assert!(text(&dm, "/content").contains(&my_key.id));
    assert_eq!(dm.pointer("/allowed_mentions/parse"), Some(&json!([])));

    // /rating and /profile without a player answer for the linked profile,
    // exactly as with the player named, once the writer has stored the
    // match (journaled is not yet rated).
    let deadline = tokio::time::Instant::now() + WAIT;
    while store
        .profile(&my_key)
        .unwrap()
        .and_then(|p| p.in_mode(Mode::Dm))
        .is_none_or(|(stats, _)| stats.games == 0)
    {
        assert!(tokio::time::Instant::now() < deadline, "the match is rated");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let sent = fake.send_command("rating", json!([]), &actor).await;
    let mine = callback(&fake, &sent).await;
    let expected = bman::discord::commands::rating(store.as_ref(), &my_key.id, None).unwrap();
    assert_eq!(text(&mine, "/data/content"), expected.content);
    assert!(expected.content.starts_with("**"), "{}", expected.content);
    let sent = fake
        .send_command(
            "rating",
            json!([opt("player", other.name.clone().unwrap())]),
            &actor,
        )
        .await;
    let named = callback(&fake, &sent).await;
    assert_ne!(
        text(&named, "/data/content"),
        expected.content,
        "a named player wins"
    );
    let sent = fake.send_command("profile", json!([]), &actor).await;
    let profile = follow_up(&fake, &sent).await;
    assert_eq!(
        text(&profile, "/embeds/0/title"),
        bman::discord::reply::escape(&store.profile(&my_key).unwrap().unwrap().player.name)
    );

    // The code was used; a wrong one is wrong; neither says the code aloud.
    sim.inject(42, chat(slot(other), "Other", &format!("!link {code}")));
    let reused = said(&sim, "Other: that link code was already used").await;
    sim.inject(42, chat(slot(other), "Other", "!link ZZZZZZ"));
    said(&sim, "Other: that link code is wrong").await;
    // An expired code (issued 11 minutes ago).
    let old = ingest
        .context
        .links
        .issue(
            LinkRequest {
                user_id: 8,
                user_name: "late".into(),
            },
            Moment::now() - (CODE_TTL + Duration::from_secs(60)),
        )
        .unwrap();
    sim.inject(42, chat(slot(other), "Other", &format!("!link {old}")));
    said(&sim, "Other: that link code has expired").await;
    let codes = [code.clone(), old];
    for command in sim.stats().commands {
        for c in &codes {
            assert!(!command.to_uppercase().contains(c.as_str()), "{command}");
        }
    }
    assert!(reused.starts_with("say \""));

    // A bot and the server itself can never link; the code stays good.
    let second = link_code(&fake, &Actor::user(9).named("player9")).await;
    let before = sim.stats().commands.len();
    sim.inject(42, chat(bot_slot, "Bot", &format!("!link {second}")));
    sim.inject(42, chat(-1, "Server", &format!("!link {second}")));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        sim.stats().commands.len(),
        before,
        "{:?}",
        sim.stats().commands
    );
    assert_eq!(store.account_link(9).unwrap(), None);
    // The other human takes it: a second link, for another profile.
    sim.inject(42, chat(slot(other), "Other", &format!("!link {second}")));
    said(&sim, "Other is now linked to Discord user player9").await;
    assert_eq!(
        store.account_link(9).unwrap().unwrap().player,
        other.profile.as_ref().unwrap().key()
    );

    // /unlink: gone, and /rating without a player asks for a link again.
    let sent = fake.send_command("unlink", json!([]), &actor).await;
    let unlinked = follow_up(&fake, &sent).await;
    assert!(
        text(&unlinked, "/content").starts_with("You are no longer linked to"),
        "{:?}",
        unlinked.json
    );
    assert!(ephemeral(&unlinked, "/flags"));
    assert_eq!(store.account_link(USER).unwrap(), None);
    let sent = fake.send_command("rating", json!([]), &actor).await;
    assert!(text(&callback(&fake, &sent).await, "/data/content").contains("use /link"));

    // Audited: both links and the unlink, who and which profile.
    let audit = store.audit_log(100).unwrap();
    let commands: Vec<(u64, &str, &str)> = audit
        .iter()
        .map(|r| (r.user_id, r.server.as_str(), r.command.as_str()))
        .collect();
    let mine = format!("link Steam {} ({my_name})", my_key.id);
    assert!(
        commands.contains(&(USER, "eu-dm", mine.as_str())),
        "{commands:?}"
    );
    assert!(commands.contains(&(USER, "all", "unlink")), "{commands:?}");
    assert!(commands
        .iter()
        .any(|(u, _, c)| *u == 9 && c.starts_with("link Steam")));
    assert_eq!(audit.len(), 3, "{commands:?}");

    bot.stop().await;
    common::stop(ingest, recorder).await;
    sim.shutdown().await;
}
