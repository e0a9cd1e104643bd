//! Database outages: while the store's writes fail, the real writer keeps its
//! batch, its bounded inbox fills and `WriterHandle::send` waits (the ingest
//! slows down instead of dropping anything); once writes succeed again,
//! everything lands exactly once, as in an undisturbed run.

use bman::journal::JournalPos;
use bman::model::Mode;
use bman::model::*;
use bman::rater::RatingParams;
use bman::store::sqlite::SqliteStore;
use bman::store::*;
use bman::writer::{Bundle, INBOX_CAPACITY};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// SQLite whose `apply` fails while `down` is set, like an unreachable
/// MongoDB, or reports corrupt data while `corrupt` is set.
struct FlakyStore {
    inner: SqliteStore,
    down: AtomicBool,
    corrupt: AtomicBool,
    failed_applies: AtomicUsize,
}

impl Store for FlakyStore {
    fn apply(&self, batch: &WriteBatch) -> StoreResult<()> {
        if self.down.load(Ordering::SeqCst) {
            self.failed_applies.fetch_add(1, Ordering::SeqCst);
            return Err(StoreError::Backend(
                "server selection timeout (test outage)".into(),
            ));
        }
        if self.corrupt.load(Ordering::SeqCst) {
            self.failed_applies.fetch_add(1, Ordering::SeqCst);
            return Err(StoreError::Corrupt(
                "a stored row cannot be read (test)".into(),
            ));
        }
        self.inner.apply(batch)
    }
    fn next_seq(&self) -> StoreResult<i64> {
        self.inner.next_seq()
    }
    fn load_stats(
        &self,
        mode: Mode,
        keys: &[PlayerKey],
    ) -> StoreResult<HashMap<PlayerKey, ModeStats>> {
        self.inner.load_stats(mode, keys)
    }
    fn checkpoint(&self, server: &str, epoch: i64) -> StoreResult<Option<Checkpoint>> {
        self.inner.checkpoint(server, epoch)
    }
    fn leaderboard(&self, query: &LeaderboardQuery) -> StoreResult<Vec<LeaderboardRow>> {
        self.inner.leaderboard(query)
    }
    fn find_players(&self, query: &str, limit: usize) -> StoreResult<Vec<PlayerSummary>> {
        self.inner.find_players(query, limit)
    }
    fn profile(&self, key: &PlayerKey) -> StoreResult<Option<PlayerProfile>> {
        self.inner.profile(key)
    }
    fn rating_history(&self, key: &PlayerKey, mode: Mode) -> StoreResult<Vec<RatingPoint>> {
        self.inner.rating_history(key, mode)
    }
    fn kills_between(&self, a: &PlayerKey, b: &PlayerKey, mode: Mode) -> StoreResult<HeadToHead> {
        self.inner.kills_between(a, b, mode)
    }
    fn facts(&self, mode: Mode) -> StoreResult<Vec<StoredFact>> {
        self.inner.facts(mode)
    }
    fn fact_page(
        &self,
        mode: Mode,
        after_seq: i64,
        limit: usize,
    ) -> StoreResult<Vec<(i64, bman::model::FactRecord)>> {
        self.inner.fact_page(mode, after_seq, limit)
    }
    fn replace_ratings(
        &self,
        mode: Mode,
        facts: &[StoredFact],
        stats: &[(PlayerKey, ModeStats)],
    ) -> StoreResult<()> {
        self.inner.replace_ratings(mode, facts, stats)
    }
    fn export_players(&self) -> StoreResult<Vec<PlayerExport>> {
        self.inner.export_players()
    }
    fn bot_players(&self) -> StoreResult<Vec<PlayerKey>> {
        self.inner.bot_players()
    }
    fn remove_players(&self, keys: &[PlayerKey]) -> StoreResult<usize> {
        self.inner.remove_players(keys)
    }
    fn checkpoints(&self) -> StoreResult<Vec<Checkpoint>> {
        self.inner.checkpoints()
    }
    fn record_audit(&self, record: &AuditRecord) -> StoreResult<()> {
        self.inner.record_audit(record)
    }
    fn audit_log(&self, limit: usize) -> StoreResult<Vec<AuditRecord>> {
        self.inner.audit_log(limit)
    }
    fn add_ban(&self, ban: &Ban) -> StoreResult<()> {
        self.inner.add_ban(ban)
    }
    fn lift_bans(&self, player: &PlayerKey, lift: &BanLift) -> StoreResult<usize> {
        self.inner.lift_bans(player, lift)
    }
    fn bans(&self, query: &BanQuery) -> StoreResult<Vec<Ban>> {
        self.inner.bans(query)
    }
    fn ip_neighbours(
        &self,
        player: &PlayerKey,
        since_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<IpNeighbour>> {
        self.inner.ip_neighbours(player, since_ms, limit)
    }
}

/// More bundles than the writer can take in during an outage (its first
/// batch, at most 5,000 facts, plus a full inbox), so senders must block.
const BUNDLES: usize = 3 * INBOX_CAPACITY;

fn player(i: usize) -> PlayerKey {
    PlayerKey {
        store: 0,
        id: format!("p{}", i % 7),
    }
}

/// Event `i`: a deathmatch kill between two of seven players, at journal offset i + 1.
fn bundle(i: usize) -> Bundle {
    let (killer, victim) = (player(i), player(i * 3 + 1));
    let facts = if killer == victim {
        Vec::new()
    } else {
        vec![FactRecord {
            server: "dm".into(),
            mode: Mode::Dm,
            time_ms: 1_000 * i as i64,
            match_id: Some("dm:0".into()),
            fact: Fact::Kill(KillFact {
                killer,
                victim,
                weapon: Some("pistol".into()),
                headshot: false,
                teamkill: false,
                killer_at: None,
                victim_at: None,
            }),
        }]
    };
    Bundle {
        server: "dm".into(),
        pos: Some(JournalPos {
            epoch: 1,
            offset: i as u64 + 1,
        }),
        players: vec![PlayerSeen {
            name: Some(format!("Player {}", i % 7)),
            ..PlayerSeen::bare(player(i), 1_000 * i as i64)
        }],
        facts,
        snapshot: None,
    }
}

fn params() -> RatingParams {
    RatingParams {
        trueskill: Default::default(),
        elo_k: 32.0,
        systems: bman::rater::RatingSystems::default(),
    }
}

fn flaky(dir: &tempfile::TempDir, name: &str, down: bool) -> Arc<FlakyStore> {
    Arc::new(FlakyStore {
        inner: SqliteStore::open(&dir.path().join(name)).unwrap(),
        down: AtomicBool::new(down),
        corrupt: AtomicBool::new(false),
        failed_applies: AtomicUsize::new(0),
    })
}

/// What a run stored: facts, the leaderboard and the checkpoint.
fn outcome(store: &dyn Store) -> (Vec<StoredFact>, Vec<LeaderboardRow>, Option<Checkpoint>) {
    let all = LeaderboardQuery::everyone(Mode::Dm, 100);
    (
        store.facts(Mode::Dm).unwrap(),
        store.leaderboard(&all).unwrap(),
        store.checkpoint("dm", 1).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_holds_the_queue_blocks_senders_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();

    let calm = flaky(&dir, "calm.sqlite3", false);
    let (handle, writer) = bman::writer::spawn(
        calm.clone(),
        params(),
        CancellationToken::new(),
        broadcast::channel(1).0,
    );
    for i in 0..BUNDLES {
        assert!(handle.send(bundle(i)).await);
    }
    drop(handle);
    writer.join().unwrap();
    let expected = outcome(calm.as_ref());
    assert!(expected.0.len() > BUNDLES / 2, "most events are kills");

    let store = flaky(&dir, "outage.sqlite3", true);
    let (handle, writer) = bman::writer::spawn(
        store.clone(),
        params(),
        CancellationToken::new(),
        broadcast::channel(1).0,
    );
    let sent = Arc::new(AtomicUsize::new(0));
    let ingest = tokio::spawn({
        let (handle, sent) = (handle.clone(), sent.clone());
        async move {
            for i in 0..BUNDLES {
                assert!(handle.send(bundle(i)).await, "the writer is alive");
                sent.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    // The sender stalls once the inbox is full, and stays stalled.
    let mut last = usize::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = sent.load(Ordering::SeqCst);
        if now == last {
            break;
        }
        last = now;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        sent.load(Ordering::SeqCst),
        last,
        "send waits while the store is down"
    );
    assert!(
        last < BUNDLES,
        "backpressure reached the sender ({last} of {BUNDLES} sent)"
    );
    assert!(
        last >= INBOX_CAPACITY,
        "the queue holds a full inbox ({last})"
    );
    assert!(
        store.failed_applies.load(Ordering::SeqCst) > 0,
        "the writer tried"
    );
    assert!(
        store.facts(Mode::Dm).unwrap().is_empty(),
        "nothing landed during the outage"
    );

    store.down.store(false, Ordering::SeqCst);
    tokio::time::timeout(Duration::from_secs(60), ingest)
        .await
        .expect("sending resumes")
        .unwrap();
    handle.flush().await;
    drop(handle);
    writer.join().unwrap();
    assert_eq!(
        outcome(store.as_ref()),
        expected,
        "everything landed exactly once"
    );
}

/// Corrupt data is not an outage: the writer does not retry it forever but
/// stops (which stops bman), keeping what it had committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_error_stops_the_writer_and_keeps_what_was_committed() {
    let dir = tempfile::tempdir().unwrap();
    let store = flaky(&dir, "corrupt.sqlite3", false);
    let stopped = CancellationToken::new();
    let (handle, writer) = bman::writer::spawn(
        store.clone(),
        params(),
        stopped.clone(),
        broadcast::channel(1).0,
    );
    for i in 0..50 {
        assert!(handle.send(bundle(i)).await);
    }
    handle.flush().await;
    let committed = outcome(store.as_ref());
    assert!(!committed.0.is_empty(), "the first events were committed");

    store.corrupt.store(true, Ordering::SeqCst);
    for i in 50..100 {
        let _ = handle.send(bundle(i)).await;
    }
    handle.flush().await;
    tokio::time::timeout(Duration::from_secs(10), stopped.cancelled())
        .await
        .expect("the writer stops instead of retrying");
    assert_eq!(
        store.failed_applies.load(Ordering::SeqCst),
        1,
        "a permanent error is not retried"
    );
    assert!(
        !handle.send(bundle(100)).await,
        "a stopped writer takes nothing more"
    );
    drop(handle);
    writer.join().unwrap();
    store.corrupt.store(false, Ordering::SeqCst);
    assert_eq!(
        outcome(store.as_ref()),
        committed,
        "what was committed before is intact"
    );
}
