//! The MongoDB backend, compatible with the `bmdb` database of the original
//! Python tool bman-data (MongoEngine). README.mongodb.md documents the
//! collections and fields; in short:
//! - `players`: `profile: {platform, profile}`, the sets `name[]` and `ip[]`
//!   (bman-data's), plus `display_name`, `name_lower[]`, `color`, `premium`,
//!   `hat`, `clan_id`, `clan_tag`, `first_seen`, `last_seen` (additive).
//! - `player_names`: when each name was first used (profiles list names oldest first).
//! - `<mode>_profiles`: per-mode stats referencing the player's `_id` in
//!   `player`, with bman-data's field names plus `rating` (mu - 3*sigma, indexed).
//! - fact collections (`dm_kills`, `tdm_rounds`, `ctf_scores`, `svl_rounds`,
//!   `<mode>_messages`, …): one document per fact, keyed by `seq`, with the
//!   fact as JSON in `data` and its rating changes in `changes`.
//! - `checkpoints`: journal progress per (server, epoch).
//! - `audit`: privileged bot commands, one document each, with
//!   [`AuditRecord`]'s field names plus the readable `time`.
//! - `pending_batches`: a batch recorded whole while its parts are written,
//!   so one cut short by a crash is completed at the next open.
//!
//! The [`Store`] trait is synchronous but the driver is async, and the trait is
//! called from plain threads and from inside tokio tasks alike. So the store
//! owns a small runtime of its own and every call runs there through
//! [`MongoStore::run`], waited on with `futures`' executor (legal on any
//! thread, unlike tokio's `block_on` inside a runtime). The documents sent are
//! built by plain functions so the unit tests can pin them.

use super::*;
use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use mongodb::options::{ClientOptions, IndexOptions, WriteConcern};
use mongodb::{Client, Database, IndexModel};
use std::future::Future;

/// The database when the URI names none, as bman-data used.
const DEFAULT_DATABASE: &str = "bmdb";

/// Batches recorded whole before their parts are written (see [`Store::apply`]).
const PENDING: &str = "pending_batches";

/// Privileged bot commands (see [`audit_doc`]).
const AUDIT: &str = "audit";

/// Collection suffixes of facts; a fact of mode `m` lives in `<m>_<suffix>`.
const FACT_SUFFIXES: [&str; 7] = [
    "kills", "rounds", "scores", "matches", "deaths", "messages", "escapes",
];

/// The collection a fact is stored in, named as bman-data named its events.
fn fact_collection(mode: Mode, fact: &Fact) -> String {
    let suffix = match fact {
        Fact::Kill(_) | Fact::NpcKill { .. } => "kills",
        Fact::Round(_) | Fact::Wave(_) => "rounds",
        Fact::Capture(_) => "scores",
        Fact::Match(_) => "matches",
        Fact::NpcDeath { .. } => "deaths",
        Fact::Escape { .. } => "escapes",
        Fact::Chat(_) => "messages",
    };
    format!("{mode}_{suffix}")
}

/// Every collection that can hold facts of `mode`.
fn fact_collections(mode: Mode) -> impl Iterator<Item = String> {
    FACT_SUFFIXES.iter().map(move |s| format!("{mode}_{s}"))
}

fn all_fact_collections() -> impl Iterator<Item = String> {
    Mode::ALL.into_iter().flat_map(fact_collections)
}

fn profiles_collection(mode: Mode) -> String {
    format!("{mode}_profiles")
}

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
        StoreError::Backend(format!("MongoDB: {e}"))
    }
}

