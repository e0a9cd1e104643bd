//! A checker of bman-data's MongoDB schema (as the README's "MongoDB"
//! section states it: bman-data's collections, their fields and BSON
//! types), and raw access to a test database past the store.
#![allow(dead_code)] // each test binary uses a different subset

use mongodb::bson::{doc, Bson, Document};
use std::collections::{HashMap, HashSet};

/// A field's type. References name the collection they point into.
#[derive(Clone, Copy)]
pub enum T {
    Oid(&'static str),
    /// A string of at most this many characters.
    Str(usize),
    Date,
    Double,
    Int,
    StrList,
    OidList(&'static str),
    Doc(&'static [(&'static str, T)]),
}

use T::*;

const ANY: usize = usize::MAX;
const DM_RATING: &[(&str, T)] = &[
    ("mu", Double),
    ("sigma", Double),
    ("mu_delta", Double),
    ("sigma_delta", Double),
];
const TDM_RATING: &[(&str, T)] = &[("elo", Double), ("delta", Double)];
const INSTANCE: [(&str, T); 4] = [
    ("mu", Double),
    ("sigma", Double),
    ("mu_delta", Double),
    ("sigma_delta", Double),
];

fn message(mode: &'static str, profile: &'static str) -> Vec<(&'static str, T)> {
    let mut fields = vec![
        ("message", Str(200)),
        ("name", Str(50)),
        ("date_created", Date),
    ];
    if mode == "svl" {
        fields.push(("profile", Oid("players")));
    } else {
        fields.push(("player", Oid("players")));
        fields.push((
            profile,
            Oid(Box::leak(format!("{mode}_profiles").into_boxed_str())),
        ));
    }
    fields
}

