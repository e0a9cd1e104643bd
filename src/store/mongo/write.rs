//! Writing a batch: bman-data's documents and bman's own, in an order where
//! every reference exists before it is used, each step idempotent (a batch
//! cut short is completed by writing it again, see [`Store::apply`]).

use super::*;
use crate::model::*;

/// The `_id`s a batch's bman-data documents refer to.
#[derive(Default)]
pub(super) struct Refs {
    pub players: HashMap<PlayerKey, ObjectId>,
    /// (mode, player `_id`) → that mode's bman-data profile `_id`.
    pub profiles: HashMap<(Mode, ObjectId), ObjectId>,
    /// [`match_key`] → the `<mode>_matches` document's `_id`.
    pub matches: HashMap<String, ObjectId>,
    /// The batch's stats, for ratings a fact's changes do not give.
    pub stats: HashMap<(PlayerKey, Mode), ModeStats>,
    /// Survival NPC kill or death (by seq) → the `svl_rounds` `_id` of the
    /// wave it happened in.
    pub waves: HashMap<i64, ObjectId>,
}

impl Refs {
    pub fn player(&self, key: &PlayerKey) -> StoreResult<ObjectId> {
        self.players
            .get(key)
            .copied()
            .ok_or_else(|| StoreError::Backend(format!("player {key:?} vanished")))
    }

    fn profile(&self, mode: Mode, key: &PlayerKey) -> StoreResult<ObjectId> {
        let player = self.player(key)?;
        self.profiles
            .get(&(mode, player))
            .copied()
            .ok_or_else(|| StoreError::Backend(format!("the {mode} profile of {key:?} vanished")))
    }

    fn match_of(&self, record: &FactRecord) -> StoreResult<ObjectId> {
        let key = match_key(record);
        self.matches
            .get(&key)
            .copied()
            .ok_or_else(|| StoreError::Backend(format!("match {key} vanished")))
    }

    /// A player's rating after a fact: its change, else their stats in
    /// this batch, else a new player's (bman-data's defaults), unchanged.
    fn rating(&self, fact: &StoredFact, key: &PlayerKey) -> RatingChange {
        if let Some((_, c)) = fact.changes.iter().find(|(k, _)| k == key) {
            return *c;
        }
        let s = self
            .stats
            .get(&(key.clone(), fact.record.mode))
            .copied()
            .unwrap_or_else(|| ModeStats::initial(&crate::ratings::TrueSkillParams::default()));
        RatingChange {
            mu: s.mu,
            sigma: s.sigma,
            elo: s.elo,
            delta_mu: 0.0,
            delta_sigma: 0.0,
            delta_elo: 0.0,
        }
    }
}

/// bman-data's rating embedded in a kill: TrueSkill in DM, Elo in TDM.
fn kill_rating(mode: Mode, c: &RatingChange) -> Document {
    match mode {
        Mode::Tdm => doc! { "elo": c.elo, "delta": c.delta_elo },
        _ => {
            doc! { "mu": c.mu, "sigma": c.sigma, "mu_delta": c.delta_mu, "sigma_delta": c.delta_sigma }
        }
    }
}

/// `killer_rating` and `victim_rating` of a kill, as a `$set`.
pub(super) fn kill_ratings(fact: &StoredFact, k: &KillFact, refs: &Refs) -> Document {
    let mode = fact.record.mode;
    doc! {
        "killer_rating": kill_rating(mode, &refs.rating(fact, &k.killer)),
        "victim_rating": kill_rating(mode, &refs.rating(fact, &k.victim)),
    }
}