impl MongoStore {
    /// Connects to `uri` (`mongodb://` or `mongodb+srv://`), creates the
    /// indexes and fills in the additive fields legacy documents lack.
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
        store.finish_pending()?;
        Ok(store)
    }

    /// Completes the batches a previous process recorded in `pending_batches`
    /// but died before finishing (see [`Store::apply`]), oldest first.
    fn finish_pending(&self) -> StoreResult<()> {
        let pending =
            self.run(|db| async move { find_all(&db, PENDING, doc! {}, doc! { "_id": 1 }).await })?;
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
            self.write_batch(&batch)?;
            self.forget_pending(d.get("_id").cloned().unwrap_or(Bson::Null))?;
        }
        Ok(())
    }

    fn forget_pending(&self, id: Bson) -> StoreResult<()> {
        self.run(move |db| async move {
            let pending = db.collection::<Document>(PENDING);
            pending.delete_one(doc! { "_id": id }).await?;
            Ok(())
        })
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

    /// An ordered `update` command: one round trip for many upserts.
    fn update_command(&self, collection: &str, updates: Vec<Document>) -> Document {
        doc! {
            "update": collection,
            "updates": updates,
            "ordered": true,
            "writeConcern": self.write_concern.clone(),
        }
    }
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
    create_indexes(&db).await?;
    normalize_legacy(&db).await?;
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

// ---- documents sent ----

/// The unique player filter. Profile ids are strings, platforms (stores) ints.
fn player_filter(key: &PlayerKey) -> Document {
    doc! { "profile.platform": key.store, "profile.profile": &key.id }
}

fn date(ms: i64) -> DateTime {
    DateTime::from_millis(ms)
}

/// Years 1 to 9999: the dates every client (Python's `datetime` included) can
/// hold. A fact's exact time is `time_ms`; `time` is the readable copy.
const CALENDAR_MS: std::ops::RangeInclusive<i64> = -62_135_596_800_000..=253_402_300_799_999;

/// Merges one sighting: names and IPs are sets (bman-data's `$addToSet`),
/// the latest non-missing attributes win, first/last seen widen.
fn seen_update(seen: &PlayerSeen) -> Document {
    let mut set = Document::new();
    let mut add = Document::new();
    if let Some(name) = &seen.name {
        set.insert("display_name", name);
        add.insert("name", name);
        add.insert("name_lower", name.to_lowercase());
    }
    if let Some(ip) = &seen.ip {
        add.insert("ip", ip);
    }
    for (field, value) in [
        ("color", &seen.color),
        ("hat", &seen.hat),
        ("clan_id", &seen.clan_id),
        ("clan_tag", &seen.clan_tag),
    ] {
        if let Some(v) = value {
            set.insert(field, v);
        }
    }
    if let Some(premium) = seen.premium {
        set.insert("premium", premium);
    }
    if let Some(level) = seen.level {
        set.insert("level", level);
    }
    let mut update = doc! {
        "$min": { "first_seen": date(seen.seen_ms) },
        "$max": { "last_seen": date(seen.seen_ms) },
    };
    if !set.is_empty() {
        update.insert("$set", set);
    }
    if !add.is_empty() {
        update.insert("$addToSet", add);
    }
    update
}

/// Creates a bare player a fact or stats name, leaving an existing one alone.
fn bare_player_update(seen_ms: i64) -> Document {
    doc! { "$setOnInsert": { "first_seen": date(seen_ms), "last_seen": date(seen_ms) } }
}

/// When a player first used a name (the earliest sighting wins).
fn name_upsert(key: &PlayerKey, name: &str, seen_ms: i64) -> Document {
    doc! {
        "q": { "profile.platform": key.store, "profile.profile": &key.id, "name": name },
        "u": { "$min": { "first_used": date(seen_ms) } },
        "upsert": true,
    }
}

fn upsert(q: Document, u: Document) -> Document {
    doc! { "q": q, "u": u, "upsert": true }
}

fn change_doc(key: &PlayerKey, c: &RatingChange) -> Document {
    doc! {
        "platform": key.store, "profile": &key.id,
        "mu": c.mu, "sigma": c.sigma, "elo": c.elo,
        "delta_mu": c.delta_mu, "delta_sigma": c.delta_sigma, "delta_elo": c.delta_elo,
    }
}

fn changes_bson(fact: &StoredFact) -> Vec<Document> {
    fact.changes.iter().map(|(k, c)| change_doc(k, c)).collect()
}

fn profile_doc(key: &PlayerKey) -> Document {
    doc! { "platform": key.store, "profile": &key.id }
}

/// A fact document: `data` is the fact as JSON (what `facts` reads back),
/// plus readable fields under bman-data's names for the common kinds.
fn fact_doc(fact: &StoredFact) -> StoreResult<Document> {
    let record = &fact.record;
    let data = serde_json::to_string(&record.fact)
        .map_err(|e| StoreError::Backend(format!("cannot encode fact {}: {e}", fact.seq)))?;
    let mut d = doc! {
        "seq": fact.seq,
        "server": &record.server,
        "mode": record.mode.as_str(),
        "time_ms": record.time_ms,
        "time": CALENDAR_MS.contains(&record.time_ms).then(|| date(record.time_ms)),
        "match_id": record.match_id.as_deref(),
        "data": data,
        "changes": changes_bson(fact),
    };
    match &record.fact {
        Fact::Kill(k) => {
            d.insert("killer", profile_doc(&k.killer));
            d.insert("victim", profile_doc(&k.victim));
            d.insert("weapon", k.weapon.as_deref());
        }
        Fact::Round(r) => {
            d.insert("round", r.round);
            d.insert("winner", r.winner);
        }
        Fact::Wave(w) => {
            d.insert("wave", w.wave);
        }
        Fact::Chat(c) => {
            d.insert("player", c.player.as_ref().map(profile_doc));
            d.insert("name", c.name.as_deref());
            d.insert("message", &c.message);
        }
        Fact::Capture(_)
        | Fact::Match(_)
        | Fact::NpcKill { .. }
        | Fact::NpcDeath { .. }
        | Fact::Escape { .. } => {}
    }
    Ok(d)
}

/// Upserts a fact by `seq` *and* content: re-applying the same batch matches
/// and changes nothing, while a different fact under a used `seq` tries to
/// insert a second document and hits the unique `seq` index.
fn fact_upsert(fact: &StoredFact) -> StoreResult<Document> {
    let d = fact_doc(fact)?;
    let q = doc! { "seq": fact.seq, "data": d.get_str("data").unwrap_or_default() };
    Ok(upsert(q, doc! { "$set": d }))
}

/// Absolute stats (the single writer computed them), `$set` whole.
fn stats_set(player: ObjectId, s: &ModeStats) -> Document {
    doc! { "$set": {
        "player": player,
        "mu": s.mu, "sigma": s.sigma, "elo": s.elo, "rating": s.rating(),
        "games": s.games, "kills": s.kills, "deaths": s.deaths, "wins": s.wins,
        "losses": s.losses, "draws": s.draws, "captures": s.captures,
        "best_wave": s.best_wave, "npc_kills": s.npc_kills, "npc_deaths": s.npc_deaths,
        "matches": s.matches, "escapes": s.escapes, "last_updated": date(s.last_updated_ms),
    } }
}

fn offset_to_bson(offset: u64) -> StoreResult<i64> {
    i64::try_from(offset)
        .map_err(|_| StoreError::Backend(format!("journal offset {offset} is too large to store")))
}

fn checkpoint_upsert(c: &Checkpoint) -> StoreResult<Document> {
    Ok(upsert(
        doc! { "server": &c.server, "epoch": c.epoch },
        doc! { "$set": {
            "offset": offset_to_bson(c.offset)?,
            "snapshot_offset": offset_to_bson(c.snapshot_offset)?,
            "snapshot": c.snapshot.as_deref(),
        } },
    ))
}

/// The leaderboard ordering; the per-mode index has the same keys.
fn leaderboard_sort(mode: Mode) -> Document {
    match mode {
        Mode::Svl | Mode::Zbr => doc! { "best_wave": -1, "npc_kills": -1, "player": 1 },
        Mode::Dm | Mode::Tdm | Mode::Ctf => doc! { "rating": -1, "games": -1, "player": 1 },
    }
}

fn leaderboard_filter(query: &LeaderboardQuery) -> Document {
    let mut filter = Document::new();
    if let Some(min) = query.min_games {
        filter.insert("games", doc! { "$gte": min });
    }
    if let Some(since) = query.active_since_ms {
        filter.insert("last_updated", doc! { "$gte": date(since) });
    }
    filter
}

/// Counts of profiles ahead of `s` (strictly better first key; equal first
/// key and better tie-breaks), mirroring [`leaderboard_sort`].
fn rank_filters(mode: Mode, player: ObjectId, s: &ModeStats) -> [Document; 2] {
    let (first, first_value, second, second_value) = match mode {
        Mode::Svl | Mode::Zbr => (
            "best_wave",
            Bson::Int64(s.best_wave),
            "npc_kills",
            s.npc_kills,
        ),
        Mode::Dm | Mode::Tdm | Mode::Ctf => ("rating", Bson::Double(s.rating()), "games", s.games),
    };
    [
        doc! { first: { "$gt": first_value.clone() } },
        doc! { first: first_value, "$or": [
            { second: { "$gt": second_value } },
            { second: second_value, "player": { "$lt": player } },
        ] },
    ]
}

/// Players any of whose lowercased names contains `needle`. The needle is a
/// `$literal` string (a leading `$` is not a field path) and the test is
/// `$split` (the needle is a plain separator, never a pattern); `$indexOfCP`
/// would be the obvious operator but mongomock lacks it.
fn name_search_filter(needle: &str) -> Document {
    doc! { "$expr": { "$gt": [
        { "$size": { "$filter": {
            "input": { "$ifNull": ["$name_lower", []] },
            "cond": { "$gt": [{ "$size": { "$split": ["$$this", { "$literal": needle }] } }, 1] },
        } } },
        0,
    ] } }
}

/// An audit record: the struct's fields (the user id as int64, see
/// [`user_id_to_i64`]) and, like a fact, `time`, a readable copy of `time_ms`.
fn audit_doc(r: &AuditRecord) -> StoreResult<Document> {
    Ok(doc! {
        "time_ms": r.time_ms,
        "time": CALENDAR_MS.contains(&r.time_ms).then(|| date(r.time_ms)),
        "user_id": user_id_to_i64(r.user_id)?,
        "user_name": &r.user_name,
        "server": &r.server,
        "command": &r.command,
        "allowed": r.allowed,
        "result": &r.result,
    })
}

/// Newest first. The server assigns `_id`s in insertion order, so it breaks
/// ties like SQLite's rowid (as in [`recent_first`]); the `audit` index has the same keys.
fn audit_newest_first() -> Document {
    doc! { "time_ms": -1, "_id": -1 }
}

/// Most recently seen first; `_id` breaks ties in creation order like SQLite's rowid.
fn recent_first() -> Document {
    doc! { "last_seen": -1, "_id": -1 }
}

// ---- lenient reading (bman-data stored some numbers as strings) ----

fn corrupt(key: &str, value: &Bson) -> StoreError {
    StoreError::Corrupt(format!("field {key} holds {value}, not a number"))
}

fn float(d: &Document, key: &str) -> StoreResult<Option<f64>> {
    Ok(match d.get(key) {
        None | Some(Bson::Null) => None,
        Some(Bson::Double(x)) => Some(*x),
        Some(Bson::Int32(x)) => Some(f64::from(*x)),
        Some(Bson::Int64(x)) => Some(*x as f64),
        Some(v @ Bson::String(s)) => Some(s.trim().parse().map_err(|_| corrupt(key, v))?),
        Some(v) => return Err(corrupt(key, v)),
    })
}

fn int(d: &Document, key: &str) -> StoreResult<Option<i64>> {
    Ok(match d.get(key) {
        None | Some(Bson::Null) => None,
        Some(Bson::Int32(x)) => Some(i64::from(*x)),
        Some(Bson::Int64(x)) => Some(*x),
        Some(Bson::DateTime(t)) => Some(t.timestamp_millis()),
        Some(v @ (Bson::Double(_) | Bson::String(_))) => {
            let x = float(d, key)?.unwrap_or_default();
            if x.fract() != 0.0 || !x.is_finite() {
                return Err(corrupt(key, v));
            }
            Some(x as i64)
        }
        Some(v) => return Err(corrupt(key, v)),
    })
}

fn string(d: &Document, key: &str) -> Option<String> {
    match d.get(key)? {
        Bson::String(s) => Some(s.clone()),
        Bson::Null => None,
        other => Some(other.to_string()),
    }
}

fn strings(d: &Document, key: &str) -> Vec<String> {
    match d.get(key) {
        Some(Bson::Array(items)) => items
            .iter()
            .filter_map(|b| b.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// A per-mode profile; missing fields are a new player's values.
fn stats_from_doc(d: &Document) -> StoreResult<ModeStats> {
    let initial = ModeStats::initial(&crate::ratings::TrueSkillParams::default());
    let f = |key, default| Ok::<_, StoreError>(float(d, key)?.unwrap_or(default));
    let i = |key| Ok::<_, StoreError>(int(d, key)?.unwrap_or(0));
    Ok(ModeStats {
        mu: f("mu", initial.mu)?,
        sigma: f("sigma", initial.sigma)?,
        elo: f("elo", initial.elo)?,
        games: i("games")?,
        kills: i("kills")?,
        deaths: i("deaths")?,
        wins: i("wins")?,
        losses: i("losses")?,
        draws: i("draws")?,
        captures: i("captures")?,
        best_wave: i("best_wave")?,
        npc_kills: i("npc_kills")?,
        npc_deaths: i("npc_deaths")?,
        matches: i("matches")?,
        escapes: i("escapes")?,
        last_updated_ms: i("last_updated")?,
    })
}

/// A `players` document as bman reads it: `player.names` is left empty
/// (they live in `player_names` too, see [`with_names`]); IPs carry no times
/// in bman-data's set, so they count from first seen.
#[derive(Debug, Clone, PartialEq)]
struct PlayerDoc {
    id: ObjectId,
    /// bman-data's `name[]`, in stored order.
    legacy_names: Vec<String>,
    player: PlayerExport,
}

fn key_from_doc(d: &Document) -> StoreResult<PlayerKey> {
    let store = int(d, "platform")?
        .and_then(|p| i32::try_from(p).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("player profile without a platform: {d}")))?;
    let id = string(d, "profile")
        .ok_or_else(|| StoreError::Corrupt(format!("player profile without an id: {d}")))?;
    Ok(PlayerKey { store, id })
}

fn player_from_doc(d: &Document) -> StoreResult<PlayerDoc> {
    let id = d
        .get_object_id("_id")
        .map_err(|_| StoreError::Corrupt(format!("player without an ObjectId: {d}")))?;
    let key = key_from_doc(
        d.get_document("profile")
            .map_err(|_| StoreError::Corrupt(format!("player without a profile: {d}")))?,
    )?;
    let legacy_names = strings(d, "name");
    // `display_name`, else the last of bman-data's `name[]`, else the profile id.
    let display_name = string(d, "display_name")
        .or_else(|| legacy_names.last().cloned())
        .unwrap_or_else(|| key.id.clone());
    let premium = match d.get("premium") {
        Some(Bson::Boolean(b)) => *b,
        _ => int(d, "premium")?.is_some_and(|p| p != 0),
    };
    let first_seen_ms = int(d, "first_seen")?.unwrap_or(0);
    Ok(PlayerDoc {
        id,
        legacy_names,
        player: PlayerExport {
            key,
            display_name,
            names: Vec::new(),
            ips: strings(d, "ip")
                .into_iter()
                .map(|ip| (ip, first_seen_ms))
                .collect(),
            color: string(d, "color"),
            premium,
            hat: string(d, "hat"),
            clan_id: string(d, "clan_id"),
            clan_tag: string(d, "clan_tag"),
            first_seen_ms,
            last_seen_ms: int(d, "last_seen")?.unwrap_or(first_seen_ms),
            level: int(d, "level")?,
        },
    })
}

fn change_from_doc(d: &Document) -> StoreResult<(PlayerKey, RatingChange)> {
    let f = |key| {
        float(d, key)?
            .ok_or_else(|| StoreError::Corrupt(format!("rating change without {key}: {d}")))
    };
    Ok((
        key_from_doc(d)?,
        RatingChange {
            mu: f("mu")?,
            sigma: f("sigma")?,
            elo: f("elo")?,
            delta_mu: f("delta_mu")?,
            delta_sigma: f("delta_sigma")?,
            delta_elo: f("delta_elo")?,
        },
    ))
}

fn changes_from_doc(d: &Document) -> StoreResult<Vec<(PlayerKey, RatingChange)>> {
    match d.get("changes") {
        Some(Bson::Array(items)) => items
            .iter()
            .map(|c| {
                c.as_document()
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("rating change is not a document: {c}"))
                    })
                    .and_then(change_from_doc)
            })
            .collect(),
        _ => Ok(Vec::new()),
    }
}

