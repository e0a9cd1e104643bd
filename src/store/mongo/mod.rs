//! The MongoDB backend, compatible with the `bmdb` database of the original
//! Python tool bman-data (MongoEngine) and the programs that read it. The
//! README's "MongoDB" section documents the collections; in short, there are
//! two kinds:
//! - bman-data's collections (`players`, `dm_profiles`, `tdm_profiles`,
//!   `ctf_profiles`, `dm_kills`, `tdm_kills`, `tdm_rounds`, `ctf_scores`,
//!   `dm_matches`, `ctf_matches`, `svl_matches`, `svl_rounds`,
//!   `<mode>_messages`): bman writes exactly bman-data's fields with
//!   bman-data's types ([`docs`]), so its readers keep working, and matches
//!   players by bman-data's string platform.
//! - bman's own, all named `bman_…` ([`BMAN_PLAYERS`] and the other
//!   constants below): everything bman-data lacks (replayable facts with
//!   their global sequence and rating changes, full per-mode stats with the
//!   indexed `rating`, name search helpers, first/last seen, level,
//!   checkpoints, pending batches, audit, community bans, linked accounts),
//!   joined by the same `_id`s.
//!
//! A store written by releases before this layout is converted when opened
//! ([`convert`]). The [`Store`] trait is synchronous but the driver is async,
//! and the trait is called from plain threads and from inside tokio tasks
//! alike. So the store owns a small runtime of its own and every call runs
//! there through [`MongoStore::run`], waited on with `futures`' executor
//! (legal on any thread, unlike tokio's `block_on` inside a runtime).

mod bans;
mod convert;
mod decode;
mod docs;
mod links;
mod queries;
mod write;

pub use decode::bson_from_extended_json;

use super::*;
use crate::model::*;
use decode::*;
use docs::*;
use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use mongodb::options::{ClientOptions, IndexOptions, WriteConcern};
use mongodb::{Client, Database, IndexModel};
use std::future::Future;

/// The database when the URI names none, as bman-data used.
const DEFAULT_DATABASE: &str = "bmdb";

/// bman-data's players (see [`docs::player_defaults`]).
const PLAYERS: &str = "players";
/// bman's part of a player, `_id` = the `players` document's: key, display
/// name, lowercased names, first/last seen, level.
const BMAN_PLAYERS: &str = "bman_players";
/// When a player (`player` = `players._id`) first used each name.
const BMAN_NAMES: &str = "bman_player_names";
/// Full per-mode stats, one per (`mode`, `player`), with the indexed `rating`.
const BMAN_STATS: &str = "bman_stats";
/// Every fact, replayable: `seq`, `mode`, the fact as JSON in `data`, its
/// rating `changes`; `_id` = the bman-data document written for it, if any.
const BMAN_FACTS: &str = "bman_facts";
/// Match keys (`<mode>|<server>:<start ms>`); `_id` = the `<mode>_matches` document's.
const BMAN_MATCHES: &str = "bman_matches";
/// Journal progress per (server, epoch).
const BMAN_CHECKPOINTS: &str = "bman_checkpoints";
/// Privileged bot commands (see [`docs::audit_doc`]).
const BMAN_AUDIT: &str = "bman_audit";
/// Batches recorded whole before their parts are written (see [`Store::apply`]).
const BMAN_PENDING: &str = "bman_pending_batches";
/// `{_id: "layout", version}` once the database is converted (see [`convert`]).
const BMAN_META: &str = "bman_meta";

/// The MongoDB store; see the module docs.
pub struct MongoStore {
    /// `Some` until drop, which hands both to the runtime to close (see [`Drop`]).
    inner: Option<(tokio::runtime::Runtime, Database)>,
    /// Sent with every write command (the driver does not add it to raw commands).
    write_concern: Document,
}

impl std::fmt::Debug for MongoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoStore").finish_non_exhaustive()
    }
}

impl From<mongodb::error::Error> for StoreError {
    fn from(e: mongodb::error::Error) -> Self {
        StoreError::Mongo(Box::new(e))
    }
}

