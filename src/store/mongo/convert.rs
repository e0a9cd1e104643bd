//! Converting a store that releases before the bman-data layout wrote, and
//! filling in bman's part of what bman-data wrote: once per database (see
//! [`convert_once`]). Each step finds only what still needs it, writes the
//! new shape first and removes the old one last, so an interrupted
//! conversion resumes where it stopped.
//!
//! Earlier releases wrote int platforms and bman's fields into `players`
//! (`display_name`, `name_lower`, `first_seen`, `last_seen`, `level`, a
//! boolean `premium`), names into `player_names`, bman's stats into the
//! profiles (`rating`, `games`, `draws`, … and `svl_profiles`,
//! `zbr_profiles`), facts as `{seq, data, changes}` documents into
//! `<mode>_<kind>` collections, and `checkpoints`, `audit` and
//! `pending_batches`.

use super::*;
use crate::model::*;

/// Old fact collections were `<mode>_<suffix>`.
const OLD_FACT_SUFFIXES: [&str; 7] = [
    "kills", "rounds", "scores", "matches", "deaths", "messages", "escapes",
];

/// Documents converted per round trip.
const CHUNK: i64 = 1_000;

/// The layout version [`BMAN_META`]'s `layout` document records once a
/// database has been converted and filled (3: with rating instances).
const LAYOUT_VERSION: i32 = 3;

/// Converts and fills once per database: [`convert_old_store`],
/// [`fill_bman_parts`] and [`fill_rating_instances`], then records the
/// layout in [`BMAN_META`], so later starts skip them (a conversion cut
/// short runs again from where it was).
pub(super) async fn convert_once(db: &Database, concern: &Document) -> StoreResult<()> {
    let meta = db.collection::<Document>(BMAN_META);
    let done = doc! { "_id": "layout", "version": LAYOUT_VERSION };
    if meta.find_one(done).await?.is_some() {
        return Ok(());
    }
    convert_old_store(db, concern).await?;
    fill_bman_parts(db).await?;
    fill_rating_instances(db, concern).await?;
    meta.update_one(
        doc! { "_id": "layout" },
        doc! { "$set": { "version": LAYOUT_VERSION } },
    )
    .upsert(true)
    .await?;
    Ok(())
}

async fn convert_old_store(db: &Database, concern: &Document) -> StoreResult<()> {
    for (old, new) in [
        ("pending_batches", BMAN_PENDING),
        ("checkpoints", BMAN_CHECKPOINTS),
        ("audit", BMAN_AUDIT),
    ] {
        move_documents(db, concern, old, new).await?;
    }
    convert_players(db, concern).await?;
    convert_names(db, concern).await?;
    convert_profiles(db, concern).await?;
    convert_facts(db, concern).await
}

async fn first_chunk(
    db: &Database,
    collection: &str,
    filter: Document,
) -> StoreResult<Vec<Document>> {
    let cursor = db
        .collection::<Document>(collection)
        .find(filter)
        .sort(doc! { "_id": 1 })
        .limit(CHUNK)
        .await?;
    Ok(cursor.try_collect().await?)
}

async fn delete_ids(db: &Database, collection: &str, docs: &[Document]) -> StoreResult<()> {
    let ids = docs
        .iter()
        .map(object_id)
        .collect::<StoreResult<Vec<_>>>()?;
    db.collection::<Document>(collection)
        .delete_many(doc! { "_id": { "$in": ids } })
        .await?;
    Ok(())
}

/// Moves every document of `old` into `new` as it is (same `_id`, so
/// ordering by `_id` is kept).
async fn move_documents(
    db: &Database,
    concern: &Document,
    old: &str,
    new: &str,
) -> StoreResult<()> {
    loop {
        let docs = first_chunk(db, old, doc! {}).await?;
        if docs.is_empty() {
            return Ok(());
        }
        let updates = docs
            .iter()
            .map(|d| Ok(upsert(doc! { "_id": object_id(d)? }, d.clone())))
            .collect::<StoreResult<Vec<_>>>()?;
        update_all(db, concern, new, updates).await?;
        delete_ids(db, old, &docs).await?;
    }
}

/// Fields of an earlier release's player that bman-data does not define.
const OLD_PLAYER_FIELDS: [&str; 5] = [
    "display_name",
    "name_lower",
    "first_seen",
    "last_seen",
    "level",
];

fn old_player_filter() -> Document {
    let mut any: Vec<Document> = OLD_PLAYER_FIELDS
        .iter()
        .map(|f| doc! { *f: { "$exists": true } })
        .collect();
    any.push(doc! { "profile.platform": { "$not": { "$type": "string" } } });
    any.push(doc! { "premium": { "$type": "bool" } });
    doc! { "$or": any }
}