fn audit_from_doc(d: &Document) -> StoreResult<AuditRecord> {
    let missing = |key| StoreError::Corrupt(format!("audit record without {key}: {d}"));
    let text = |key| string(d, key).ok_or_else(|| missing(key));
    Ok(AuditRecord {
        time_ms: int(d, "time_ms")?.ok_or_else(|| missing("time_ms"))?,
        user_id: user_id_from_i64(int(d, "user_id")?.ok_or_else(|| missing("user_id"))?)?,
        user_name: text("user_name")?,
        server: text("server")?,
        command: text("command")?,
        allowed: d.get_bool("allowed").map_err(|_| missing("allowed"))?,
        result: text("result")?,
    })
}

fn fact_from_doc(mode: Mode, d: &Document) -> StoreResult<StoredFact> {
    let seq =
        int(d, "seq")?.ok_or_else(|| StoreError::Corrupt(format!("fact without seq: {d}")))?;
    let data = d
        .get_str("data")
        .map_err(|_| StoreError::Corrupt(format!("fact {seq} has no data")))?;
    let fact = serde_json::from_str(data)
        .map_err(|e| StoreError::Corrupt(format!("fact {seq} is not a valid fact: {e}")))?;
    Ok(StoredFact {
        seq,
        record: FactRecord {
            server: string(d, "server").unwrap_or_default(),
            mode,
            time_ms: match int(d, "time_ms")? {
                Some(ms) => ms,
                None => int(d, "time")?.unwrap_or(0),
            },
            match_id: string(d, "match_id"),
            fact,
        },
        changes: changes_from_doc(d)?,
    })
}

