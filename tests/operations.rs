//! Running bman as a service: `bman backup` of the live store while it
//! records, and `LOG_FORMAT=json` logs for log shippers.

mod common;

use common::binary::{self, assert_same_stats, output, sigterm, stop_and_log, wait_exit};

use bman::model::Mode;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn quiet(mut cmd: Command) -> Command {
    cmd.env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn journal_lines(dir: &Path) -> usize {
    binary::line_count(&dir.join("journal/tdm.jsonl"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_recording_is_a_consistent_store() {
    let dir = tempfile::tempdir().unwrap();
    let opts = common::sim_opts(
        Mode::Tdm,
        &["--matches", "12", "--rate", "400", "--seed", "5"],
    );
    let sim = bman::sim::serve(opts).await.unwrap();
    std::fs::write(
        dir.path().join("bmsettings.ini"),
        format!(
            "[bm]\ntdm = {}\n[config]\npassword = pw\n",
            sim.local_addr().port()
        ),
    )
    .unwrap();
    let path = dir.path().to_path_buf();
    let mut child = quiet(binary::bman(&path, "sqlite://live.sqlite3"))
        .arg("run")
        .spawn()
        .unwrap();

    let p = path.clone();
    let (taken_at, said) = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while journal_lines(&p) < 600 {
            assert!(Instant::now() < deadline, "recording never got going");
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut backup = binary::bman(&p, "sqlite://live.sqlite3");
        backup.args(["backup", "snap.sqlite3"]);
        let said = output(backup);
        (journal_lines(&p), said)
    })
    .await
    .unwrap();
    assert!(
        said.starts_with("backed up live.sqlite3 to snap.sqlite3"),
        "{said}"
    );
    assert!(
        !path.join("snap.sqlite3.partial").exists(),
        "the partial file was renamed"
    );

    // The copy opens and answers on its own, while recording goes on.
    let snap = binary::stable_leaderboard(&path, "sqlite://snap.sqlite3", Mode::Tdm);
    assert!(!snap.is_empty(), "the backup holds players");
    let check = rusqlite::Connection::open(path.join("snap.sqlite3")).unwrap();
    let integrity: String = check
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    drop(check);
    // A backup never overwrites.
    let mut again = binary::bman(&path, "sqlite://live.sqlite3");
    again.args(["backup", "snap.sqlite3"]);
    let out = again.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("never overwrites"));

    assert!(
        sim.wait_until(|s| s.scenario_done, Duration::from_secs(60))
            .await,
        "scenario delivered"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(10)).success());
    assert!(
        journal_lines(&path) > taken_at,
        "recording went on after the backup"
    );

    // The copy is one committed state, checkpoints included: replaying the
    // journal into it adds exactly what came after, and it ends like the live store.
    let mut replay = binary::bman(&path, "sqlite://snap.sqlite3");
    replay.args(["replay", "journal"]);
    let replayed = output(replay);
    assert!(replayed.starts_with("new events:"), "{replayed}");
    assert!(replayed.contains("skipped "), "{replayed}");
    assert_same_stats(
        &binary::stable_leaderboard(&path, "sqlite://live.sqlite3", Mode::Tdm),
        &binary::stable_leaderboard(&path, "sqlite://snap.sqlite3", Mode::Tdm),
        "live vs backup + the journal after it",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_a_line_and_carry_no_secret() {
    const RCON: &str = "rc0n-S3CRET";
    const WRONG: &str = "wr0ng-S3CRET";
    const TOKEN: &str = "MTAx.discord-S3CRET-token";
    let dir = tempfile::tempdir().unwrap();
    let mut opts = common::sim_opts(Mode::Dm, &["--matches", "1", "--rate", "200"]);
    opts.password = RCON.to_string();
    let sim = bman::sim::serve(opts).await.unwrap();
    let port = sim.local_addr().port();
    let other = bman::sim::serve(common::sim_opts(Mode::Dm, &[]))
        .await
        .unwrap();
    let other_port = other.local_addr().port();
    std::fs::write(
        dir.path().join("bmsettings.ini"),
        format!(
            "[bm]\ndm = {port}\n[server.wrong]\nhost = 127.0.0.1\nport = {other_port}\nmode = dm\npassword_env = WRONG_PW\n"
        ),
    )
    .unwrap();
    let mut cmd = binary::bman(dir.path(), "sqlite://live.sqlite3");
    cmd.env("LOG_FORMAT", "json")
        .env("RCON_PASSWORD", RCON)
        .env("WRONG_PW", WRONG)
        .env("DISCORD_TOKEN", TOKEN)
        // Nothing listens there: the bot fails to start and says so.
        .env("DISCORD_API_PROXY", "http://127.0.0.1:1")
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    assert!(
        sim.wait_until(|s| s.scenario_done, Duration::from_secs(60))
            .await,
        "scenario delivered"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, log) = tokio::task::spawn_blocking(move || stop_and_log(child))
        .await
        .unwrap();
    assert!(status.success(), "{log}");

    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() >= 5, "{log}");
    for line in &lines {
        for field in ["timestamp", "level", "target", "message"] {
            assert!(line[field].is_string(), "{field} missing: {line}");
        }
    }
    let said = |text: &str| {
        lines
            .iter()
            .any(|l| l["message"].as_str().is_some_and(|m| m.contains(text)))
    };
    assert!(said("shutting down"), "{log}");
    assert!(said("login"), "the rejected login is logged: {log}");
    assert!(
        lines
            .iter()
            .any(|l| l["server"] == "wrong" && l["level"] != "INFO"),
        "the server's name is a field of its own: {log}"
    );
    for secret in [RCON, WRONG, TOKEN, "S3CRET"] {
        assert!(!log.contains(secret), "{secret} leaked: {log}");
    }
}
