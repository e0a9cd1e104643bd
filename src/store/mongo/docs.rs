//! The documents bman sends: bman-data's shapes for bman-data's collections
//! (exactly its fields and types), bman's own for the `bman_…` collections,
//! and the query documents. Plain functions, so the unit tests pin them.

use super::*;
use crate::model::*;

/// Modes bman-data keeps profiles, kills and messages for.
pub(super) const BMAN_DATA_PROFILE_MODES: [Mode; 3] = [Mode::Dm, Mode::Tdm, Mode::Ctf];

/// bman-data's players collection for per-mode profiles.
pub(super) fn profiles_collection(mode: Mode) -> String {
    format!("{mode}_profiles")
}

/// bman-data's platform: the store number as a string ("0" Steam, …).
pub(super) fn platform(key: &PlayerKey) -> String {
    key.store.to_string()
}

/// The unique player filter, as bman-data looks players up.
pub(super) fn player_filter(key: &PlayerKey) -> Document {
    doc! { "profile.platform": platform(key), "profile.profile": &key.id }
}

pub(super) fn date(ms: i64) -> DateTime {
    DateTime::from_millis(ms)
}

/// Years 1 to 9999: the dates every client (Python's `datetime` included) can
/// hold. A fact's exact time is `time_ms`; `time` is the readable copy.
pub(super) const CALENDAR_MS: std::ops::RangeInclusive<i64> =
    -62_135_596_800_000..=253_402_300_799_999;

/// bman-data's values for the player fields bman has not learned yet: the
/// game's defaults (colour 0, no premium, hat 0, no clan), and no names or IPs.
pub(super) fn player_defaults() -> Document {
    doc! {
        "name": [], "ip": [], "color": "0", "premium": "0", "hat": "0",
        "clan_id": "", "clan_tag": "",
    }
}

fn premium_str(premium: bool) -> &'static str {
    if premium {
        "1"
    } else {
        "0"
    }
}

/// Player attributes that bman-data's defaults stand in for until bman
/// learns them; [`BMAN_PLAYERS`] lists those still unknown in `unknown`,
/// so bman reads them back as unknown.
pub(super) const UNKNOWN_ATTRIBUTES: [&str; 4] = ["color", "hat", "clan_id", "clan_tag"];

/// Merges one sighting into bman-data's player: names and IPs are sets
/// (bman-data's `$addToSet`), the latest attributes win; fields the sighting
/// does not tell get bman-data's defaults when the player is new.
pub(super) fn seen_update(seen: &PlayerSeen) -> Document {
    let mut set = Document::new();
    let mut add = Document::new();
    if let Some(name) = &seen.name {
        add.insert("name", name);
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
        set.insert("premium", premium_str(premium));
    }
    let mut on_insert = player_defaults();
    for field in set.keys().chain(add.keys()) {
        on_insert.remove(field);
    }
    let mut update = doc! { "$setOnInsert": on_insert };
    if !set.is_empty() {
        update.insert("$set", set);
    }
    if !add.is_empty() {
        update.insert("$addToSet", add);
    }
    update
}

/// Creates a player a fact or stats name, leaving an existing one alone.
pub(super) fn bare_player_update() -> Document {
    doc! { "$setOnInsert": player_defaults() }
}

/// bman's part of a sighting: key, latest name, lowercased names (search),
/// first/last seen, level, and attributes still unknown. Two updates: the
/// second takes the attributes the sighting tells off `unknown` (one
/// update cannot both create that list and pull from it).
pub(super) fn bman_seen_updates(id: ObjectId, seen: &PlayerSeen) -> Vec<Document> {
    let mut set = Document::new();
    let mut update = doc! {
        "$setOnInsert": {
            "platform": seen.key.store, "profile": &seen.key.id,
            "unknown": UNKNOWN_ATTRIBUTES.to_vec(),
        },
        "$min": { "first_seen": date(seen.seen_ms) },
        "$max": { "last_seen": date(seen.seen_ms) },
    };
    if let Some(name) = &seen.name {
        set.insert("display_name", name);
        update.insert("$addToSet", doc! { "name_lower": name.to_lowercase() });
    }
    if let Some(level) = seen.level {
        set.insert("level", level);
    }
    if !set.is_empty() {
        update.insert("$set", set);
    }
    let mut updates = vec![upsert(doc! { "_id": id }, update)];
    let known: Vec<&str> = [&seen.color, &seen.hat, &seen.clan_id, &seen.clan_tag]
        .into_iter()
        .zip(UNKNOWN_ATTRIBUTES)
        .filter_map(|(value, field)| value.as_ref().map(|_| field))
        .collect();
    if !known.is_empty() {
        updates.push(doc! {
            "q": { "_id": id },
            "u": { "$pull": { "unknown": { "$in": known } } },
        });
    }
    updates
}

