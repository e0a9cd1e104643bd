//! What a new admin meets in the first hour, through the `bman` binary:
//! config typos, clean stops, read-only commands and look-ups.

mod common;

use common::binary::{self, sigterm, wait_exit};

use bman::model::Mode;
use bman::sim;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn run(dir: &Path, database: &str, args: &[&str]) -> Output {
    binary::bman(dir, database).args(args).output().unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A `bman run` whose log is collected as it is written.
struct Running {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Running {
    fn start(dir: &Path, database: &str) -> Running {
        let mut child = binary::bman(dir, database)
            .arg("run")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Running { child, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log shows `text`.
    fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.log().contains(text) {
            assert!(Instant::now() < deadline, "no {text:?} in:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then the whole log.
    fn stop(mut self) -> String {
        sigterm(&self.child);
        let status = wait_exit(&mut self.child, Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(100));
        let log = self.log();
        assert!(status.success(), "{log}");
        log
    }
}

#[test]
fn config_typos_are_errors_that_name_the_line_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bmsettings.ini"),
        "[bm]\nip = 127.0.0.1\ndm = 42070\n[config]\npasword = admin\n",
    )
    .unwrap();
    let out = run(dir.path(), "sqlite://bman.sqlite3", &["run"]);
    let (_, err) = text(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("bmsettings.ini:5: [config] pasword: unknown key; did you mean `password`?"),
        "{err}"
    );
    assert!(
        !dir.path().join("bman.sqlite3").exists(),
        "nothing created on a bad config"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_stop_leaves_nothing_to_reapply_and_a_crash_says_what_it_reapplies() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::serve(common::sim_opts(
        Mode::Dm,
        &["--matches", "1", "--rate", "0", "--ping-secs", "0.2"],
    ))
    .await
    .unwrap();
    std::fs::write(
        dir.path().join("bmsettings.ini"),
        format!(
            "[bm]\nip = 127.0.0.1\ndm = {}\n[config]\npassword = pw\n",
            sim.local_addr().port()
        ),
    )
    .unwrap();
    let database = common::sqlite_url(dir.path());
    let first = Running::start(dir.path(), &database);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !sim.stats().scenario_done {
        assert!(Instant::now() < deadline, "scenario not delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Pings after the last scenario event (answered, never journaled).
    tokio::time::sleep(Duration::from_millis(700)).await;
    first.stop();
    let second = Running::start(dir.path(), &database);
    second.wait_for("logged in");
    let log = second.stop();
    assert!(
        !log.contains("not clean"),
        "a clean stop is not a crash:\n{log}"
    );

    // SIGKILL: the next start says what it applies (the crashed run's
    // login, rcon_logged_in, is journaled but not yet stored).
    let journal = dir.path().join("journal/dm.jsonl");
    let before = binary::line_count(&journal);
    let mut crashed = Running::start(dir.path(), &database);
    while binary::line_count(&journal) < before + 1 {
        assert!(Instant::now() < deadline, "nothing new journaled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    crashed.child.kill().unwrap();
    crashed.child.wait().unwrap();
    let after = Running::start(dir.path(), &database);
    after.wait_for("logged in");
    let log = after.stop();
    assert!(
        log.contains("the last stop was not clean: applying the"),
        "{log}"
    );
}

#[test]
fn read_only_commands_never_create_a_store() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["leaderboard", "--mode", "dm"][..],
        &["profile", "nyx"],
        &["audit"],
    ] {
        let out = run(dir.path(), "sqlite://bman.sqlite3", args);
        let (_, err) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("no store at bman.sqlite3 yet"), "{err}");
    }
    let out = run(
        dir.path(),
        "sqlite://bman.sqlite3",
        &[
            "migrate",
            "--from",
            "sqlite://nonexist.sqlite3",
            "--to",
            "sqlite://new.sqlite3",
        ],
    );
    let (_, err) = text(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("no store to migrate from at nonexist.sqlite3"),
        "{err}"
    );
    let out = run(
        dir.path(),
        "sqlite://bman.sqlite3",
        &[
            "migrate",
            "--from",
            "bman.sqlite3",
            "--to",
            "sqlite://new.sqlite3",
        ],
    );
    let (_, err) = text(&out);
    assert!(
        err.contains("\"bman.sqlite3\" is not a store URL: use sqlite://PATH"),
        "{err}"
    );
    let created: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(created.is_empty(), "nothing created: {created:?}");
}

#[test]
fn lookups_answer_on_stdout_with_exit_codes_and_tell_players_apart() {
    use bman::model::{ModeStats, PlayerKey, PlayerSeen};
    use bman::store::WriteBatch;
    let dir = tempfile::tempdir().unwrap();
    let database = common::sqlite_url(dir.path());
    let nyx = |store: i32, id: &str| PlayerKey {
        store,
        id: id.into(),
    };
    let store = bman::store::open(&database).unwrap();
    let mut games = ModeStats::initial(&Default::default());
    games.games = 12;
    store
        .apply(&WriteBatch {
            players: vec![
                PlayerSeen {
                    name: Some("Nyx".into()),
                    ..PlayerSeen::bare(nyx(0, "76561198000000009"), 1_764_000_000_000)
                },
                PlayerSeen {
                    name: Some("Nyx".into()),
                    ..PlayerSeen::bare(nyx(1, "284375839201928374"), 1_764_500_000_000)
                },
            ],
            stats: vec![(nyx(1, "284375839201928374"), Mode::Tdm, games)],
            ..WriteBatch::default()
        })
        .unwrap();
    drop(store);
    let out = run(dir.path(), &database, &["profile", "nyx"]);
    let (said, err) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{said}{err}");
    assert!(said.contains("matches several players"), "{said}");
    assert!(
        said.contains("Nyx (Discord 284375839201928374): tdm 12 games; last seen 2025-11-30"),
        "{said}"
    );
    assert!(
        said.contains("Nyx (Steam 76561198000000009); last seen 2025-11-24"),
        "{said}"
    );
    assert!(!err.contains("ERROR"), "an answer, not an error: {err}");
    let out = run(dir.path(), &database, &["profile", "nobody"]);
    let (said, err) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(said, "no player matches \"nobody\"\n");
    assert!(!err.contains("ERROR"), "{err}");
}

#[test]
fn replaying_twice_says_that_nothing_was_new() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("dm.jsonl");
    let opts = common::sim_opts(Mode::Dm, &["--matches", "1"]);
    bman::sim::dump(&opts, &mut std::fs::File::create(&journal).unwrap()).unwrap();
    let lines = binary::line_count(&journal);
    let database = common::sqlite_url(dir.path());
    let replay = || {
        let mut cmd = binary::bman(dir.path(), &database);
        cmd.arg("replay").arg(&journal);
        binary::output(cmd)
    };
    let first = replay();
    assert!(first.starts_with("new events:\nsim: "), "{first}");
    assert!(!first.contains("skipped"), "{first}");
    assert_eq!(
        replay(),
        format!("nothing new: all {lines} events were already applied\n")
    );
}

#[test]
fn config_is_offered_where_it_is_read_and_found_wherever_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("other.ini"), "[bmm]\n").unwrap();
    for args in [
        &["leaderboard", "--mode", "dm", "--config", "other.ini"][..],
        &["--config", "other.ini", "leaderboard", "--mode", "dm"],
    ] {
        let out = run(dir.path(), "sqlite://bman.sqlite3", args);
        let (_, err) = text(&out);
        assert!(
            err.contains("other.ini:1: unknown section [bmm]"),
            "{args:?}: {err}"
        );
    }
    for command in ["simulate", "migrate"] {
        let out = run(dir.path(), "sqlite://bman.sqlite3", &[command, "--help"]);
        let (help, _) = text(&out);
        assert!(!help.contains("--config"), "{command} ignores it:\n{help}");
    }
}
