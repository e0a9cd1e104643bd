//! The [`Store`] trait on MongoDB: reads join bman-data's documents and
//! bman's own by `_id`; writes go through [`write::write_batch`].

use super::*;
use crate::model::*;

/// `_id` of each of `keys` that exists, matched as bman-data matches players.
pub(super) async fn player_ids(
    db: &Database,
    keys: &[PlayerKey],
) -> StoreResult<HashMap<PlayerKey, ObjectId>> {
    let mut out = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(1_000) {
        let profiles: Vec<&str> = chunk.iter().map(|k| k.id.as_str()).collect();
        let filter = doc! { "profile.profile": { "$in": profiles } };
        let projection = doc! { "profile": 1 };
        let cursor = db
            .collection::<Document>(PLAYERS)
            .find(filter)
            .projection(projection)
            .await?;
        let docs: Vec<Document> = cursor.try_collect().await?;
        for d in docs {
            let Ok(profile) = d.get_document("profile") else {
                continue;
            };
            let key = key_from_doc(profile)?;
            if matches!(profile.get("platform"), Some(Bson::String(_))) && chunk.contains(&key) {
                out.insert(key, object_id(&d)?);
            }
        }
    }
    Ok(out)
}

async fn find_player(db: &Database, key: &PlayerKey) -> StoreResult<Option<PlayerDoc>> {
    let Some(d) = db
        .collection::<Document>(PLAYERS)
        .find_one(player_filter(key))
        .await?
    else {
        return Ok(None);
    };
    let bman = db
        .collection::<Document>(BMAN_PLAYERS)
        .find_one(doc! { "_id": object_id(&d)? })
        .await?;
    player_from_docs(&d, bman.as_ref()).map(Some)
}

