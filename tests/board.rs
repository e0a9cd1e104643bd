//! The live server board end to end: bman with the bot against the fake
//! Discord, recording a simulated deathmatch server over TCP. The board's
//! message is posted once, then edited in place (PATCH); a restarted bman
//! finds it in the channel and edits it instead of posting another (a
//! stopped bman leaves it saying so); a
//! deleted board message is posted again; a server that goes away (or is
//! down at start) shows as offline.

mod common;

use bman::config::{DiscordSettings, Settings};
use bman::model::Mode;
use bman::secret::Secret;
use bman::sim::SimHandle;
use common::fake_discord::{msg_id, FakeDiscord, Recorded, GUILD_ID};
use serde_json::Value;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const STATUS: u64 = 44;

use common::InProcessBman as Running;

fn start_bman(settings: &Settings) -> Running {
    Running::start(settings)
}

/// bman recording `sim` with the board in [`STATUS`] and the bot on `fake`.
fn board_settings(dir: &std::path::Path, sim: &SimHandle, fake: &FakeDiscord) -> Settings {
    let mut settings = common::settings(&[("eu-dm", Mode::Dm, sim.local_addr().port(), "pw")], dir);
    settings.discord = DiscordSettings {
        guild_id: Some(GUILD_ID),
        status_channel_id: Some(STATUS),
        ..DiscordSettings::default()
    };
    settings.discord_token = Some(Secret::new("test-token"));
    settings.discord_api_proxy = Some(fake.url());
    settings
}

