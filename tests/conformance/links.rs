//! Linked accounts: one Discord user ↔ one game profile, replaced by a new
//! link from either side.

use super::support::*;
use bman::model::*;
use bman::store::*;

fn link(user_id: u64, id: &str, linked_ms: i64) -> AccountLink {
    AccountLink {
        user_id,
        user_name: format!("user{user_id}"),
        player: key(id),
        player_name: format!("{id} in game"),
        linked_ms,
    }
}

pub fn links_round_trip_and_replace(store: &dyn Store) {
    assert_eq!(store.account_links().unwrap(), []);
    assert_eq!(store.account_link(1).unwrap(), None);
    assert_eq!(store.unlink_account(1).unwrap(), None);

    // Every field kept, hostile text and the largest storable id included.
    let hostile = AccountLink {
        user_id: i64::MAX as u64,
        user_name: HOSTILE.into(),
        player: PlayerKey::new(1, HOSTILE),
        player_name: HOSTILE.into(),
        ..link(0, "x", 1_000)
    };
    assert_eq!(store.link_account(&hostile).unwrap(), []);
    assert_eq!(
        store.account_link(hostile.user_id).unwrap(),
        Some(hostile.clone())
    );

    let alice = link(10, "alice", 2_000);
    let bob = link(20, "bob", 3_000);
    assert_eq!(store.link_account(&alice).unwrap(), []);
    assert_eq!(store.link_account(&bob).unwrap(), []);
    // The same id on another store is another profile.
    let discord_alice = AccountLink {
        player: PlayerKey::new(1, "alice"),
        ..link(30, "alice", 4_000)
    };
    assert_eq!(store.link_account(&discord_alice).unwrap(), []);
    assert_eq!(
        store.account_links().unwrap(),
        [
            hostile.clone(),
            alice.clone(),
            bob.clone(),
            discord_alice.clone()
        ],
        "oldest first"
    );

    // A user linking again replaces their own link…
    let alice_again = link(10, "carol", 5_000);
    assert_eq!(store.link_account(&alice_again).unwrap(), [alice]);
    // …and a profile linked by another user leaves its earlier user unlinked.
    let bob_taken = link(40, "bob", 6_000);
    assert_eq!(store.link_account(&bob_taken).unwrap(), [bob]);
    assert_eq!(store.account_link(20).unwrap(), None);
    // Both at once: user 10 (carol) takes bob from user 40.
    let both = link(10, "bob", 7_000);
    assert_eq!(
        store.link_account(&both).unwrap(),
        [alice_again.clone(), bob_taken.clone()]
    );
    assert_eq!(
        store.account_links().unwrap(),
        [hostile.clone(), discord_alice.clone(), both.clone()]
    );

    assert_eq!(store.unlink_account(10).unwrap(), Some(both));
    assert_eq!(store.unlink_account(10).unwrap(), None);
    assert_eq!(store.account_link(10).unwrap(), None);

    // Bots and NPCs never link; nothing changes.
    for bot in [
        PlayerKey::new(0, "bot2"),
        PlayerKey::new(-1, "x"),
        PlayerKey::new(0, ""),
    ] {
        let refused = store.link_account(&AccountLink {
            player: bot,
            ..link(50, "x", 8_000)
        });
        assert!(refused.is_err(), "{refused:?}");
    }
    assert_eq!(store.account_links().unwrap(), [hostile, discord_alice]);
}