// ---- async helpers ----

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

async fn find_player(db: &Database, key: &PlayerKey) -> StoreResult<Option<PlayerDoc>> {
    db.collection::<Document>("players")
        .find_one(player_filter(key))
        .await?
        .as_ref()
        .map(player_from_doc)
        .transpose()
}

/// `_id` of each of `keys` (players the same batch created included).
async fn player_ids(
    db: &Database,
    keys: &[PlayerKey],
) -> StoreResult<HashMap<PlayerKey, ObjectId>> {
    let mut out = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(500) {
        let any: Vec<Document> = chunk.iter().map(player_filter).collect();
        for d in find_all(db, "players", doc! { "$or": any }, doc! {}).await? {
            let p = player_from_doc(&d)?;
            out.insert(p.player.key, p.id);
        }
    }
    Ok(out)
}

/// Players by `_id`, for the rows of a leaderboard page.
async fn players_by_id(
    db: &Database,
    ids: Vec<ObjectId>,
) -> StoreResult<HashMap<ObjectId, PlayerDoc>> {
    let docs = find_all(db, "players", doc! { "_id": { "$in": ids } }, doc! {}).await?;
    docs.iter()
        .map(|d| player_from_doc(d).map(|p| (p.id, p)))
        .collect()
}

/// Facts of `mode` matching `filter`, in seq order across the mode's collections.
async fn mode_facts(db: &Database, mode: Mode, filter: Document) -> StoreResult<Vec<StoredFact>> {
    let mut facts = Vec::new();
    for collection in fact_collections(mode) {
        for d in find_all(db, &collection, filter.clone(), doc! { "seq": 1 }).await? {
            facts.push(fact_from_doc(mode, &d)?);
        }
    }
    facts.sort_by_key(|f| f.seq);
    Ok(facts)
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
    let mut plan: Vec<(String, Vec<IndexModel>)> = vec![
        (
            "players".into(),
            vec![
                // profile first: the same index serves exact profile-id lookups.
                index(doc! { "profile.profile": 1, "profile.platform": 1 }, true),
                index(recent_first(), false),
            ],
        ),
        (
            "player_names".into(),
            vec![index(
                doc! { "profile.profile": 1, "profile.platform": 1, "name": 1 },
                true,
            )],
        ),
        (
            "checkpoints".into(),
            vec![index(doc! { "server": 1, "epoch": 1 }, true)],
        ),
        (AUDIT.into(), vec![index(audit_newest_first(), false)]),
    ];
    for mode in Mode::ALL {
        plan.push((
            profiles_collection(mode),
            vec![
                index(doc! { "player": 1 }, true),
                index(leaderboard_sort(mode), false),
            ],
        ));
        for collection in fact_collections(mode) {
            plan.push((
                collection,
                vec![
                    index(doc! { "seq": 1 }, true),
                    index(doc! { "time": 1 }, false),
                    index(
                        doc! { "changes.profile": 1, "changes.platform": 1, "seq": 1 },
                        false,
                    ),
                ],
            ));
        }
    }
    for (collection, indexes) in plan {
        db.collection::<Document>(&collection)
            .create_indexes(indexes)
            .await?;
    }
    Ok(())
}