fn opt_str(n: Option<i64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

/// The bman-data document of a fact (see [`bman_data_collection`]), exactly
/// bman-data's fields; what bman does not know is an empty string (a wave's
/// `capture_progress` and `chest_crash`, and what facts recorded before bman
/// kept it lack: positions, maps, NPC kinds). `None` for an NPC kill or death
/// in no wave bman saw: its document would have no `current_round`.
pub(super) fn bman_data_doc(fact: &StoredFact, refs: &Refs) -> StoreResult<Option<Document>> {
    let record = &fact.record;
    let mode = record.mode;
    let created = date(record.time_ms);
    let players = |keys: &[PlayerKey]| {
        keys.iter()
            .map(|k| refs.player(k))
            .collect::<StoreResult<Vec<_>>>()
    };
    let profiles = |keys: &[PlayerKey]| {
        keys.iter()
            .map(|k| refs.profile(mode, k))
            .collect::<StoreResult<Vec<_>>>()
    };
    Ok(Some(match &record.fact {
        Fact::Kill(k) => {
            let mut d = doc! {
                "killer": refs.player(&k.killer)?, "victim": refs.player(&k.victim)?,
                "killer_profile": refs.profile(mode, &k.killer)?,
                "victim_profile": refs.profile(mode, &k.victim)?,
            };
            d.extend(kill_ratings(fact, k, refs));
            d.extend(doc! {
                "weapon": cut(k.weapon.as_deref().unwrap_or(""), 4),
                "killer_location": location(k.killer_at),
                "victim_location": location(k.victim_at),
                "date_created": created,
            });
            if mode == Mode::Dm {
                d.insert("match", refs.match_of(record)?);
            }
            d
        }
        Fact::Round(r) => doc! {
            "map_name": cut(r.map.as_deref().unwrap_or(""), 20),
            "usc_players": players(&r.team1)?, "man_players": players(&r.team2)?,
            "usc_players_profiles": profiles(&r.team1)?,
            "man_players_profiles": profiles(&r.team2)?,
            "result": r.winner.to_string(),
            "created": created,
        },
        Fact::Capture(c) => {
            let carrier = c
                .carrier
                .as_ref()
                .ok_or_else(|| StoreError::Backend(format!("fact {} has no carrier", fact.seq)))?;
            doc! {
                "player": refs.player(carrier)?, "ctf_player": refs.profile(mode, carrier)?,
                "match": refs.match_of(record)?, "team": c.scoring_team.to_string(),
            }
        }
        Fact::Wave(w) => doc! {
            "wave_number": cut(&w.wave.to_string(), 4),
            "enemies": cut(&opt_str(w.enemies), 4),
            "chests": cut(&opt_str(w.chests), 4),
            "chest_price": cut(&opt_str(w.chest_price), 4),
            "capture_progress": "", "chest_crash": "",
            "current_match": refs.match_of(record)?,
        },
        Fact::Chat(c) => {
            let speaker = c
                .player
                .as_ref()
                .ok_or_else(|| StoreError::Backend(format!("fact {} has no speaker", fact.seq)))?;
            let mut d = doc! {
                "message": cut(&c.message, 200),
                "name": cut(c.name.as_deref().unwrap_or(""), 50),
                "date_created": created,
            };
            if mode == Mode::Svl {
                d.insert("profile", refs.player(speaker)?);
            } else {
                d.insert("player", refs.player(speaker)?);
                d.insert(format!("{mode}_player"), refs.profile(mode, speaker)?);
            }
            d
        }
        Fact::NpcKill { player, npc } | Fact::NpcDeath { player, npc } => {
            let Some(&wave) = refs.waves.get(&fact.seq) else {
                return Ok(None);
            };
            let role = match record.fact {
                Fact::NpcKill { .. } => "killer",
                _ => "victim",
            };
            let npc = npc.clone().unwrap_or_default();
            doc! {
                role: refs.player(player)?,
                "enemy_rank": npc.enemy_rank.unwrap_or_default(),
                "enemy_type": npc.enemy_type.unwrap_or_default(),
                "weapon": npc.weapon.unwrap_or_default(),
                "date_created": created,
                "current_round": wave,
            }
        }
        Fact::Match(_) | Fact::Escape { .. } => {
            return Err(StoreError::Backend(format!(
                "fact {} has no bman-data document",
                fact.seq
            )))
        }
    }))
}

/// Players whose bman-data profile of the fact's mode a fact's documents
/// (its own and its rating instances) refer to.
fn profiled(fact: &StoredFact) -> Vec<&PlayerKey> {
    let record = &fact.record;
    let mut keys: Vec<&PlayerKey> = match &record.fact {
        Fact::Kill(k) => vec![&k.killer, &k.victim],
        Fact::Round(r) => r
            .team1
            .iter()
            .chain(&r.team2)
            .chain(r.loadouts.iter().map(|l| &l.player))
            .collect(),
        Fact::Capture(c) => c.carrier.iter().collect(),
        Fact::Chat(c) => c.player.iter().collect(),
        _ => Vec::new(),
    };
    if rating_instances(record.mode, &record.fact).is_some() {
        keys.extend(fact.changes.iter().map(|(k, _)| k));
    }
    keys
}

/// The upserts of a TDM round's loadouts, inserted once.
fn loadout_upserts(fact: &StoredFact, round: ObjectId, refs: &Refs) -> StoreResult<Vec<Document>> {
    let (Mode::Tdm, Fact::Round(r)) = (fact.record.mode, &fact.record.fact) else {
        return Ok(Vec::new());
    };
    r.loadouts
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let profile = refs.profile(Mode::Tdm, &l.player)?;
            Ok(upsert(
                doc! { "_id": loadout_id(round, i) },
                doc! { "$setOnInsert": loadout_doc(profile, round, &l.loadout) },
            ))
        })
        .collect()
}

