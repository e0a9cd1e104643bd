//! The bot's command logic without Discord: reply models from a real SQLite
//! store filled by replaying simulator journals, `/servers` against a live
//! simulator and a dead port, and admin commands (permissions, quoting,
//! audit) and the Discord-to-game relay against a live simulator over TCP.

mod common;

use bman::config::DiscordSettings;
use bman::discord::admin::{self, AdminAction, Caller, Permissions};
use bman::discord::commands::{self, PAGE_SIZE};
use bman::discord::relay;
use bman::discord::routes::Routes;
use bman::journal::JournalWriter;
use bman::model::Mode;
use bman::model::{LeaderboardQuery, MinGames};
use bman::pipeline::Recorder;
use bman::store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// A journal of a simulator scenario, as `bman run` would have written it.
fn scenario_journal(dir: &Path, mode: Mode, extra: &[&str]) -> PathBuf {
    let mut journal = JournalWriter::open(dir, mode.as_str(), mode).unwrap();
    for (i, event) in common::scenario_events(&common::sim_opts(mode, extra))
        .iter()
        .enumerate()
    {
        journal
            .append(1_760_000_000_000 + i as i64, event.id, &event.json)
            .unwrap();
    }
    journal.path().to_path_buf()
}

/// A SQLite store holding the replayed `journals`.
async fn replayed_store(dir: &Path, journals: &[PathBuf]) -> Arc<dyn Store> {
    let settings = common::settings(&[], dir);
    let recorder = Recorder::start(bman::app::open_store(&settings).unwrap(), &settings);
    recorder.replay(journals, &|_| {}).await.unwrap();
    let store = recorder.store.clone();
    recorder.stop().await;
    store
}