/// Fills in the additive fields bman-data's documents lack, once: the
/// lowercased names that name search reads, and the stored `rating` the
/// leaderboard sorts by. Nothing bman-data wrote is changed.
async fn normalize_legacy(db: &Database) -> StoreResult<()> {
    let players = db.collection::<Document>("players");
    let filter = doc! { "name": { "$exists": true }, "name_lower": { "$exists": false } };
    for d in find_all(db, "players", filter, doc! {}).await? {
        let lower: Vec<String> = strings(&d, "name")
            .iter()
            .map(|n| n.to_lowercase())
            .collect();
        let id = d.get("_id").cloned().unwrap_or(Bson::Null);
        players
            .update_one(doc! { "_id": id }, doc! { "$set": { "name_lower": lower } })
            .await?;
    }
    for mode in Mode::ALL {
        let collection = profiles_collection(mode);
        let profiles = db.collection::<Document>(&collection);
        for d in find_all(
            db,
            &collection,
            doc! { "rating": { "$exists": false } },
            doc! {},
        )
        .await?
        {
            let rating = stats_from_doc(&d)?.rating();
            let id = d.get("_id").cloned().unwrap_or(Bson::Null);
            profiles
                .update_one(doc! { "_id": id }, doc! { "$set": { "rating": rating } })
                .await?;
        }
    }
    Ok(())
}

/// A batch as write commands, in apply order: players, names, facts, stats
/// (which need the players' `_id`s, so they come after a lookup), checkpoints last.
struct BatchCommands {
    before_stats: Vec<Document>,
    stats: Vec<(PlayerKey, Mode, ModeStats)>,
    checkpoints: Option<Document>,
}

impl MongoStore {
    fn batch_commands(&self, batch: &WriteBatch) -> StoreResult<BatchCommands> {
        let mut players = Vec::new();
        let mut names = Vec::new();
        for seen in &batch.players {
            players.push(upsert(player_filter(&seen.key), seen_update(seen)));
            if let Some(name) = &seen.name {
                names.push(name_upsert(&seen.key, name, seen.seen_ms));
            }
        }
        let mut facts: HashMap<String, Vec<Document>> = HashMap::new();
        for fact in &batch.facts {
            for key in fact
                .record
                .fact
                .players()
                .into_iter()
                .chain(fact.changes.iter().map(|(k, _)| k))
            {
                players.push(upsert(
                    player_filter(key),
                    bare_player_update(fact.record.time_ms),
                ));
            }
            facts
                .entry(fact_collection(fact.record.mode, &fact.record.fact))
                .or_default()
                .push(fact_upsert(fact)?);
        }
        for (key, _, stats) in &batch.stats {
            players.push(upsert(
                player_filter(key),
                bare_player_update(stats.last_updated_ms),
            ));
        }
        let mut before_stats = Vec::new();
        for (collection, updates) in [
            ("players".to_string(), players),
            ("player_names".to_string(), names),
        ]
        .into_iter()
        .chain(facts)
        {
            if !updates.is_empty() {
                before_stats.push(self.update_command(&collection, updates));
            }
        }
        let checkpoints: Vec<Document> = batch
            .checkpoints
            .iter()
            .map(checkpoint_upsert)
            .collect::<StoreResult<_>>()?;
        Ok(BatchCommands {
            before_stats,
            stats: batch.stats.clone(),
            checkpoints: (!checkpoints.is_empty())
                .then(|| self.update_command("checkpoints", checkpoints)),
        })
    }

    /// Writes a batch's parts in order: players, names, facts, then (after
    /// looking up the players' `_id`s) stats, and checkpoints last.
    fn write_batch(&self, batch: &WriteBatch) -> StoreResult<()> {
        let commands = self.batch_commands(batch)?;
        let mut by_mode: HashMap<Mode, Vec<(PlayerKey, ModeStats)>> = HashMap::new();
        for (key, mode, s) in &commands.stats {
            by_mode.entry(*mode).or_default().push((key.clone(), *s));
        }
        let stat_keys: Vec<PlayerKey> = commands.stats.iter().map(|(k, ..)| k.clone()).collect();
        let ids = self.run(move |db| async move {
            for command in commands.before_stats {
                write(&db, command).await?;
            }
            player_ids(&db, &stat_keys).await
        })?;
        let mut rest: Vec<Document> = Vec::new();
        for (mode, stats) in &by_mode {
            rest.extend(self.stats_command(*mode, &ids, stats)?);
        }
        rest.extend(commands.checkpoints);
        self.run(move |db| async move {
            for command in rest {
                write(&db, command).await?;
            }
            Ok(())
        })
    }