/// The player with every name used and when it was first used, oldest
/// first: bman-data's `name[]` entries that [`BMAN_NAMES`] lacks (no time:
/// they count from first seen), then [`BMAN_NAMES`]'.
pub(super) async fn with_names(db: &Database, p: PlayerDoc) -> StoreResult<PlayerExport> {
    let PlayerDoc {
        id,
        legacy_names,
        mut player,
    } = p;
    let sort = doc! { "first_used": 1, "_id": 1 };
    let mut timed = Vec::new();
    for d in find_all(db, BMAN_NAMES, doc! { "player": id }, sort).await? {
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

/// Summaries by `_id`, for the rows of a leaderboard page.
async fn summaries_by_id(
    db: &Database,
    ids: Vec<ObjectId>,
) -> StoreResult<HashMap<ObjectId, PlayerSummary>> {
    let docs = find_all(db, BMAN_PLAYERS, doc! { "_id": { "$in": ids } }, doc! {}).await?;
    docs.iter()
        .map(|d| Ok((object_id(d)?, summary_from_bman(d)?)))
        .collect()
}

/// bman-data's documents of removed players (their facts stay in
/// [`BMAN_FACTS`]): their kills, messages and captures go, and they leave
/// the rounds they played in, so no reference dangles.
async fn remove_bman_data_documents(db: &Database, ids: &[ObjectId]) -> StoreResult<()> {
    let any = doc! { "$in": ids };
    let tdm = profiles_collection(Mode::Tdm);
    let profiles: Vec<ObjectId> = find_all(db, &tdm, doc! { "player": &any }, doc! {})
        .await?
        .iter()
        .map(object_id)
        .collect::<StoreResult<_>>()?;
    for collection in ["dm_kills", "tdm_kills"] {
        db.collection::<Document>(collection)
            .delete_many(doc! { "$or": [{ "killer": &any }, { "victim": &any }] })
            .await?;
    }
    for (collection, field) in [
        ("dm_messages", "player"),
        ("tdm_messages", "player"),
        ("ctf_messages", "player"),
        ("svl_messages", "profile"),
        ("ctf_scores", "player"),
        ("tdm_rating_instances", "player"),
        ("ctf_rating_instances", "player"),
        ("svl_kills", "killer"),
        ("svl_deaths", "victim"),
    ] {
        db.collection::<Document>(collection)
            .delete_many(doc! { field: &any })
            .await?;
    }
    let gone = doc! { "$in": profiles };
    db.collection::<Document>("tdm_loadouts")
        .delete_many(doc! { "tdm_player": &gone })
        .await?;
    db.collection::<Document>("tdm_rounds")
        .update_many(
            doc! {},
            doc! { "$pull": {
                "usc_players": &any, "man_players": &any,
                "usc_players_profiles": &gone, "man_players_profiles": gone,
            } },
        )
        .await?;
    Ok(())
}

/// Facts of `mode` matching `filter`, in seq order.
async fn mode_facts(db: &Database, mode: Mode, filter: Document) -> StoreResult<Vec<StoredFact>> {
    let mut filter = filter;
    filter.insert("mode", mode.as_str());
    find_all(db, BMAN_FACTS, filter, doc! { "seq": 1 })
        .await?
        .iter()
        .map(|d| fact_from_doc(mode, d))
        .collect()
}

impl Store for MongoStore {
    /// Without transactions, a batch is made all-or-nothing in effect: it is
    /// checked, then recorded whole in one [`BMAN_PENDING`] document (a
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
            .map(|f| Ok((f.seq, f.record.mode.as_str().to_string(), fact_json(f)?)))
            .collect::<StoreResult<_>>()?;
        let json = serde_json::to_string(&(
            &batch.players,
            &batch.facts,
            &batch.stats,
            &batch.checkpoints,
        ))
        .map_err(|e| StoreError::Backend(format!("cannot encode a batch: {e}")))?;
        let concern = self.write_concern.clone();
        let batch = batch.clone();
        self.run(move |db| async move {
            write::check_seqs(&db, seqs).await?;
            let record = doc! { "batch": json, "recorded": DateTime::now() };
            let inserted = db
                .collection::<Document>(BMAN_PENDING)
                .insert_one(record)
                .await?;
            write::write_batch(&db, &concern, &batch).await?;
            forget_pending(&db, inserted.inserted_id).await
        })
    }

    fn next_seq(&self) -> StoreResult<i64> {
        self.run(|db| async move {
            let top = db
                .collection::<Document>(BMAN_FACTS)
                .find_one(doc! {})
                .sort(doc! { "seq": -1 })
                .await?;
            Ok(match top {
                Some(d) => int(&d, "seq")?.unwrap_or(0) + 1,
                None => 1,
            })
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
            let filter = doc! {
                "mode": mode.as_str(),
                "player": { "$in": by_id.keys().copied().collect::<Vec<_>>() },
            };
            let mut out = HashMap::new();
            for d in find_all(&db, BMAN_STATS, filter, doc! {}).await? {
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
                .collection::<Document>(BMAN_CHECKPOINTS)
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
                .collection::<Document>(BMAN_STATS)
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
            let players = summaries_by_id(&db, ids).await?;
            let mut rows = Vec::with_capacity(docs.len());
            for d in &docs {
                let player = d
                    .get_object_id("player")
                    .ok()
                    .and_then(|id| players.get(&id))
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("stats of a missing player: {d}"))
                    })?;
                rows.push(LeaderboardRow {
                    rank: query.offset.saturating_add(rows.len() + 1),
                    player: player.clone(),
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
                        .collection::<Document>(BMAN_PLAYERS)
                        .find(filter)
                        .sort(recent_first())
                        .limit(limit)
                        .await?;
                    let docs: Vec<Document> = cursor.try_collect().await?;
                    docs.iter()
                        .map(summary_from_bman)
                        .collect::<StoreResult<Vec<_>>>()
                }
            };
            let exact = search(doc! { "profile": &query }).await?;
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
            let stats = db.collection::<Document>(BMAN_STATS);
            let mut modes = Vec::new();
            for mode in Mode::ALL {
                let filter = doc! { "mode": mode.as_str(), "player": id };
                let Some(d) = stats.find_one(filter).await? else {
                    continue;
                };
                let s = stats_from_doc(&d)?;
                let mut ahead = 0;
                for filter in rank_filters(mode, id, &s) {
                    ahead += stats.count_documents(filter).await?;
                }
                modes.push((
                    mode,
                    s,
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

    fn kills_between(&self, a: &PlayerKey, b: &PlayerKey, mode: Mode) -> StoreResult<HeadToHead> {
        let (a, b) = (a.clone(), b.clone());
        self.run(move |db| async move {
            let ids = player_ids(&db, &[a.clone(), b.clone()]).await?;
            let (Some(a), Some(b)) = (ids.get(&a), ids.get(&b)) else {
                return Ok(HeadToHead::default());
            };
            // bman-data's kill documents: also the history it recorded itself.
            let kills = db.collection::<Document>(&format!("{mode}_kills"));
            let count = |killer: &ObjectId, victim: &ObjectId| {
                kills.count_documents(doc! { "killer": killer, "victim": victim })
            };
            let pair = HeadToHead {
                kills: count(a, b).await?.try_into().unwrap_or(i64::MAX),
                deaths: count(b, a).await?.try_into().unwrap_or(i64::MAX),
            };
            Ok(pair)
        })
    }

    fn facts(&self, mode: Mode) -> StoreResult<Vec<StoredFact>> {
        self.run(move |db| async move { mode_facts(&db, mode, doc! {}).await })
    }

    fn fact_page(
        &self,
        mode: Mode,
        after_seq: i64,
        limit: usize,
    ) -> StoreResult<Vec<(i64, FactRecord)>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |db| async move {
            let cursor = db
                .collection::<Document>(BMAN_FACTS)
                .find(doc! { "mode": mode.as_str(), "seq": { "$gt": after_seq } })
                .sort(doc! { "seq": 1 })
                .limit(limit)
                .projection(doc! { "changes": 0 })
                .await?;
            let docs: Vec<Document> = cursor.try_collect().await?;
            docs.iter()
                .map(|d| fact_from_doc(mode, d).map(|f| (f.seq, f.record)))
                .collect()
        })
    }

    /// Not atomic without transactions, but idempotent: an interrupted rerate
    /// is completed by running it again. bman-data's kills get the new
    /// ratings too; bman-data profiles of players without stats go.
    fn replace_ratings(
        &self,
        mode: Mode,
        facts: &[StoredFact],
        stats: &[(PlayerKey, ModeStats)],
    ) -> StoreResult<()> {
        let concern = self.write_concern.clone();
        let facts = facts.to_vec();
        let batch = WriteBatch {
            stats: stats.iter().map(|(k, s)| (k.clone(), mode, *s)).collect(),
            ..WriteBatch::default()
        };
        self.run(move |db| async move {
            let clear = doc! {
                "q": { "mode": mode.as_str(), "changes.0": { "$exists": true } },
                "u": { "$set": { "changes": [] } },
                "multi": true,
            };
            update_all(&db, &concern, BMAN_FACTS, vec![clear]).await?;
            db.collection::<Document>(BMAN_STATS)
                .delete_many(doc! { "mode": mode.as_str() })
                .await?;
            write::write_batch(&db, &concern, &batch).await?;
            if BMAN_DATA_PROFILE_MODES.contains(&mode) {
                let keys: Vec<PlayerKey> = batch.stats.iter().map(|(k, ..)| k.clone()).collect();
                let kept: Vec<ObjectId> = player_ids(&db, &keys).await?.into_values().collect();
                db.collection::<Document>(&profiles_collection(mode))
                    .delete_many(doc! { "player": { "$nin": kept } })
                    .await?;
            }
            let refs = write::Refs::default();
            let ids = write::fact_ids(&db, facts.iter().map(|f| f.seq).collect()).await?;
            let mut rated: Vec<PlayerKey> = facts
                .iter()
                .flat_map(|f| f.changes.iter().map(|(k, _)| k.clone()))
                .collect();
            rated.sort_by(|a, b| (a.store, &a.id).cmp(&(b.store, &b.id)));
            rated.dedup();
            let players = player_ids(&db, &rated).await?;
            let mut changes = Vec::new();
            let mut documents: HashMap<String, Vec<Document>> = HashMap::new();
            for fact in &facts {
                changes.push(doc! {
                    "q": { "seq": fact.seq },
                    "u": { "$set": { "changes": changes_bson(fact) } },
                });
                let Some(&id) = ids.get(&fact.seq) else {
                    continue;
                };
                if let (Fact::Kill(k), Mode::Dm | Mode::Tdm) = (&fact.record.fact, mode) {
                    documents
                        .entry(format!("{mode}_kills"))
                        .or_default()
                        .push(doc! {
                            "q": { "_id": id },
                            "u": { "$set": write::kill_ratings(fact, k, &refs) },
                        });
                }
                if let Some(kind) = rating_instances(mode, &fact.record.fact) {
                    let instances = documents.entry(kind.collection.into()).or_default();
                    for (key, change) in &fact.changes {
                        if let Some(&player) = players.get(key) {
                            instances.push(doc! {
                                "q": { "_id": instance_id(id, player) },
                                "u": { "$set": instance_rating(change) },
                            });
                        }
                    }
                }
            }
            update_all(&db, &concern, BMAN_FACTS, changes).await?;
            for (collection, updates) in documents {
                update_all(&db, &concern, &collection, updates).await?;
            }
            Ok(())
        })
    }

    fn export_players(&self) -> StoreResult<Vec<PlayerExport>> {
        self.run(|db| async move {
            let bman: HashMap<ObjectId, Document> = find_all(&db, BMAN_PLAYERS, doc! {}, doc! {})
                .await?
                .into_iter()
                .map(|d| Ok((object_id(&d)?, d)))
                .collect::<StoreResult<_>>()?;
            let mut out = Vec::new();
            for d in find_all(&db, PLAYERS, doc! {}, doc! { "_id": 1 }).await? {
                let p = player_from_docs(&d, bman.get(&object_id(&d)?))?;
                out.push(with_names(&db, p).await?);
            }
            Ok(out)
        })
    }

    fn bot_players(&self) -> StoreResult<Vec<PlayerKey>> {
        let filter = doc! { "$or": [
            { "platform": PlayerKey::BOT_STORE },
            { "profile": { "$regex": "^(bot[0-9]+)?$" } },
        ] };
        self.run(move |db| async move {
            let mut keys = Vec::new();
            for d in find_all(&db, BMAN_PLAYERS, filter, doc! { "_id": 1 }).await? {
                keys.push(key_from_doc(&d)?);
            }
            keys.retain(PlayerKey::is_bot);
            Ok(keys)
        })
    }

    /// Idempotent: a removal cut short is completed by running it again.
    /// Their rating changes are pulled from the facts too.
    fn remove_players(&self, keys: &[PlayerKey]) -> StoreResult<usize> {
        let keys = keys.to_vec();
        self.run(move |db| async move {
            let ids: Vec<ObjectId> = player_ids(&db, &keys).await?.into_values().collect();
            remove_bman_data_documents(&db, &ids).await?;
            let theirs = doc! { "player": { "$in": &ids } };
            for collection in BMAN_DATA_PROFILE_MODES
                .map(profiles_collection)
                .into_iter()
                .chain([BMAN_STATS.to_string(), BMAN_NAMES.to_string()])
            {
                db.collection::<Document>(&collection)
                    .delete_many(theirs.clone())
                    .await?;
            }
            for key in &keys {
                let theirs = doc! { "platform": key.store, "profile": &key.id };
                db.collection::<Document>(BMAN_FACTS)
                    .update_many(
                        doc! { "changes": { "$elemMatch": theirs.clone() } },
                        doc! { "$pull": { "changes": theirs } },
                    )
                    .await?;
            }
            db.collection::<Document>(BMAN_PLAYERS)
                .delete_many(doc! { "_id": { "$in": &ids } })
                .await?;
            let removed = db
                .collection::<Document>(PLAYERS)
                .delete_many(doc! { "_id": { "$in": &ids } })
                .await?;
            Ok(usize::try_from(removed.deleted_count).unwrap_or(usize::MAX))
        })
    }

    fn checkpoints(&self) -> StoreResult<Vec<Checkpoint>> {
        self.run(|db| async move {
            let sort = doc! { "server": 1, "epoch": 1 };
            find_all(&db, BMAN_CHECKPOINTS, doc! {}, sort)
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
            "insert": BMAN_AUDIT,
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
                .collection::<Document>(BMAN_AUDIT)
                .find(doc! {})
                .sort(audit_newest_first())
                .limit(limit)
                .await?;
            let docs: Vec<Document> = cursor.try_collect().await?;
            docs.iter().map(audit_from_doc).collect()
        })
    }

    fn add_ban(&self, ban: &Ban) -> StoreResult<()> {
        self.insert_ban(ban)
    }

    fn lift_bans(&self, player: &PlayerKey, lift: &BanLift) -> StoreResult<usize> {
        self.lift_player_bans(player, lift)
    }

    fn bans(&self, query: &BanQuery) -> StoreResult<Vec<Ban>> {
        self.find_bans(query)
    }

    fn ip_neighbours(
        &self,
        player: &PlayerKey,
        since_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<IpNeighbour>> {
        self.find_ip_neighbours(player, since_ms, limit)
    }

    fn link_account(&self, link: &AccountLink) -> StoreResult<Vec<AccountLink>> {
        self.upsert_link(link)
    }

    fn unlink_account(&self, user_id: u64) -> StoreResult<Option<AccountLink>> {
        self.remove_link(user_id)
    }

    fn account_link(&self, user_id: u64) -> StoreResult<Option<AccountLink>> {
        self.find_link(user_id)
    }

    fn account_links(&self) -> StoreResult<Vec<AccountLink>> {
        self.all_links()
    }

    /// The scratch document goes into `bman_meta` (bman's own) under an id
    /// of its own, and is deleted; the version is the server's buildInfo.
    fn self_check(&self) -> StoreResult<String> {
        self.run(move |db| async move {
            let meta = db.collection::<Document>(BMAN_META);
            let id = format!("check-{}-{}", std::process::id(), crate::model::now_ms());
            meta.insert_one(doc! { "_id": &id, "scratch": true })
                .await?;
            let read = meta.find_one(doc! { "_id": &id }).await;
            meta.delete_one(doc! { "_id": &id }).await?;
            if read?.is_none() {
                return Err(StoreError::Backend(
                    "a scratch document written to bman_meta could not be read back".into(),
                ));
            }
            let info = db.run_command(doc! { "buildInfo": 1 }).await?;
            let version = info.get_str("version").unwrap_or("(version unknown)");
            Ok(format!("MongoDB {version}"))
        })
    }
}