fn decode_png(bytes: &[u8]) -> (u32, u32) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG data decodes");
    (info.width, info.height)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaderboard_rating_and_profile_replies() {
    let dir = tempfile::tempdir().unwrap();
    let journals = [
        scenario_journal(
            dir.path(),
            Mode::Dm,
            &["--players", "24", "--matches", "10"],
        ),
        scenario_journal(
            dir.path(),
            Mode::Tdm,
            &["--players", "12", "--matches", "1"],
        ),
    ];
    let store = replayed_store(dir.path(), &journals).await;
    let store = store.as_ref();

    // Pages hold the store's ranking, 10 at a time, with working buttons.
    let ranked = store
        .leaderboard(&LeaderboardQuery {
            mode: Mode::Dm,
            limit: 1000,
            offset: 0,
            min_games: Some(MinGames::DEFAULT.0),
            active_since_ms: None,
        })
        .unwrap();
    assert!(
        ranked.len() > PAGE_SIZE,
        "the replay ranks more than a page ({})",
        ranked.len()
    );
    let first = commands::leaderboard(store, Mode::Dm, 1).unwrap();
    let embed = first.embed.as_ref().unwrap();
    assert_eq!(embed.title, "DM leaderboard, page 1");
    for row in &ranked[..PAGE_SIZE] {
        // Names longer than the name column are cut to 19 columns and `…`.
        let name: String = row.player.name.chars().take(19).collect();
        assert!(embed.description.contains(&name), "{name} on page 1");
    }
    // Deathmatch columns only: no Elo or wins, which dm never changes.
    let header = embed.description.lines().nth(1).unwrap();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["#", "name", "rating", "K/D", "games"],
        "{}",
        embed.description
    );
    assert!(!embed.description.contains("1000"), "{}", embed.description);
    let tdm_rows = store
        .leaderboard(&LeaderboardQuery::everyone(Mode::Tdm, PAGE_SIZE))
        .unwrap();
    assert!(!tdm_rows.is_empty());
    let tdm_table = bman::views::leaderboard_table(Mode::Tdm, &tdm_rows);
    assert_eq!(
        tdm_table
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["#", "name", "rating", "elo", "W/L/D", "K/D"]
    );
    assert!(!embed
        .description
        .contains(&format!("\n{:>4}  ", PAGE_SIZE + 1)));
    assert!(first.buttons[0].disabled, "no previous page");
    assert!(!first.buttons[1].disabled, "a next page");
    assert_eq!(
        commands::parse_page_button(&first.buttons[1].custom_id),
        Some((Mode::Dm, 2))
    );
    let last_page = ranked.len().div_ceil(PAGE_SIZE);
    let last = commands::leaderboard(store, Mode::Dm, last_page).unwrap();
    assert!(!last.buttons[0].disabled && last.buttons[1].disabled);
    let beyond = commands::leaderboard(store, Mode::Dm, last_page + 1).unwrap();
    assert!(beyond
        .embed
        .unwrap()
        .description
        .starts_with("No ranked dm players"));
    assert_eq!(commands::parse_page_button("lb:dm:0"), None);
    assert_eq!(commands::parse_page_button("lb:xx:1"), None);

    // Unknown and ambiguous players.
    let unknown = commands::rating(store, "no such player @everyone", None).unwrap();
    assert!(unknown.ephemeral);
    assert!(
        unknown.content.starts_with("No player matches"),
        "{}",
        unknown.content
    );
    assert!(!unknown.content.contains("@everyone"));
    let names: Vec<String> = ranked.iter().map(|r| r.player.name.clone()).collect();
    let shared = ('a'..='z')
        .map(String::from)
        .find(|c| {
            let hits = names
                .iter()
                .filter(|n| n.to_lowercase().contains(c.as_str()))
                .count();
            hits >= 2 && !names.iter().any(|n| n.eq_ignore_ascii_case(c))
        })
        .expect("two names share a letter");
    let ambiguous = commands::rating(store, &shared, None).unwrap();
    assert!(
        ambiguous.content.starts_with("Several players match"),
        "{}",
        ambiguous.content
    );
    assert!(ambiguous.content.lines().count() >= 3);
    // Each candidate is listed as "name (Platform id)", and that platform and id pick it.
    let listed = ambiguous.content.lines().nth(1).unwrap();
    let (_, qualified) = listed.trim_end_matches(')').rsplit_once(" (").unwrap();
    let picked = commands::rating(store, &qualified.replace('\\', ""), None).unwrap();
    assert!(
        picked.content.starts_with("**"),
        "{qualified}: {}",
        picked.content
    );

    // A known player: every mode played, then one mode.
    let top = &ranked[0];
    let all_modes = commands::rating(store, &top.player.key.id, None).unwrap();
    let dm_line = format!(
        "**dm** #1 · rating **{:.2}** (mu {:.2}, σ {:.2}) · K/D {}/{} · games {}",
        top.stats.rating(),
        top.stats.mu,
        top.stats.sigma,
        top.stats.kills,
        top.stats.deaths,
        top.stats.games
    );
    assert!(
        all_modes.content.lines().any(|line| line == dm_line),
        "{dm_line} in {}",
        all_modes.content
    );
    let only_svl = commands::rating(store, &top.player.key.id, Some(Mode::Svl)).unwrap();
    assert!(
        only_svl.content.contains("has not played svl yet"),
        "{}",
        only_svl.content
    );

    // The profile: stats fields, names, and a rating chart that decodes.
    let profile = commands::profile(store, &top.player.key.id).unwrap();
    let embed = profile.embed.as_ref().unwrap();
    assert!(embed
        .fields
        .iter()
        .any(|(name, value, _)| name == "DM" && value.starts_with("#1 ·")));
    assert!(embed.fields.iter().any(|(name, _, _)| name == "Names used"));
    assert!(embed.show_image);
    let image = profile.image.as_ref().expect("a rating chart");
    assert_eq!(decode_png(&image.png), (800, 360));

    // Autocomplete offers profile ids that look up exactly.
    let choices = commands::player_choices(store, &shared);
    assert!(choices.len() >= 2);
    for (_, id) in choices {
        assert!(commands::rating(store, &id, None)
            .unwrap()
            .content
            .starts_with("**"));
    }
}