    fn stats_command(
        &self,
        mode: Mode,
        ids: &HashMap<PlayerKey, ObjectId>,
        stats: &[(PlayerKey, ModeStats)],
    ) -> StoreResult<Option<Document>> {
        let updates = stats
            .iter()
            .map(|(key, s)| {
                let id = *ids
                    .get(key)
                    .ok_or_else(|| StoreError::Backend(format!("player {key:?} vanished")))?;
                Ok(upsert(doc! { "player": id }, stats_set(id, s)))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((!updates.is_empty()).then(|| self.update_command(&profiles_collection(mode), updates)))
    }
}

/// Fails when any of `facts` (seq, collection, JSON) reuses a stored `seq`
/// for something else, before anything is written (see the README on
/// atomicity without transactions).
async fn check_seqs(db: &Database, facts: Vec<(i64, String, String)>) -> StoreResult<()> {
    if facts.is_empty() {
        return Ok(());
    }
    let seqs: Vec<i64> = facts.iter().map(|(s, ..)| *s).collect();
    let wanted: HashMap<i64, (String, String)> =
        facts.into_iter().map(|(s, c, d)| (s, (c, d))).collect();
    for collection in all_fact_collections() {
        for d in find_all(
            db,
            &collection,
            doc! { "seq": { "$in": seqs.clone() } },
            doc! {},
        )
        .await?
        {
            let seq = int(&d, "seq")?.unwrap_or_default();
            let stored = (collection.clone(), string(&d, "data").unwrap_or_default());
            if wanted.get(&seq) != Some(&stored) {
                return Err(StoreError::Backend(format!(
                    "fact number {seq} is already used by a different fact in {collection}"
                )));
            }
        }
    }
    Ok(())
}

impl Store for MongoStore {
    /// Without transactions, a batch is made all-or-nothing in effect: it is
    /// checked, then recorded whole in one `pending_batches` document (a
    /// single-document write is atomic), then written part by part (each part
    /// idempotent), then the record is deleted. A failure before the record
    /// leaves nothing; after it, the writer's retry or, if the process died,
    /// the next [`MongoStore::open`] completes the batch.
    fn apply(&self, batch: &WriteBatch) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let seqs: Vec<(i64, String, String)> = batch
            .facts
            .iter()
            .map(|f| {
                let data = fact_doc(f)?.get_str("data").unwrap_or_default().to_string();
                Ok((f.seq, fact_collection(f.record.mode, &f.record.fact), data))
            })
            .collect::<StoreResult<_>>()?;
        let json = serde_json::to_string(&(
            &batch.players,
            &batch.facts,
            &batch.stats,
            &batch.checkpoints,
        ))
        .map_err(|e| StoreError::Backend(format!("cannot encode a batch: {e}")))?;
        let id = self.run(move |db| async move {
            check_seqs(&db, seqs).await?;
            let record = doc! { "batch": json, "recorded": DateTime::now() };
            let inserted = db
                .collection::<Document>(PENDING)
                .insert_one(record)
                .await?;
            Ok(inserted.inserted_id)
        })?;
        self.write_batch(batch)?;
        self.forget_pending(id)
    }

    fn next_seq(&self) -> StoreResult<i64> {
        self.run(|db| async move {
            let mut max = 0;
            for collection in all_fact_collections() {
                let top = db
                    .collection::<Document>(&collection)
                    .find_one(doc! { "seq": { "$exists": true } })
                    .sort(doc! { "seq": -1 })
                    .await?;
                if let Some(d) = top {
                    max = max.max(int(&d, "seq")?.unwrap_or(0));
                }
            }
            Ok(max + 1)
        })
    }

    fn load_stats(
        &self,
        mode: Mode,
        keys: &[PlayerKey],
    ) -> StoreResult<HashMap<PlayerKey, ModeStats>> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let keys = keys.to_vec();
        self.run(move |db| async move {
            let ids = player_ids(&db, &keys).await?;
            let by_id: HashMap<ObjectId, PlayerKey> =
                ids.into_iter().map(|(k, id)| (id, k)).collect();
            let filter = doc! { "player": { "$in": by_id.keys().copied().collect::<Vec<_>>() } };
            let mut out = HashMap::new();
            for d in find_all(&db, &profiles_collection(mode), filter, doc! {}).await? {
                if let Some(key) = d.get_object_id("player").ok().and_then(|id| by_id.get(&id)) {
                    out.insert(key.clone(), stats_from_doc(&d)?);
                }
            }
            Ok(out)
        })
    }

    fn checkpoint(&self, server: &str, epoch: i64) -> StoreResult<Option<Checkpoint>> {
        let server = server.to_string();
        self.run(move |db| async move {
            let found = db
                .collection::<Document>("checkpoints")
                .find_one(doc! { "server": &server, "epoch": epoch })
                .await?;
            found.map(|d| checkpoint_from_doc(&d)).transpose()
        })
    }

