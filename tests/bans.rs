//! Community bans end to end: two simulated servers over TCP, bman
//! recording both with its built-in handlers, and the ban commands as the
//! bot runs them (and once through poise against the fake Discord). A ban
//! kicks the player wherever they are, again when they rejoin and after a
//! restart; scopes, expiry and `/unban` stop it; bots and unknown names are
//! refused; `/whois` finds an alternate profile without showing an IP.

mod common;

use bman::config::{DiscordSettings, Settings};
use bman::discord::admin::{Caller, Permissions};
use bman::discord::bans::{self, BanArgs};
use bman::handlers::Context;
use bman::model::{now_ms, Ban, BanActor, BanQuery, Mode, PlayerKey};
use bman::sim::SimHandle;
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const ADMIN_ROLE: u64 = 111;
const CHEATER: &str = "76561190000000042";
const ALT: &str = "76561190000000043";
const SLEEPER: &str = "76561190000000044";
const IP: &str = "203.0.113.77";

fn caller(user_id: u64, roles: &[u64]) -> Caller {
    Caller {
        user_id,
        user_name: format!("user{user_id}"),
        role_ids: roles.to_vec(),
    }
}

fn admin() -> Caller {
    caller(10, &[ADMIN_ROLE])
}

/// player_connect of a Steam human, as real servers send it.
fn connect(slot: i64, name: &str, profile: &str, ip: &str) -> String {
    let profile = json!({ "ProfileID": profile, "StoreID": "0" }).to_string();
    json!({ "EventID": "4", "PlayerID": slot.to_string(), "PlayerName": name,
            "Profile": profile, "IP": ip, "IsAdmin": "0" })
    .to_string()
}

/// The kick commands a simulator received.
fn kicks(sim: &SimHandle) -> Vec<String> {
    sim.stats()
        .commands
        .into_iter()
        .filter(|c| c.starts_with("kick "))
        .collect()
}