/// bman-data's player from an earlier release's document: exactly
/// bman-data's fields, bman-data's defaults for the missing ones.
fn clean_player(d: &Document, key: &PlayerKey, premium: bool) -> Document {
    let mut clean = doc! { "profile": { "platform": platform(key), "profile": &key.id } };
    for (field, default) in player_defaults() {
        let value = match (field.as_str(), d.get(&field)) {
            ("premium", _) => Bson::String(if premium { "1" } else { "0" }.into()),
            ("name" | "ip", Some(v @ Bson::Array(_))) => v.clone(),
            (_, Some(Bson::String(s))) if !matches!(field.as_str(), "name" | "ip") => {
                Bson::String(s.clone())
            }
            _ => default,
        };
        clean.insert(field, value);
    }
    clean
}

/// Players: bman's fields into [`BMAN_PLAYERS`], then the player rewritten
/// in bman-data's shape. A player an earlier release created beside
/// bman-data's own (int platform beside the string one) is merged into
/// bman-data's: names and IPs, and profiles and stats it lacks.
async fn convert_players(db: &Database, concern: &Document) -> StoreResult<()> {
    loop {
        let docs = first_chunk(db, PLAYERS, old_player_filter()).await?;
        if docs.is_empty() {
            return Ok(());
        }
        for d in &docs {
            let p = player_from_docs(d, None)?;
            let key = p.player.key.clone();
            let mut own = doc! {
                "platform": key.store, "profile": &key.id,
                "display_name": &p.player.display_name,
                "name_lower": p.legacy_names.iter().map(|n| n.to_lowercase()).collect::<Vec<_>>(),
            };
            let unknown: Vec<&str> = UNKNOWN_ATTRIBUTES
                .into_iter()
                .filter(|f| !matches!(d.get(*f), Some(Bson::String(_))))
                .collect();
            own.insert("unknown", unknown);
            for field in ["first_seen", "last_seen", "level"] {
                if let Some(v) = d.get(field) {
                    own.insert(field, v.clone());
                }
            }
            let twin = db
                .collection::<Document>(PLAYERS)
                .find_one(doc! { "profile.platform": platform(&key), "profile.profile": &key.id, "_id": { "$ne": p.id } })
                .await?;
            match twin {
                Some(twin) => merge_into(db, concern, d, &p, own, object_id(&twin)?).await?,
                None => {
                    let bman = vec![upsert(doc! { "_id": p.id }, doc! { "$set": own })];
                    update_all(db, concern, BMAN_PLAYERS, bman).await?;
                    let clean = clean_player(d, &key, p.player.premium);
                    update_all(
                        db,
                        concern,
                        PLAYERS,
                        vec![doc! { "q": { "_id": p.id }, "u": clean }],
                    )
                    .await?;
                }
            }
        }
    }
}

/// Merges an earlier release's duplicate `d` of a player into bman-data's
/// `twin`, then deletes the duplicate.
async fn merge_into(
    db: &Database,
    concern: &Document,
    d: &Document,
    p: &PlayerDoc,
    mut own: Document,
    twin: ObjectId,
) -> StoreResult<()> {
    let each = |v: Vec<String>| doc! { "$each": v };
    let add = doc! { "$addToSet": {
        "name": each(p.legacy_names.clone()),
        "ip": each(strings(d, "ip")),
    } };
    update_all(
        db,
        concern,
        PLAYERS,
        vec![doc! { "q": { "_id": twin }, "u": add }],
    )
    .await?;
    let lower = own.remove("name_lower").unwrap_or(Bson::Array(Vec::new()));
    let mut min_max = Document::new();
    let mut bman = doc! {
        "$setOnInsert": own,
        "$addToSet": { "name_lower": { "$each": lower } },
    };
    if let Some(first) = d.get("first_seen") {
        min_max.insert("first_seen", first.clone());
        bman.insert("$min", min_max.clone());
    }
    if let Some(last) = d.get("last_seen") {
        bman.insert("$max", doc! { "last_seen": last.clone() });
    }
    if let Some(Bson::Document(on_insert)) = bman.get_mut("$setOnInsert") {
        on_insert.remove("first_seen");
        on_insert.remove("last_seen");
    }
    update_all(
        db,
        concern,
        BMAN_PLAYERS,
        vec![upsert(doc! { "_id": twin }, bman)],
    )
    .await?;
    for mode in BMAN_DATA_PROFILE_MODES {
        move_if_missing(db, &profiles_collection(mode), doc! {}, p.id, twin).await?;
    }
    for mode in Mode::ALL {
        let only = doc! { "mode": mode.as_str() };
        move_if_missing(db, BMAN_STATS, only, p.id, twin).await?;
    }
    db.collection::<Document>(PLAYERS)
        .delete_one(doc! { "_id": p.id })
        .await?;
    db.collection::<Document>(BMAN_PLAYERS)
        .delete_one(doc! { "_id": p.id })
        .await?;
    Ok(())
}