    fn leaderboard(&self, query: &LeaderboardQuery) -> StoreResult<Vec<LeaderboardRow>> {
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        let query = query.clone();
        self.run(move |db| async move {
            let cursor = db
                .collection::<Document>(&profiles_collection(query.mode))
                .find(leaderboard_filter(&query))
                .sort(leaderboard_sort(query.mode))
                .skip(u64::try_from(query.offset).unwrap_or(u64::MAX))
                .limit(i64::try_from(query.limit).unwrap_or(i64::MAX))
                .await?;
            let docs: Vec<Document> = cursor.try_collect().await?;
            let ids = docs
                .iter()
                .filter_map(|d| d.get_object_id("player").ok())
                .collect();
            let players = players_by_id(&db, ids).await?;
            let mut rows = Vec::with_capacity(docs.len());
            for d in &docs {
                let player = d
                    .get_object_id("player")
                    .ok()
                    .and_then(|id| players.get(&id))
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("profile of a missing player: {d}"))
                    })?;
                rows.push(LeaderboardRow {
                    rank: query.offset.saturating_add(rows.len() + 1),
                    player: player.player.summary(),
                    stats: stats_from_doc(d)?,
                });
            }
            Ok(rows)
        })
    }

    /// Case-insensitive like SQLite's: names are lowercased in Rust when
    /// stored (`name_lower`) and the query is too; see [`name_search_filter`].
    fn find_players(&self, query: &str, limit: usize) -> StoreResult<Vec<PlayerSummary>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let query = query.to_string();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |db| async move {
            let search = |filter: Document| {
                let db = db.clone();
                async move {
                    let cursor = db
                        .collection::<Document>("players")
                        .find(filter)
                        .sort(recent_first())
                        .limit(limit)
                        .await?;
                    let docs: Vec<Document> = cursor.try_collect().await?;
                    docs.iter()
                        .map(|d| player_from_doc(d).map(|p| p.player.summary()))
                        .collect::<StoreResult<Vec<_>>>()
                }
            };
            let exact = search(doc! { "profile.profile": &query }).await?;
            if !exact.is_empty() {
                return Ok(exact);
            }
            let needle = query.to_lowercase();
            if needle.is_empty() {
                return search(doc! { "name_lower.0": { "$exists": true } }).await;
            }
            search(name_search_filter(&needle)).await
        })
    }

    fn profile(&self, key: &PlayerKey) -> StoreResult<Option<PlayerProfile>> {
        let key = key.clone();
        self.run(move |db| async move {
            let Some(p) = find_player(&db, &key).await? else {
                return Ok(None);
            };
            let id = p.id;
            let mut modes = Vec::new();
            for mode in Mode::ALL {
                let profiles = db.collection::<Document>(&profiles_collection(mode));
                let Some(d) = profiles.find_one(doc! { "player": id }).await? else {
                    continue;
                };
                let stats = stats_from_doc(&d)?;
                let mut ahead = 0;
                for filter in rank_filters(mode, id, &stats) {
                    ahead += profiles.count_documents(filter).await?;
                }
                modes.push((
                    mode,
                    stats,
                    usize::try_from(ahead).unwrap_or(usize::MAX - 1) + 1,
                ));
            }
            Ok(Some(with_names(&db, p).await?.into_profile(modes)))
        })
    }

    fn rating_history(&self, key: &PlayerKey, mode: Mode) -> StoreResult<Vec<RatingPoint>> {
        let key = key.clone();
        self.run(move |db| async move {
            let filter =
                doc! { "changes": { "$elemMatch": { "profile": &key.id, "platform": key.store } } };
            let facts = mode_facts(&db, mode, filter).await?;
            Ok(facts
                .into_iter()
                .flat_map(|f| {
                    let (seq, time_ms) = (f.seq, f.record.time_ms);
                    f.changes
                        .into_iter()
                        .filter(|(k, _)| *k == key)
                        .map(move |(_, change)| RatingPoint {
                            seq,
                            time_ms,
                            change,
                        })
                })
                .collect())
        })
    }

    fn facts(&self, mode: Mode) -> StoreResult<Vec<StoredFact>> {
        self.run(move |db| async move {
            mode_facts(&db, mode, doc! { "data": { "$exists": true } }).await
        })
    }

    /// Not atomic without transactions, but idempotent: an interrupted rerate
    /// is completed by running it again.
    fn replace_ratings(
        &self,
        mode: Mode,
        facts: &[StoredFact],
        stats: &[(PlayerKey, ModeStats)],
    ) -> StoreResult<()> {
        let mut commands = Vec::new();
        for collection in fact_collections(mode) {
            commands.push(self.update_command(
                &collection,
                vec![doc! { "q": { "changes.0": { "$exists": true } }, "u": { "$set": { "changes": [] } }, "multi": true }],
            ));
        }
        let mut by_collection: HashMap<String, Vec<Document>> = HashMap::new();
        let mut keys: Vec<PlayerKey> = stats.iter().map(|(k, _)| k.clone()).collect();
        let mut players = Vec::new();
        for fact in facts {
            for (key, _) in &fact.changes {
                players.push(upsert(
                    player_filter(key),
                    bare_player_update(fact.record.time_ms),
                ));
            }
            by_collection
                .entry(fact_collection(mode, &fact.record.fact))
                .or_default()
                .push(doc! { "q": { "seq": fact.seq }, "u": { "$set": { "changes": changes_bson(fact) } } });
        }
        for (key, s) in stats {
            players.push(upsert(
                player_filter(key),
                bare_player_update(s.last_updated_ms),
            ));
        }
        if !players.is_empty() {
            commands.push(self.update_command("players", players));
        }
        for (collection, updates) in by_collection {
            commands.push(self.update_command(&collection, updates));
        }
        keys.dedup();
        let ids = self.run(move |db| async move {
            for command in commands {
                write(&db, command).await?;
            }
            player_ids(&db, &keys).await
        })?;
        let command = self.stats_command(mode, &ids, stats)?;
        let collection = profiles_collection(mode);
        self.run(move |db| async move {
            db.collection::<Document>(&collection)
                .delete_many(doc! {})
                .await?;
            if let Some(command) = command {
                write(&db, command).await?;
            }
            Ok(())
        })
    }

    fn export_players(&self) -> StoreResult<Vec<PlayerExport>> {
        self.run(|db| async move {
            let mut out = Vec::new();
            for d in find_all(&db, "players", doc! {}, doc! { "_id": 1 }).await? {
                out.push(with_names(&db, player_from_doc(&d)?).await?);
            }
            Ok(out)
        })
    }

    fn bot_players(&self) -> StoreResult<Vec<PlayerKey>> {
        let filter = doc! { "$or": [
            { "profile.platform": PlayerKey::BOT_STORE },
            { "profile.profile": { "$regex": "^(bot[0-9]+)?$" } },
        ] };
        self.run(move |db| async move {
            let mut keys = Vec::new();
            for d in find_all(&db, "players", filter, doc! { "_id": 1 }).await? {
                keys.push(player_from_doc(&d)?.player.key);
            }
            keys.retain(PlayerKey::is_bot);
            Ok(keys)
        })
    }

    /// Idempotent: a removal cut short is completed by running it again.
    fn remove_players(&self, keys: &[PlayerKey]) -> StoreResult<usize> {
        let keys = keys.to_vec();
        self.run(move |db| async move {
            let ids: Vec<ObjectId> = player_ids(&db, &keys).await?.into_values().collect();
            for mode in Mode::ALL {
                db.collection::<Document>(&profiles_collection(mode))
                    .delete_many(doc! { "player": { "$in": &ids } })
                    .await?;
            }
            for key in &keys {
                db.collection::<Document>("player_names")
                    .delete_many(doc! { "profile.platform": key.store, "profile.profile": &key.id })
                    .await?;
            }
            let removed = db
                .collection::<Document>("players")
                .delete_many(doc! { "_id": { "$in": &ids } })
                .await?;
            Ok(usize::try_from(removed.deleted_count).unwrap_or(usize::MAX))
        })
    }

    fn checkpoints(&self) -> StoreResult<Vec<Checkpoint>> {
        self.run(|db| async move {
            find_all(
                &db,
                "checkpoints",
                doc! {},
                doc! { "server": 1, "epoch": 1 },
            )
            .await?
            .iter()
            .map(checkpoint_from_doc)
            .collect()
        })
    }

    /// One `insert` with the store's write concern; `_id` is left to the
    /// server, so it follows insertion order (see [`audit_newest_first`]).
    fn record_audit(&self, record: &AuditRecord) -> StoreResult<()> {
        let command = doc! {
            "insert": AUDIT,
            "documents": [audit_doc(record)?],
            "ordered": true,
            "writeConcern": self.write_concern.clone(),
        };
        self.run(move |db| async move { write(&db, command).await })
    }

    fn audit_log(&self, limit: usize) -> StoreResult<Vec<AuditRecord>> {
        // A MongoDB limit of 0 means no limit.
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |db| async move {
            let cursor = db
                .collection::<Document>(AUDIT)
                .find(doc! {})
                .sort(audit_newest_first())
                .limit(limit)
                .await?;
            let docs: Vec<Document> = cursor.try_collect().await?;
            docs.iter().map(audit_from_doc).collect()
        })
    }
}