/// The wave (its `svl_rounds` `_id`) each survival NPC kill or death of
/// `facts` happened in: the latest wave of its match before it, in the batch
/// or stored earlier.
async fn current_waves(
    db: &Database,
    facts: &[StoredFact],
    ids: &HashMap<i64, ObjectId>,
) -> StoreResult<HashMap<i64, ObjectId>> {
    let mut latest: HashMap<&str, Option<ObjectId>> = HashMap::new();
    let mut waves = HashMap::new();
    for fact in facts.iter().filter(|f| f.record.mode == Mode::Svl) {
        let Some(game) = fact.record.match_id.as_deref() else {
            continue;
        };
        match fact.record.fact {
            Fact::Wave(_) => {
                latest.insert(game, ids.get(&fact.seq).copied());
            }
            Fact::NpcKill { .. } | Fact::NpcDeath { .. } => {
                if !latest.contains_key(game) {
                    let before = doc! {
                        "mode": Mode::Svl.as_str(), "match_id": game, "doc": "svl_rounds",
                        "seq": { "$lt": fact.seq },
                    };
                    let stored = db
                        .collection::<Document>(BMAN_FACTS)
                        .find_one(before)
                        .sort(doc! { "seq": -1 })
                        .await?;
                    latest.insert(game, stored.as_ref().map(object_id).transpose()?);
                }
                if let Some(Some(wave)) = latest.get(game) {
                    waves.insert(fact.seq, *wave);
                }
            }
            _ => {}
        }
    }
    Ok(waves)
}

/// The upserts of a fact's rating instances (none for most facts), one per
/// rated player, inserted once.
fn instance_upserts(fact: &StoredFact, id: ObjectId, refs: &Refs) -> StoreResult<Vec<Document>> {
    let record = &fact.record;
    let Some(kind) = rating_instances(record.mode, &record.fact) else {
        return Ok(Vec::new());
    };
    let parent = match record.fact {
        Fact::Round(_) => id,
        _ => refs.match_of(record)?,
    };
    fact.changes
        .iter()
        .map(|(key, change)| {
            let player = refs.player(key)?;
            let mut d = doc! {
                "player": player,
                kind.profile: refs.profile(record.mode, key)?,
                kind.parent: parent,
            };
            d.extend(instance_rating(change));
            Ok(upsert(
                doc! { "_id": instance_id(id, player) },
                doc! { "$setOnInsert": d },
            ))
        })
        .collect()
}