/// The board's embed description in a create or edit request.
fn description(r: &Recorded) -> String {
    r.pointer("/embeds/0/description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_is_posted_once_edited_in_place_found_after_a_restart_and_shows_offline() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeDiscord::start().await;
    // An endless deathmatch at 200 events a second: matches start and end.
    let opts = common::sim_opts(Mode::Dm, &["--rate", "200", "--seed", "5"]);
    let sim = bman::sim::serve(opts).await.unwrap();
    let settings = board_settings(dir.path(), &sim, &fake);
    let posts = format!("/api/v10/channels/{STATUS}/messages");

    let bman = start_bman(&settings);
    let created = fake
        .wait_for(|r| r.is("POST", &posts) && r.status == 200, WAIT)
        .await
        .expect("the board message is posted");
    assert_eq!(
        created
            .pointer("/embeds/0/footer/text")
            .and_then(Value::as_str),
        Some("live board · eu-dm")
    );
    let id = msg_id(&fake.channel_messages(STATUS)[0]);
    let edit = format!("/api/v10/channels/{STATUS}/messages/{id}");
    let online = fake
        .wait_for(
            |r| r.is("PATCH", &edit) && description(r).contains("```\nPlayer"),
            WAIT,
        )
        .await
        .expect("the board is edited to show the running match");
    println!("{}", serde_json::to_string_pretty(&online.json).unwrap());
    let shown = description(&online);
    assert!(
        shown.contains(" players · ") && shown.contains(" bots · 16 slots"),
        "{shown}"
    );
    assert!(shown.contains("```\nPlayer"), "{shown}");
    assert_eq!(
        online.pointer("/allowed_mentions/parse"),
        Some(&serde_json::json!([]))
    );
    bman.stop().await;
    // Stopped: the board says so instead of showing a stale match.
    let last = fake.requests_to("PATCH", &edit).pop().unwrap();
    assert!(
        description(&last).starts_with("⚪ bman stopped"),
        "{}",
        description(&last)
    );

    // A restart: the board is found in the channel and edited, never posted again.
    fake.clear_requests();
    let bman = start_bman(&settings);
    fake.wait_for(|r| r.is("GET", &posts), WAIT)
        .await
        .expect("the channel is searched");
    fake.wait_for(
        |r| r.is("PATCH", &edit) && description(r).starts_with("🟢 online"),
        WAIT,
    )
    .await
    .expect("the same message is edited after the restart");

    assert!(
        fake.requests_to("POST", &posts).is_empty(),
        "no second board message after the restart"
    );
    assert_eq!(fake.channel_messages(STATUS).len(), 1);

    // A moderator deletes the board message, and the game server goes away:
    // the edit finds the message gone, so the board is posted again, offline.
    fake.delete_message(id);
    sim.shutdown().await;
    let reposted = fake
        .wait_for(|r| r.is("POST", &posts) && r.status == 200, WAIT)
        .await
        .expect("a deleted board message is posted again");
    assert!(
        fake.requests_to("PATCH", &edit)
            .iter()
            .any(|r| r.status == 404),
        "the edit found it gone"
    );
    assert_eq!(
        reposted
            .pointer("/embeds/0/footer/text")
            .and_then(Value::as_str),
        Some("live board · eu-dm")
    );
    // The new message shows the server offline (posted so, or edited since).
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let shown = reposted_message(&fake)["embeds"][0]["description"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if shown.starts_with("🔴 offline since <t:") {
            assert!(shown.contains(", retrying"), "{shown}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{shown}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bman.stop().await;

    // Started again while the game server is down: the new message is
    // found and edited, and says since when the server is offline.
    let id = msg_id(&reposted_message(&fake));
    let edit = format!("/api/v10/channels/{STATUS}/messages/{id}");
    fake.clear_requests();
    let bman = start_bman(&settings);
    fake.wait_for(
        |r| r.is("PATCH", &edit) && description(r).starts_with("🔴 offline since <t:"),
        WAIT,
    )
    .await
    .expect("the board shows the server offline");
    bman.stop().await;
    assert!(fake.requests_to("POST", &posts).is_empty());
    assert_eq!(fake.channel_messages(STATUS).len(), 1);
}

/// The one message in the status channel.
fn reposted_message(fake: &FakeDiscord) -> Value {
    let messages = fake.channel_messages(STATUS);
    assert_eq!(messages.len(), 1, "{messages:?}");
    messages[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_embed_links_the_board_is_text_edited_in_place_and_found_again() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeDiscord::start().await;
    let posts = format!("/api/v10/channels/{STATUS}/messages");
    fake.refuse_next_post_for_permissions(STATUS);
    let opts = common::sim_opts(Mode::Dm, &["--rate", "200", "--seed", "5"]);
    let sim = bman::sim::serve(opts).await.unwrap();
    let settings = board_settings(dir.path(), &sim, &fake);
    let text = |r: &Recorded| {
        r.pointer("/content")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };

    let bman = start_bman(&settings);
    let created = fake
        .wait_for(|r| r.is("POST", &posts) && r.status == 200, WAIT)
        .await
        .expect("the board is posted as text");
    assert!(
        created.pointer("/embeds/0").is_none(),
        "no embed the second time"
    );
    assert!(
        text(&created).ends_with("live board · eu\\-dm"),
        "{}",
        text(&created)
    );
    let id = msg_id(&fake.channel_messages(STATUS)[0]);
    let edit = format!("/api/v10/channels/{STATUS}/messages/{id}");
    let online = fake
        .wait_for(
            |r| r.is("PATCH", &edit) && text(r).contains("🟢 online"),
            WAIT,
        )
        .await
        .expect("the text board is edited in place");
    println!("{}", text(&online));
    assert!(text(&online).starts_with("**eu\\-dm · DM**\n🟢 online · **"));
    bman.stop().await;

    // Found again by its text after a restart.
    fake.clear_requests();
    let bman = start_bman(&settings);
    fake.wait_for(|r| r.is("PATCH", &edit) && r.status == 200, WAIT)
        .await
        .expect("the text board is edited after the restart");
    bman.stop().await;
    sim.shutdown().await;
    assert!(
        fake.requests_to("POST", &posts).is_empty(),
        "no second board"
    );
}
