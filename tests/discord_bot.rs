//! The real bot end to end: `bman::app::run_with` with a Discord token and
//! `DISCORD_API_PROXY` pointing at a local fake Discord (REST + gateway),
//! recording a simulated game server over TCP. Announcements, the chat relay
//! both ways, the outbound queue under a 500-line burst and a 429, and slash
//! commands travelling through serenity and poise to interaction replies.

mod common;

use bman::config::DiscordSettings;
use bman::model::{LeaderboardQuery, Mode};
use bman::secret::Secret;
use bman::sim::SimHandle;
use common::fake_discord::{focused, opt, Actor, FakeDiscord, Recorded, SentInteraction, GUILD_ID};
use common::scrape;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const ANNOUNCE: u64 = 42;
const CHAT: u64 = 43;
const ADMIN_ROLE: u64 = 111;
const RELAY_ROLE: u64 = 555;
/// The privileged gateway intent for reading message content.
const MESSAGE_CONTENT: u64 = 1 << 15;

use common::InProcessBman as Running;

/// Starts bman with its Discord REST calls going to `discord_api`.
async fn start_bman(dir: &std::path::Path, discord_api: String, sim: &SimHandle) -> Running {
    let mut settings = common::settings(&[("eu-dm", Mode::Dm, sim.local_addr().port(), "pw")], dir);
    settings.discord = DiscordSettings {
        guild_id: Some(GUILD_ID),
        announce_channel_id: Some(ANNOUNCE),
        chat_channel_id: Some(CHAT),
        admin_role_ids: vec![ADMIN_ROLE],
        relay_role_ids: vec![RELAY_ROLE],
        milestone_waves: 5,
        ..DiscordSettings::default()
    };
    settings.discord_token = Some(Secret::new("test-token"));
    settings.discord_api_proxy = Some(discord_api);
    // /metrics on a port free a moment ago.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    settings.metrics.listen = Some(free.local_addr().unwrap());
    drop(free);
    Running::start(&settings)
}

fn posts_to(channel: u64) -> impl Fn(&Recorded) -> bool {
    let path = format!("/api/v10/channels/{channel}/messages");
    move |r: &Recorded| r.is("POST", &path) && !r.rate_limited
}

/// The simulator's options for the deathmatch the tests record.
const DM_MATCH: &[&str] = &["--matches", "1", "--rate", "0", "--seed", "5"];

/// A fake Discord, a simulator playing one deathmatch, and bman recording
/// it with the bot on.
async fn one_dm_match_with_the_bot(dir: &std::path::Path) -> (FakeDiscord, SimHandle, Running) {
    let fake = FakeDiscord::start().await;
    let sim = bman::sim::serve(common::sim_opts(Mode::Dm, DM_MATCH))
        .await
        .unwrap();
    let bman = start_bman(dir, fake.url(), &sim).await;
    (fake, sim, bman)
}

/// The follow-up message that answers a deferred interaction.
async fn follow_up(fake: &FakeDiscord, sent: &SentInteraction, what: &str) -> Recorded {
    fake.wait_follow_up(sent, WAIT)
        .await
        .unwrap_or_else(|| panic!("no {what} after the defer"))
}

/// Whether a message is a deathmatch result card.
fn is_result_card(r: &Recorded) -> bool {
    r.pointer("/embeds/0/title")
        .and_then(Value::as_str)
        .is_some_and(|t| unescape(t).starts_with("eu-dm · DM"))
}

/// A message's content with the markdown escapes taken out again.
fn content(r: &Recorded) -> String {
    unescape(
        r.pointer("/content")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    )
}