/// The update of a fact's bman-data match: created at its first fact,
/// named by its match fact (survival: ended then too).
fn match_update(record: &FactRecord) -> Document {
    let start = date(match_start_ms(record));
    let mut on_insert = doc! { "date_created": start };
    let mut set = Document::new();
    if let Fact::Match(m) = &record.fact {
        set.insert("map_name", cut(m.map.as_deref().unwrap_or(""), 40));
        if record.mode == Mode::Svl {
            set.insert("date_ended", date(record.time_ms));
        }
    }
    if !set.contains_key("map_name") {
        on_insert.insert("map_name", "");
    }
    if record.mode == Mode::Svl && !set.contains_key("date_ended") {
        on_insert.insert("date_ended", start);
    }
    let mut update = doc! { "$setOnInsert": on_insert };
    if !set.is_empty() {
        update.insert("$set", set);
    }
    update
}

/// Writes a batch's parts in order: players (bman-data's, then bman's part
/// and names), profiles and stats, matches, facts (bman's, then bman-data's
/// documents with the same `_id`), and checkpoints last.
pub(super) async fn write_batch(
    db: &Database,
    concern: &Document,
    batch: &WriteBatch,
) -> StoreResult<()> {
    let mut players = Vec::new();
    let mut bare: Vec<(&PlayerKey, i64)> = Vec::new();
    for seen in &batch.players {
        players.push(upsert(player_filter(&seen.key), seen_update(seen)));
    }
    for fact in &batch.facts {
        let named = fact.record.fact.players().into_iter();
        for key in named.chain(fact.changes.iter().map(|(k, _)| k)) {
            bare.push((key, fact.record.time_ms));
        }
    }
    for (key, _, s) in &batch.stats {
        bare.push((key, s.last_updated_ms));
    }
    // Only a key's first mention can create it (the rest are `$setOnInsert`
    // no-ops), so one upsert per key says the same in far fewer.
    let mut mentioned = std::collections::HashSet::new();
    bare.retain(|(key, _)| mentioned.insert(*key));
    players.extend(
        bare.iter()
            .map(|(key, _)| upsert(player_filter(key), bare_player_update())),
    );
    update_all(db, concern, PLAYERS, players).await?;
    let mut keys: Vec<PlayerKey> = batch.players.iter().map(|s| s.key.clone()).collect();
    keys.extend(bare.iter().map(|(k, _)| (*k).clone()));
    keys.sort_by(|a, b| (a.store, &a.id).cmp(&(b.store, &b.id)));
    keys.dedup();
    let mut refs = Refs {
        players: queries::player_ids(db, &keys).await?,
        profiles: HashMap::new(),
        matches: HashMap::new(),
        stats: batch
            .stats
            .iter()
            .map(|(k, m, s)| ((k.clone(), *m), *s))
            .collect(),
        waves: HashMap::new(),
    };

    let mut bman = Vec::new();
    let mut names = Vec::new();
    for seen in &batch.players {
        let id = refs.player(&seen.key)?;
        bman.extend(bman_seen_updates(id, seen));
        if let Some(name) = &seen.name {
            names.push(name_upsert(id, name, seen.seen_ms));
        }
    }
    for (key, ms) in &bare {
        bman.push(upsert(
            doc! { "_id": refs.player(key)? },
            bman_bare_update(key, *ms),
        ));
    }
    update_all(db, concern, BMAN_PLAYERS, bman).await?;
    update_all(db, concern, BMAN_NAMES, names).await?;

    write_profiles(db, concern, batch, &mut refs).await?;
    write_matches(db, concern, &batch.facts, &mut refs).await?;
    write_facts(db, concern, &batch.facts, &mut refs).await?;

    let checkpoints = batch
        .checkpoints
        .iter()
        .map(checkpoint_upsert)
        .collect::<StoreResult<Vec<_>>>()?;
    update_all(db, concern, BMAN_CHECKPOINTS, checkpoints).await
}

