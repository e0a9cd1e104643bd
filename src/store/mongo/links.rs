//! Linked accounts in bman's own [`BMAN_LINKS`] collection.
//!
//! A link document: `user_id` (int64, unique), `user_name`, `platform`
//! (int), `profile` (unique with `platform`), `player_name`, `linked_ms`.
//! Without transactions, linking first deletes the profile's link to
//! another user, then upserts the user's own: a crash in between leaves
//! both unlinked (the player links again), never a profile linked twice.

use super::*;

/// Linked accounts (see the module docs).
pub(super) const BMAN_LINKS: &str = "bman_links";

/// The unique indexes of [`BMAN_LINKS`]: one link per user, one per profile.
pub(super) fn indexes() -> Vec<Document> {
    vec![doc! { "user_id": 1 }, doc! { "profile": 1, "platform": 1 }]
}

fn link_doc(link: &AccountLink) -> StoreResult<Document> {
    Ok(doc! {
        "user_id": user_id_to_i64(link.user_id)?,
        "user_name": &link.user_name,
        "platform": link.player.store,
        "profile": &link.player.id,
        "player_name": &link.player_name,
        "linked_ms": link.linked_ms,
    })
}

fn link_from_doc(d: &Document) -> StoreResult<AccountLink> {
    let missing = |key| StoreError::Corrupt(format!("link without {key}: {d}"));
    Ok(AccountLink {
        user_id: user_id_from_i64(int(d, "user_id")?.ok_or_else(|| missing("user_id"))?)?,
        user_name: string(d, "user_name").unwrap_or_default(),
        player: key_from_doc(d)?,
        player_name: string(d, "player_name").unwrap_or_default(),
        linked_ms: int(d, "linked_ms")?.ok_or_else(|| missing("linked_ms"))?,
    })
}

/// Oldest first; `_id` breaks ties in insertion order like SQLite's rowid.
fn oldest_first() -> Document {
    doc! { "linked_ms": 1, "_id": 1 }
}

impl MongoStore {
    pub(super) fn upsert_link(&self, link: &AccountLink) -> StoreResult<Vec<AccountLink>> {
        check_link(link)?;
        let user_id = user_id_to_i64(link.user_id)?;
        let new = link_doc(link)?;
        let concern = self.write_concern.clone();
        let (store, id) = (link.player.store, link.player.id.clone());
        self.run(move |db| async move {
            let mine = doc! { "$or": [
                { "user_id": user_id },
                { "platform": store, "profile": &id },
            ] };
            let old = find_all(&db, BMAN_LINKS, mine, oldest_first()).await?;
            let others = doc! { "platform": store, "profile": &id, "user_id": { "$ne": user_id } };
            let delete = doc! {
                "delete": BMAN_LINKS,
                "deletes": [{ "q": others, "limit": 0 }],
                "ordered": true,
                "writeConcern": concern.clone(),
            };
            write(&db, delete).await?;
            let upsert = doc! { "q": { "user_id": user_id }, "u": { "$set": new }, "upsert": true };
            update_all(&db, &concern, BMAN_LINKS, vec![upsert]).await?;
            old.iter().map(link_from_doc).collect()
        })
    }

    pub(super) fn remove_link(&self, user_id: u64) -> StoreResult<Option<AccountLink>> {
        let filter = doc! { "user_id": user_id_to_i64(user_id)? };
        self.run(move |db| async move {
            let old = db
                .collection::<Document>(BMAN_LINKS)
                .find_one_and_delete(filter)
                .await?;
            old.as_ref().map(link_from_doc).transpose()
        })
    }

    pub(super) fn find_link(&self, user_id: u64) -> StoreResult<Option<AccountLink>> {
        let filter = doc! { "user_id": user_id_to_i64(user_id)? };
        self.run(move |db| async move {
            let found = db
                .collection::<Document>(BMAN_LINKS)
                .find_one(filter)
                .await?;
            found.as_ref().map(link_from_doc).transpose()
        })
    }

    pub(super) fn all_links(&self) -> StoreResult<Vec<AccountLink>> {
        self.run(|db| async move {
            let docs = find_all(&db, BMAN_LINKS, doc! {}, oldest_first()).await?;
            docs.iter().map(link_from_doc).collect()
        })
    }
}
