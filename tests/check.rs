//! `bman check` as an admin runs it (the real binary): against the
//! simulator, a store and a fake Discord everything passes; a wrong
//! password, a closed port, a bad database URL and a refused token each
//! fail with their own line and exit code 1. Nothing is recorded and no
//! secret is printed.

mod common;

use bman::model::Mode;
use bman::sim;
use common::fake_discord::{FakeDiscord, BOT_USERNAME, CHANNEL_ID, GUILD_ID, GUILD_NAME};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Stdio;

const TOKEN: &str = "fake-token-never-printed";

/// What one run printed and how it exited.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The line of `check` (trailing spaces of the column trimmed).
    fn line(&self, check: &str) -> String {
        self.stdout
            .lines()
            .find(|l| {
                l.get(5..)
                    .is_some_and(|rest| rest.starts_with(&format!("{check} ")))
            })
            .unwrap_or_else(|| panic!("no line for {check}:\n{}", self.stdout))
            .to_string()
    }
}

/// `bman check ARGS` in `dir` with `env` set (DATABASE_URL defaults to the dir's store).
async fn check(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = common::binary::bman(dir, &common::sqlite_url(dir));
    cmd.arg("check").args(args);
    cmd.env_remove("DISCORD_API_PROXY")
        .env_remove("BMAN_METRICS_ADDR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::task::spawn_blocking(move || {
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    };
    for secret in [TOKEN, "s3cret-pw", "db-pass"] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{secret} printed:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    run
}