/// A collection's fields: name, type, optional.
pub type Fields = Vec<(&'static str, T, bool)>;

/// Every collection bman-data defines, with exactly its fields (`_id`, an
/// ObjectId, besides). Optional fields are marked `true`.
pub fn bman_data_schema() -> Vec<(&'static str, Fields)> {
    let req =
        |fields: Vec<(&'static str, T)>| fields.into_iter().map(|(f, t)| (f, t, false)).collect();
    let profile = |extra: &[(&'static str, T)]| {
        let mut f = vec![
            ("player", Oid("players")),
            ("mu", Double),
            ("sigma", Double),
            ("kills", Int),
            ("deaths", Int),
            ("last_updated", Date),
        ];
        f.extend_from_slice(extra);
        req(f)
    };
    let kill = |profiles: &'static str, rating: &'static [(&'static str, T)]| {
        vec![
            ("killer", Oid("players")),
            ("victim", Oid("players")),
            ("killer_profile", Oid(profiles)),
            ("victim_profile", Oid(profiles)),
            ("killer_rating", Doc(rating)),
            ("victim_rating", Doc(rating)),
            ("weapon", Str(4)),
            ("killer_location", Str(20)),
            ("victim_location", Str(20)),
            ("date_created", Date),
        ]
    };
    let mut dm_kills = kill("dm_profiles", DM_RATING);
    dm_kills.push(("match", Oid("dm_matches")));
    let mut tdm_kills: Fields = req(kill("tdm_profiles", TDM_RATING));
    tdm_kills.push(("tdm_round", Oid("tdm_rounds"), true));
    let svl_event = |who: &'static str| {
        req(vec![
            (who, Oid("players")),
            ("enemy_rank", Str(ANY)),
            ("enemy_type", Str(ANY)),
            ("weapon", Str(ANY)),
            ("date_created", Date),
            ("current_round", Oid("svl_rounds")),
        ])
    };
    let instance =
        |player: &'static str, profiles: &'static str, at: &'static str, at_c: &'static str| {
            let mut f = vec![
                ("player", Oid("players")),
                (player, Oid(profiles)),
                (at, Oid(at_c)),
            ];
            f.extend_from_slice(&INSTANCE);
            req(f)
        };
    vec![
        (
            "players",
            req(vec![
                (
                    "profile",
                    Doc(&[("platform", Str(2)), ("profile", Str(ANY))]),
                ),
                ("name", StrList),
                ("ip", StrList),
                ("color", Str(ANY)),
                ("premium", Str(1)),
                ("hat", Str(3)),
                ("clan_id", Str(ANY)),
                ("clan_tag", Str(ANY)),
            ]),
        ),
        ("dm_profiles", profile(&[])),
        (
            "tdm_profiles",
            profile(&[("elo", Double), ("wins", Int), ("losses", Int)]),
        ),
        (
            "ctf_profiles",
            profile(&[
                ("wins", Int),
                ("losses", Int),
                ("captures", Int),
                ("games", Int),
            ]),
        ),
        ("dm_kills", req(dm_kills)),
        ("tdm_kills", tdm_kills),
        (
            "tdm_rounds",
            req(vec![
                ("map_name", Str(20)),
                ("usc_players", OidList("players")),
                ("man_players", OidList("players")),
                ("usc_players_profiles", OidList("tdm_profiles")),
                ("man_players_profiles", OidList("tdm_profiles")),
                ("result", Str(5)),
                ("created", Date),
            ]),
        ),
        (
            "dm_matches",
            req(vec![("map_name", Str(40)), ("date_created", Date)]),
        ),
        (
            "ctf_matches",
            req(vec![("map_name", Str(40)), ("date_created", Date)]),
        ),
        (
            "svl_matches",
            req(vec![
                ("map_name", Str(40)),
                ("date_created", Date),
                ("date_ended", Date),
            ]),
        ),
        (
            "ctf_scores",
            req(vec![
                ("player", Oid("players")),
                ("ctf_player", Oid("ctf_profiles")),
                ("match", Oid("ctf_matches")),
                ("team", Str(ANY)),
            ]),
        ),
        (
            "ctf_rating_instances",
            instance("ctf_player", "ctf_profiles", "match", "ctf_matches"),
        ),
        (
            "tdm_rating_instances",
            instance("tdm_player", "tdm_profiles", "tdm_round", "tdm_rounds"),
        ),
        (
            "svl_rounds",
            req(vec![
                ("wave_number", Str(4)),
                ("enemies", Str(4)),
                ("chests", Str(4)),
                ("chest_price", Str(4)),
                ("capture_progress", Str(4)),
                ("chest_crash", Str(4)),
                ("current_match", Oid("svl_matches")),
            ]),
        ),
        ("svl_kills", svl_event("killer")),
        ("svl_deaths", svl_event("victim")),
        ("dm_messages", req(message("dm", "dm_player"))),
        ("tdm_messages", req(message("tdm", "tdm_player"))),
        ("ctf_messages", req(message("ctf", "ctf_player"))),
        ("svl_messages", req(message("svl", ""))),
        (
            "tdm_loadouts",
            req(vec![
                ("tdm_player", Oid("tdm_profiles")),
                ("tdm_round", Oid("tdm_rounds")),
                ("weap1", Str(ANY)),
                ("weap2", Str(ANY)),
                ("dual", Str(ANY)),
                ("equip", Str(ANY)),
                ("offweap", Str(ANY)),
                ("offweap2", Str(ANY)),
            ]),
        ),
    ]
}

/// Every document of every collection in `db` (raw dump).
pub type Dump = HashMap<String, Vec<Document>>;

fn check_value(
    path: &str,
    value: &Bson,
    t: T,
    ids: &HashMap<String, HashSet<mongodb::bson::oid::ObjectId>>,
    out: &mut Vec<String>,
) {
    let dangling = |id, collection: &str| {
        !ids.get(collection)
            .is_some_and(|set: &HashSet<_>| set.contains(id))
    };
    match (t, value) {
        (Oid(c), Bson::ObjectId(id)) => {
            if dangling(id, c) {
                out.push(format!("{path}: {id} is not in {c}"));
            }
        }
        (Str(max), Bson::String(s)) => {
            if s.chars().count() > max {
                out.push(format!("{path}: {s:?} is longer than {max}"));
            }
        }
        (Date, Bson::DateTime(_)) | (Double, Bson::Double(_)) => {}
        (Int, Bson::Int32(_) | Bson::Int64(_)) => {}
        (StrList, Bson::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                check_value(&format!("{path}.{i}"), item, Str(ANY), ids, out);
            }
        }
        (OidList(c), Bson::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                check_value(&format!("{path}.{i}"), item, Oid(c), ids, out);
            }
        }
        (Doc(fields), Bson::Document(d)) => {
            let fields: Vec<_> = fields.iter().map(|(f, t)| (*f, *t, false)).collect();
            check_fields(path, d, &fields, ids, out);
        }
        _ => out.push(format!("{path}: {value} has the wrong type")),
    }
}

fn check_fields(
    path: &str,
    d: &Document,
    fields: &[(&str, T, bool)],
    ids: &HashMap<String, HashSet<mongodb::bson::oid::ObjectId>>,
    out: &mut Vec<String>,
) {
    for (field, t, optional) in fields {
        match d.get(*field) {
            Some(v) => check_value(&format!("{path}.{field}"), v, *t, ids, out),
            None if *optional => {}
            None => out.push(format!("{path}: missing {field} in {d}")),
        }
    }
    for key in d.keys() {
        if key != "_id" && !fields.iter().any(|(f, ..)| f == key) {
            out.push(format!("{path}: extra field {key} in {d}"));
        }
    }
}

/// Every violation of bman-data's schema in `dump`: a missing, extra or
/// wrongly typed field, a string over its length, a dangling reference.
pub fn schema_violations(dump: &Dump) -> Vec<String> {
    let ids: HashMap<String, HashSet<_>> = dump
        .iter()
        .map(|(c, docs)| {
            let set = docs
                .iter()
                .filter_map(|d| d.get_object_id("_id").ok())
                .collect();
            (c.clone(), set)
        })
        .collect();
    let mut out = Vec::new();
    for (collection, fields) in bman_data_schema() {
        for d in dump.get(collection).into_iter().flatten() {
            let path = format!(
                "{collection}/{}",
                d.get("_id").map(|v| v.to_string()).unwrap_or_default()
            );
            if d.get_object_id("_id").is_err() {
                out.push(format!("{path}: _id is not an ObjectId"));
            }
            check_fields(&path, d, &fields, &ids, &mut out);
        }
    }
    out
}

/// Runs `job` with the database of `uri`, past the store.
pub fn with_db<T>(uri: &str, job: impl AsyncFnOnce(&mongodb::Database) -> T) -> T {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let client = mongodb::Client::with_uri_str(uri).await.unwrap();
        let db = client.default_database().unwrap();
        let out = job(&db).await;
        client.shutdown().await;
        out
    })
}

/// Every document of every collection.
pub fn dump(uri: &str) -> Dump {
    with_db(uri, async |db| {
        let mut out = Dump::new();
        for name in db.list_collection_names().await.unwrap() {
            let docs = find(db, &name, doc! {}).await;
            out.insert(name, docs);
        }
        out
    })
}

pub async fn find(db: &mongodb::Database, collection: &str, filter: Document) -> Vec<Document> {
    use futures::TryStreamExt;
    let cursor = db
        .collection::<Document>(collection)
        .find(filter)
        .sort(doc! { "_id": 1 })
        .await
        .unwrap();
    cursor.try_collect().await.unwrap()
}

/// Inserts documents as they are, past the store.
pub fn insert_raw(uri: &str, collections: &[(&str, Vec<Document>)]) {
    with_db(uri, async |db| {
        for (collection, docs) in collections {
            db.collection::<Document>(collection)
                .insert_many(docs)
                .await
                .unwrap();
        }
    })
}
