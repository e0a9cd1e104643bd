//! Driving the real `bman` binary: a clean environment, signals, exits, output.

use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// `bman` in `dir` with none of the caller's bman variables, storing in `database`.
pub fn bman(dir: &Path, database: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bman"));
    cmd.current_dir(dir)
        .env_remove("DISCORD_TOKEN")
        .env_remove("MONGODB_URI")
        .env_remove("RCON_PASSWORD")
        .env_remove("BMAN_CONFIG")
        .env("DATABASE_URL", database)
        .env("RUST_LOG", "info");
    cmd
}

/// Runs `cmd` to completion; panics with its stderr unless it succeeds; returns stdout.
pub fn output(mut cmd: Command) -> String {
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn sigterm(child: &Child) {
    // SAFETY: kill(2) on our own child with a valid signal number.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0, "kill failed");
}

/// Waits for the process to exit, at most `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            child.kill().ok();
            panic!("bman did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM, then the exit status and everything the process wrote to its
/// (piped) stderr.
pub fn stop_and_log(mut child: Child) -> (ExitStatus, String) {
    sigterm(&child);
    let status = wait_exit(&mut child, Duration::from_secs(10));
    let mut log = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        std::io::Read::read_to_string(&mut stderr, &mut log).unwrap();
    }
    (status, log)
}

/// Lines in a file (0 when it does not exist yet).
pub fn line_count(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// `bman leaderboard --mode M --all --json` as JSON rows.
pub fn leaderboard(dir: &Path, database: &str, mode: bman::model::Mode) -> Vec<Value> {
    let mut cmd = bman(dir, database);
    cmd.args([
        "leaderboard",
        "--mode",
        mode.as_str(),
        "--all",
        "--limit",
        "1000",
        "--json",
    ]);
    let rows: Value = serde_json::from_str(&output(cmd)).unwrap();
    rows.as_array().unwrap().clone()
}

/// [`leaderboard`] in a stable order, without ranks (equal ratings may swap).
pub fn stable_leaderboard(dir: &Path, database: &str, mode: bman::model::Mode) -> Vec<Value> {
    let mut rows = leaderboard(dir, database, mode);
    for row in &mut rows {
        row.as_object_mut().unwrap().remove("rank");
    }
    rows.sort_by_key(|r| {
        (
            r["store"].as_i64(),
            r["profile_id"].as_str().map(String::from),
        )
    });
    rows
}

/// Two leaderboards agree on every field (floats to 1e-9), and are not empty.
pub fn assert_same_stats(a: &[Value], b: &[Value], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: same players");
    assert!(!a.is_empty(), "{what}: something was recorded");
    for (x, y) in a.iter().zip(b) {
        for (field, vx) in x.as_object().unwrap() {
            let vy = &y[field];
            match (vx.as_f64(), vy.as_f64()) {
                (Some(fx), Some(fy)) if vx.is_f64() || vy.is_f64() => {
                    assert!(
                        (fx - fy).abs() <= 1e-9,
                        "{what}: {field} {fx} vs {fy} for {}",
                        x["name"]
                    )
                }
                _ => assert_eq!(vx, vy, "{what}: {field} for {}", x["name"]),
            }
        }
    }
}