/// bman's part of a player only a fact or stats named (first seen then).
pub(super) fn bman_bare_update(key: &PlayerKey, seen_ms: i64) -> Document {
    doc! { "$setOnInsert": {
        "platform": key.store, "profile": &key.id,
        "first_seen": date(seen_ms), "last_seen": date(seen_ms),
        "unknown": UNKNOWN_ATTRIBUTES.to_vec(),
    } }
}

/// When a player first used a name (the earliest sighting wins).
pub(super) fn name_upsert(player: ObjectId, name: &str, seen_ms: i64) -> Document {
    upsert(
        doc! { "player": player, "name": name },
        doc! { "$min": { "first_used": date(seen_ms) } },
    )
}

pub(super) fn upsert(q: Document, u: Document) -> Document {
    doc! { "q": q, "u": u, "upsert": true }
}

pub(super) fn change_doc(key: &PlayerKey, c: &RatingChange) -> Document {
    doc! {
        "platform": key.store, "profile": &key.id,
        "mu": c.mu, "sigma": c.sigma, "elo": c.elo,
        "delta_mu": c.delta_mu, "delta_sigma": c.delta_sigma, "delta_elo": c.delta_elo,
    }
}

pub(super) fn changes_bson(fact: &StoredFact) -> Vec<Document> {
    fact.changes.iter().map(|(k, c)| change_doc(k, c)).collect()
}

/// The fact as JSON: what [`Store::facts`] reads back.
pub(super) fn fact_json(fact: &StoredFact) -> StoreResult<String> {
    serde_json::to_string(&fact.record.fact)
        .map_err(|e| StoreError::Backend(format!("cannot encode fact {}: {e}", fact.seq)))
}

/// A fact in [`BMAN_FACTS`]. `doc` names the bman-data collection that holds
/// the fact's document (same `_id`), if any.
pub(super) fn bman_fact_doc(fact: &StoredFact, data: String) -> Document {
    let record = &fact.record;
    doc! {
        "seq": fact.seq,
        "mode": record.mode.as_str(),
        "server": &record.server,
        "time_ms": record.time_ms,
        "time": CALENDAR_MS.contains(&record.time_ms).then(|| date(record.time_ms)),
        "match_id": record.match_id.as_deref(),
        "data": data,
        "changes": changes_bson(fact),
        "doc": bman_data_collection(record.mode, &record.fact),
    }
}

/// Upserts a fact by `seq` *and* content: re-applying the same batch matches
/// and changes nothing, while a different fact under a used `seq` tries to
/// insert a second document and hits the unique `seq` index. A new fact gets
/// a fresh ObjectId, shared with its bman-data document.
pub(super) fn bman_fact_upsert(fact: &StoredFact) -> StoreResult<Document> {
    let data = fact_json(fact)?;
    let q = doc! { "seq": fact.seq, "data": &data };
    Ok(upsert(
        q,
        doc! { "$set": bman_fact_doc(fact, data), "$setOnInsert": { "_id": ObjectId::new() } },
    ))
}

/// The bman-data collection a fact gets a document in: kills (DM and TDM
/// between humans), TDM rounds, CTF captures by a human, survival waves and
/// NPC kills and deaths (those in a wave bman saw), and chat lines of a
/// player. Matches are written through [`BMAN_MATCHES`].
pub(super) fn bman_data_collection(mode: Mode, fact: &Fact) -> Option<String> {
    let suffix = match (mode, fact) {
        (Mode::Dm | Mode::Tdm, Fact::Kill(_)) => "kills",
        (Mode::Tdm, Fact::Round(_)) => "rounds",
        (Mode::Ctf, Fact::Capture(c)) if c.carrier.is_some() => "scores",
        (Mode::Svl, Fact::Wave(_)) => "rounds",
        (Mode::Svl, Fact::NpcKill { .. }) => "kills",
        (Mode::Svl, Fact::NpcDeath { .. }) => "deaths",
        (Mode::Dm | Mode::Tdm | Mode::Ctf | Mode::Svl, Fact::Chat(c)) if c.player.is_some() => {
            "messages"
        }
        _ => return None,
    };
    Some(format!("{mode}_{suffix}"))
}