/// bman-data's profiles (created with a new player's values for everyone a
/// fact's document refers to; the batch's stats `$set` on them), bman's
/// stats, then the profiles' `_id`s into `refs`.
async fn write_profiles(
    db: &Database,
    concern: &Document,
    batch: &WriteBatch,
    refs: &mut Refs,
) -> StoreResult<()> {
    let params = crate::ratings::TrueSkillParams::default();
    let mut bman_stats = Vec::new();
    for mode in BMAN_DATA_PROFILE_MODES {
        let mut updates = Vec::new();
        let mut wanted = Vec::new();
        for fact in batch.facts.iter().filter(|f| f.record.mode == mode) {
            let new = ModeStats {
                last_updated_ms: fact.record.time_ms,
                ..ModeStats::initial(&params)
            };
            for key in profiled(fact) {
                let id = refs.player(key)?;
                if wanted.contains(&id) {
                    continue;
                }
                wanted.push(id);
                updates.push(upsert(
                    doc! { "player": id },
                    doc! { "$setOnInsert": profile_fields(mode, &new) },
                ));
            }
        }
        for (key, _, s) in batch.stats.iter().filter(|(_, m, _)| *m == mode) {
            let id = refs.player(key)?;
            updates.push(upsert(
                doc! { "player": id },
                doc! { "$set": profile_fields(mode, s) },
            ));
        }
        update_all(db, concern, &profiles_collection(mode), updates).await?;
        if !wanted.is_empty() {
            let filter = doc! { "player": { "$in": wanted } };
            for d in find_all(db, &profiles_collection(mode), filter, doc! {}).await? {
                if let (Ok(player), Ok(id)) = (d.get_object_id("player"), d.get_object_id("_id")) {
                    refs.profiles.insert((mode, player), id);
                }
            }
        }
    }
    for (key, mode, s) in &batch.stats {
        let id = refs.player(key)?;
        bman_stats.push(upsert(
            doc! { "mode": mode.as_str(), "player": id },
            bman_stats_set(*mode, id, s),
        ));
    }
    update_all(db, concern, BMAN_STATS, bman_stats).await
}

/// The bman-data matches the facts' documents refer to (and match facts
/// name): a key in [`BMAN_MATCHES`] whose `_id` the match document shares.
async fn write_matches(
    db: &Database,
    concern: &Document,
    facts: &[StoredFact],
    refs: &mut Refs,
) -> StoreResult<()> {
    // One update per match, besides each match fact's own (it names the map).
    let mut seen_keys = std::collections::HashSet::new();
    let with_match: Vec<&FactRecord> = facts
        .iter()
        .map(|f| &f.record)
        .filter(|r| {
            has_matches(r.mode)
                && (matches!(r.fact, Fact::Match(_))
                    || matches!(
                        (r.mode, &r.fact),
                        (Mode::Dm, Fact::Kill(_))
                            | (Mode::Ctf, Fact::Capture(_))
                            | (Mode::Svl, Fact::Wave(_))
                    ))
        })
        .filter(|r| matches!(r.fact, Fact::Match(_)) || seen_keys.insert(match_key(r)))
        .collect();
    if with_match.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = with_match.iter().map(|r| match_key(r)).collect();
    let updates = keys
        .iter()
        .map(|key| {
            upsert(
                doc! { "key": key },
                doc! { "$setOnInsert": { "_id": ObjectId::new() } },
            )
        })
        .collect();
    update_all(db, concern, BMAN_MATCHES, updates).await?;
    for d in find_all(db, BMAN_MATCHES, doc! { "key": { "$in": &keys } }, doc! {}).await? {
        if let (Some(key), Ok(id)) = (string(&d, "key"), d.get_object_id("_id")) {
            refs.matches.insert(key, id);
        }
    }
    let mut by_mode: HashMap<Mode, Vec<Document>> = HashMap::new();
    for record in with_match {
        let id = refs.match_of(record)?;
        by_mode
            .entry(record.mode)
            .or_default()
            .push(upsert(doc! { "_id": id }, match_update(record)));
    }
    for (mode, updates) in by_mode {
        update_all(db, concern, &format!("{mode}_matches"), updates).await?;
    }
    Ok(())
}