/// Markdown text with its escapes taken out.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(next)) if next.is_ascii_punctuation() => {}
            _ => out.push(c),
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announcements_and_chat_reach_discord_escaped_coalesced_and_paced() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, sim, bman) = one_dm_match_with_the_bot(dir.path()).await;

    // The match result: one POST to the announcement channel, one embed, mentions off.
    let result = fake
        .wait_for(|r| posts_to(ANNOUNCE)(r) && is_result_card(r), WAIT)
        .await
        .expect("the match result is posted");
    assert_eq!(
        result.pointer("/allowed_mentions"),
        Some(&json!({"parse": [], "users": [], "roles": []}))
    );
    let embed = result.pointer("/embeds/0").expect("an embed");
    println!("{}", serde_json::to_string_pretty(embed).unwrap());
    let (title, description) = (
        unescape(embed["title"].as_str().unwrap()),
        embed["description"].as_str().unwrap(),
    );
    // The map the game played, and the game's banner once (never "wins wins").
    let events = common::scenario_events(&common::sim_opts(Mode::Dm, DM_MATCH));
    let field = |id: u16, key: &str| {
        events
            .iter()
            .filter(|e| e.id == id)
            .find_map(|e| {
                let v: Value = serde_json::from_str(&e.json).unwrap();
                v[key].as_str().map(str::to_string)
            })
            .unwrap()
    };
    let (map, banner) = (field(29, "MapName"), field(27, "WinnerText"));
    assert_eq!(title, format!("eu-dm · DM · {map}"));
    let shown = unescape(description);
    assert_eq!(shown.matches(banner.as_str()).count(), 1, "{shown}");
    assert!(!shown.to_lowercase().contains("wins wins"), "{shown}");
    assert!(embed["timestamp"].is_string() && embed["color"].is_u64());
    // The table's ratings are the stored ones: name, K/D, rating, ▲/▼ change.
    let store = bman::app::open_store(&bman.settings).unwrap();
    let rows = store
        .leaderboard(&LeaderboardQuery::everyone(Mode::Dm, 100))
        .unwrap();
    let table = description.split("```").nth(1).expect("a table");
    let mut checked = 0;
    for line in table.lines().skip(2) {
        let Some(row) = rows.iter().find(|r| line.starts_with(&r.player.name)) else {
            continue;
        };
        let rating = format!("{:.1}", row.stats.rating());
        let cells: Vec<&str> = line[row.player.name.len()..].split_whitespace().collect();
        assert!(
            cells[0].contains('/'),
            "K/D (the game's, bots counted): {line}"
        );
        assert_eq!(cells[1], rating, "{line}");
        assert!(cells[2].starts_with(['▲', '▼', '=']), "{line}");
        checked += 1;
    }
    assert!(checked >= 2, "stored ratings in {table}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let results: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| posts_to(ANNOUNCE)(r) && is_result_card(r))
        .collect();
    assert_eq!(results.len(), 1, "exactly one match announcement");

    // The scenario's chat (hostile lines included) reached the chat channel, inert.
    let chat = fake
        .requests()
        .into_iter()
        .filter(|r| posts_to(CHAT)(r))
        .collect::<Vec<_>>();
    assert!(!chat.is_empty(), "game chat is relayed");
    for post in &chat {
        let text = content(post);
        assert!(
            !text.contains("@everyone") && !text.contains("@here"),
            "{text}"
        );
        assert_eq!(post.pointer("/allowed_mentions/parse"), Some(&json!([])));
    }

    // A burst of 500 chat lines while Discord answers the first post with a 429.
    let posted_before = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/messages") && r.status == 200)
        .count();
    fake.clear_requests();
    fake.rate_limit_next(1, 0.5);
    for i in 0..500 {
        let line = json!({"EventID": "42", "PlayerID": "30", "Name": "Mordecai", "Profile": "76561198092772652", "Message": format!("burst {i} <@1> **x**"), "Team": "0"});
        sim.inject(42, line.to_string());
    }
    let wanted: Vec<String> = (0..500).map(|i| format!("burst {i} ")).collect();
    let all_arrived = |requests: &[Recorded]| {
        let lines: Vec<String> = requests
            .iter()
            .filter(|r| posts_to(CHAT)(r))
            .flat_map(|r| content(r).lines().map(str::to_string).collect::<Vec<_>>())
            .filter(|l| l.contains("burst "))
            .collect();
        lines.len() >= 500
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    while !all_arrived(&fake.requests()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "all 500 lines arrive"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let requests = fake.requests();
    let attempts: Vec<&Recorded> = requests
        .iter()
        .filter(|r| r.is("POST", &format!("/api/v10/channels/{CHAT}/messages")))
        .collect();
    assert!(attempts[0].rate_limited, "the first post got the 429");
    assert!(
        attempts[1].at.duration_since(attempts[0].at) >= Duration::from_millis(500),
        "the 429 was waited out"
    );
    let posted: Vec<&&Recorded> = attempts.iter().filter(|r| !r.rate_limited).collect();
    // Coalesced: the first message leaves with what had arrived; every later
    // one but the last is full up to the 2,000-character limit.
    assert!(posted.len() < 20, "500 lines in {} messages", posted.len());
    for post in &posted[1..posted.len() - 1] {
        let raw = post.pointer("/content").and_then(Value::as_str).unwrap();
        assert!(raw.chars().count() > 1_900, "a full message: {}", raw.len());
    }
    for pair in posted.windows(2) {
        assert!(
            pair[1].at.duration_since(pair[0].at) >= Duration::from_millis(900),
            "paced"
        );
    }
    let lines: Vec<String> = posted
        .iter()
        .flat_map(|r| content(r).lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| l.contains("burst "))
        .collect();
    assert_eq!(lines.len(), 500, "no line lost or doubled");
    for post in &posted {
        let raw = post.pointer("/content").and_then(Value::as_str).unwrap();
        assert!(
            !raw.contains("**") && !raw.contains("<@1"),
            "escaped: {raw}"
        );
    }
    for (line, want) in lines.iter().zip(&wanted) {
        assert!(line.contains(want.as_str()), "in order: {line} vs {want}");
        assert!(line.contains("<@\u{200B}1>"), "mention defused: {line}");
    }

    // The outbox's metrics: every post the fake took, the one 429, nothing waiting.
    let addr = bman.settings.metrics.listen.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let samples = scrape::parse_prometheus(&scrape::get(addr, "/metrics").await.2);
        let metric = |name| scrape::by_label(&samples, name, "")[""];
        let posted = posted_before
            + fake
                .requests()
                .iter()
                .filter(|r| r.method == "POST" && r.path.ends_with("/messages") && r.status == 200)
                .count();
        let now = (
            metric("bman_discord_posts_total"),
            metric("bman_discord_rate_limited_total"),
            metric("bman_discord_outbox_depth"),
        );
        if now == (posted as f64, 1.0, 0.0) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{now:?}: {posted} posted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    bman.stop().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_that_refuses_embeds_gets_the_result_card_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeDiscord::start().await;
    let announce_path = format!("/api/v10/channels/{ANNOUNCE}/messages");
    fake.refuse_next_post_for_permissions(ANNOUNCE);
    let sim = bman::sim::serve(common::sim_opts(Mode::Dm, DM_MATCH))
        .await
        .unwrap();
    let bman = start_bman(dir.path(), fake.url(), &sim).await;
    let text = fake
        .wait_for(
            |r| posts_to(ANNOUNCE)(r) && r.status == 200 && content(r).contains("eu-dm · DM"),
            WAIT,
        )
        .await
        .expect("the card is posted as text");
    let attempts = fake.requests_to("POST", &announce_path);
    assert_eq!(attempts[0].status, 403, "the embed was refused");
    assert!(attempts[0].pointer("/embeds/0").is_some());
    assert!(text.pointer("/embeds").is_none_or(|e| e == &json!([])));
    let shown = content(&text);
    println!("{shown}");
    assert!(shown.starts_with("**eu-dm · DM · "), "{shown}");
    assert!(shown.contains("```\nPlayer "), "the table: {shown}");
    assert_eq!(text.pointer("/allowed_mentions/parse"), Some(&json!([])));
    bman.stop().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_commands_buttons_and_relay_through_poise() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, sim, bman) = one_dm_match_with_the_bot(dir.path()).await;
    assert!(
        fake.ready(WAIT).await,
        "the bot logs in to the fake gateway"
    );
    fake.wait_for(
        |r| {
            r.is(
                "PUT",
                &format!(
                    "/api/v10/applications/{}/guilds/{GUILD_ID}/commands",
                    common::fake_discord::APPLICATION_ID
                ),
            )
        },
        WAIT,
    )
    .await
    .expect("commands registered in the guild");
    let registered = fake.commands(Some(GUILD_ID)).unwrap();
    let names: Vec<&str> = registered
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "leaderboard",
            "rating",
            "profile",
            "matchup",
            "servers",
            "rcon",
            "say",
            "kick",
            "ban",
            "unban",
            "bans",
            "whois",
            "link",
            "unlink"
        ]
    );
    // `mode` offers the four modes by name (poise sends the chosen index).
    let leaderboard = registered
        .iter()
        .find(|c| c["name"] == "leaderboard")
        .unwrap();
    let choices: Vec<&str> = leaderboard["options"][0]["choices"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(choices, ["dm", "tdm", "ctf", "svl", "zbr"]);
    let rcon = registered.iter().find(|c| c["name"] == "rcon").unwrap();
    assert_eq!(
        rcon["default_member_permissions"], "32",
        "Manage Server as a second layer"
    );
    let identify = fake.identify().expect("IDENTIFY sent");
    let intents = identify["intents"].as_u64().unwrap();
    assert_eq!(
        intents & MESSAGE_CONTENT,
        MESSAGE_CONTENT,
        "message content only because a chat channel is set"
    );
    // Wait until the match is committed and announced, so the store has players.
    fake.wait_for(|r| posts_to(ANNOUNCE)(r), WAIT)
        .await
        .expect("match announced");

    let member = Actor::user(7).named("player");
    // /leaderboard answers at once, with an embed and page buttons.
    let sent = fake
        .send_command("leaderboard", json!([opt("mode", 0)]), &member)
        .await;
    let reply = fake.wait_reply(&sent, WAIT).await.unwrap_or_else(|| {
        panic!(
            "a reply; requests: {:#?}",
            fake.requests()
                .iter()
                .map(|r| (&r.method, &r.path, r.status))
                .collect::<Vec<_>>()
        )
    });
    assert_eq!(reply.pointer("/type"), Some(&json!(4)));
    assert_eq!(
        reply.pointer("/data/embeds/0/title"),
        Some(&json!("DM leaderboard, page 1"))
    );
    assert_eq!(
        reply.pointer("/data/allowed_mentions/parse"),
        Some(&json!([]))
    );
    let buttons = reply
        .pointer("/data/components/0/components")
        .unwrap()
        .as_array()
        .unwrap();
    assert_eq!(buttons[0]["custom_id"], "lb:dm:1");
    assert_eq!(buttons[0]["disabled"], true);
    // A page button updates the message in place.
    let click = fake.send_button_click("lb:dm:2", 1, &member).await;
    let update = fake
        .wait_reply(&click, WAIT)
        .await
        .expect("the page changes");
    assert_eq!(update.pointer("/type"), Some(&json!(7)));
    assert_eq!(
        update.pointer("/data/embeds/0/title"),
        Some(&json!("DM leaderboard, page 2"))
    );

    // Autocomplete offers players from the store.
    let partial = fake
        .send_autocomplete("rating", json!([focused(opt("player", "a"))]), &member)
        .await;
    let choices = fake.wait_reply(&partial, WAIT).await.expect("choices");
    assert_eq!(choices.pointer("/type"), Some(&json!(8)));
    let choices = choices
        .pointer("/data/choices")
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    assert!(!choices.is_empty());
    let player_id = choices[0]["value"].as_str().unwrap().to_string();

    // /profile defers, then sends the embed with the chart attached.
    let sent = fake
        .send_command(
            "profile",
            json!([opt("player", player_id.as_str())]),
            &member,
        )
        .await;
    let first = fake.wait_reply(&sent, WAIT).await.unwrap();
    assert_eq!(first.pointer("/type"), Some(&json!(5)), "deferred");
    let profile_reply = follow_up(&fake, &sent, "the profile follows the defer").await;
    assert!(profile_reply.multipart);
    assert_eq!(profile_reply.files.len(), 1);
    assert_eq!(profile_reply.files[0].filename, "rating.png");
    assert!(profile_reply.files[0].bytes.starts_with(b"\x89PNG"));
    assert_eq!(
        profile_reply.pointer("/embeds/0/image/url"),
        Some(&json!("attachment://rating.png"))
    );

    // /matchup answers with both players, the duel chance and their record.
    assert!(choices.len() >= 2, "two players to match up");
    let other_id = choices[1]["value"].as_str().unwrap();
    let sent = fake
        .send_command(
            "matchup",
            json!([opt("player1", player_id.as_str()), opt("player2", other_id)]),
            &member,
        )
        .await;
    let matchup = fake
        .wait_reply(&sent, WAIT)
        .await
        .expect("matchup answered");
    assert_eq!(matchup.pointer("/type"), Some(&json!(4)), "{matchup:?}");
    let title = matchup
        .pointer("/data/embeds/0/title")
        .unwrap()
        .as_str()
        .unwrap();
    assert!(
        title.contains(" vs ") && title.ends_with(" · DM"),
        "{title}"
    );
    let description = matchup.pointer("/data/embeds/0/description").unwrap();
    assert!(
        description.as_str().unwrap().contains("wins a duel"),
        "{matchup:?}"
    );

    // /servers lists the server as connected.
    let sent = fake.send_command("servers", json!([]), &member).await;
    let servers = follow_up(&fake, &sent, "servers reply").await;
    assert_eq!(
        servers.pointer("/embeds/0/fields/0/name"),
        Some(&json!("eu-dm (dm)"))
    );

    // Admin commands: a member without the role is denied (ephemeral) and audited.
    let sent = fake
        .send_command(
            "rcon",
            json!([opt("server", "eu-dm"), opt("command", "say hi")]),
            &member,
        )
        .await;
    let denied = follow_up(&fake, &sent, "denied reply").await;
    assert_eq!(
        denied.pointer("/content"),
        Some(&json!("You are not allowed to use admin commands."))
    );
    assert_eq!(
        denied
            .pointer("/flags")
            .and_then(Value::as_u64)
            .map(|f| f & 64),
        Some(64),
        "ephemeral"
    );
    assert!(sim.stats().commands.iter().all(|c| c != "say hi"));
    let admin = Actor::user(8).named("admin").roles(&[ADMIN_ROLE]);
    let sent = fake
        .send_command(
            "rcon",
            json!([opt("server", "eu-dm"), opt("command", "kick \"Nobody\"")]),
            &admin,
        )
        .await;
    let allowed = follow_up(&fake, &sent, "admin reply").await;
    assert!(
        content(&allowed).contains("Player not found"),
        "{}",
        content(&allowed)
    );
    assert!(sim.stats().commands.iter().any(|c| c == "kick \"Nobody\""));
    let store = bman::app::open_store(&bman.settings).unwrap();
    let audit = store.audit_log(10).unwrap();
    assert_eq!(audit.len(), 2);
    assert_eq!((audit[0].user_id, audit[0].allowed), (8, true));
    assert_eq!((audit[1].user_id, audit[1].allowed), (7, false));

    // Discord to game: only relay users' messages in the bridged channel.
    fake.send_message_create(CHAT, 9, &[], "ignored").await;
    fake.send_message_create(CHAT, 10, &[RELAY_ROLE], "hello \"all\"")
        .await;
    assert!(
        sim.wait_until(
            |s| s
                .commands
                .iter()
                .any(|c| c.starts_with("say \"[Discord]") && c.ends_with(": hello 'all'\"")),
            WAIT
        )
        .await,
        "{:?}",
        sim.stats().commands
    );
    assert!(!sim.stats().commands.iter().any(|c| c.contains("ignored")));

    bman.stop().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_goes_on_when_discord_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let opts = common::sim_opts(Mode::Dm, &["--matches", "1", "--rate", "0", "--seed", "5"]);
    let events = common::scenario_events(&opts).len();
    let sim = bman::sim::serve(opts).await.unwrap();
    let bman = start_bman(dir.path(), format!("http://127.0.0.1:{closed_port}"), &sim).await;
    common::wait_journaled(dir.path(), "eu-dm", events).await;
    let started = std::time::Instant::now();
    let settings = bman.settings.clone();
    bman.stop().await;
    assert!(started.elapsed() < Duration::from_secs(5), "stops in time");
    let store = bman::app::open_store(&settings).unwrap();
    assert!(
        store.next_seq().unwrap() > 10,
        "the match was recorded without Discord"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_message_content_intent_turns_off_only_the_relay_from_discord() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, sim, bman) = one_dm_match_with_the_bot(dir.path()).await;
    assert!(fake.ready(WAIT).await);
    let intents = |identify: Value| identify["intents"].as_u64().unwrap();
    assert_ne!(intents(fake.identify().unwrap()) & MESSAGE_CONTENT, 0);
    // What Discord does when the intent is not switched on for the application.
    fake.close_gateway(4014);
    let deadline = tokio::time::Instant::now() + WAIT;
    while fake.connections() < 2 || !fake.ready(Duration::from_millis(100)).await {
        assert!(tokio::time::Instant::now() < deadline, "the bot comes back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        intents(fake.identify().unwrap()) & MESSAGE_CONTENT,
        0,
        "without the intent"
    );
    // Commands still work.
    let sent = fake
        .send_command("leaderboard", json!([opt("mode", 0)]), &Actor::user(7))
        .await;
    let reply = fake.wait_reply(&sent, WAIT).await.expect("a reply");
    assert_eq!(reply.pointer("/type"), Some(&json!(4)));
    bman.stop().await;
    sim.shutdown().await;
}