/// Where bman-data keeps the per-player ratings of a team contest: TDM
/// rounds and CTF captures, one document per rated player.
pub(super) struct RatingInstances {
    pub collection: &'static str,
    /// The field referring to the player's profile of the mode.
    pub profile: &'static str,
    /// The field referring to the contest: the round itself, or the match.
    pub parent: &'static str,
}

/// The rating instances a fact gets, if any.
pub(super) fn rating_instances(mode: Mode, fact: &Fact) -> Option<RatingInstances> {
    let (collection, profile, parent) = match (mode, fact) {
        (Mode::Tdm, Fact::Round(_)) => ("tdm_rating_instances", "tdm_player", "tdm_round"),
        (Mode::Ctf, Fact::Capture(_)) => ("ctf_rating_instances", "ctf_player", "match"),
        _ => return None,
    };
    Some(RatingInstances {
        collection,
        profile,
        parent,
    })
}

/// The `_id` of one of several bman-data documents a fact makes, told apart
/// by `part`: the fact's time part (readers date records by it) and a hash of
/// the fact's id and `part`, so writing the fact again, a rerate and filling
/// in documents for facts recorded before bman wrote them all find the same
/// document.
fn derived_id(fact: ObjectId, part: &[u8]) -> ObjectId {
    // FNV-1a: stable across Rust releases, unlike the standard hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in fact.bytes().iter().chain(part) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&fact.bytes()[..4]);
    bytes[4..].copy_from_slice(&hash.to_be_bytes());
    ObjectId::from_bytes(bytes)
}

/// The `_id` of `player`'s rating instance from the fact stored as `fact`.
pub(super) fn instance_id(fact: ObjectId, player: ObjectId) -> ObjectId {
    derived_id(fact, &player.bytes())
}

/// The `_id` of a TDM round's `index`th loadout.
pub(super) fn loadout_id(round: ObjectId, index: usize) -> ObjectId {
    let index = u32::try_from(index).unwrap_or(u32::MAX);
    let mut part = *b"loadout\0\0\0\0";
    part[7..].copy_from_slice(&index.to_be_bytes());
    derived_id(round, &part)
}

/// bman-data's `tdm_loadouts` document of a spawn (`dual` is not in the
/// spawn event: unknown).
pub(super) fn loadout_doc(profile: ObjectId, round: ObjectId, l: &Loadout) -> Document {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    doc! {
        "tdm_player": profile, "tdm_round": round,
        "weap1": text(&l.weap1), "weap2": text(&l.weap2), "dual": "",
        "equip": text(&l.equip), "offweap": text(&l.offweap), "offweap2": text(&l.offweap2),
    }
}

/// A rating instance's values: TrueSkill after the contest and the change.
pub(super) fn instance_rating(c: &RatingChange) -> Document {
    doc! { "mu": c.mu, "sigma": c.sigma, "mu_delta": c.delta_mu, "sigma_delta": c.delta_sigma }
}

/// Modes with a bman-data match collection.
pub(super) fn has_matches(mode: Mode) -> bool {
    matches!(mode, Mode::Dm | Mode::Ctf | Mode::Svl)
}

/// The [`BMAN_MATCHES`] key of a fact's match: its `match_id`, else one
/// standing match per server for facts recorded before a match start was seen.
pub(super) fn match_key(record: &FactRecord) -> String {
    let id = record.match_id.as_deref().unwrap_or(&record.server);
    format!("{}|{id}", record.mode)
}

/// When a match started: the `match_id`'s start time, else the fact's time.
pub(super) fn match_start_ms(record: &FactRecord) -> i64 {
    record
        .match_id
        .as_deref()
        .and_then(|id| id.rsplit_once(':'))
        .and_then(|(_, ms)| ms.parse().ok())
        .unwrap_or(record.time_ms)
}

/// `text` cut to bman-data's length limit, in characters.
/// bman-data's `"X,Y"` of a position, in its 20 characters: fewer decimals
/// when needed, and empty (unknown) for coordinates no decimals make fit.
pub(super) fn location(at: Option<Position>) -> String {
    let Some(Position { x, y }) = at else {
        return String::new();
    };
    let fits = |text: &String| text.chars().count() <= 20;
    Some(format!("{x},{y}"))
        .filter(fits)
        .or_else(|| {
            (0..=2)
                .rev()
                .map(|decimals| format!("{x:.decimals$},{y:.decimals$}"))
                .find(fits)
        })
        .unwrap_or_default()
}

