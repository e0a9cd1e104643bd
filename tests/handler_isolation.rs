//! A handler that panics on every event and one that never finishes do not
//! stop or change recording: the store ends exactly as without them.

mod common;

use bman::handlers::{Context, Delivery, Handler};
use bman::model::Mode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

struct Panics(Arc<AtomicU64>);

#[async_trait::async_trait]
impl Handler for Panics {
    fn name(&self) -> &str {
        "panics"
    }
    async fn handle(&self, _: &Context, _: &Delivery) {
        self.0.fetch_add(1, Ordering::Relaxed);
        panic!("a broken extension");
    }
}

struct Sleeps;

#[async_trait::async_trait]
impl Handler for Sleeps {
    fn name(&self) -> &str {
        "sleeps"
    }
    async fn handle(&self, _: &Context, _: &Delivery) {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

struct PanicsInWants;

#[async_trait::async_trait]
impl Handler for PanicsInWants {
    fn name(&self) -> &str {
        "panics-in-wants"
    }
    fn wants(&self, _: &Delivery) -> bool {
        panic!("a broken filter")
    }
    async fn handle(&self, _: &Context, _: &Delivery) {}
}

async fn record(mode: Mode, bad_handlers: bool) -> (Vec<serde_json::Value>, u64) {
    let dir = tempfile::tempdir().unwrap();
    let opts = common::sim_opts(
        mode,
        &[
            "--matches",
            "1",
            "--rate",
            "0",
            "--seed",
            "9",
            "--players",
            "10",
        ],
    );
    let events = common::scenario_events(&opts).len();
    let sim = bman::sim::serve(opts).await.unwrap();
    let settings = common::settings(
        &[(mode.as_str(), mode, sim.local_addr().port(), "pw")],
        dir.path(),
    );
    let panics = Arc::new(AtomicU64::new(0));
    let mut handlers = bman::app::builtin_handlers(&settings);
    if bad_handlers {
        handlers.push(Arc::new(Panics(panics.clone())));
        handlers.push(Arc::new(Sleeps));
        handlers.push(Arc::new(PanicsInWants));
    }
    let (ingest, recorder) = common::start_with(&settings, handlers).await;
    common::wait_journaled(dir.path(), mode.as_str(), events).await;
    let store = recorder.store.clone();
    common::stop(ingest, recorder).await;
    let rows = store
        .leaderboard(&bman::model::LeaderboardQuery::everyone(mode, 1000))
        .unwrap();
    let mut rows: Vec<serde_json::Value> = bman::views::leaderboard_json(mode, &rows)
        .as_array()
        .unwrap()
        .clone();
    for row in &mut rows {
        // Receive times differ between two live runs; everything else must not.
        row.as_object_mut().unwrap().remove("last_updated_ms");
    }
    (rows, panics.load(Ordering::Relaxed))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_handlers_do_not_affect_recording() {
    let (clean, _) = record(Mode::Tdm, false).await;
    let (with_bad, panics) = record(Mode::Tdm, true).await;
    assert!(!clean.is_empty());
    assert_eq!(clean, with_bad);
    assert!(
        panics > 100,
        "the panicking handler kept receiving events ({panics})"
    );
}
