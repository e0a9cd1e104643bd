//! The server over real TCP: login, pings, confirm, requests and commands,
//! exactly-once delivery across cuts, and one session at a time.

use super::*;
use crate::event::ids;
use crate::model::Mode;
use crate::rcon::codec::{ClientCodec, Frame, Packet, PacketKind};
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

const WAIT: Duration = Duration::from_secs(10);

type Client = Framed<TcpStream, ClientCodec>;

async fn login(sim: &SimHandle, password: &str) -> Client {
    let stream = TcpStream::connect(sim.local_addr()).await.unwrap();
    let mut client = Framed::new(stream, ClientCodec::default());
    client
        .send(Packet::new(PacketKind::Login, password))
        .await
        .unwrap();
    client
}

/// A logged-in, confirmed client that has been sent the whole scenario.
async fn confirmed_client(sim: &SimHandle) -> Client {
    let mut client = login(sim, "admin").await;
    client
        .send(Packet::new(PacketKind::Confirm, "1"))
        .await
        .unwrap();
    assert!(sim.wait_until(|s| s.scenario_done, WAIT).await);
    client
}

/// The next well-formed frame (skipping garbage reports); None at EOF.
async fn next_frame(client: &mut Client) -> Option<Frame> {
    loop {
        match timeout(WAIT, client.next())
            .await
            .expect("no frame in time")?
        {
            Ok(Ok(frame)) => return Some(frame),
            Ok(Err(_)) => continue,
            Err(e) => panic!("read failed: {e}"),
        }
    }
}

/// Reads frames until one with `id` arrives.
async fn frame_with_id(client: &mut Client, id: u16) -> Value {
    loop {
        let f = next_frame(client).await.expect("connection closed");
        if f.id == id {
            return serde_json::from_str(&f.json).unwrap();
        }
    }
}

/// Reads frames until the command_entered that answers an RCON command
/// (Source 1; the scenario's console echoes have Source 0). Returns it and
/// the ids of the frames read on the way.
async fn command_answer(client: &mut Client) -> (Value, Vec<u16>) {
    let mut skipped = Vec::new();
    loop {
        let f = next_frame(client).await.expect("connection closed");
        let v: Value = serde_json::from_str(&f.json).unwrap();
        if f.id == ids::COMMAND_ENTERED && v["Source"] == "1" {
            return (v, skipped);
        }
        skipped.push(f.id);
    }
}

fn opts(f: impl FnOnce(&mut SimOptions)) -> SimOptions {
    let mut o = SimOptions {
        port: 0,
        ..SimOptions::default()
    };
    f(&mut o);
    o
}

#[tokio::test]
async fn login_ping_confirm_and_scoreboard_over_tcp() {
    let sim = serve(opts(|o| {
        o.ping_secs = 0.2;
        o.rate = 200.0;
    }))
    .await
    .unwrap();
    let mut client = login(&sim, "admin").await;
    let hello = next_frame(&mut client).await.unwrap();
    assert_eq!(hello.id, ids::RCON_LOGGED_IN);
    let hello: Value = serde_json::from_str(&hello.json).unwrap();
    assert_eq!(hello["MapName"], "Cargo");
    assert_eq!(hello["RconIP"], "::ffff:127.0.0.1");
    assert_eq!(hello["GameModeID"], "0");

    frame_with_id(&mut client, ids::RCON_PING).await;
    client
        .send(Packet::new(PacketKind::Ping, "1"))
        .await
        .unwrap();
    assert!(sim.wait_until(|s| s.ping_replies >= 1, WAIT).await);
    client
        .send(Packet::new(PacketKind::Confirm, "1"))
        .await
        .unwrap();
    assert!(
        sim.wait_until(|s| s.confirms == 1 && s.events_sent >= 30, WAIT)
            .await
    );

    client
        .send(Packet::new(
            PacketKind::RequestScoreboard,
            r#""req \"7\" \\" "x""#,
        ))
        .await
        .unwrap();
    let board = frame_with_id(&mut client, ids::REQUEST_DATA).await;
    assert_eq!(board["CaseID"], "7");
    assert_eq!(board["RequestID"], "req \"7\" \\");
    assert_eq!(board["GamemodeName"], "Deathmatch");
    let players: Vec<_> = board
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.starts_with("PlayerData"))
        .collect();
    assert!(players.len() >= 6, "{board}");

    let stats = sim.stats();
    assert_eq!(
        (stats.connections, stats.logins_ok, stats.max_concurrent),
        (1, 1, 1)
    );
    assert!(stats.pings_sent >= 1);
    sim.shutdown().await;
    assert_eq!(
        frame_with_id(&mut client, ids::SERVER_SHUTDOWN).await["EventID"],
        "1"
    );
    assert!(next_frame(&mut client).await.is_none());
}

