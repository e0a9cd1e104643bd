//! Reading documents back, leniently: bman-data stored some numbers as
//! strings and left fields out; missing values are a new player's.

use super::*;
use crate::model::*;

fn corrupt(key: &str, value: &Bson) -> StoreError {
    StoreError::Corrupt(format!("field {key} holds {value}, not a number"))
}

pub(super) fn float(d: &Document, key: &str) -> StoreResult<Option<f64>> {
    Ok(match d.get(key) {
        None | Some(Bson::Null) => None,
        Some(Bson::Double(x)) => Some(*x),
        Some(Bson::Int32(x)) => Some(f64::from(*x)),
        Some(Bson::Int64(x)) => Some(*x as f64),
        Some(v @ Bson::String(s)) => Some(s.trim().parse().map_err(|_| corrupt(key, v))?),
        Some(v) => return Err(corrupt(key, v)),
    })
}

pub(super) fn int(d: &Document, key: &str) -> StoreResult<Option<i64>> {
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

pub(super) fn string(d: &Document, key: &str) -> Option<String> {
    match d.get(key)? {
        Bson::String(s) => Some(s.clone()),
        Bson::Null => None,
        other => Some(other.to_string()),
    }
}

pub(super) fn strings(d: &Document, key: &str) -> Vec<String> {
    match d.get(key) {
        Some(Bson::Array(items)) => items
            .iter()
            .filter_map(|b| b.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Per-mode stats from [`BMAN_STATS`] or a bman-data profile; missing
/// fields are a new player's values.
pub(super) fn stats_from_doc(d: &Document) -> StoreResult<ModeStats> {
    let initial = ModeStats::initial(&crate::ratings::TrueSkillParams::default());
    let f = |key, default| Ok::<_, StoreError>(float(d, key)?.unwrap_or(default));
    let i = |key| Ok::<_, StoreError>(int(d, key)?.unwrap_or(0));
    Ok(ModeStats {
        mu: f("mu", initial.mu)?,
        sigma: f("sigma", initial.sigma)?,
        volatility: f("volatility", initial.volatility)?,
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

/// A player as bman reads it: `player.names` is left empty (see
/// [`queries::with_names`]); IPs carry no times in bman-data's set, so they
/// count from first seen.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PlayerDoc {
    pub id: ObjectId,
    /// bman-data's `name[]`, in stored order.
    pub legacy_names: Vec<String>,
    pub player: PlayerExport,
}

/// A key from `{platform, profile}`: bman-data's string platform, or the
/// int earlier releases wrote.
pub(super) fn key_from_doc(d: &Document) -> StoreResult<PlayerKey> {
    let store = int(d, "platform")?
        .and_then(|p| i32::try_from(p).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("player profile without a platform: {d}")))?;
    let id = string(d, "profile")
        .ok_or_else(|| StoreError::Corrupt(format!("player profile without an id: {d}")))?;
    Ok(PlayerKey { store, id })
}

pub(super) fn object_id(d: &Document) -> StoreResult<ObjectId> {
    d.get_object_id("_id")
        .map_err(|_| StoreError::Corrupt(format!("document without an ObjectId: {d}")))
}

/// A bman-data `players` document with bman's part (`bman`, from
/// [`BMAN_PLAYERS`]; earlier releases kept its fields in the player).
pub(super) fn player_from_docs(d: &Document, bman: Option<&Document>) -> StoreResult<PlayerDoc> {
    let id = object_id(d)?;
    let key = key_from_doc(
        d.get_document("profile")
            .map_err(|_| StoreError::Corrupt(format!("player without a profile: {d}")))?,
    )?;
    let own = bman.unwrap_or(d);
    let legacy_names = strings(d, "name");
    // `display_name`, else the last of bman-data's `name[]`, else the profile id.
    let display_name = string(own, "display_name")
        .or_else(|| legacy_names.last().cloned())
        .unwrap_or_else(|| key.id.clone());
    let premium = match d.get("premium") {
        Some(Bson::Boolean(b)) => *b,
        _ => int(d, "premium")?.is_some_and(|p| p != 0),
    };
    let first_seen_ms = int(own, "first_seen")?.unwrap_or(0);
    let unknown = strings(own, "unknown");
    let attribute = |field: &str| string(d, field).filter(|_| !unknown.iter().any(|u| u == field));
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
            color: attribute("color"),
            premium,
            hat: attribute("hat"),
            clan_id: attribute("clan_id"),
            clan_tag: attribute("clan_tag"),
            first_seen_ms,
            last_seen_ms: int(own, "last_seen")?.unwrap_or(first_seen_ms),
            level: int(own, "level")?,
        },
    })
}

/// A player's summary from bman's part alone (leaderboards, name search).
pub(super) fn summary_from_bman(d: &Document) -> StoreResult<PlayerSummary> {
    let key = key_from_doc(d)?;
    Ok(PlayerSummary {
        name: string(d, "display_name").unwrap_or_else(|| key.id.clone()),
        key,
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

pub(super) fn audit_from_doc(d: &Document) -> StoreResult<AuditRecord> {
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

/// A fact of `mode` from [`BMAN_FACTS`] (or an earlier release's fact
/// collections, which had the same fields).
pub(super) fn fact_from_doc(mode: Mode, d: &Document) -> StoreResult<StoredFact> {
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

pub(super) fn checkpoint_from_doc(d: &Document) -> StoreResult<Checkpoint> {
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
