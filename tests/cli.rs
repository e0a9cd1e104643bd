//! The `bman` binary as an admin runs it: start, record from a simulator,
//! stop on SIGTERM within 5 s, and replay what it journaled.

mod common;

use common::binary::{self, line_count, sigterm, wait_exit};

use bman::model::Mode;
use bman::sim;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The binary with the embedded store's default location (as a newcomer runs it).
fn bman(dir: &Path) -> Command {
    let mut cmd = binary::bman(dir, "");
    cmd.env_remove("DATABASE_URL");
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_records_stops_on_sigterm_and_replay_reads_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let opts = common::sim_opts(
        Mode::Tdm,
        &["--matches", "1", "--rate", "500", "--ping-secs", "0.5"],
    );
    let scenario = common::scenario_events(&opts);
    let sim = sim::serve(opts).await.unwrap();
    std::fs::write(
        dir.path().join("bmsettings.ini"),
        format!(
            "[bm]\nip = 127.0.0.1\ntdm = {}\n[config]\npassword = pw\n",
            sim.local_addr().port()
        ),
    )
    .unwrap();
    let mut child = bman(dir.path())
        .arg("run")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let journal = dir.path().join("journal/tdm.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !sim.stats().scenario_done {
        assert!(Instant::now() < deadline, "scenario not delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sigterm(&child);
    let status = tokio::task::spawn_blocking(move || {
        let status = wait_exit(&mut child, Duration::from_secs(5));
        let mut log = String::new();
        for line in BufReader::new(child.stderr.take().unwrap()).lines() {
            log.push_str(&line.unwrap());
            log.push('\n');
        }
        (status, log)
    })
    .await
    .unwrap();
    let (status, log) = status;
    assert!(status.success(), "exit status {status:?}\n{log}");
    assert!(
        log.contains("DISCORD_TOKEN is not set"),
        "says the bot is off:\n{log}"
    );
    assert!(!log.contains("pw"), "no password in the log:\n{log}");
    assert!(line_count(&journal) > scenario.len());

    // Replay into a fresh store reads every journaled event back.
    let mut replay = binary::bman(dir.path(), "sqlite://replayed.sqlite3");
    replay.args(["replay", "--json", "journal/tdm.jsonl"]);
    let counts: serde_json::Value = serde_json::from_str(&binary::output(replay)).unwrap();
    let replayed: u64 = counts["tdm"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(
        replayed as usize,
        line_count(&journal),
        "every journal line replayed"
    );
    let deaths = scenario.iter().filter(|e| e.id == 6).count() as u64;
    assert_eq!(counts["tdm"]["player_death"], deaths);
}

#[test]
fn first_start_with_the_sample_config_explains_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    // The shipped sample, pointed at a port where no game server listens.
    let sample =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/bmsettings.ini")).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let free_port = listener.local_addr().unwrap().port();
    drop(listener);
    std::fs::write(
        dir.path().join("bmsettings.ini"),
        sample.replace("42070", &free_port.to_string()),
    )
    .unwrap();
    let mut child = bman(dir.path()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(log.contains("DISCORD_TOKEN is not set") && log.contains("cannot connect")) {
        assert!(Instant::now() < deadline, "no explanation in time:\n{log}");
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        log.push_str(&line);
    }
    assert!(log.contains("cannot connect"), "{log}");
    assert!(
        log.contains("to try bman without a game, run `bman simulate --port ")
            && log.contains(" --mode dm` in another terminal"),
        "says how to try it without a game:\n{log}"
    );
    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(5)).success());
    assert!(
        dir.path().join("bman.sqlite3").exists(),
        "the embedded store was created"
    );
}

#[test]
fn a_missing_config_file_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let out = bman(dir.path())
        .args(["--config", "nope.ini", "run"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nope.ini") && err.contains("--config"),
        "{err}"
    );
}

/// `bman audit` lists what the bot recorded, newest first: exact strings in
/// `--json`, escaped and clipped in the table, `--limit` respected.
#[test]
fn audit_lists_recorded_commands() {
    use bman::model::AuditRecord;
    let dir = tempfile::tempdir().unwrap();
    let url = common::sqlite_url(dir.path());
    let records = [
        AuditRecord {
            time_ms: 1_714_564_800_000,
            user_id: 80_351_110_224_678_912,
            user_name: "Admin".into(),
            server: "eu-tdm".into(),
            command: "kick Bob (afk)".into(),
            allowed: true,
            result: "Kicked Bob".into(),
        },
        AuditRecord {
            time_ms: 1_714_564_860_000,
            user_id: 42,
            user_name: "Mallory\n\u{1b}[2J".into(),
            server: "eu-tdm".into(),
            command: "rcon say \"100%\"\nquit".into(),
            allowed: false,
            result: "denied: not an admin".into(),
        },
    ];
    {
        let store = bman::store::open(&url).unwrap();
        for r in &records {
            store.record_audit(r).unwrap();
        }
    }

    let mut cmd = binary::bman(dir.path(), &url);
    cmd.args(["audit", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&binary::output(cmd)).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{json}");
    assert_eq!(rows[0]["user_name"], records[1].user_name);
    assert_eq!(rows[0]["command"], records[1].command);
    assert_eq!(rows[0]["allowed"], false);
    assert_eq!(rows[1]["user_id"], "80351110224678912", "ids as strings");
    assert_eq!(rows[1]["time_ms"], 1_714_564_800_000_i64);
    assert_eq!(rows[1]["result"], "Kicked Bob");

    let mut cmd = binary::bman(dir.path(), &url);
    cmd.arg("audit");
    let table = binary::output(cmd);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "a header and one line per record:\n{table}");
    assert!(
        lines[1].starts_with("2024-05-01 12:01:00  Mallory\\n\\u{1b}[2J"),
        "{table}"
    );
    assert!(lines[1].contains("denied") && lines[1].contains(r#"rcon say "100%"\nquit"#));
    assert!(
        lines[2].starts_with("2024-05-01 12:00:00  Admin"),
        "{table}"
    );
    assert!(lines[2].contains("80351110224678912") && lines[2].contains("allowed"));
    assert!(
        !table.contains('\u{1b}'),
        "no raw escape reaches the terminal"
    );

    let mut cmd = binary::bman(dir.path(), &url);
    cmd.args(["audit", "--json", "--limit", "1"]);
    let json: serde_json::Value = serde_json::from_str(&binary::output(cmd)).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert_eq!(json[0]["user_id"], "42");
}

/// `bman ban`, `bman bans` and `bman unban` on a store: one player per
/// query (several are refused with their profile ids), bots, bad lengths and
/// unknown servers refused with exit code 1, JSON with the CLI as the banner.
#[test]
fn ban_list_and_unban_from_the_command_line() {
    use bman::model::{PlayerKey, PlayerSeen};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bans.sqlite3").display());
    let seen = |id: &str, name: &str| PlayerSeen {
        name: Some(name.into()),
        ..PlayerSeen::bare(PlayerKey::new(0, id), 1_000)
    };
    bman::store::open(&url)
        .unwrap()
        .apply(&bman::store::WriteBatch {
            players: vec![seen("7656001", "Alice"), seen("7656002", "Alicia")],
            ..Default::default()
        })
        .unwrap();
    std::fs::write(
        dir.path().join("bmsettings.ini"),
        "[server.eu-dm]\nhost = 127.0.0.1\nport = 42070\nmode = dm\npassword = pw\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = binary::bman(dir.path(), &url).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, _, err) = run(&["ban", "ali", "--for", "7d"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("Several players match") && err.contains("7656001") && err.contains("7656002"),
        "{err}"
    );
    for (args, says) in [
        (&["ban", "bot3"][..], "is a bot"),
        (&["ban", "nobody"], "No player matches"),
        (&["ban", "7656002", "--for", "1y"], "not a ban length"),
        (
            &["ban", "7656002", "--server", "nowhere"],
            "No server named",
        ),
    ] {
        let (code, _, err) = run(args);
        assert_eq!(code, Some(1), "{args:?}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let (code, out, err) = run(&[
        "ban", "7656001", "--for", "7d", "--reason", "aimbot", "--server", "eu-dm",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.starts_with("banned Alice (Steam 7656001) until "),
        "{out}"
    );
    assert!(
        out.contains(": aimbot (by cli, ") && out.contains("; eu-dm)"),
        "{out}"
    );
    let (_, json, _) = run(&["bans", "--json"]);
    let listed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["profile_id"], "7656001");
    assert_eq!(listed[0]["by"]["user_id"], serde_json::Value::Null);
    assert_eq!(listed[0]["servers"], serde_json::json!(["eu-dm"]));
    assert_eq!(listed[0]["active"], true);
    let (code, out, _) = run(&["unban", "alice"]);
    assert_eq!(
        (code, out.trim()),
        (Some(0), "lifted 1 ban of Alice (profile 7656001)")
    );
    let (code, _, err) = run(&["unban", "alice"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("has no active ban"), "{err}");
    assert_eq!(run(&["bans"]).1, "No bans.\n");
    assert!(run(&["bans", "--all"]).1.contains("[lifted by cli, "));
}