pub(super) fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// bman-data's per-mode profile, exactly its fields, from bman's stats.
pub(super) fn profile_fields(mode: Mode, s: &ModeStats) -> Document {
    let mut d = doc! {
        "mu": s.mu, "sigma": s.sigma, "kills": s.kills, "deaths": s.deaths,
        "last_updated": date(s.last_updated_ms),
    };
    match mode {
        Mode::Tdm => d.extend(doc! { "elo": s.elo, "wins": s.wins, "losses": s.losses }),
        Mode::Ctf => d.extend(doc! {
            "wins": s.wins, "losses": s.losses, "captures": s.captures, "games": s.games,
        }),
        _ => {}
    }
    d
}

/// The whole of bman's stats, `$set` on [`BMAN_STATS`] (the single writer
/// computed them absolutely).
pub(super) fn bman_stats_set(mode: Mode, player: ObjectId, s: &ModeStats) -> Document {
    doc! { "$set": {
        "mode": mode.as_str(), "player": player,
        "mu": s.mu, "sigma": s.sigma, "volatility": s.volatility, "elo": s.elo,
        "rating": s.rating(),
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

pub(super) fn checkpoint_upsert(c: &Checkpoint) -> StoreResult<Document> {
    Ok(upsert(
        doc! { "server": &c.server, "epoch": c.epoch },
        doc! { "$set": {
            "offset": offset_to_bson(c.offset)?,
            "snapshot_offset": offset_to_bson(c.snapshot_offset)?,
            "snapshot": c.snapshot.as_deref(),
        } },
    ))
}

/// The leaderboard ordering; [`BMAN_STATS`] has an index with `mode` and these keys.
pub(super) fn leaderboard_sort(mode: Mode) -> Document {
    match mode {
        Mode::Svl | Mode::Zbr => doc! { "best_wave": -1, "npc_kills": -1, "player": 1 },
        Mode::Dm | Mode::Tdm | Mode::Ctf => doc! { "rating": -1, "games": -1, "player": 1 },
    }
}

pub(super) fn leaderboard_filter(query: &LeaderboardQuery) -> Document {
    let mut filter = doc! { "mode": query.mode.as_str() };
    if let Some(min) = query.min_games {
        filter.insert("games", doc! { "$gte": min });
    }
    if let Some(since) = query.active_since_ms {
        filter.insert("last_updated", doc! { "$gte": date(since) });
    }
    filter
}

/// Counts of stats ahead of `s` (strictly better first key; equal first
/// key and better tie-breaks), mirroring [`leaderboard_sort`].
pub(super) fn rank_filters(mode: Mode, player: ObjectId, s: &ModeStats) -> [Document; 2] {
    let (first, first_value, second, second_value) = match mode {
        Mode::Svl | Mode::Zbr => (
            "best_wave",
            Bson::Int64(s.best_wave),
            "npc_kills",
            s.npc_kills,
        ),
        Mode::Dm | Mode::Tdm | Mode::Ctf => ("rating", Bson::Double(s.rating()), "games", s.games),
    };
    let mode = mode.as_str();
    [
        doc! { "mode": mode, first: { "$gt": first_value.clone() } },
        doc! { "mode": mode, first: first_value, "$or": [
            { second: { "$gt": second_value } },
            { second: second_value, "player": { "$lt": player } },
        ] },
    ]
}

/// Players any of whose lowercased names contains `needle`. The needle is a
/// `$literal` string (a leading `$` is not a field path) and the test is
/// `$split` (the needle is a plain separator, never a pattern); `$indexOfCP`
/// would be the obvious operator but mongomock lacks it.
pub(super) fn name_search_filter(needle: &str) -> Document {
    doc! { "$expr": { "$gt": [
        { "$size": { "$filter": {
            "input": { "$ifNull": ["$name_lower", []] },
            "cond": { "$gt": [{ "$size": { "$split": ["$$this", { "$literal": needle }] } }, 1] },
        } } },
        0,
    ] } }
}

/// An audit record: the struct's fields (the user id as int64, see
/// [`user_id_to_i64`]) and `time`, a readable copy of `time_ms`.
pub(super) fn audit_doc(r: &AuditRecord) -> StoreResult<Document> {
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
/// ties like SQLite's rowid (as in [`recent_first`]); [`BMAN_AUDIT`] has an index with the same keys.
pub(super) fn audit_newest_first() -> Document {
    doc! { "time_ms": -1, "_id": -1 }
}

/// Most recently seen first; `_id` breaks ties in creation order like SQLite's rowid.
pub(super) fn recent_first() -> Document {
    doc! { "last_seen": -1, "_id": -1 }
}