impl MongoStore {
    /// Connects to `uri` (`mongodb://` or `mongodb+srv://`), the first time
    /// converts what earlier releases wrote and fills in bman's part of what
    /// bman-data wrote ([`convert`]), creates the indexes, and completes a
    /// batch an earlier process left half written.
    pub fn open(uri: &str) -> StoreResult<MongoStore> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("bman-mongodb")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot start the MongoDB runtime: {e}")))?;
        let (db, write_concern) = match block_on(&runtime, connect(uri.to_string())) {
            Ok(connected) => connected,
            Err(e) => {
                // The caller may be inside a runtime of its own, where
                // dropping this one would panic.
                runtime.shutdown_background();
                return Err(e);
            }
        };
        let store = MongoStore {
            inner: Some((runtime, db)),
            write_concern,
        };
        let concern = store.write_concern.clone();
        store.run(move |db| async move {
            convert::convert_once(&db, &concern).await?;
            create_indexes(&db).await
        })?;
        store.finish_pending()?;
        Ok(store)
    }

    /// Completes the batches a previous process recorded in [`BMAN_PENDING`]
    /// but died before finishing (see [`Store::apply`]), oldest first.
    fn finish_pending(&self) -> StoreResult<()> {
        let pending =
            self.run(
                |db| async move { find_all(&db, BMAN_PENDING, doc! {}, doc! { "_id": 1 }).await },
            )?;
        for d in pending {
            let json = d
                .get_str("batch")
                .map_err(|_| StoreError::Corrupt(format!("pending batch without data: {d}")))?;
            let (players, facts, stats, checkpoints) = serde_json::from_str(json)
                .map_err(|e| StoreError::Corrupt(format!("pending batch: {e}")))?;
            let batch = WriteBatch {
                players,
                facts,
                stats,
                checkpoints,
            };
            tracing::warn!(
                "completing a batch of {} facts that an earlier bman left half written",
                batch.facts.len()
            );
            let concern = self.write_concern.clone();
            let id = d.get("_id").cloned().unwrap_or(Bson::Null);
            self.run(move |db| async move {
                write::write_batch(&db, &concern, &batch).await?;
                forget_pending(&db, id).await
            })?;
        }
        Ok(())
    }

    /// Runs `job` on the store's runtime and waits for it from any thread.
    fn run<T, F>(&self, job: impl FnOnce(Database) -> F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Future<Output = StoreResult<T>> + Send + 'static,
    {
        let (runtime, db) = self.inner.as_ref().expect("present until drop");
        block_on(runtime, job(db.clone()))
    }
}

async fn forget_pending(db: &Database, id: Bson) -> StoreResult<()> {
    db.collection::<Document>(BMAN_PENDING)
        .delete_one(doc! { "_id": id })
        .await?;
    Ok(())
}

impl Drop for MongoStore {
    /// The client must be dropped inside a runtime (it spawns a task to end
    /// its sessions), and a runtime must not be dropped inside another one.
    fn drop(&mut self) {
        if let Some((runtime, db)) = self.inner.take() {
            let _ = block_on(&runtime, async move {
                db.client().clone().shutdown().await;
                Ok(())
            });
            runtime.shutdown_background();
        }
    }
}

/// Parses `uri`, checks that the server answers, and prepares the database.
/// Every failure names the host and what to check, never the URI's credentials.
async fn connect(uri: String) -> StoreResult<(Database, Document)> {
    let mut options = ClientOptions::parse(&uri)
        .await
        .map_err(|e| StoreError::Backend(open_error_message(&uri, None, &e)))?;
    // Majority + journal: an acknowledged batch survives a primary
    // failover and a crash. A URI that sets w/journal itself wins.
    let concern = options.write_concern.get_or_insert_with(|| {
        WriteConcern::builder()
            .w(mongodb::options::Acknowledgment::Majority)
            .journal(true)
            .build()
    });
    let write_concern = mongodb::bson::serialize_to_document(concern)
        .map_err(|e| StoreError::Backend(format!("write concern: {e}")))?;
    let name = options
        .default_database
        .clone()
        .unwrap_or_else(|| DEFAULT_DATABASE.into());
    let hosts = options
        .hosts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let timeout = options
        .server_selection_timeout
        .unwrap_or(DEFAULT_SERVER_SELECTION_TIMEOUT);
    let context = OpenContext { hosts, timeout };
    let fail = |e: mongodb::error::Error| {
        StoreError::Backend(open_error_message(&uri, Some(&context), &e))
    };
    let db = Client::with_options(options).map_err(fail)?.database(&name);
    db.run_command(doc! { "ping": 1 }).await.map_err(fail)?;
    Ok((db, write_concern))
}

