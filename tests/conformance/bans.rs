//! Community bans and the shared-IP query behind `/whois`.

use super::support::*;
use bman::model::*;
use bman::store::*;

fn ban(id: &str, created_ms: i64, until_ms: Option<i64>, servers: &[&str]) -> Ban {
    Ban {
        player: key(id),
        name: format!("{id} then"),
        reason: format!("reason {created_ms}"),
        by: BanActor {
            user_id: Some(80_351_110_224_678_912),
            name: "admin".into(),
        },
        created_ms,
        until_ms,
        servers: servers.iter().map(|s| s.to_string()).collect(),
        lifted: None,
    }
}

fn player_ids(bans: &[Ban]) -> Vec<(&str, i64)> {
    bans.iter()
        .map(|b| (b.player.id.as_str(), b.created_ms))
        .collect()
}

pub fn bans_round_trip_and_lift(store: &dyn Store) {
    assert!(store.bans(&BanQuery::all()).unwrap().is_empty());
    let hostile = Ban {
        name: HOSTILE.into(),
        reason: HOSTILE.into(),
        by: BanActor::cli(),
        ..ban("bob", 2_000, Some(5_000), &["eu-dm", HOSTILE])
    };
    let lifted = Ban {
        lifted: Some(BanLift {
            by: BanActor {
                user_id: Some(i64::MAX as u64),
                name: HOSTILE.into(),
            },
            at_ms: 1_500,
        }),
        ..ban("alice", 1_000, Some(9_000), &[])
    };
    let permanent = ban("alice", 3_000, None, &[]);
    // Same time as the permanent one, stored after it: listed before it.
    let tie = ban("carol", 3_000, Some(4_000), &["eu-dm"]);
    for b in [&lifted, &hostile, &permanent, &tie] {
        store.add_ban(b).unwrap();
    }
    let all = store.bans(&BanQuery::all()).unwrap();
    assert_eq!(
        all,
        vec![
            tie.clone(),
            permanent.clone(),
            hostile.clone(),
            lifted.clone()
        ],
        "newest first, every field kept"
    );
    assert_eq!(
        player_ids(&store.bans(&BanQuery::active(3_500)).unwrap()),
        [("carol", 3_000), ("alice", 3_000), ("bob", 2_000)]
    );
    assert_eq!(
        player_ids(&store.bans(&BanQuery::active(5_000)).unwrap()),
        [("alice", 3_000)],
        "the end time is exclusive"
    );
    let alices = BanQuery {
        player: Some(key("alice")),
        ..BanQuery::all()
    };
    assert_eq!(
        player_ids(&store.bans(&alices).unwrap()),
        [("alice", 3_000), ("alice", 1_000)]
    );
    let page = BanQuery {
        limit: 2,
        offset: 1,
        ..BanQuery::all()
    };
    assert_eq!(
        player_ids(&store.bans(&page).unwrap()),
        [("alice", 3_000), ("bob", 2_000)]
    );
    assert!(store
        .bans(&BanQuery {
            limit: 0,
            ..BanQuery::all()
        })
        .unwrap()
        .is_empty());

    // Lifting touches only the player's bans that are active then.
    let lift = BanLift {
        by: BanActor::cli(),
        at_ms: 6_000,
    };
    assert_eq!(store.lift_bans(&key("alice"), &lift).unwrap(), 1);
    assert_eq!(store.lift_bans(&key("alice"), &lift).unwrap(), 0);
    assert_eq!(store.lift_bans(&key("bob"), &lift).unwrap(), 0, "expired");
    let after = store.bans(&alices).unwrap();
    assert_eq!(after[0].lifted, Some(lift));
    assert_eq!(after[1], lifted, "an earlier lift stays as it was");
    assert!(store.bans(&BanQuery::active(6_000)).unwrap().is_empty());
    assert_eq!(
        store.bans(&BanQuery::active(3_500)).unwrap().len(),
        2,
        "a ban lifted at 6000 no longer applies at any time"
    );

    // Bots, NPCs and ids the store cannot hold are refused and leave nothing.
    for bot in [
        PlayerKey::new(0, "bot3"),
        PlayerKey::new(-1, "x"),
        PlayerKey::new(0, ""),
    ] {
        let refused = Ban {
            player: bot,
            ..ban("x", 7_000, None, &[])
        };
        assert!(store.add_ban(&refused).is_err());
    }
    let too_large = Ban {
        by: BanActor {
            user_id: Some(i64::MAX as u64 + 1),
            name: "x".into(),
        },
        ..ban("dave", 7_000, None, &[])
    };
    assert!(store.add_ban(&too_large).is_err());
    assert_eq!(store.bans(&BanQuery::all()).unwrap().len(), 4);
}

fn with_ip(id: &str, name: &str, ip: &str, seen_ms: i64) -> PlayerSeen {
    PlayerSeen {
        ip: Some(ip.into()),
        ..seen(id, Some(name), seen_ms)
    }
}

pub fn ip_neighbours(store: &dyn Store) {
    apply(
        store,
        WriteBatch {
            players: vec![
                with_ip("me", "Me", "203.0.113.7", 1_000),
                with_ip("me", "Me", "2001:db8::1", 1_100),
                with_ip("old", "Old", "203.0.113.7", 100),
                with_ip("alt", "Alt", "203.0.113.7", 4_000),
                with_ip("alt", "Alt", "2001:db8::1", 5_000),
                with_ip("friend", "Friend", "203.0.113.7", 3_000),
                with_ip("stranger", "Stranger", "198.51.100.1", 9_000),
                seen("noip", Some("NoIp"), 9_000),
            ],
            ..WriteBatch::default()
        },
    );
    let found = store.ip_neighbours(&key("me"), 1_000, 10).unwrap();
    let summary: Vec<(&str, &str, Vec<&str>, i64)> = found
        .iter()
        .map(|n| {
            (
                n.player.key.id.as_str(),
                n.player.name.as_str(),
                n.shared_ips.iter().map(String::as_str).collect(),
                n.last_seen_ms,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("alt", "Alt", vec!["2001:db8::1", "203.0.113.7"], 5_000),
            ("friend", "Friend", vec!["203.0.113.7"], 3_000),
        ],
        "recently seen sharers, most recent first, not the player itself"
    );
    assert_eq!(store.ip_neighbours(&key("me"), 0, 10).unwrap().len(), 3);
    assert_eq!(
        store.ip_neighbours(&key("me"), 1_000, 1).unwrap()[0]
            .player
            .key,
        key("alt")
    );
    assert!(store.ip_neighbours(&key("noip"), 0, 10).unwrap().is_empty());
    assert!(store
        .ip_neighbours(&key("nobody"), 0, 10)
        .unwrap()
        .is_empty());
    assert_eq!(
        store.ip_neighbours(&key("friend"), 0, 10).unwrap().len(),
        3,
        "me, alt and old"
    );
}
