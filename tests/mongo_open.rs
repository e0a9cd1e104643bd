//! A MongoDB store that cannot be opened is one clear error line and a
//! non-zero exit, never a panic, and never the URL's credentials.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A closed port on this machine, with a short server-selection wait.
const UNREACHABLE: &str =
    "mongodb://bmuser:s3cret-pw@127.0.0.1:1/bmdb?serverSelectionTimeoutMS=2000";
const MALFORMED: &str = "mongodb://bmuser:s3cret-pw@127.0.0.1:notaport/bmdb";

fn run(mut cmd: Command) -> (Output, Duration) {
    let started = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (out, started.elapsed())
}

/// Exit 1 (not a panic's 101) with exactly one ERROR line containing `expected`.
fn assert_one_error_line(out: &Output, expected: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "exit status:\n{stderr}");
    assert!(!stderr.contains("panicked"), "a panic:\n{stderr}");
    assert!(
        !stderr.contains("s3cret-pw"),
        "the password leaked:\n{stderr}"
    );
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(errors.len(), 1, "one error line:\n{stderr}");
    assert!(errors[0].contains(expected), "says {expected:?}:\n{stderr}");
    errors[0].to_string()
}

fn leaderboard(dir: &std::path::Path, url: &str) -> Command {
    let mut cmd = common::binary::bman(dir, url);
    cmd.args(["leaderboard", "--mode", "dm"]);
    cmd
}

#[test]
fn unreachable_mongodb_is_one_line_naming_host_and_wait() {
    let dir = tempfile::tempdir().unwrap();
    let (out, took) = run(leaderboard(dir.path(), UNREACHABLE));
    let line = assert_one_error_line(&out, "could not reach MongoDB at 127.0.0.1:1 within 2 s");
    assert!(line.contains("serverSelectionTimeoutMS"), "{line}");
    assert!(took < Duration::from_secs(20), "took {took:?}");

    std::fs::write(
        dir.path().join("bmsettings.ini"),
        "[bm]\nip = 127.0.0.1\ndm = 9\n[config]\npassword = pw\n",
    )
    .unwrap();
    let mut cmd = common::binary::bman(dir.path(), UNREACHABLE);
    cmd.arg("run");
    let (out, _) = run(cmd);
    assert_one_error_line(&out, "could not reach MongoDB at 127.0.0.1:1 within 2 s");
}

#[test]
fn malformed_mongodb_url_is_one_line_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (out, took) = run(leaderboard(dir.path(), MALFORMED));
    let line = assert_one_error_line(&out, "invalid MongoDB URL");
    assert!(line.contains("notaport"), "names what is wrong: {line}");
    assert!(took < Duration::from_secs(5), "took {took:?}");

    // An existing source (a missing one is refused before the target is opened).
    bman::store::sqlite::SqliteStore::open(&dir.path().join("source.sqlite3")).unwrap();
    let mut cmd = common::binary::bman(dir.path(), "sqlite://unused.sqlite3");
    cmd.args([
        "migrate",
        "--from",
        "sqlite://source.sqlite3",
        "--to",
        MALFORMED,
    ]);
    let (out, _) = run(cmd);
    let line = assert_one_error_line(&out, "cannot open the target store: ");
    assert!(line.contains("invalid MongoDB URL"), "{line}");
}
