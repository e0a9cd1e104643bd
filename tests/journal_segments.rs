//! Journal segments under the real `bman run`: with tiny segments it rotates,
//! compresses and deletes old segments (retention) while recording; killed
//! with SIGKILL right after a rotation (while the segment it closed is being
//! compressed) and started again, it ends with the same leaderboard as a
//! fresh store fed every segment it wrote by `bman replay` of a directory.

mod common;

use common::binary::{self, assert_same_stats, output, sigterm, wait_exit};

use bman::model::Mode;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// About 20 KB: a segment every few dozen events.
const SEGMENT_MB: &str = "0.02";
/// Three seconds.
const KEEP_DAYS: &str = "0.0000347";

fn bman(dir: &Path, db: &str) -> Command {
    let mut cmd = binary::bman(dir, &format!("sqlite://{db}"));
    cmd.env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Every journal file under `dir`, relative to it.
fn journal_files(dir: &Path) -> BTreeSet<PathBuf> {
    bman::journal::journal_files(&[dir.to_path_buf()])
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.strip_prefix(dir).ok().map(Path::to_path_buf))
        .collect()
}

/// Hard-links every journal file the moment it appears, so the test keeps the
/// whole journal while retention deletes old segments from `journal/`; counts
/// the compressed segments that were deleted.
fn mirror(journal: PathBuf, to: PathBuf, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut seen = BTreeSet::new();
        let mut deleted = 0;
        while !stop.load(Ordering::Relaxed) {
            let now = journal_files(&journal);
            for rel in now.difference(&seen) {
                let target = to.join(rel);
                std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                // Gone already (compressed meanwhile): its .gz is linked instead.
                let _ = std::fs::hard_link(journal.join(rel), target);
            }
            deleted += seen
                .difference(&now)
                .filter(|p| p.to_string_lossy().ends_with(".gz"))
                .count();
            seen.extend(now);
            std::thread::sleep(Duration::from_millis(1));
        }
        deleted
    })
}

/// Segments (plain or compressed) written so far, deleted ones included.
fn segments_written(mirror: &Path) -> usize {
    let named: BTreeSet<String> = journal_files(&mirror.join("ctf"))
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".gz").to_string())
        .collect();
    // The first segment, until it is compressed into the directory.
    named
        .len()
        .max(usize::from(mirror.join("ctf.jsonl").exists()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_compression_retention_and_sigkill_lose_and_repeat_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let opts = common::sim_opts(
        Mode::Ctf,
        &["--matches", "30", "--rate", "300", "--seed", "11"],
    );
    let events = common::scenario_events(&opts).len();
    let sim = bman::sim::serve(opts).await.unwrap();
    std::fs::write(
        dir.path().join("bmsettings.ini"),
        format!(
            "[bm]\nctf = {}\n[config]\npassword = pw\njournal_segment_mb = {SEGMENT_MB}\njournal_keep_days = {KEEP_DAYS}\n",
            sim.local_addr().port()
        ),
    )
    .unwrap();
    let path = dir.path().to_path_buf();
    let stop_mirror = Arc::new(AtomicBool::new(false));
    let mirror_thread = mirror(
        path.join("journal"),
        path.join("mirror"),
        stop_mirror.clone(),
    );

    let live = tokio::task::spawn_blocking(move || {
        // Roughly 440 bytes a line: kill at a third and at two thirds of the segments.
        let expected = events * 440 / 20_971;
        let mut kill_states = Vec::new();
        for k in [expected / 3, expected * 2 / 3] {
            let mut child = bman(&path, "live.sqlite3").arg("run").spawn().unwrap();
            let deadline = Instant::now() + Duration::from_secs(60);
            while segments_written(&path.join("mirror")) < k.max(2) {
                assert!(Instant::now() < deadline, "stuck before segment {k}");
                std::thread::sleep(Duration::from_millis(1));
            }
            child.kill().unwrap(); // SIGKILL, right after a rotation
            child.wait().unwrap();
            let files = journal_files(&path.join("journal"));
            let plain = files
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
                .count();
            kill_states.push(format!(
                "{plain} plain segments (1 active) and {} compressed",
                files.len() - plain
            ));
        }
        let child = bman(&path, "live.sqlite3").arg("run").spawn().unwrap();
        (child, path, kill_states)
    })
    .await
    .unwrap();
    let (mut child, path, kill_states) = live;
    eprintln!("journal right after each SIGKILL: {kill_states:?}");
    assert!(
        sim.wait_until(|s| s.scenario_done, Duration::from_secs(120))
            .await,
        "scenario delivered"
    );
    // Let the last events commit and retention catch up, then stop cleanly.
    tokio::time::sleep(Duration::from_secs(4)).await;
    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(10)).success());
    stop_mirror.store(true, Ordering::Relaxed);
    let deleted = mirror_thread.join().unwrap();

    let left = journal_files(&path.join("journal"));
    let compressed = left
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".gz"))
        .count();
    assert!(compressed > 0, "closed segments are compressed: {left:?}");
    assert!(deleted > 0, "retention deleted old compressed segments");
    assert!(
        !left.contains(Path::new("ctf.jsonl")),
        "the first segment was compressed, then deleted"
    );
    let written = segments_written(&path.join("mirror"));
    assert!(written > 10, "{written} segments");

    let live = binary::stable_leaderboard(&path, "sqlite://live.sqlite3", Mode::Ctf);
    let mut replay = bman(&path, "fresh.sqlite3");
    replay.args(["replay", "mirror"]);
    output(replay);
    let fresh = binary::stable_leaderboard(&path, "sqlite://fresh.sqlite3", Mode::Ctf);
    assert_same_stats(
        &live,
        &fresh,
        "live (killed twice) vs every segment replayed",
    );

    // Every segment again, into the live store: its checkpoint covers them all.
    let mut again = binary::bman(&path, "sqlite://live.sqlite3");
    again.args(["replay", "mirror"]);
    let out = output(again);
    assert!(out.starts_with("nothing new: all "), "{out}");
    // What retention left still replays: nothing new either.
    let mut rest = binary::bman(&path, "sqlite://live.sqlite3");
    rest.args(["replay", "journal"]);
    assert!(output(rest).starts_with("nothing new"));
}