/// Waits for `n` kicks, then a little longer to see that no more follow.
async fn kicks_settle_at(sim: &SimHandle, n: usize) -> Vec<String> {
    assert!(
        sim.wait_until(
            |s| s.commands.iter().filter(|c| c.starts_with("kick ")).count() >= n,
            WAIT
        )
        .await,
        "expected {n} kicks, have {:?}",
        kicks(sim)
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    let all = kicks(sim);
    assert_eq!(all.len(), n, "no more kicks than expected: {all:?}");
    all
}

/// A short simulator with no bots; it pings every 0.3 s, which is when a
/// session whose scenario is over sends what the test injects.
async fn quiet_sim(mode: Mode) -> SimHandle {
    bman::sim::serve(common::sim_opts(
        mode,
        &[
            "--matches",
            "1",
            "--rate",
            "0",
            "--bots",
            "0",
            "--players",
            "2",
            "--ping-secs",
            "0.3",
        ],
    ))
    .await
    .unwrap()
}

fn settings(dir: &std::path::Path, sims: &[(&str, &SimHandle)]) -> Settings {
    let servers: Vec<(&str, Mode, u16, &str)> = sims
        .iter()
        .map(|(name, sim)| (*name, Mode::Dm, sim.local_addr().port(), "pw"))
        .collect();
    let mut settings = common::settings(&servers, dir);
    settings.discord = DiscordSettings {
        admin_role_ids: vec![ADMIN_ROLE],
        ..DiscordSettings::default()
    };
    settings
}

/// Waits until every simulator has sent its scenario and the store knows `key`.
async fn wait_for_player(ctx: &Context, sims: &[&SimHandle], key: &PlayerKey) {
    for sim in sims {
        assert!(sim.wait_until(|s| s.scenario_done, WAIT).await);
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while ctx.store.profile(key).unwrap().is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{key:?} never stored"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bans_kick_everywhere_rejoin_expire_lift_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (quiet_sim(Mode::Dm).await, quiet_sim(Mode::Dm).await);
    let settings = settings(dir.path(), &[("dm-a", &a), ("dm-b", &b)]);
    let permissions = Permissions::new(&settings.discord);
    let (ingest, recorder) = common::start(&settings).await;
    let ctx = ingest.context.clone();
    let cheater = PlayerKey::new(0, CHEATER);
    a.inject(4, connect(30, "Cheater Pro", CHEATER, IP));
    a.inject(4, connect(31, "Innocent Alt", ALT, IP));
    b.inject(4, connect(30, "Cheater Pro", CHEATER, "198.51.100.5"));
    wait_for_player(&ctx, &[&a, &b], &cheater).await;
    wait_for_player(&ctx, &[&a, &b], &PlayerKey::new(0, ALT)).await;

    // A non-admin is denied and audited; nothing reaches the game.
    let args = BanArgs {
        player: "cheater".into(),
        duration: Some("7d".into()),
        reason: Some("aimbot; \"wallhack\"".into()),
        server: None,
    };
    let denied = bans::ban(&ctx, &permissions, &caller(9, &[7]), args.clone()).await;
    assert!(denied.ephemeral);
    assert_eq!(denied.content, "You are not allowed to use admin commands.");
    let audit = ctx.store.audit_log(10).unwrap();
    assert_eq!(
        (
            audit[0].user_id,
            audit[0].allowed,
            audit[0].command.as_str()
        ),
        (9, false, "ban cheater 7d (aimbot; \"wallhack\")")
    );
    assert!(ctx.store.bans(&BanQuery::all()).unwrap().is_empty());

    // An admin's ban kicks the player on both servers, with a quoted reason.
    let reply = bans::ban(&ctx, &permissions, &admin(), args).await;
    assert!(
        reply.ephemeral && reply.content.starts_with("**Banned**"),
        "{}",
        reply.content
    );
    let until = bman::bans::until_text(Some(now_ms() + 7 * 86_400_000), now_ms());
    let expected = format!("kick \"Cheater Pro\" \"banned {until}: aimbot, 'wallhack'\"");
    for sim in [&a, &b] {
        assert_eq!(
            kicks_settle_at(sim, 1).await,
            std::slice::from_ref(&expected)
        );
    }
    // The servers let the player go (player_disconnect, Kicked 1).
    for server in ["dm-a", "dm-b"] {
        let journal = common::journaled_game_events(dir.path(), server);
        let left = journal.iter().any(|(id, json)| {
            *id == 7 && json.contains("\"Kicked\":\"1\"") && json.contains(CHEATER)
        });
        assert!(left, "{server}: the kicked player left");
    }
    let stored = ctx.store.bans(&BanQuery::active(now_ms())).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (
            &stored[0].player,
            stored[0].by.user_id,
            stored[0].servers.len()
        ),
        (&cheater, Some(10), 0)
    );
    assert!(ctx.store.audit_log(1).unwrap()[0].allowed);

    // Rejoining is kicked again, on the spot.
    a.inject(4, connect(30, "Cheater Pro", CHEATER, IP));
    kicks_settle_at(&a, 2).await;

    // Bots and names bman never recorded are refused, clearly, and stored nowhere.
    for (who, says) in [("bot2", "is a bot"), ("Nobody Here", "No player matches")] {
        let refused = bans::ban(
            &ctx,
            &permissions,
            &admin(),
            BanArgs {
                player: who.into(),
                ..BanArgs::default()
            },
        )
        .await;
        assert!(refused.content.contains(says), "{}", refused.content);
    }
    let bad_length = BanArgs {
        player: CHEATER.into(),
        duration: Some("forever and ever".into()),
        ..BanArgs::default()
    };
    let refused = bans::ban(&ctx, &permissions, &admin(), bad_length).await;
    assert!(
        refused.content.contains("not a ban length"),
        "{}",
        refused.content
    );
    assert_eq!(ctx.store.bans(&BanQuery::all()).unwrap().len(), 1);

    // /whois: the alternate profile from the same IP, masked, never whole.
    let whois = bans::whois(&ctx, &permissions, &admin(), CHEATER.into()).await;
    let shown = format!("{whois:?}");
    let embed = whois.embed.expect("an embed");
    let same_ip = &embed.fields.last().unwrap().1;
    assert!(
        same_ip.contains("Innocent Alt") && same_ip.contains("203.0.113.x"),
        "{same_ip}"
    );
    assert!(
        !shown.contains(IP) && !shown.contains("198.51.100.5"),
        "{shown}"
    );
    let whois_alt = bans::whois(&ctx, &permissions, &admin(), ALT.into()).await;
    let alt_fields = whois_alt.embed.unwrap().fields;
    let alt_field = &alt_fields.last().unwrap().1;
    assert!(
        alt_field.contains("banned"),
        "the cheater's ban shows: {alt_field}"
    );
    let listed = bans::list(&ctx, &permissions, &admin(), None, 1).await;
    assert!(listed.content.contains("aimbot"), "{}", listed.content);
    let denied = bans::whois(&ctx, &permissions, &caller(9, &[]), CHEATER.into()).await;
    assert!(denied.embed.is_none() && denied.content.contains("not allowed"));

    // /unban lifts it: rejoining is no longer kicked.
    let lifted = bans::unban(&ctx, &permissions, &admin(), CHEATER.into()).await;
    assert!(
        lifted.content.contains("lifted 1 ban"),
        "{}",
        lifted.content
    );
    a.inject(4, connect(30, "Cheater Pro", CHEATER, IP));
    kicks_settle_at(&a, 2).await;

    // A ban scoped to one server kicks there only; an expired ban stops by itself.
    let short = Ban {
        player: cheater.clone(),
        name: "Cheater".into(),
        reason: "cool down".into(),
        by: BanActor::cli(),
        created_ms: now_ms(),
        until_ms: Some(now_ms() + 2_500),
        servers: vec!["dm-b".into()],
        lifted: None,
    };
    ctx.store.add_ban(&short).unwrap();
    ctx.bans_changed();
    b.inject(4, connect(30, "Cheater Pro", CHEATER, IP));
    a.inject(4, connect(30, "Cheater Pro", CHEATER, IP));
    kicks_settle_at(&b, 2).await;
    kicks_settle_at(&a, 2).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    b.inject(4, connect(30, "Cheater Pro", CHEATER, IP));
    kicks_settle_at(&b, 2).await;

    // A restart reads the bans from the store and keeps enforcing them: a
    // ban from this bman, and one stored while it was down (as `bman ban`
    // does) on a player still on the server, found by the scoreboard bman
    // asks for when it connects.
    bans::ban(
        &ctx,
        &permissions,
        &admin(),
        BanArgs {
            player: "Innocent".into(),
            server: Some("dm-a".into()),
            ..BanArgs::default()
        },
    )
    .await;
    kicks_settle_at(&a, 3).await;
    let sleeper = PlayerKey::new(0, SLEEPER);
    a.inject(4, connect(32, "Sleeper", SLEEPER, "192.0.2.1"));
    wait_for_player(&ctx, &[&a], &sleeper).await;
    drop(ctx);
    common::stop(ingest, recorder).await;
    let offline = bman::store::open(&common::sqlite_url(dir.path())).unwrap();
    offline
        .add_ban(&Ban {
            player: sleeper,
            name: "Sleeper".into(),
            reason: "ban evasion".into(),
            by: BanActor::cli(),
            created_ms: now_ms(),
            until_ms: None,
            servers: vec![],
            lifted: None,
        })
        .unwrap();
    drop(offline);
    let (ingest, recorder) = common::start(&settings).await;
    kicks_settle_at(&a, 4).await;
    a.inject(4, connect(31, "Innocent Alt", ALT, IP));
    let all = kicks_settle_at(&a, 5).await;
    assert_eq!(
        all[3..],
        [
            "kick \"Sleeper\" \"banned permanently: ban evasion\"",
            "kick \"Innocent Alt\" \"banned permanently\""
        ]
    );
    common::stop(ingest, recorder).await;
    a.shutdown().await;
    b.shutdown().await;
}

/// `/ban` through the real bot: serenity and poise against the fake Discord,
/// `bman::app::run_with` recording a simulator; a member is denied, an
/// admin's ban reaches the game server as a kick.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_ban_through_the_bot_kicks_the_player() {
    use common::fake_discord::{opt, Actor, FakeDiscord, SentInteraction, GUILD_ID};
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeDiscord::start().await;
    let sim = quiet_sim(Mode::Dm).await;
    let mut settings = settings(dir.path(), &[("eu-dm", &sim)]);
    settings.discord.guild_id = Some(GUILD_ID);
    settings.discord_token = Some(bman::secret::Secret::new("test-token"));
    settings.discord_api_proxy = Some(fake.url());
    let bman = common::InProcessBman::start(&settings);
    assert!(fake.ready(WAIT).await, "the bot logs in");
    sim.inject(4, connect(30, "Cheater Pro", CHEATER, IP));
    let store = bman::app::open_store(&settings).unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while store
        .profile(&PlayerKey::new(0, CHEATER))
        .unwrap()
        .is_none()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "player never stored"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let follow_up = |sent: SentInteraction| {
        let fake = &fake;
        async move {
            fake.wait_for(
                |r| sent.is_reply(r) && r.method == "POST" && r.path == sent.webhook_path(),
                WAIT,
            )
            .await
            .expect("a follow-up after the defer")
            .pointer("/content")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string()
        }
    };
    let options = json!([opt("player", CHEATER), opt("reason", "aimbot")]);
    let member = Actor::user(7).named("player");
    let sent = fake.send_command("ban", options.clone(), &member).await;
    assert_eq!(
        follow_up(sent).await,
        "You are not allowed to use admin commands."
    );
    let admin = Actor::user(8).named("admin").roles(&[ADMIN_ROLE]);
    let sent = fake.send_command("ban", options, &admin).await;
    let reply = follow_up(sent).await;
    assert!(reply.starts_with("**Banned**"), "{reply}");
    assert_eq!(
        kicks_settle_at(&sim, 1).await,
        ["kick \"Cheater Pro\" \"banned permanently: aimbot\""]
    );
    let audit = store.audit_log(10).unwrap();
    assert_eq!(
        audit
            .iter()
            .map(|r| (r.user_id, r.allowed))
            .collect::<Vec<_>>(),
        [(8, true), (7, false)]
    );
    bman.stop().await;
    sim.shutdown().await;
}