fn checkpoint_from_doc(d: &Document) -> StoreResult<Checkpoint> {
    let offset = |key| {
        let v = int(d, key)?.unwrap_or(0);
        u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative journal offset {v}")))
    };
    Ok(Checkpoint {
        server: string(d, "server").unwrap_or_default(),
        epoch: int(d, "epoch")?.unwrap_or(0),
        offset: offset("offset")?,
        snapshot_offset: offset("snapshot_offset")?,
        snapshot: string(d, "snapshot"),
    })
}

/// The player with every name used and when it was first used, oldest
/// first: bman-data's `name[]` entries that `player_names` lacks (no time:
/// they count from first seen), then `player_names` (bman's).
async fn with_names(db: &Database, p: PlayerDoc) -> StoreResult<PlayerExport> {
    let PlayerDoc {
        legacy_names,
        mut player,
        ..
    } = p;
    let filter = doc! { "profile.profile": &player.key.id, "profile.platform": player.key.store };
    let mut timed = Vec::new();
    for d in find_all(
        db,
        "player_names",
        filter,
        doc! { "first_used": 1, "_id": 1 },
    )
    .await?
    {
        if let Some(name) = string(&d, "name") {
            timed.push((name, int(&d, "first_used")?.unwrap_or(player.first_seen_ms)));
        }
    }
    player.names = legacy_names
        .into_iter()
        .filter(|n| !timed.iter().any(|(t, _)| t == n))
        .map(|n| (n, player.first_seen_ms))
        .collect();
    player.names.extend(timed);
    Ok(player)
}

/// Documents in canonical Extended JSON (what `mongoexport
/// --jsonFormat=canonical` writes), as far as bman-data's documents need it:
/// `$oid`, `$date` with `$numberLong`, `$numberLong`, `$numberInt`,
/// `$numberDouble`; other values map to their plain BSON types. bson's own
/// parser is not used because it turns on serde_json's `preserve_order` for
/// the whole build.
pub fn bson_from_extended_json(v: &serde_json::Value) -> StoreResult<Bson> {
    use serde_json::Value;
    let bad = || StoreError::Corrupt(format!("not canonical Extended JSON: {v}"));
    Ok(match v {
        Value::Null => Bson::Null,
        Value::Bool(b) => Bson::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Bson::Int64(i),
            None => Bson::Double(n.as_f64().ok_or_else(bad)?),
        },
        Value::String(s) => Bson::String(s.clone()),
        Value::Array(items) => Bson::Array(
            items
                .iter()
                .map(bson_from_extended_json)
                .collect::<StoreResult<_>>()?,
        ),
        Value::Object(map) => {
            let text = |key: &str| map.get(key).and_then(Value::as_str);
            let long = |v: Option<&Value>| {
                v.and_then(|d| d.get("$numberLong"))
                    .and_then(Value::as_str)
                    .and_then(|n| n.parse::<i64>().ok())
            };
            if map.len() == 1 {
                if let Some(hex) = text("$oid") {
                    return Ok(Bson::ObjectId(ObjectId::parse_str(hex).map_err(|_| bad())?));
                }
                if map.contains_key("$date") {
                    return Ok(Bson::DateTime(date(
                        long(map.get("$date")).ok_or_else(bad)?,
                    )));
                }
                if map.contains_key("$numberLong") {
                    return Ok(Bson::Int64(long(Some(v)).ok_or_else(bad)?));
                }
                if let Some(n) = text("$numberInt") {
                    return Ok(Bson::Int32(n.parse().map_err(|_| bad())?));
                }
                if let Some(n) = text("$numberDouble") {
                    return Ok(Bson::Double(n.parse().map_err(|_| bad())?));
                }
            }
            let mut d = Document::new();
            for (key, value) in map {
                d.insert(key, bson_from_extended_json(value)?);
            }
            Bson::Document(d)
        }
    })
}

#[cfg(test)]
mod tests;
