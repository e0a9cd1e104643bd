//! The README's simulator walk-through, run as written: its three commands,
//! with the sample bmsettings.ini, in an empty folder, fill the leaderboard.
//! (Its own test binary: it serves on the sample's fixed port 42070.)

mod common;

use common::binary::{sigterm, wait_exit};

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The commands of the README's "Try it without a game" code block.
fn readme_commands() -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let section = readme
        .split("## Try it without a game")
        .nth(1)
        .expect("the walk-through section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("its code block");
    block
        .lines()
        .map(|line| {
            let command = line.split('#').next().unwrap().trim();
            let args = command
                .strip_prefix("cargo run --release")
                .unwrap_or_else(|| panic!("not a bman command: {line}"));
            let args = args.trim().strip_prefix("--").unwrap_or(args);
            args.split_whitespace().map(String::from).collect()
        })
        .collect()
}

/// `bman ARGS` as a newcomer runs it: in `dir`, with no bman variables set.
fn bman(dir: &Path, args: &[String]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bman"));
    cmd.current_dir(dir)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("MONGODB_URI")
        .env_remove("RCON_PASSWORD")
        .env_remove("BMAN_CONFIG")
        .env_remove("DISCORD_TOKEN")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    cmd
}

fn stop(mut child: Child) {
    sigterm(&child);
    wait_exit(&mut child, Duration::from_secs(10));
}

#[test]
fn the_readme_walkthrough_fills_the_leaderboard() {
    let commands = readme_commands();
    assert_eq!(commands.len(), 3, "{commands:?}");
    assert_eq!(commands[0][0], "simulate");
    assert!(commands[1].is_empty(), "the second command is plain `bman`");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(ROOT).join("bmsettings.ini"),
        dir.path().join("bmsettings.ini"),
    )
    .unwrap();
    let simulator = bman(dir.path(), &commands[0]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let recorder = bman(dir.path(), &commands[1]).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut board = String::new();
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(1));
        let out = bman(dir.path(), &commands[2]).output().unwrap();
        board = String::from_utf8_lossy(&out.stdout).into_owned();
        if board.lines().count() >= 3 {
            break;
        }
    }
    stop(recorder);
    stop(simulator);
    assert!(
        board.lines().count() >= 3 && board.contains("rating"),
        "a header and players:\n{board}"
    );
}