/// The driver's default wait for a usable server.
const DEFAULT_SERVER_SELECTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Where [`connect`] was connecting, for its error messages.
struct OpenContext {
    hosts: String,
    timeout: std::time::Duration,
}

/// One line for a failed connect: which host, what failed, what to check.
/// `context` is `None` when the URI itself could not be parsed. The URI's
/// user and password are cut out of whatever the driver said.
fn open_error_message(
    uri: &str,
    context: Option<&OpenContext>,
    e: &mongodb::error::Error,
) -> String {
    use mongodb::error::ErrorKind;
    // The kind alone: the error's own text adds labels and empty sources.
    let said = match e.kind.as_ref() {
        ErrorKind::InvalidArgument { message, .. } => message.clone(),
        kind => kind.to_string(),
    };
    let said = without_credentials(uri, &said);
    let Some(OpenContext { hosts, timeout }) = context else {
        return format!(
            "invalid MongoDB URL: {said} (expected mongodb://[USER:PASSWORD@]HOST[:PORT]/DATABASE)"
        );
    };
    let secs = timeout.as_secs_f64();
    match e.kind.as_ref() {
        ErrorKind::ServerSelection { .. } => format!(
            "could not reach MongoDB at {hosts} within {secs} s: check that the server runs and \
             that DATABASE_URL names the right host and port (the wait is the URL's \
             serverSelectionTimeoutMS)"
        ),
        ErrorKind::Authentication { .. } => format!(
            "MongoDB at {hosts} refused the login ({said}): check the user, password and authSource in DATABASE_URL"
        ),
        _ => format!("MongoDB at {hosts} failed: {said}"),
    }
}

/// `text` with the user-info part of `uri` (`user:password@`) blanked out.
fn without_credentials(uri: &str, text: &str) -> String {
    let rest = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or(rest);
    let mut out = text.to_string();
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        for secret in [userinfo, userinfo.split(':').nth(1).unwrap_or("")] {
            if !secret.is_empty() {
                out = out.replace(secret, "***");
            }
        }
    }
    out
}

fn block_on<T: Send + 'static>(
    runtime: &tokio::runtime::Runtime,
    job: impl Future<Output = StoreResult<T>> + Send + 'static,
) -> StoreResult<T> {
    futures::executor::block_on(runtime.spawn(job))
        .map_err(|e| StoreError::Backend(format!("MongoDB task failed: {e}")))?
}

// ---- async helpers ----

/// An ordered `update` command: one round trip for many upserts.
fn update_command(concern: &Document, collection: &str, updates: Vec<Document>) -> Document {
    doc! {
        "update": collection,
        "updates": updates,
        "ordered": true,
        "writeConcern": concern.clone(),
    }
}

/// Runs a write command and turns write errors into an error.
async fn write(db: &Database, command: Document) -> StoreResult<()> {
    let reply = db.run_command(command).await?;
    for key in ["writeErrors", "writeConcernError"] {
        if let Some(errors) = reply.get(key) {
            return Err(StoreError::Backend(format!("MongoDB {key}: {errors}")));
        }
    }
    Ok(())
}

/// Runs `updates` on `collection` as one command, when there are any.
async fn update_all(
    db: &Database,
    concern: &Document,
    collection: &str,
    updates: Vec<Document>,
) -> StoreResult<()> {
    for chunk in updates.chunks(10_000) {
        write(db, update_command(concern, collection, chunk.to_vec())).await?;
    }
    Ok(())
}

async fn find_all(
    db: &Database,
    collection: &str,
    filter: Document,
    sort: Document,
) -> StoreResult<Vec<Document>> {
    let cursor = db
        .collection::<Document>(collection)
        .find(filter)
        .sort(sort)
        .await?;
    Ok(cursor.try_collect().await?)
}

