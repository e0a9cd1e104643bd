//! `/healthz` and `/metrics` over real HTTP: health follows a server that
//! goes down past its backoff and comes back; the metrics parse as
//! Prometheus text and their counters match the journal and the store.

mod common;

use bman::event::event_name;
use bman::journal::{journal_path, JournalReader};
use bman::model::{Fact, Mode};
use bman::sim;
use common::scrape::{by_label, get, parse_prometheus};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Polls `/healthz` until it answers `status` with the (only) server in
/// `state`; returns the body.
async fn wait_health(addr: SocketAddr, status: u16, state: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (got, content_type, body) = get(addr, "/healthz").await;
        assert_eq!(content_type, "application/json");
        let report: Value = serde_json::from_str(&body).unwrap();
        if got == status && report["servers"][0]["state"] == state {
            return report;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/healthz stayed {got}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn serve(recorder: &bman::pipeline::Recorder) -> (SocketAddr, CancellationToken) {
    let listener = bman::metrics::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    bman::app::serve_metrics(listener, recorder, stop.clone());
    (addr, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_turns_503_when_a_server_stays_down_and_200_when_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let opts = common::sim_opts(Mode::Dm, &["--ping-secs", "0.5"]);
    let first = sim::serve(opts.clone()).await.unwrap();
    let port = first.local_addr().port();
    let settings = common::settings(&[("dm", Mode::Dm, port, "pw")], dir.path());
    let (ingest, recorder) = common::start(&settings).await;
    let (addr, stop) = serve(&recorder).await;

    // Healthy while it connects, and once it is connected.
    let (first_status, _, _) = get(addr, "/healthz").await;
    assert_eq!(first_status, 200);
    let ok = wait_health(addr, 200, "connected").await;
    assert_eq!(ok["status"], "ok");

    // The server goes away: after the first retry fails (20 ms backoff here), 503.
    drop(first);
    let down = wait_health(addr, 503, "down").await;
    assert_eq!(down["status"], "unhealthy");
    assert_eq!(down["servers"][0]["name"], "dm");
    let reason = down["reasons"][0].as_str().unwrap();
    assert!(reason.starts_with("server dm is down"), "{reason}");
    assert!(reason.contains("cannot connect"), "{reason}");

    // Back on the same port: healthy again once logged in.
    let mut again = opts;
    again.port = port;
    let _second = sim::serve(again).await.unwrap();
    let back = wait_health(addr, 200, "connected").await;
    assert_eq!(back["reasons"], serde_json::json!([]));
    let (_, _, text) = get(addr, "/metrics").await;
    let samples = parse_prometheus(&text);
    assert_eq!(
        by_label(&samples, "bman_server_reconnects_total", "server")["dm"],
        1.0
    );

    common::stop(ingest, recorder).await;
    stop.cancel();
}

/// Journaled frames of `server` by event kind.
fn journal_kinds(dir: &Path, server: &str) -> BTreeMap<String, f64> {
    let mut kinds = BTreeMap::new();
    for line in JournalReader::open(&journal_path(&dir.join("journal"), server)).unwrap() {
        let (line, _) = line.unwrap();
        *kinds.entry(event_name(line.id).to_string()).or_default() += 1.0;
    }
    kinds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_match_the_journal_and_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let opts = common::sim_opts(
        Mode::Dm,
        &[
            "--matches",
            "2",
            "--rate",
            "0",
            "--ping-secs",
            "0.5",
            "--drop-every",
            "150",
            "--garbage",
        ],
    );
    let scenario = common::scenario_events(&opts).len();
    let sim = sim::serve(opts).await.unwrap();
    let settings = common::settings(
        &[("dm", Mode::Dm, sim.local_addr().port(), "pw")],
        dir.path(),
    );
    let (ingest, recorder) = common::start(&settings).await;
    let (addr, stop) = serve(&recorder).await;
    common::wait_journaled(dir.path(), "dm", scenario).await;

    let (status, content_type, text) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let live = parse_prometheus(&text);
    assert_eq!(
        by_label(&live, "bman_server_connected", "server")["dm"],
        1.0
    );
    assert!(by_label(&live, "bman_server_last_event_age_seconds", "server")["dm"] < 30.0);
    assert!(by_label(&live, "bman_writer_queue_depth", "").contains_key(""));
    assert_eq!(get(addr, "/nope").await.0, 404);

    // Chat commands: each answer is a `say` the simulator received.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let says = sim
            .stats()
            .commands
            .iter()
            .filter(|c| c.starts_with("say "))
            .count() as f64;
        let samples = parse_prometheus(&get(addr, "/metrics").await.2);
        let answered: f64 = by_label(&samples, "bman_chat_commands_answered_total", "command")
            .values()
            .sum();
        if answered == says && says > 0.0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{answered} answered, {says} said"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Stopping commits everything; the metrics are still served.
    common::stop(ingest, recorder).await;
    let logins = sim.stats().logins_ok;
    let samples = parse_prometheus(&get(addr, "/metrics").await.2);

    // Every frame is journaled and counted, by its kind.
    let mut counted = by_label(&samples, "bman_events_received_total", "kind");
    counted.retain(|_, n| *n > 0.0);
    assert_eq!(counted, journal_kinds(dir.path(), "dm"));

    // Every fact in the store was counted by the writer, by kind.
    let store = bman::store::open(&common::sqlite_url(dir.path())).unwrap();
    let mut stored: BTreeMap<String, f64> =
        Fact::KINDS.iter().map(|k| (k.to_string(), 0.0)).collect();
    for mode in Mode::ALL {
        for fact in store.facts(mode).unwrap() {
            *stored.get_mut(fact.record.fact.kind()).unwrap() += 1.0;
        }
    }
    assert!(stored["kill"] > 0.0 && stored["match"] == 2.0, "{stored:?}");
    assert_eq!(
        by_label(&samples, "bman_writer_facts_total", "kind"),
        stored
    );

    let batches = by_label(&samples, "bman_writer_batches_total", "")[""];
    assert!(batches > 0.0);
    assert_eq!(
        by_label(&samples, "bman_writer_commit_seconds_count", "")[""],
        batches
    );
    let reconnects = by_label(&samples, "bman_server_reconnects_total", "server")["dm"];
    assert!(logins > 1, "--drop-every cut the connection");
    assert_eq!(reconnects, (logins - 1) as f64);
    assert!(by_label(&samples, "bman_server_decode_errors_total", "server")["dm"] > 0.0);
    assert_eq!(
        by_label(&samples, "bman_server_connected", "server")["dm"],
        0.0
    );
    assert_eq!(by_label(&samples, "bman_discord_posts_total", "")[""], 0.0);
    stop.cancel();
}

#[test]
fn a_taken_metrics_port_stops_the_start_with_a_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    std::fs::write(
        dir.path().join("bmsettings.ini"),
        format!("[bm]\ndm = 1\n[metrics]\nlisten = {addr}\n"),
    )
    .unwrap();
    let out = common::binary::bman(dir.path(), &common::sqlite_url(dir.path()))
        .arg("run")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains(&format!("cannot serve /metrics and /healthz on {addr}"))
            && log.contains("choose another port in [metrics] listen or BMAN_METRICS_ADDR"),
        "{log}"
    );
    assert!(
        !dir.path().join("bman.sqlite3").exists(),
        "stopped before opening the store"
    );
}