fn caller(user_id: u64, roles: &[u64]) -> Caller {
    Caller {
        user_id,
        user_name: format!("user{user_id}"),
        role_ids: roles.to_vec(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_admin_commands_audit_and_relay_against_a_live_server() {
    let dir = tempfile::tempdir().unwrap();
    let sim = bman::sim::serve(common::sim_opts(
        Mode::Tdm,
        &["--matches", "1", "--rate", "0"],
    ))
    .await
    .unwrap();
    let dead_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut settings = common::settings(
        &[
            ("live", Mode::Tdm, sim.local_addr().port(), "pw"),
            ("gone", Mode::Dm, dead_port, "pw"),
        ],
        dir.path(),
    );
    settings.discord = DiscordSettings {
        admin_role_ids: vec![111],
        admin_user_ids: vec![333],
        relay_role_ids: vec![555],
        chat_channel_id: Some(43),
        ..DiscordSettings::default()
    };
    for server in &mut settings.servers {
        server.chat_relay = server.name == "live";
    }
    // The scenario's chat has `!rank` lines; their answers would reach the
    // game at any moment and mix with the commands this test counts.
    settings.chat_commands.enabled = false;
    let (ingest, recorder) = common::start(&settings).await;
    let app = ingest.context.clone();
    let live = app.server("live").unwrap().clone();
    let deadline = tokio::time::Instant::now() + WAIT;
    while !live.status().is_connected() {
        assert!(tokio::time::Instant::now() < deadline, "never connected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // /servers: the live one with its map, the dead one explained.
    let reply = commands::servers(app.servers(), commands::SERVER_QUERY_TIMEOUT).await;
    let fields = reply.embed.unwrap().fields;
    assert_eq!(fields.len(), 2);
    assert_eq!(fields[0].0, "live (tdm)");
    assert!(
        fields[0].1.contains("connected since <t:"),
        "{}",
        fields[0].1
    );
    assert!(fields[0].1.contains(" on "), "map shown: {}", fields[0].1);
    assert_eq!(fields[1].0, "gone (dm)");
    assert!(
        fields[1].1.starts_with("🔴 not connected"),
        "{}",
        fields[1].1
    );

    let permissions = Permissions::new(&settings.discord);
    let sent = |sim: &bman::sim::SimHandle| sim.stats().commands;

    // Non-admins are denied every admin command, and each attempt is audited.
    let actions = [
        AdminAction::Rcon {
            command: "map dust".into(),
        },
        AdminAction::Say { text: "hi".into() },
        AdminAction::Kick {
            player: "x".into(),
            reason: None,
        },
    ];
    for action in &actions {
        let reply = admin::run(
            &app,
            &permissions,
            &caller(9, &[555]),
            "live",
            action.clone(),
        )
        .await;
        assert!(reply.ephemeral);
        assert_eq!(reply.content, "You are not allowed to use admin commands.");
    }
    assert!(
        sent(&sim).is_empty(),
        "nothing reached the game: {:?}",
        sent(&sim)
    );

    // An admin (by role) kicks a hostile name: one quoted command, the game's reply shown.
    let reply = admin::run(
        &app,
        &permissions,
        &caller(10, &[7, 111]),
        "live",
        AdminAction::Kick {
            player: "Bob\"; ban \"all".into(),
            reason: Some("afk\nquit".into()),
        },
    )
    .await;
    assert!(
        reply.content.contains("Player not found"),
        "{}",
        reply.content
    );
    // An admin (by id): a multi-command /rcon is refused before the game sees it.
    let refused = admin::run(
        &app,
        &permissions,
        &caller(333, &[]),
        "live",
        AdminAction::Rcon {
            command: "say hi; quit".into(),
        },
    )
    .await;
    assert!(
        refused.content.contains("one command at a time"),
        "{}",
        refused.content
    );
    assert_eq!(sent(&sim), ["kick \"Bob', ban 'all\" \"afk quit\""]);
    // A server that is down answers with the reason, not a hang.
    let down = admin::run(
        &app,
        &permissions,
        &caller(333, &[]),
        "gone",
        AdminAction::Say { text: "x".into() },
    )
    .await;
    assert!(down.content.contains("not connected"), "{}", down.content);

    let log = app.store.audit_log(100).unwrap();
    assert_eq!(log.len(), 6);
    assert_eq!(log.iter().filter(|r| !r.allowed).count(), 3);
    assert!(log
        .iter()
        .filter(|r| !r.allowed)
        .all(|r| r.user_id == 9 && r.result.starts_with("denied")));
    let kick = log.iter().find(|r| r.command.starts_with("kick")).unwrap();
    assert_eq!(
        (kick.user_id, kick.server.as_str(), kick.allowed),
        (10, "live", true)
    );
    assert_eq!(kick.result, "Player not found");
    assert_eq!(log[0].server, "gone", "newest first");

    // Discord to game: only allowed users, only bridged channels, quoted.
    let routes = Routes::new(&settings);
    assert_eq!(routes.bridged(43), ["live"]);
    let stranger = relay::to_game(&app, &routes, &permissions, 43, &caller(9, &[]), "hello").await;
    assert!(stranger.is_err());
    let elsewhere =
        relay::to_game(&app, &routes, &permissions, 44, &caller(333, &[]), "hello").await;
    assert!(elsewhere.is_err());
    let relayed = relay::to_game(
        &app,
        &routes,
        &permissions,
        43,
        &caller(9, &[555]),
        "gg \"all\"; quit",
    )
    .await;
    assert_eq!(relayed, Ok(1));
    assert!(sim.wait_until(|s| s.commands.len() == 2, WAIT).await);
    assert_eq!(sent(&sim)[1], "say \"[Discord] user9: gg 'all', quit\"");

    common::stop(ingest, recorder).await;
    sim.shutdown().await;
}
