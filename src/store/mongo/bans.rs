//! Community bans in bman's own [`BMAN_BANS`] collection, and the shared-IP
//! query behind `/whois` over bman-data's `players.ip`.
//!
//! A ban document: `platform` (int), `profile`, `name`, `reason`,
//! `by_user_id` (int64 or null for the CLI), `by_name`, `created_ms`,
//! `until_ms` (null: permanent), `servers` ([str], empty: every server), and
//! `lifted_by_user_id`, `lifted_by_name`, `lifted_ms` (null until lifted).

use super::*;

/// Community bans (see the module docs).
pub(super) const BMAN_BANS: &str = "bman_bans";

/// Newest first; `_id` breaks ties in insertion order like SQLite's rowid.
fn newest_first() -> Document {
    doc! { "created_ms": -1, "_id": -1 }
}

/// The indexes of [`BMAN_BANS`]: one player's bans, and the newest-first list.
pub(super) fn indexes() -> Vec<Document> {
    vec![
        doc! { "profile": 1, "platform": 1, "created_ms": -1 },
        newest_first(),
    ]
}

fn user_id(id: Option<u64>) -> StoreResult<Bson> {
    Ok(match id {
        Some(id) => Bson::Int64(user_id_to_i64(id)?),
        None => Bson::Null,
    })
}

fn opt_user_id(d: &Document, key: &str) -> StoreResult<Option<u64>> {
    int(d, key)?.map(user_id_from_i64).transpose()
}

/// Active at `now_ms`: not lifted, and permanent or not yet over.
fn active_at(now_ms: i64) -> Document {
    doc! {
        "lifted_ms": Bson::Null,
        "$or": [{ "until_ms": Bson::Null }, { "until_ms": { "$gt": now_ms } }],
    }
}

fn ban_doc(ban: &Ban) -> StoreResult<Document> {
    let lifted = ban.lifted.as_ref();
    Ok(doc! {
        "platform": ban.player.store,
        "profile": &ban.player.id,
        "name": &ban.name,
        "reason": &ban.reason,
        "by_user_id": user_id(ban.by.user_id)?,
        "by_name": &ban.by.name,
        "created_ms": ban.created_ms,
        "until_ms": ban.until_ms,
        "servers": &ban.servers,
        "lifted_by_user_id": user_id(lifted.and_then(|l| l.by.user_id))?,
        "lifted_by_name": lifted.map(|l| l.by.name.clone()),
        "lifted_ms": lifted.map(|l| l.at_ms),
    })
}

fn ban_from_doc(d: &Document) -> StoreResult<Ban> {
    let missing = |key| StoreError::Corrupt(format!("ban without {key}: {d}"));
    let lifted = match int(d, "lifted_ms")? {
        Some(at_ms) => Some(BanLift {
            by: BanActor {
                user_id: opt_user_id(d, "lifted_by_user_id")?,
                name: string(d, "lifted_by_name").unwrap_or_default(),
            },
            at_ms,
        }),
        None => None,
    };
    Ok(Ban {
        player: key_from_doc(d)?,
        name: string(d, "name").ok_or_else(|| missing("name"))?,
        reason: string(d, "reason").unwrap_or_default(),
        by: BanActor {
            user_id: opt_user_id(d, "by_user_id")?,
            name: string(d, "by_name").ok_or_else(|| missing("by_name"))?,
        },
        created_ms: int(d, "created_ms")?.ok_or_else(|| missing("created_ms"))?,
        until_ms: int(d, "until_ms")?,
        servers: strings(d, "servers"),
        lifted,
    })
}

impl MongoStore {
    pub(super) fn insert_ban(&self, ban: &Ban) -> StoreResult<()> {
        check_ban(ban)?;
        let command = doc! {
            "insert": BMAN_BANS,
            "documents": [ban_doc(ban)?],
            "ordered": true,
            "writeConcern": self.write_concern.clone(),
        };
        self.run(move |db| async move { write(&db, command).await })
    }

    pub(super) fn lift_player_bans(
        &self,
        player: &PlayerKey,
        lift: &BanLift,
    ) -> StoreResult<usize> {
        let mut filter = active_at(lift.at_ms);
        filter.insert("platform", player.store);
        filter.insert("profile", &player.id);
        let set = doc! { "$set": {
            "lifted_by_user_id": user_id(lift.by.user_id)?,
            "lifted_by_name": &lift.by.name,
            "lifted_ms": lift.at_ms,
        } };
        let command = doc! {
            "update": BMAN_BANS,
            "updates": [{ "q": filter, "u": set, "multi": true }],
            "ordered": true,
            "writeConcern": self.write_concern.clone(),
        };
        self.run(move |db| async move {
            let reply = db.run_command(command).await?;
            for key in ["writeErrors", "writeConcernError"] {
                if let Some(errors) = reply.get(key) {
                    return Err(StoreError::Backend(format!("MongoDB {key}: {errors}")));
                }
            }
            Ok(usize::try_from(int(&reply, "nModified")?.unwrap_or(0)).unwrap_or(0))
        })
    }

    pub(super) fn find_bans(&self, query: &BanQuery) -> StoreResult<Vec<Ban>> {
        // A MongoDB limit of 0 means no limit.
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        let mut filter = query.active_at_ms.map_or_else(Document::new, active_at);
        if let Some(key) = &query.player {
            filter.insert("platform", key.store);
            filter.insert("profile", &key.id);
        }
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let skip = u64::try_from(query.offset).unwrap_or(u64::MAX);
        self.run(move |db| async move {
            let cursor = db
                .collection::<Document>(BMAN_BANS)
                .find(filter)
                .sort(newest_first())
                .skip(skip)
                .limit(limit)
                .await?;
            let docs: Vec<Document> = cursor.try_collect().await?;
            docs.iter().map(ban_from_doc).collect()
        })
    }

    pub(super) fn find_ip_neighbours(
        &self,
        player: &PlayerKey,
        since_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<IpNeighbour>> {
        let filter = player_filter(player);
        self.run(move |db| async move {
            let players = db.collection::<Document>(PLAYERS);
            let Some(me) = players.find_one(filter).await? else {
                return Ok(Vec::new());
            };
            let mine = strings(&me, "ip");
            if mine.is_empty() {
                return Ok(Vec::new());
            }
            let others = doc! { "ip": { "$in": &mine }, "_id": { "$ne": object_id(&me)? } };
            let mut shared: HashMap<ObjectId, Vec<String>> = HashMap::new();
            for d in find_all(&db, PLAYERS, others, doc! {}).await? {
                let mut ips: Vec<String> = strings(&d, "ip")
                    .into_iter()
                    .filter(|ip| mine.contains(ip))
                    .collect();
                ips.sort();
                ips.dedup();
                shared.insert(object_id(&d)?, ips);
            }
            let ids: Vec<ObjectId> = shared.keys().copied().collect();
            let recent = doc! { "_id": { "$in": ids }, "last_seen": { "$gte": date(since_ms) } };
            let mut out = Vec::new();
            for d in find_all(&db, BMAN_PLAYERS, recent, recent_first()).await? {
                if out.len() == limit {
                    break;
                }
                out.push(IpNeighbour {
                    player: summary_from_bman(&d)?,
                    shared_ips: shared.remove(&object_id(&d)?).unwrap_or_default(),
                    last_seen_ms: int(&d, "last_seen")?.unwrap_or(0),
                });
            }
            Ok(out)
        })
    }
}
