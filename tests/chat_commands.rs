//! In-game chat commands end to end: a player types `!rank` into the
//! simulator's chat, and the simulator receives exactly one `say` command
//! carrying that player's rating as the store has it.

mod common;

use bman::model::Mode;
use bman::model::PlayerKey;
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// Every console command the simulator has received so far.
fn commands(sim: &bman::sim::SimHandle) -> Vec<String> {
    sim.stats().commands
}

/// Waits until the simulator has received `n` commands, then a little longer
/// to make sure no extra one follows.
async fn settle_at(sim: &bman::sim::SimHandle, n: usize) -> Vec<String> {
    assert!(
        sim.wait_until(|s| s.commands.len() >= n, WAIT).await,
        "expected {n} commands, have {:?}",
        commands(sim)
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let all = commands(sim);
    assert_eq!(all.len(), n, "no more commands than expected: {all:?}");
    all
}

fn chat(slot: i64, message: &str) -> String {
    json!({"Time": "1760009999", "EventID": "42", "PlayerID": slot.to_string(), "Name": "x", "Profile": "", "Message": message, "Team": "0"})
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn players_ask_for_their_rank_in_game() {
    let dir = tempfile::tempdir().unwrap();
    let opts = common::one_dm_match_sim_opts();
    let events = common::scenario_events(&opts).len();
    let sim = bman::sim::serve(opts).await.unwrap();
    let settings = common::settings(
        &[("dm", Mode::Dm, sim.local_addr().port(), "pw")],
        dir.path(),
    );
    let (ingest, recorder) = common::start(&settings).await;
    common::wait_journaled(dir.path(), "dm", events).await;
    // The scenario's own chat commands get answered too; wait until that settles.
    let mut before = commands(&sim).len();
    loop {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let now = commands(&sim).len();
        if now == before {
            break;
        }
        before = now;
    }
    assert!(
        before > 0,
        "the scenario's own !rank/!top/!stats lines were answered"
    );
    for command in commands(&sim) {
        assert!(command.starts_with("say \""), "{command}");
        assert_eq!(
            command.matches('"').count(),
            2,
            "one quoted argument, whatever the names: {command}"
        );
        assert!(!command.chars().any(char::is_control), "{command}");
    }

    // Who is on the server now: a human with stats, and a bot.
    let handle = ingest.handles[0].clone();
    let board = handle.scoreboard().await.unwrap();
    let store = recorder.store.clone();
    let (human, key, stats, rank) = board
        .players
        .iter()
        .filter(|p| !p.bot)
        .find_map(|p| {
            let key: PlayerKey = p.profile.as_ref()?.key();
            let profile = store.profile(&key).unwrap()?;
            let (_, stats, rank) = profile
                .modes
                .iter()
                .find(|(m, _, _)| *m == Mode::Dm)?
                .to_owned();
            Some((p.clone(), key, stats, rank))
        })
        .expect("a rated human is online");
    let bot = board
        .players
        .iter()
        .find(|p| p.bot)
        .expect("a bot is online");
    let name = store.profile(&key).unwrap().unwrap().player.name;

    let slot = i64::from(human.slot.unwrap());
    sim.inject(42, chat(slot, "!rank"));
    let after = settle_at(&sim, before + 1).await;
    let expected = format!(
        "say {}",
        bman::rcon::console_quote(&format!(
            "{name}: #{rank} in dm, rating {:.1}, K/D {}/{}",
            stats.rating(),
            stats.kills,
            stats.deaths
        ))
    );
    assert_eq!(after[before], expected);

    // Cooldown: the same player again at once gets nothing; the server's own
    // messages and bots never trigger a reply.
    sim.inject(42, chat(slot, "!rating"));
    sim.inject(42, chat(-1, "!rank"));
    sim.inject(42, chat(i64::from(bot.slot.unwrap()), "!top"));
    settle_at(&sim, before + 1).await;

    // Another player may ask about someone else by name.
    let other = board
        .players
        .iter()
        .find(|p| !p.bot && p.slot != human.slot && p.profile.is_some())
        .expect("a second human");
    sim.inject(
        42,
        chat(
            i64::from(other.slot.unwrap()),
            &format!("!stats {}", name.to_uppercase()),
        ),
    );
    let after = settle_at(&sim, before + 2).await;
    assert!(
        after[before + 1].contains(&format!("#{rank} in dm")),
        "{}",
        after[before + 1]
    );

    common::stop(ingest, recorder).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_commands_can_be_switched_off_per_server() {
    let dir = tempfile::tempdir().unwrap();
    let opts = common::sim_opts(Mode::Tdm, &["--matches", "1", "--rate", "0", "--seed", "2"]);
    let events = common::scenario_events(&opts).len();
    let sim = bman::sim::serve(opts).await.unwrap();
    let mut settings = common::settings(
        &[("tdm", Mode::Tdm, sim.local_addr().port(), "pw")],
        dir.path(),
    );
    settings.servers[0].chat_commands = false;
    let (ingest, recorder) = common::start(&settings).await;
    common::wait_journaled(dir.path(), "tdm", events).await;
    let board = ingest.handles[0].scoreboard().await.unwrap();
    let human = board.players.iter().find(|p| !p.bot).unwrap();
    sim.inject(42, chat(i64::from(human.slot.unwrap()), "!help"));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(commands(&sim).is_empty(), "{:?}", commands(&sim));
    common::stop(ingest, recorder).await;
}
