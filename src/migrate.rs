//! `bman migrate`: copies a whole store to another (SQLite ⇄ MongoDB, or
//! SQLite → SQLite), through the [`Store`] trait only, so any pair of
//! backends works and the copy answers every query like the source.
//!
//! Order matters: players first, in the source's creation order (leaderboard
//! ties break by it), then facts in seq order with their rating changes, then
//! stats and checkpoints, then the audit log, the community bans and the
//! linked accounts, oldest first, so the copy lists them in the source's order. An old bman-data database has players and
//! per-mode stats but no facts; those come over as they are.

use crate::model::Mode;
use crate::model::{BanQuery, LeaderboardQuery};
use crate::store::{Store, StoreError, StoreResult, WriteBatch};

/// Players, facts or stats written per `apply`.
const CHUNK: usize = 1_000;

/// What a migration copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MigrateCounts {
    pub players: usize,
    pub names: usize,
    pub ips: usize,
    pub stats: usize,
    pub facts: usize,
    pub rating_changes: usize,
    pub checkpoints: usize,
    pub audit: usize,
    pub bans: usize,
    pub links: usize,
}

impl std::fmt::Display for MigrateCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} players ({} names, {} IPs), {} per-mode stats, {} facts with {} rating changes, {} checkpoints, {} audit records, {} bans, {} linked accounts",
            self.players, self.names, self.ips, self.stats, self.facts, self.rating_changes, self.checkpoints, self.audit, self.bans, self.links
        )
    }
}

/// Copies everything in `from` into the empty store `to`. `progress(done,
/// total)` is called after each written chunk (the total grows as each part
/// of the source is read).
pub fn migrate(
    from: &dyn Store,
    to: &dyn Store,
    progress: &dyn Fn(usize, usize),
) -> StoreResult<MigrateCounts> {
    let one_ban = BanQuery {
        limit: 1,
        ..BanQuery::all()
    };
    if to.next_seq()? != 1
        || !to.export_players()?.is_empty()
        || !to.audit_log(1)?.is_empty()
        || !to.bans(&one_ban)?.is_empty()
        || !to.account_links()?.is_empty()
    {
        return Err(StoreError::Backend(
            "the target store is not empty; migrate only into a new one".into(),
        ));
    }
    let mut counts = MigrateCounts::default();
    let (mut done, mut total) = (0, 0);
    let write = |batch: WriteBatch, items: usize, done: &mut usize, total: usize| {
        to.apply(&batch)?;
        *done += items;
        progress(*done, total);
        Ok::<_, StoreError>(())
    };

    let players = from.export_players()?;
    total += players.len();
    for chunk in players.chunks(CHUNK) {
        let batch = WriteBatch {
            players: chunk.iter().flat_map(|p| p.sightings()).collect(),
            ..WriteBatch::default()
        };
        counts.players += chunk.len();
        counts.names += chunk.iter().map(|p| p.names.len()).sum::<usize>();
        counts.ips += chunk.iter().map(|p| p.ips.len()).sum::<usize>();
        write(batch, chunk.len(), &mut done, total)?;
    }

    for mode in Mode::ALL {
        let mut facts = from.facts(mode)?;
        facts.sort_by_key(|f| f.seq);
        total += facts.len();
        for chunk in facts.chunks(CHUNK) {
            counts.facts += chunk.len();
            counts.rating_changes += chunk.iter().map(|f| f.changes.len()).sum::<usize>();
            let batch = WriteBatch {
                facts: chunk.to_vec(),
                ..WriteBatch::default()
            };
            write(batch, chunk.len(), &mut done, total)?;
        }
        let all = LeaderboardQuery::everyone(mode, usize::MAX);
        let rows = from.leaderboard(&all)?;
        total += rows.len();
        for chunk in rows.chunks(CHUNK) {
            counts.stats += chunk.len();
            let batch = WriteBatch {
                stats: chunk
                    .iter()
                    .map(|r| (r.player.key.clone(), mode, r.stats))
                    .collect(),
                ..WriteBatch::default()
            };
            write(batch, chunk.len(), &mut done, total)?;
        }
    }

    let checkpoints = from.checkpoints()?;
    counts.checkpoints = checkpoints.len();
    total += checkpoints.len();
    let batch = WriteBatch {
        checkpoints,
        ..WriteBatch::default()
    };
    write(batch, counts.checkpoints, &mut done, total)?;

    // Audit records, bans and links are not part of a batch: bman writes
    // them one by one too, oldest first (lifted bans with who lifted them;
    // each link replaces nothing in the copy).
    let mut audit = from.audit_log(usize::MAX)?;
    audit.reverse();
    let mut bans = from.bans(&BanQuery::all())?;
    bans.reverse();
    let links = from.account_links()?;
    (counts.audit, counts.bans, counts.links) = (audit.len(), bans.len(), links.len());
    total += audit.len() + bans.len() + links.len();
    let mut written_one = || {
        done += 1;
        progress(done, total);
    };
    for record in &audit {
        to.record_audit(record)?;
        written_one();
    }
    for ban in &bans {
        to.add_ban(ban)?;
        written_one();
    }
    for link in &links {
        to.link_account(link)?;
        written_one();
    }
    Ok(counts)
}
