//! The RCON ingest against the built-in simulator over real TCP on 127.0.0.1.

mod common;

use bman::model::Mode;
use bman::sim;
use common::*;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_servers_at_once_deliver_every_event_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut sims = Vec::new();
    let mut servers = Vec::new();
    for (i, mode) in Mode::ALL.into_iter().enumerate() {
        let seed = (10 + i).to_string();
        let opts = sim_opts(
            mode,
            &[
                "--matches",
                "1",
                "--rate",
                "0",
                "--seed",
                &seed,
                "--ping-secs",
                "0.2",
            ],
        );
        let expected = scenario_events(&opts);
        let handle = sim::serve(opts).await.unwrap();
        servers.push((mode.as_str(), mode, handle.local_addr().port(), "pw"));
        sims.push((mode, handle, expected));
    }
    let settings = settings(&servers, dir.path());
    let (ingest, recorder) = start(&settings).await;
    for (mode, _, expected) in &sims {
        wait_journaled(dir.path(), mode.as_str(), expected.len()).await;
    }
    // Let pings be answered before stopping.
    wait_for("ping replies", || {
        sims.iter().all(|(_, s, _)| s.stats().ping_replies >= 1)
    })
    .await;
    let handles = ingest.handles.clone();
    let counts = stop(ingest, recorder).await;
    for ((mode, sim, expected), handle) in sims.iter().zip(&handles) {
        let stats = sim.stats();
        assert_eq!(stats.confirms, 1, "{mode}: one confirm per login");
        assert_eq!(stats.max_concurrent, 1, "{mode}: one socket at a time");
        let journaled = journaled_game_events(dir.path(), mode.as_str());
        assert_eq!(
            journaled,
            as_pairs(expected),
            "{mode}: journal holds the scenario, in order"
        );
        let server_counts = &counts.0[mode.as_str()];
        assert_eq!(
            server_counts["player_death"],
            expected.iter().filter(|e| e.id == 6).count() as u64
        );
        assert!(
            server_counts["request_data"] >= 1,
            "{mode}: the sync scoreboard came back"
        );
        assert!(handle.status().events_received > expected.len() as u64);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drops_mid_frame_and_reconnects_without_losing_events() {
    let dir = tempfile::tempdir().unwrap();
    let opts = sim_opts(
        Mode::Tdm,
        &[
            "--matches",
            "1",
            "--rate",
            "0",
            "--drop-every",
            "25",
            "--split",
            "--garbage",
        ],
    );
    let expected = scenario_events(&opts);
    let sim = sim::serve(opts).await.unwrap();
    let settings = settings(
        &[("tdm", Mode::Tdm, sim.local_addr().port(), "pw")],
        dir.path(),
    );
    let (ingest, recorder) = start(&settings).await;
    wait_journaled(dir.path(), "tdm", expected.len()).await;
    let handle = ingest.handles[0].clone();
    stop(ingest, recorder).await;
    let stats = sim.stats();
    assert_eq!(stats.max_concurrent, 1, "never two sockets to one server");
    let drops = expected.len() as u64 / 25;
    assert!(
        stats.logins_ok > drops,
        "reconnected after each drop: {stats:?}"
    );
    assert_eq!(handle.status().reconnects, stats.logins_ok - 1);
    assert_eq!(
        journaled_game_events(dir.path(), "tdm"),
        as_pairs(&expected)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_reported_and_not_retried_in_a_loop() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::serve(sim_opts(Mode::Dm, &["--matches", "1"]))
        .await
        .unwrap();
    let settings = settings(
        &[("dm", Mode::Dm, sim.local_addr().port(), "wrong")],
        dir.path(),
    );
    let (ingest, recorder) = start(&settings).await;
    let handle = ingest.handles[0].clone();
    wait_for("rejection", || {
        handle
            .status()
            .last_error
            .is_some_and(|e| e.contains("login rejected"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stats = sim.stats();
    assert_eq!(
        stats.logins_failed, 1,
        "one attempt, then a slow retry: {stats:?}"
    );
    assert_eq!(stats.logins_ok, 0);
    assert!(!handle.status().is_connected());
    stop(ingest, recorder).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_get_their_replies() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::serve(sim_opts(Mode::Ctf, &["--matches", "1", "--rate", "200"]))
        .await
        .unwrap();
    let settings = settings(
        &[("ctf", Mode::Ctf, sim.local_addr().port(), "pw")],
        dir.path(),
    );
    // No handlers: the simulator's chat commands would add replies of their own.
    let (ingest, recorder) = start_with(&settings, Vec::new()).await;
    let handle = ingest.handles[0].clone();
    wait_for("login", || handle.status().is_connected()).await;
    wait_for("some players", || sim.stats().events_sent > 40).await;

    let board = handle.scoreboard().await.unwrap();
    assert!(!board.players.is_empty(), "scoreboard lists players");
    let info = handle.match_info().await.unwrap();
    assert!(info.map.is_some());
    let first = board.players[0].slot.unwrap().to_string();
    let player = handle.player(&first).await.unwrap();
    assert_eq!(player.slot, board.players[0].slot);
    let missing = handle
        .with_timeout(Duration::from_millis(300))
        .player("no such player")
        .await;
    assert!(
        matches!(missing, Err(bman::rcon::RequestError::Timeout(_))),
        "{missing:?}"
    );

    let hostile = format!("say {}", bman::rcon::console_quote("hi\"; kick \"all"));
    handle.command(&hostile).await.unwrap();
    assert!(
        handle.command("say a\nquit").await.is_err(),
        "multi-line commands are refused"
    );
    let commands = sim.stats().commands;
    assert_eq!(commands, vec!["say \"hi', kick 'all\"".to_string()]);
    stop(ingest, recorder).await;
    assert!(matches!(
        handle.scoreboard().await,
        Err(bman::rcon::RequestError::NotConnected(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_shutdown_ends_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::serve(sim_opts(Mode::Dm, &["--rate", "5"]))
        .await
        .unwrap();
    let settings = settings(
        &[("dm", Mode::Dm, sim.local_addr().port(), "pw")],
        dir.path(),
    );
    // Slow reconnects, so the reason the session ended is still the latest
    // status when the test reads it (a fast retry would replace it).
    let recorder =
        bman::pipeline::Recorder::start(bman::app::open_store(&settings).unwrap(), &settings);
    let policy = bman::rcon::supervisor::RetryPolicy {
        min: Duration::from_secs(30),
        max: Duration::from_secs(30),
        ..fast_retry()
    };
    let ingest = bman::app::Ingest::start(&settings, &recorder, policy, Vec::new())
        .await
        .unwrap();
    let handle = ingest.handles[0].clone();
    wait_for("login", || handle.status().is_connected()).await;
    sim.shutdown().await;
    wait_for("disconnect", || !handle.status().is_connected()).await;
    let status = handle.status();
    assert!(
        status
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("server_shutdown")),
        "{status:?}"
    );
    stop(ingest, recorder).await;
}