fn write_settings(dir: &Path, port: u16, extra: &str) {
    std::fs::write(
        dir.join("bmsettings.ini"),
        format!("[bm]\nip = 127.0.0.1\ndm = {port}\n[config]\npassword = s3cret-pw\njournal_dir = journal\n{extra}"),
    )
    .unwrap();
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_passes_against_the_simulator_a_store_and_discord() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = common::sim_opts(Mode::Dm, &["--ping-secs", "0.5"]);
    opts.password = "s3cret-pw".into();
    let sim = sim::serve(opts).await.unwrap();
    // An existing store: the check writes into it (and leaves nothing).
    drop(bman::store::open(&common::sqlite_url(dir.path())).unwrap());
    let fake = FakeDiscord::start().await;
    let metrics_port = closed_port();
    write_settings(
        dir.path(),
        sim.local_addr().port(),
        &format!(
            "[discord]\nguild_id = {GUILD_ID}\nannounce_channel_id = {CHANNEL_ID}\n[metrics]\nlisten = 127.0.0.1:{metrics_port}\n"
        ),
    );
    let url = fake.url();
    let env = [
        ("DISCORD_TOKEN", TOKEN),
        ("DISCORD_API_PROXY", url.as_str()),
    ];
    let run = check(dir.path(), &env, &[]).await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.line("config").starts_with("ok   config"),
        "{}",
        run.stdout
    );
    let server = run.line("server dm");
    assert!(
        server.starts_with("ok")
            && server.contains("logged in; plays Deathmatch (GameModeID 0) on "),
        "{server}"
    );
    let database = run.line("database");
    assert!(
        database.starts_with("ok")
            && database.contains("SQLite 3.")
            && database.contains("scratch"),
        "{database}"
    );
    assert!(run.line("discord").contains(BOT_USERNAME), "{}", run.stdout);
    assert!(
        run.line("discord guild").contains(GUILD_NAME),
        "{}",
        run.stdout
    );
    let channel = run.line(&format!("discord channel {CHANNEL_ID}"));
    assert!(
        channel.starts_with("ok") && channel.contains("announce_channel_id"),
        "{channel}"
    );
    assert!(run.line("metrics").starts_with("ok"), "{}", run.stdout);
    // Discord was asked, through the proxy, with the token.
    for path in [
        "/api/v10/users/@me".to_string(),
        format!("/api/v10/guilds/{GUILD_ID}"),
        format!("/api/v10/channels/{CHANNEL_ID}"),
    ] {
        let asked = fake.requests_to("GET", &path);
        assert_eq!(asked.len(), 1, "{path}");
        assert_eq!(
            asked[0].header("authorization"),
            Some(&*format!("Bot {TOKEN}"))
        );
    }
    // Nothing recorded: no journal, and the store holds nothing.
    assert!(!dir.path().join("journal").exists());
    let store = bman::store::open(&common::sqlite_url(dir.path())).unwrap();
    assert!(store.checkpoints().unwrap().is_empty());
    assert_eq!(store.next_seq().unwrap(), 1);
    assert!(sim.stats().logins_ok >= 1);

    // --json says the same for scripts.
    let run = check(dir.path(), &env, &["--json"]).await;
    assert_eq!(run.code, Some(0));
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["ok"], json!(true));
    let checks = report["checks"].as_array().unwrap();
    assert!(checks.iter().all(|c| c["status"] != "fail"), "{report}");
    assert_eq!(checks[1]["check"], "server dm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_fails_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::serve(common::sim_opts(Mode::Dm, &[])).await.unwrap();
    write_settings(dir.path(), sim.local_addr().port(), "");
    let run = check(dir.path(), &[], &[]).await;
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let line = run.line("server dm");
    assert!(
        line.starts_with("FAIL")
            && line.contains("refused the login")
            && line.contains("RCON password"),
        "{line}"
    );
    assert!(run.line("database").starts_with("ok"), "{}", run.stdout);
    assert!(run.line("discord").starts_with("skip"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_fails_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    write_settings(dir.path(), port, "");
    let run = check(dir.path(), &[], &[]).await;
    assert_eq!(run.code, Some(1));
    let line = run.line("server dm");
    assert!(
        line.starts_with("FAIL")
            && line.contains(&format!(
                "nothing listens on 127.0.0.1:{port} (connection refused)"
            ))
            && line.contains(&format!("bman simulate --port {port} --mode dm")),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_database_url_fails_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = common::sim_opts(Mode::Dm, &[]);
    opts.password = "s3cret-pw".into();
    let sim = sim::serve(opts).await.unwrap();
    write_settings(dir.path(), sim.local_addr().port(), "");
    let run = check(
        dir.path(),
        &[("DATABASE_URL", "postgres://bman:db-pass@db.example/bman")],
        &[],
    )
    .await;
    assert_eq!(run.code, Some(1));
    let line = run.line("database");
    assert!(
        line.starts_with("FAIL") && line.contains("a postgres:// URL is not a store URL"),
        "{line}"
    );
    assert!(run.line("server dm").starts_with("ok"), "{}", run.stdout);
    let run = check(
        dir.path(),
        &[("DATABASE_URL", "mongodb://bman:db-pass@")],
        &[],
    )
    .await;
    assert_eq!(run.code, Some(1));
    assert!(run.line("database").starts_with("FAIL"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_fails_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = common::sim_opts(Mode::Dm, &[]);
    opts.password = "s3cret-pw".into();
    let sim = sim::serve(opts).await.unwrap();
    write_settings(
        dir.path(),
        sim.local_addr().port(),
        &format!("[discord]\nguild_id = {GUILD_ID}\n"),
    );
    let fake = FakeDiscord::start().await;
    fake.respond_next_where(
        100,
        401,
        json!({"message": "401: Unauthorized", "code": 0}),
        |_, _| true,
    );
    let url = fake.url();
    let run = check(
        dir.path(),
        &[
            ("DISCORD_TOKEN", TOKEN),
            ("DISCORD_API_PROXY", url.as_str()),
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, Some(1));
    let line = run.line("discord");
    assert!(
        line.starts_with("FAIL") && line.contains("the token is refused (401 Unauthorized)"),
        "{line}"
    );
    // Nothing else is asked with a refused token.
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_mistake_is_the_only_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bmsettings.ini"), "[bm]\ndm = abc\n").unwrap();
    let run = check(dir.path(), &[], &[]).await;
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stdout.trim(),
        "FAIL config  bmsettings.ini:2: [bm] dm: expected a TCP port number (1-65535), found \"abc\""
    );
    std::fs::write(
        dir.path().join("bmsettings.ini"),
        "[config]\npassword = x\n",
    )
    .unwrap();
    let run = check(dir.path(), &[], &[]).await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.line("config").contains("no game servers configured"),
        "{}",
        run.stdout
    );
}

/// With `BMAN_TEST_MONGODB_URI`: the database line names MongoDB and its version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_check_names_mongodb() {
    let Some(base) = common::mongo_uri() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write_settings(dir.path(), closed_port(), "");
    let url = common::unique_mongo_url(&base, "check");
    let run = check(dir.path(), &[("DATABASE_URL", url.as_str())], &[]).await;
    let line = run.line("database");
    assert!(
        line.starts_with("ok") && line.contains("MongoDB ") && line.contains("scratch"),
        "{line}"
    );
}