#[tokio::test]
async fn wrong_password_gets_nothing_and_empty_password_accepts_any() {
    let sim = serve(opts(|_| {})).await.unwrap();
    let mut client = login(&sim, "nope").await;
    assert!(
        next_frame(&mut client).await.is_none(),
        "refused client must see EOF"
    );
    assert!(sim.wait_until(|s| s.logins_failed == 1, WAIT).await);
    assert_eq!(sim.stats().logins_ok, 0);

    let open = serve(opts(|o| o.password.clear())).await.unwrap();
    let mut client = login(&open, "whatever").await;
    assert_eq!(
        next_frame(&mut client).await.unwrap().id,
        ids::RCON_LOGGED_IN
    );
}

#[tokio::test]
async fn commands_and_requests_are_answered_from_delivered_events() {
    let sim = serve(opts(|o| {
        o.rate = 0.0;
        o.matches = Some(1);
        o.ping_secs = 0.0;
    }))
    .await
    .unwrap();
    let mut client = confirmed_client(&sim).await;

    client
        .send(Packet::new(
            PacketKind::Command,
            r#"kick "Quote\"Man" "bye""#,
        ))
        .await
        .unwrap();
    let reply = command_answer(&mut client).await.0;
    assert_eq!(reply["Command"], r#"kick "Quote\"Man" "bye""#);
    assert_eq!(reply["ReturnText"], "KICK: Kicking player Quote\"Man...");
    let answers = [
        (r#"kick "Nobody" "x""#, "Player not found"),
        (r#"addbot "2" "0""#, "ADDBOT: Added bot to team 2"),
        (r#"say "hi""#, ""),
        ("frobnicate", "Unknown command"),
    ];
    for (command, text) in answers {
        client
            .send(Packet::new(PacketKind::Command, command))
            .await
            .unwrap();
        let reply = command_answer(&mut client).await.0;
        assert_eq!(
            (reply["Command"].as_str(), reply["ReturnText"].as_str()),
            (Some(command), Some(text))
        );
    }

    client
        .send(Packet::new(
            PacketKind::RequestPlayer,
            r#""p1" "nobody here""#,
        ))
        .await
        .unwrap();
    client
        .send(Packet::new(PacketKind::RequestPlayer, r#""p2" "1""#))
        .await
        .unwrap();
    client
        .send(Packet::new(PacketKind::RequestMatch, r#""m1" "1""#))
        .await
        .unwrap();
    let player = frame_with_id(&mut client, ids::REQUEST_DATA).await;
    assert_eq!(
        (player["CaseID"].as_str(), player["RequestID"].as_str()),
        (Some("3"), Some("p2"))
    );
    // Flat, with GamemodeID, as real servers answer.
    assert_eq!(
        (player["ID"].as_str(), player["GamemodeID"].as_str()),
        (Some("1"), Some("0"))
    );
    assert!(player["Name"].is_string() && player["Hat2"].is_string());
    let keys = player.as_object().unwrap().keys();
    assert!(
        !keys.clone().any(|k| k.starts_with("PlayerData")),
        "{keys:?}"
    );
    let status = frame_with_id(&mut client, ids::REQUEST_DATA).await;
    assert_eq!(
        (status["CaseID"].as_str(), status["RequestID"].as_str()),
        (Some("5"), Some("m1"))
    );
    assert_eq!(status["MaxScore"], "30");

    assert_eq!(
        sim.stats().commands,
        [
            r#"kick "Quote\"Man" "bye""#,
            r#"kick "Nobody" "x""#,
            r#"addbot "2" "0""#,
            r#"say "hi""#,
            "frobnicate"
        ]
    );
}

/// `--no-replies`: requests are read and ignored; commands still answer.
#[tokio::test]
async fn no_replies_leaves_requests_unanswered() {
    let o = opts(|o| {
        o.rate = 0.0;
        o.matches = Some(1);
        o.ping_secs = 0.0;
        o.no_replies = true;
    });
    let events = scenario(&o).count();
    let sim = serve(o).await.unwrap();
    let mut client = confirmed_client(&sim).await;
    for (kind, text) in [
        (PacketKind::RequestScoreboard, r#""s1" "1""#),
        (PacketKind::RequestMatch, r#""m1" "1""#),
        (PacketKind::RequestPlayer, r#""p1" "1""#),
    ] {
        client.send(Packet::new(kind, text)).await.unwrap();
    }
    // Packets are handled in order: an answer would come before this one.
    client
        .send(Packet::new(PacketKind::Command, r#"say "hi""#))
        .await
        .unwrap();
    let (reply, before) = command_answer(&mut client).await;
    assert_eq!(reply["Command"], r#"say "hi""#);
    assert!(
        !before.contains(&ids::REQUEST_DATA),
        "request answered: {before:?}"
    );
    assert_eq!(before.len(), 1 + events, "rcon_logged_in and the scenario");
}

/// With cuts, garbage and split frames, a client that reconnects after
/// every cut receives every scenario event exactly once, whole.
#[tokio::test]
async fn scenario_is_delivered_exactly_once_across_drops() {
    let o = opts(|o| {
        o.mode = Mode::Ctf;
        o.rate = 0.0;
        o.matches = Some(1);
        o.drop_every = Some(7);
        o.garbage = true;
        o.split = true;
    });
    let expected: Vec<(u16, String)> = scenario(&o).map(|e| (e.id, e.json)).collect();
    let sim = serve(o).await.unwrap();
    let mut got = Vec::new();
    let mut sessions = 0;
    while got.len() < expected.len() {
        sessions += 1;
        assert!(sessions < 1000, "no progress");
        let mut client = login(&sim, "admin").await;
        client
            .send(Packet::new(PacketKind::Confirm, "1"))
            .await
            .unwrap();
        while got.len() < expected.len() {
            let Some(f) = next_frame(&mut client).await else {
                break;
            };
            if f.id != ids::RCON_LOGGED_IN && serde_json::from_str::<Value>(&f.json).is_ok() {
                got.push((f.id, f.json));
            }
        }
    }
    assert_eq!(got, expected);
    assert_eq!(
        sessions,
        expected.len().div_ceil(7),
        "one session per 7 events"
    );
    assert!(sim.wait_until(|s| s.scenario_done, WAIT).await);
    let stats = sim.stats();
    assert_eq!(stats.events_sent, expected.len() as u64);
    assert_eq!(stats.max_concurrent, 1);
}

/// A cut never takes back what was already written: a client that reads
/// slowly (a small receive buffer, so part of the frames still wait in the
/// simulator's send queue at the cut) and writes after the cut still gets
/// every frame before the cut, then a clean end of stream. A socket closed
/// with input arriving resets instead, and its unsent frames are lost.
#[tokio::test]
async fn a_cut_closes_cleanly_even_when_the_client_reads_slowly() {
    const BEFORE_CUT: u64 = 60;
    let sim = serve(opts(|o| {
        o.rate = 0.0;
        o.ping_secs = 0.0;
        o.matches = Some(2);
        o.drop_every = Some(BEFORE_CUT);
    }))
    .await
    .unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(2048).unwrap();
    let stream = socket.connect(sim.local_addr()).await.unwrap();
    let mut client = Framed::new(stream, ClientCodec::default());
    for packet in [
        Packet::new(PacketKind::Login, "admin"),
        Packet::new(PacketKind::Confirm, "1"),
    ] {
        client.send(packet).await.unwrap();
    }
    assert!(sim.wait_until(|s| s.events_sent == BEFORE_CUT, WAIT).await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    client
        .send(Packet::new(PacketKind::Command, "say late"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut events = 0;
    while let Some(frame) = next_frame(&mut client).await {
        events += u64::from(frame.id != ids::RCON_LOGGED_IN);
    }
    assert_eq!(events, BEFORE_CUT);
    assert!(
        sim.stats().commands.is_empty(),
        "a packet after the cut is not served"
    );
}

/// An event injected after the scenario ended goes out at once, not with
/// the next ping (a minute away here), as a real server sends a chat line.
#[tokio::test]
async fn an_injected_event_goes_out_at_once_after_the_scenario() {
    let sim = serve(opts(|o| {
        o.rate = 0.0;
        o.ping_secs = 60.0;
        o.matches = Some(1);
    }))
    .await
    .unwrap();
    let mut client = confirmed_client(&sim).await;
    let line =
        r#"{"PlayerID":"3","Name":"Quote","Message":"!rank","Team":"0","Time":"1","EventID":"42"}"#;
    sim.inject(ids::CHAT_MESSAGE, line.to_string());
    let arrived = timeout(Duration::from_secs(2), async {
        loop {
            let frame = next_frame(&mut client).await.expect("connection open");
            if frame.id == ids::CHAT_MESSAGE && frame.json == line {
                return;
            }
        }
    });
    assert!(arrived.await.is_ok(), "the injected line was held back");
}

#[tokio::test]
async fn a_new_login_replaces_the_old_session() {
    let sim = serve(opts(|o| o.ping_secs = 0.0)).await.unwrap();
    let mut first = login(&sim, "admin").await;
    assert_eq!(
        next_frame(&mut first).await.unwrap().id,
        ids::RCON_LOGGED_IN
    );
    let mut second = login(&sim, "admin").await;
    assert_eq!(
        frame_with_id(&mut second, ids::RCON_LOGGED_IN).await["RconSocket"],
        "2"
    );
    while next_frame(&mut first).await.is_some() {}
    let stats = sim.stats();
    assert_eq!((stats.logins_ok, stats.max_concurrent), (2, 2));
    // Still served: scenario events keep coming on the new session.
    let before = sim.stats().events_sent;
    assert!(sim.wait_until(|s| s.events_sent > before, WAIT).await);
}

/// A kick over RCON works as on a real server: the echo, then the player
/// leaves (Kicked 1) and no later event names the slot until it is taken again.
#[tokio::test]
async fn a_kicked_player_leaves_and_the_scenario_forgets_them() {
    let sim = serve(opts(|o| {
        o.rate = 400.0;
        o.matches = Some(2);
        o.ping_secs = 0.0;
    }))
    .await
    .unwrap();
    let mut client = login(&sim, "admin").await;
    client
        .send(Packet::new(PacketKind::Confirm, "1"))
        .await
        .unwrap();
    let (slot, name) = loop {
        let v = frame_with_id(&mut client, ids::PLAYER_CONNECT).await;
        let profile = v["Profile"].as_str().unwrap_or_default();
        if !profile.contains("bot") && !profile.contains("\"-1\"") {
            break (
                crate::sim::state::int(v.get("PlayerID")).unwrap(),
                v["PlayerName"].as_str().unwrap().to_string(),
            );
        }
    };
    let command = format!("kick {} \"banned\"", crate::rcon::console_quote(&name));
    client
        .send(Packet::new(PacketKind::Command, &command))
        .await
        .unwrap();
    let reply = command_answer(&mut client).await.0;
    assert_eq!(
        reply["ReturnText"].as_str().unwrap(),
        format!("KICK: Kicking player {name}...")
    );
    let gone = frame_with_id(&mut client, ids::PLAYER_DISCONNECT).await;
    let slot_of = |v: &Value, key: &str| crate::sim::state::int(v.get(key));
    assert_eq!(
        (slot_of(&gone, "PlayerID"), slot_of(&gone, "Kicked")),
        (Some(slot), Some(1)),
        "the kicked player leaves first"
    );
    assert_eq!(gone["KickReason"], "banned");
    let mut taken_again = false;
    while let Ok(Some(Ok(Ok(frame)))) = timeout(Duration::from_secs(1), client.next()).await {
        let v: Value = serde_json::from_str(&frame.json).unwrap();
        if frame.id == ids::PLAYER_CONNECT && slot_of(&v, "PlayerID") == Some(slot) {
            taken_again = true;
        }
        if taken_again {
            continue;
        }
        for key in super::SLOT_KEYS {
            assert_ne!(
                slot_of(&v, key),
                Some(slot),
                "event {} names the kicked slot",
                frame.id
            );
        }
        assert!(v.get(format!("PlayerData{slot}")).is_none());
    }
    assert!(sim.stats().scenario_done);
}
