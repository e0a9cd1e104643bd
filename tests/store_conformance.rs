//! The backend-agnostic conformance suite for [`Store`].
//!
//! Every check in tests/conformance/ is its own test per backend, on a
//! fresh, empty store of its own: `sqlite::<check>` always runs,
//! `mongodb::<check>` when `BMAN_TEST_MONGODB_URI` is set (without it, each
//! passes with a note). Schema upgrades and `bman migrate` are in
//! tests/store_migrations.rs.

mod common;
mod conformance;

use bman::model::Mode;
use bman::store::*;
use conformance::support::*;

type Check = fn(&dyn Store);

fn on_sqlite(check: Check) {
    let dir = tempfile::tempdir().unwrap();
    let store = bman::store::sqlite::SqliteStore::open(&dir.path().join("bman.sqlite3")).unwrap();
    check(&store);
}

/// `label` names the check's database (see [`open_mongo`]).
fn on_mongodb(label: &str, check: Check) {
    let Some(base) = common::mongo_uri() else {
        eprintln!(
            "skipped: set BMAN_TEST_MONGODB_URI to run the conformance suite against MongoDB"
        );
        return;
    };
    let store = open_mongo(&base, label);
    check(store.as_ref());
}

/// One `#[test]` per check in each of `mod sqlite` and `mod mongodb`, so a
/// failing check does not hide the others.
macro_rules! conformance {
    ($($group:ident::$check:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $check() {
                    super::on_sqlite(super::conformance::$group::$check);
                }
            )+
        }

        mod mongodb {
            $(
                #[test]
                fn $check() {
                    super::on_mongodb(stringify!($check), super::conformance::$group::$check);
                }
            )+
        }
    };
}

conformance!(
    players::player_merge,
    players::same_id_two_stores,
    facts::facts_round_trip,
    facts::fact_pages,
    facts::rating_history,
    facts::head_to_head,
    stats::leaderboard_order_and_paging,
    stats::leaderboard_filters,
    stats::leaderboard_survival,
    players::find_players,
    players::find_players_unicode,
    players::profile,
    facts::next_seq,
    bookkeeping::checkpoints,
    stats::load_stats,
    facts::apply_is_atomic,
    stats::replace_ratings,
    bookkeeping::audit_log,
    bookkeeping::self_check,
    players::bot_players_and_removal,
    bans::bans_round_trip_and_lift,
    bans::ip_neighbours,
    links::links_round_trip_and_replace,
);

/// A batch that a killed `bman` recorded in `bman_pending_batches` but did not
/// finish is completed when the store is next opened, exactly once: also
/// when all of it had in fact landed (killed just before forgetting it).
#[test]
fn mongodb_completes_a_half_written_batch() {
    let Some(base) = common::mongo_uri() else {
        eprintln!("skipped: set BMAN_TEST_MONGODB_URI to check MongoDB crash recovery");
        return;
    };
    let uri = common::unique_mongo_url(&base, "pending");
    let batch = sample_batch();
    let (first, second) = batch.facts.split_at(1);
    let landed = WriteBatch {
        facts: first.to_vec(),
        ..WriteBatch::default()
    };
    bman::store::open(&uri).unwrap().apply(&landed).unwrap();
    let pending = |b: &WriteBatch| {
        let json =
            serde_json::to_string(&(&b.players, &b.facts, &b.stats, &b.checkpoints)).unwrap();
        ::mongodb::bson::doc! { "batch": json }
    };
    let rest = WriteBatch {
        facts: second.to_vec(),
        ..batch.clone()
    };
    // Killed after recording the first batch (which had fully landed) and
    // after recording the second (of which nothing had landed).
    insert_raw(
        &uri,
        &[(
            "bman_pending_batches",
            vec![pending(&landed), pending(&rest)],
        )],
    );
    let store = bman::store::open(&uri).unwrap();
    assert_eq!(
        store.facts(Mode::Dm).unwrap(),
        batch.facts,
        "each fact once"
    );
    assert_eq!(store.next_seq().unwrap(), 4);
    assert_eq!(
        store.checkpoint("s1", 1).unwrap(),
        Some(batch.checkpoints[0].clone())
    );
    let stats = store
        .load_stats(Mode::Dm, &[key("alice"), key("bob")])
        .unwrap();
    assert_eq!(stats[&key("alice")], batch.stats[0].2);
    drop(store);
    let reopened = bman::store::open(&uri).unwrap();
    assert_eq!(
        reopened.facts(Mode::Dm).unwrap(),
        batch.facts,
        "completed only once"
    );
}