/// Re-points `from`'s document in `collection` (within `scope`) to `to`
/// unless `to` has one; else deletes it.
async fn move_if_missing(
    db: &Database,
    collection: &str,
    scope: Document,
    from: ObjectId,
    to: ObjectId,
) -> StoreResult<()> {
    let c = db.collection::<Document>(collection);
    let mut theirs = scope.clone();
    theirs.insert("player", to);
    let mut mine = scope;
    mine.insert("player", from);
    if c.find_one(theirs).await?.is_some() {
        c.delete_many(mine).await?;
    } else {
        c.update_many(mine, doc! { "$set": { "player": to } })
            .await?;
    }
    Ok(())
}

/// `player_names` (keyed by the int platform) into [`BMAN_NAMES`].
async fn convert_names(db: &Database, concern: &Document) -> StoreResult<()> {
    loop {
        let docs = first_chunk(db, "player_names", doc! {}).await?;
        if docs.is_empty() {
            return Ok(());
        }
        let mut keys = Vec::new();
        for d in &docs {
            if let Ok(profile) = d.get_document("profile") {
                keys.push(key_from_doc(profile)?);
            }
        }
        let ids = queries::player_ids(db, &keys).await?;
        let mut updates = Vec::new();
        for d in &docs {
            let Ok(profile) = d.get_document("profile") else {
                continue;
            };
            let (Some(id), Some(name)) = (ids.get(&key_from_doc(profile)?), string(d, "name"))
            else {
                continue;
            };
            let first = int(d, "first_used")?.unwrap_or(0);
            updates.push(name_upsert(*id, &name, first));
        }
        update_all(db, concern, BMAN_NAMES, updates).await?;
        delete_ids(db, "player_names", &docs).await?;
    }
}

/// Fields bman-data's profile of `mode` defines (besides `_id`, `player`).
fn profile_field_names(mode: Mode) -> Vec<String> {
    let s = ModeStats::initial(&crate::ratings::TrueSkillParams::default());
    profile_fields(mode, &s).keys().cloned().collect()
}

/// Profiles: bman's stats into [`BMAN_STATS`], then the profile cut to
/// bman-data's fields; `svl_profiles` and `zbr_profiles` move whole.
async fn convert_profiles(db: &Database, concern: &Document) -> StoreResult<()> {
    for mode in Mode::ALL {
        let collection = profiles_collection(mode);
        let known = BMAN_DATA_PROFILE_MODES.contains(&mode);
        let filter = if known {
            let fields = profile_field_names(mode);
            let extra: Vec<Document> = OLD_PROFILE_FIELDS
                .iter()
                .filter(|f| !fields.iter().any(|k| k == *f))
                .map(|f| doc! { *f: { "$exists": true } })
                .collect();
            doc! { "$or": extra }
        } else {
            doc! {}
        };
        loop {
            let docs = first_chunk(db, &collection, filter.clone()).await?;
            if docs.is_empty() {
                break;
            }
            let mut stats = Vec::new();
            let mut clean = Vec::new();
            for d in &docs {
                let Ok(player) = d.get_object_id("player") else {
                    continue;
                };
                let s = stats_from_doc(d)?;
                stats.push(upsert(
                    doc! { "mode": mode.as_str(), "player": player },
                    bman_stats_set(mode, player, &s),
                ));
                let mut fields = doc! { "player": player };
                fields.extend(profile_fields(mode, &s));
                clean.push(doc! { "q": { "_id": object_id(d)? }, "u": fields });
            }
            update_all(db, concern, BMAN_STATS, stats).await?;
            if known {
                update_all(db, concern, &collection, clean).await?;
            } else {
                delete_ids(db, &collection, &docs).await?;
            }
        }
    }
    Ok(())
}

/// Every field an earlier release stored in a profile besides bman-data's
/// DM fields.
const OLD_PROFILE_FIELDS: [&str; 12] = [
    "rating",
    "elo",
    "games",
    "wins",
    "losses",
    "draws",
    "captures",
    "best_wave",
    "npc_kills",
    "npc_deaths",
    "matches",
    "escapes",
];