/// bman's facts, then bman-data's document of each (same `_id`) and its
/// rating instances, inserted once: writing a batch again changes nothing.
async fn write_facts(
    db: &Database,
    concern: &Document,
    facts: &[StoredFact],
    refs: &mut Refs,
) -> StoreResult<()> {
    if facts.is_empty() {
        return Ok(());
    }
    let upserts = facts
        .iter()
        .map(bman_fact_upsert)
        .collect::<StoreResult<Vec<_>>>()?;
    update_all(db, concern, BMAN_FACTS, upserts).await?;
    let seqs: Vec<i64> = facts.iter().map(|f| f.seq).collect();
    let ids = fact_ids(db, seqs).await?;
    refs.waves = current_waves(db, facts, &ids).await?;
    let mut by_collection: HashMap<String, Vec<Document>> = HashMap::new();
    for fact in facts {
        let id = *ids
            .get(&fact.seq)
            .ok_or_else(|| StoreError::Backend(format!("fact {} vanished", fact.seq)))?;
        if let Some(collection) = bman_data_collection(fact.record.mode, &fact.record.fact) {
            if let Some(document) = bman_data_doc(fact, refs)? {
                by_collection.entry(collection).or_default().push(upsert(
                    doc! { "_id": id },
                    doc! { "$setOnInsert": document },
                ));
            }
        }
        let loadouts = loadout_upserts(fact, id, refs)?;
        if !loadouts.is_empty() {
            by_collection
                .entry("tdm_loadouts".into())
                .or_default()
                .extend(loadouts);
        }
        if let Some(kind) = rating_instances(fact.record.mode, &fact.record.fact) {
            by_collection
                .entry(kind.collection.to_string())
                .or_default()
                .extend(instance_upserts(fact, id, refs)?);
        }
    }
    // Rounds and waves before the documents that refer to them.
    let mut by_collection: Vec<(String, Vec<Document>)> = by_collection.into_iter().collect();
    by_collection
        .sort_by_key(|(collection, _)| !matches!(collection.as_str(), "tdm_rounds" | "svl_rounds"));
    for (collection, updates) in by_collection {
        update_all(db, concern, &collection, updates).await?;
    }
    Ok(())
}

/// `_id` of each stored fact of `seqs`.
pub(super) async fn fact_ids(db: &Database, seqs: Vec<i64>) -> StoreResult<HashMap<i64, ObjectId>> {
    let mut out = HashMap::with_capacity(seqs.len());
    for d in find_all(db, BMAN_FACTS, doc! { "seq": { "$in": seqs } }, doc! {}).await? {
        if let (Some(seq), Ok(id)) = (int(&d, "seq")?, d.get_object_id("_id")) {
            out.insert(seq, id);
        }
    }
    Ok(out)
}

/// Fails when any of `facts` (seq, mode, JSON) reuses a stored `seq` for
/// something else, before anything is written (see the README on
/// atomicity without transactions).
pub(super) async fn check_seqs(
    db: &Database,
    facts: Vec<(i64, String, String)>,
) -> StoreResult<()> {
    if facts.is_empty() {
        return Ok(());
    }
    let seqs: Vec<i64> = facts.iter().map(|(s, ..)| *s).collect();
    let wanted: HashMap<i64, (String, String)> =
        facts.into_iter().map(|(s, m, d)| (s, (m, d))).collect();
    for d in find_all(db, BMAN_FACTS, doc! { "seq": { "$in": seqs } }, doc! {}).await? {
        let seq = int(&d, "seq")?.unwrap_or_default();
        let stored = (
            string(&d, "mode").unwrap_or_default(),
            string(&d, "data").unwrap_or_default(),
        );
        if wanted.get(&seq) != Some(&stored) {
            return Err(StoreError::Backend(format!(
                "fact number {seq} is already used by a different fact"
            )));
        }
    }
    Ok(())
}