/// Idempotent: unique keys guard identities; see the README for the list.
async fn create_indexes(db: &Database) -> StoreResult<()> {
    let index = |keys: Document, unique: bool| {
        IndexModel::builder()
            .keys(keys)
            .options(
                IndexOptions::builder()
                    .unique(unique)
                    .sparse(unique)
                    .build(),
            )
            .build()
    };
    let mut stats_indexes = vec![
        index(doc! { "mode": 1, "player": 1 }, true),
        index(doc! { "player": 1 }, false),
    ];
    // The two leaderboard orders (rated modes, co-op modes), after `mode`.
    for mode in [Mode::Dm, Mode::Svl] {
        let mut keys = doc! { "mode": 1 };
        keys.extend(leaderboard_sort(mode));
        stats_indexes.push(index(keys, false));
    }
    let mut plan: Vec<(String, Vec<IndexModel>)> = vec![
        (
            PLAYERS.into(),
            // profile first: the same index serves exact profile-id lookups.
            // `ip`: `/whois`'s profiles sharing an address (bans::find_ip_neighbours).
            vec![
                index(doc! { "profile.profile": 1, "profile.platform": 1 }, true),
                index(doc! { "ip": 1 }, false),
            ],
        ),
        (
            BMAN_PLAYERS.into(),
            vec![
                index(doc! { "profile": 1, "platform": 1 }, false),
                index(recent_first(), false),
            ],
        ),
        (
            BMAN_NAMES.into(),
            vec![index(doc! { "player": 1, "name": 1 }, true)],
        ),
        (BMAN_STATS.into(), stats_indexes),
        (
            BMAN_FACTS.into(),
            vec![
                index(doc! { "seq": 1 }, true),
                index(doc! { "mode": 1, "seq": 1 }, false),
                index(
                    doc! { "changes.profile": 1, "changes.platform": 1, "seq": 1 },
                    false,
                ),
            ],
        ),
        (BMAN_MATCHES.into(), vec![index(doc! { "key": 1 }, true)]),
        (
            BMAN_CHECKPOINTS.into(),
            vec![index(doc! { "server": 1, "epoch": 1 }, true)],
        ),
        (BMAN_AUDIT.into(), vec![index(audit_newest_first(), false)]),
        (
            bans::BMAN_BANS.into(),
            bans::indexes()
                .into_iter()
                .map(|k| index(k, false))
                .collect(),
        ),
        (
            links::BMAN_LINKS.into(),
            links::indexes()
                .into_iter()
                .map(|k| index(k, true))
                .collect(),
        ),
    ];
    // `/matchup`'s head-to-head counts (an index adds no field to the documents).
    for mode in Mode::ALL.into_iter().filter(|m| keeps_kill_pairs(*m)) {
        plan.push((
            format!("{mode}_kills"),
            vec![index(doc! { "killer": 1, "victim": 1 }, false)],
        ));
    }
    for mode in BMAN_DATA_PROFILE_MODES {
        plan.push((
            profiles_collection(mode),
            vec![index(doc! { "player": 1 }, true)],
        ));
    }
    for (collection, indexes) in plan {
        db.collection::<Document>(&collection)
            .create_indexes(indexes)
            .await?;
    }
    for mode in [Mode::Dm, Mode::Tdm, Mode::Ctf, Mode::Svl] {
        create_message_search(db, &format!("{mode}_messages")).await?;
    }
    Ok(())
}

/// The text index on `message` that bman.gg's message search (`$text`)
/// needs. A collection holds one text index at most: where bman-data (or a
/// reader) made one already, that one serves.
async fn create_message_search(db: &Database, collection: &str) -> StoreResult<()> {
    let collection = db.collection::<Document>(collection);
    let existing: Vec<IndexModel> = match collection.list_indexes().await {
        Ok(cursor) => cursor.try_collect().await?,
        // NamespaceNotFound: a collection not created yet has no indexes.
        Err(e) if matches!(*e.kind, mongodb::error::ErrorKind::Command(ref c) if c.code == 26) => {
            Vec::new()
        }
        Err(e) => return Err(e.into()),
    };
    let is_text = |index: &IndexModel| index.keys.values().any(|v| v.as_str() == Some("text"));
    if !existing.iter().any(is_text) {
        let search = IndexModel::builder()
            .keys(doc! { "message": "text" })
            .build();
        collection.create_index(search).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