/// Facts: written again as [`BMAN_FACTS`] and bman-data's documents (same
/// `seq`, so writing one twice changes nothing), then the old documents go.
async fn convert_facts(db: &Database, concern: &Document) -> StoreResult<()> {
    for mode in Mode::ALL {
        for suffix in OLD_FACT_SUFFIXES {
            let collection = format!("{mode}_{suffix}");
            loop {
                let docs =
                    first_chunk(db, &collection, doc! { "seq": { "$exists": true } }).await?;
                if docs.is_empty() {
                    break;
                }
                let facts = docs
                    .iter()
                    .map(|d| fact_from_doc(mode, d))
                    .collect::<StoreResult<Vec<_>>>()?;
                let batch = WriteBatch {
                    facts,
                    ..WriteBatch::default()
                };
                write::write_batch(db, concern, &batch).await?;
                delete_ids(db, &collection, &docs).await?;
            }
        }
    }
    Ok(())
}

/// The rating instances of the TDM rounds and CTF captures that releases
/// before them recorded: those facts are written again, which adds only what
/// is missing (see [`write::write_batch`]).
async fn fill_rating_instances(db: &Database, concern: &Document) -> StoreResult<()> {
    for mode in [Mode::Tdm, Mode::Ctf] {
        let mut after = None;
        loop {
            let mut filter = doc! { "mode": mode.as_str(), "changes.0": { "$exists": true } };
            if let Some(id) = after {
                filter.insert("_id", doc! { "$gt": id });
            }
            let docs = first_chunk(db, BMAN_FACTS, filter).await?;
            let Some(last) = docs.last() else {
                break;
            };
            after = Some(object_id(last)?);
            let mut facts = Vec::new();
            for d in &docs {
                let fact = fact_from_doc(mode, d)?;
                if rating_instances(mode, &fact.record.fact).is_some() {
                    facts.push(fact);
                }
            }
            let batch = WriteBatch {
                facts,
                ..WriteBatch::default()
            };
            write::write_batch(db, concern, &batch).await?;
        }
    }
    Ok(())
}

/// bman's part of players and profiles that bman-data wrote: a [`BMAN_PLAYERS`] document for every player
/// without one, a [`BMAN_STATS`] document for every profile without one
/// (unless [`untouched`]), so stats continue from bman-data's values.
async fn fill_bman_parts(db: &Database) -> StoreResult<()> {
    let players = db.collection::<Document>(PLAYERS);
    let bman = db.collection::<Document>(BMAN_PLAYERS);
    if players.estimated_document_count().await? != bman.estimated_document_count().await? {
        let known = ids_of(db, BMAN_PLAYERS, doc! {}, "_id").await?;
        for d in find_all(db, PLAYERS, doc! {}, doc! { "_id": 1 }).await? {
            let id = object_id(&d)?;
            if known.contains(&id) {
                continue;
            }
            let p = player_from_docs(&d, None)?;
            let lower: Vec<String> = p.legacy_names.iter().map(|n| n.to_lowercase()).collect();
            let own = doc! {
                "_id": id, "platform": p.player.key.store, "profile": &p.player.key.id,
                "display_name": &p.player.display_name, "name_lower": lower,
            };
            bman.insert_one(own).await?;
        }
    }
    let stats = db.collection::<Document>(BMAN_STATS);
    for mode in BMAN_DATA_PROFILE_MODES {
        let collection = profiles_collection(mode);
        let profiles = db.collection::<Document>(&collection);
        let only = doc! { "mode": mode.as_str() };
        if profiles.count_documents(doc! {}).await? == stats.count_documents(only.clone()).await? {
            continue;
        }
        let known = ids_of(db, BMAN_STATS, only, "player").await?;
        for d in find_all(db, &collection, doc! {}, doc! { "_id": 1 }).await? {
            let Ok(player) = d.get_object_id("player") else {
                continue;
            };
            let s = stats_from_doc(&d)?;
            if !known.contains(&player) && !untouched(&s) {
                let filter = doc! { "mode": mode.as_str(), "player": player };
                let update = bman_stats_set(mode, player, &s);
                stats.update_one(filter, update).upsert(true).await?;
            }
        }
    }
    Ok(())
}

/// A profile still holding a new player's values: one bman made only so a
/// document could refer to it (a chat line's speaker), or a bman-data
/// player who never played the mode. Nothing to continue from, so no stats.
fn untouched(s: &ModeStats) -> bool {
    let new = ModeStats::initial(&crate::ratings::TrueSkillParams::default());
    ModeStats {
        last_updated_ms: new.last_updated_ms,
        ..*s
    } == new
}

async fn ids_of(
    db: &Database,
    collection: &str,
    filter: Document,
    field: &str,
) -> StoreResult<std::collections::HashSet<ObjectId>> {
    let cursor = db
        .collection::<Document>(collection)
        .find(filter)
        .projection(doc! { field: 1 })
        .await?;
    let docs: Vec<Document> = cursor.try_collect().await?;
    Ok(docs
        .iter()
        .filter_map(|d| d.get_object_id(field).ok())
        .collect())
}
