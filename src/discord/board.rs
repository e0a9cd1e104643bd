//! The live server board: in the status channel (`status_channel_id`), one
//! message per server, edited in place every [`REFRESH`], when a match
//! starts or ends and when the connection comes or goes. It shows the
//! connection (or "offline since …, retrying"), mode, map, time left, the
//! humans with their K/D, the bot count and the team scores.
//!
//! The message is found again after a restart by searching the channel's
//! latest messages for the bot's own message with the server's footer
//! ([`footer`]); nothing is stored. Edits go through the outbox (paced,
//! 429s waited out; a waiting edit is replaced by a newer one), and the
//! server is asked with the same requests as `/servers`, so recording never
//! waits for the board.

use super::card::{inert, Panel, NAME_WIDTH, TEXT_WIDTH};
use super::outbox::{BoardMessage, Outbox};
use super::reply::{escape, unix_secs};
use super::routes::Routes;
use crate::event::{MatchInfo, PlayerData, Scoreboard};
use crate::handlers::board::MatchChange;
use crate::handlers::Context;
use crate::model::{now_ms, Mode};
use crate::rcon::{ConnectionStatus, RequestError, ServerHandle};
use crate::views::table::{fit, table, Cell};
use poise::serenity_prelude as serenity;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// How often each board is refreshed when nothing happens.
pub const REFRESH: Duration = Duration::from_secs(30);
/// How long a refresh waits for the game server's answers.
const QUERY_TIMEOUT: Duration = Duration::from_secs(3);
/// Most players listed on a board (the rest are counted).
pub const MAX_ROWS: usize = 12;
/// How many of the channel's latest messages are searched for the board.
const SEARCH_LIMIT: u8 = 50;
/// The game's clock: match times (TimeLeft, MaxTime) are in ticks.
const TICKS_PER_SECOND: i64 = 60;

/// What a board shows for one server at one moment.
#[derive(Debug, Clone)]
pub struct ServerView {
    pub server: String,
    pub mode: Mode,
    pub status: ConnectionStatus,
    /// Whether a match runs (as far as bman saw: true until a match ends).
    pub running: bool,
    /// The server's answers while connected (`None` when it is not; no
    /// scoreboard between matches).
    pub info: Option<Result<MatchInfo, RequestError>>,
    pub scoreboard: Option<Result<Scoreboard, RequestError>>,
}

/// The footer that marks a server's board message (how it is found again).
pub fn footer(server: &str) -> String {
    format!("live board · {server}")
}

/// The board message for one server.
pub fn board_panel(view: &ServerView, now_ms: i64) -> Panel {
    let status = &view.status;
    let (colour, description) = match (status.is_connected(), status.down_since) {
        (true, _) => (0x27AE60, online(view)),
        (false, Some(since)) => {
            let mut text = format!("🔴 offline since <t:{}:R>, retrying", unix_secs(since));
            if let Some(error) = &status.last_error {
                text.push_str(&format!("\n{}", escape(&fit(error, 160))));
            }
            (0xEB5757, text)
        }
        (false, None) => (0xF2C94C, "🟡 connecting…".to_string()),
    };
    Panel {
        description,
        colour,
        ..stopped_panel(&view.server, view.mode, now_ms)
    }
}

/// A connected server: map, time, players, scores and the player table.
fn online(view: &ServerView) -> String {
    let info = view.info.as_ref().and_then(|i| i.as_ref().ok());
    let board = view.scoreboard.as_ref().and_then(|s| s.as_ref().ok());
    let map = info
        .and_then(|i| i.map.as_deref())
        .or(board.and_then(|b| b.map.as_deref()));
    let mut first = "🟢 online".to_string();
    if let Some(map) = map {
        first.push_str(&format!(" · **{}**", escape(&fit(map, TEXT_WIDTH))));
    }
    match info {
        _ if !view.running => first.push_str(" · between matches"),
        Some(i) if i.overtime => first.push_str(" · overtime"),
        Some(MatchInfo {
            time_left: Some(ticks),
            ..
        }) => {
            let s = (ticks / TICKS_PER_SECOND).max(0);
            first.push_str(&format!(" · ⏱ {}:{:02} left", s / 60, s % 60));
        }
        _ => {}
    }
    let mut lines = vec![first];
    let error = view.info.as_ref().and_then(|r| r.as_ref().err());
    if let Some(error) = error.or(view.scoreboard.as_ref().and_then(|r| r.as_ref().err())) {
        lines.push(escape(&error.to_string()));
    }
    let scores = info
        .and_then(|i| i.team1_score.zip(i.team2_score))
        .or(board.and_then(|b| b.team1_score.zip(b.team2_score)));
    let Some(board) = board else {
        if let Some(n) = info.and_then(|i| i.players) {
            let slots = info.and_then(|i| i.max_players);
            lines.push(match slots {
                Some(max) => format!("{n} in the game · {max} slots"),
                None => format!("{n} in the game"),
            });
        }
        return lines.join("\n");
    };
    let (mut humans, bots): (Vec<&PlayerData>, Vec<&PlayerData>) =
        board.players.iter().partition(|p| !is_bot(p));
    let mut counts = format!(
        "{} · {}",
        plural(humans.len(), "player"),
        plural(bots.len(), "bot")
    );
    if let Some(max) = info.and_then(|i| i.max_players) {
        counts.push_str(&format!(" · {max} slots"));
    }
    if let (true, Some((a, b))) = (view.mode.is_team_mode(), scores) {
        counts.push_str(&format!(" · USC {a} – {b} The Man"));
    }
    lines.push(counts);
    let shown = top_players(&mut humans, MAX_ROWS);
    if !shown.is_empty() {
        let mut rows = vec![vec![Cell::left("Player"), Cell::right("K/D")]];
        for p in shown {
            let name = p.name.as_deref().unwrap_or("?");
            let kd = format!("{}/{}", p.kills.unwrap_or(0), p.deaths.unwrap_or(0));
            let mut row = vec![Cell::left(inert(&fit(name, NAME_WIDTH))), Cell::right(kd)];
            if view.mode.is_team_mode() {
                row.push(Cell::left(match p.team {
                    Some(1) => "USC",
                    Some(2) => "The Man",
                    _ => "",
                }));
            }
            rows.push(row);
        }
        lines.push(format!("```\n{}```", table(&rows)));
    }
    if humans.len() > MAX_ROWS {
        lines.push(format!("+{} more", humans.len() - MAX_ROWS));
    }
    lines.join("\n")
}

/// "1 bot", "2 bots".
fn plural(n: usize, what: &str) -> String {
    match n {
        1 => format!("1 {what}"),
        n => format!("{n} {what}s"),
    }
}

/// A bot, by the game's flag or its profile (see README "How recording works").
fn is_bot(p: &PlayerData) -> bool {
    p.bot || p.profile.as_ref().is_some_and(|profile| profile.is_bot())
}

/// The `n` best players (most kills, then fewest deaths), best first, in
/// linear time however many there are.
fn top_players<'a>(players: &mut [&'a PlayerData], n: usize) -> Vec<&'a PlayerData> {
    let order = |a: &&PlayerData, b: &&PlayerData| {
        (std::cmp::Reverse(a.kills), a.deaths).cmp(&(std::cmp::Reverse(b.kills), b.deaths))
    };
    if players.len() > n {
        players.select_nth_unstable_by(n, order);
    }
    let mut top: Vec<&PlayerData> = players.iter().take(n).copied().collect();
    top.sort_by(order);
    top
}

/// Asks a server for what its board shows: nothing when it is not
/// connected, no scoreboard between matches.
async fn look(handle: &ServerHandle, running: bool) -> ServerView {
    let status = handle.status();
    let asking = handle.with_timeout(QUERY_TIMEOUT);
    let (info, scoreboard) = match (status.is_connected(), running) {
        (true, true) => {
            let (info, scoreboard) = tokio::join!(asking.match_info(), asking.scoreboard());
            (Some(info), Some(scoreboard))
        }
        (true, false) => (Some(asking.match_info().await), None),
        (false, _) => (None, None),
    };
    ServerView {
        server: handle.name().to_string(),
        mode: handle.mode(),
        status,
        running,
        info,
        scoreboard,
    }
}

/// The running boards: one task per server with a status channel.
pub(crate) struct Boards {
    boards: Vec<(JoinHandle<()>, u64, Arc<BoardMessage>, Mode)>,
}

impl Boards {
    /// Starts them.
    pub fn spawn(
        http: Arc<serenity::Http>,
        app: &Arc<Context>,
        routes: &Routes,
        outbox: &Outbox,
    ) -> Boards {
        let boards = routes
            .boards()
            .into_iter()
            .filter_map(|(server, channel)| {
                let handle = app.server(&server)?.clone();
                let mode = handle.mode();
                let board = Arc::new(BoardMessage {
                    server,
                    id: Mutex::new(None),
                });
                let task = run(
                    http.clone(),
                    handle,
                    channel,
                    app.watch_matches(),
                    outbox.clone(),
                    board.clone(),
                );
                Some((tokio::spawn(task), channel, board, mode))
            })
            .collect();
        Boards { boards }
    }

    /// Stops the refreshes and leaves each board (whose message is known)
    /// saying that bman stopped, so it does not show a stale match; the
    /// caller then lets the outbox send what is queued.
    pub fn stop(self, outbox: &Outbox) {
        for (task, channel, board, mode) in self.boards {
            task.abort();
            if board.id().is_some() {
                outbox.push_board(
                    channel,
                    &board,
                    stopped_panel(&board.server, mode, now_ms()),
                );
            }
        }
    }
}

/// A board while bman is not running.
pub fn stopped_panel(server: &str, mode: Mode, now_ms: i64) -> Panel {
    Panel {
        title: escape(&format!("{server} · {}", mode.as_str().to_uppercase())),
        description: "⚪ bman stopped; this board resumes when it starts again".to_string(),
        colour: 0x95A5A6,
        footer: Some(footer(server)),
        timestamp_ms: Some(now_ms),
    }
}

/// One server's board: find its message, then refresh it for good.
async fn run(
    http: Arc<serenity::Http>,
    handle: ServerHandle,
    channel: u64,
    mut matches: broadcast::Receiver<MatchChange>,
    outbox: Outbox,
    board: Arc<BoardMessage>,
) {
    let server = handle.name().to_string();
    let mut failures = 0;
    loop {
        match find(&http, channel, &server).await {
            Ok(found) => {
                if let Some(id) = found {
                    info!(server, channel, "live board: editing message {id}");
                }
                *board.id.lock().unwrap_or_else(|e| e.into_inner()) = found;
                break;
            }
            Err(e) if is_forbidden(&e) => {
                warn!(server, channel, "live board: cannot read the channel's messages ({e}); give the bot Read Message History there, or each restart posts a new board message");
                break;
            }
            Err(e) => {
                if failures == 0 {
                    warn!(server, channel, "live board: cannot search the channel for its message yet ({e}); retrying every {}s", REFRESH.as_secs());
                }
                failures += 1;
                tokio::time::sleep(REFRESH).await;
            }
        }
    }
    let mut status = handle.watch_status();
    // Joined mid-match, as far as anyone knows.
    let mut running = true;
    loop {
        let view = look(&handle, running).await;
        outbox.push_board(channel, &board, board_panel(&view, now_ms()));
        tokio::select! {
            _ = tokio::time::sleep(REFRESH) => {}
            _ = connection_change(&mut status, &view.status) => {}
            change = match_change(&mut matches, &server) => running = change.unwrap_or(running),
        }
    }
}

/// Resolves when the server connects or disconnects, or its first attempt
/// fails (a board that said "connecting…" then says since when it is
/// offline); never once its supervisor is gone.
async fn connection_change(
    status: &mut watch::Receiver<ConnectionStatus>,
    shown: &ConnectionStatus,
) {
    let (connected, down) = (shown.is_connected(), shown.down_since.is_some());
    if status
        .wait_for(|s| s.is_connected() != connected || s.down_since.is_some() != down)
        .await
        .is_err()
    {
        std::future::pending::<()>().await;
    }
}

/// Resolves when a match starts (`Some(true)`) or ends (`Some(false)`) on
/// `server`, or with `None` when some such news was missed.
async fn match_change(
    matches: &mut broadcast::Receiver<MatchChange>,
    server: &str,
) -> Option<bool> {
    loop {
        match matches.recv().await {
            Ok(change) if change.server == server => return Some(change.running),
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => return None,
            Err(RecvError::Closed) => std::future::pending::<()>().await,
        }
    }
}

/// The bot's own board message for `server` among the channel's latest messages.
async fn find(
    http: &serenity::Http,
    channel: u64,
    server: &str,
) -> Result<Option<u64>, serenity::Error> {
    let me = http.get_current_user().await?.id;
    let messages = serenity::ChannelId::new(channel.max(1))
        .messages(http, serenity::GetMessages::new().limit(SEARCH_LIMIT))
        .await?;
    let footer = footer(server);
    let as_text = escape(&footer);
    Ok(messages
        .iter()
        .find(|m| {
            m.author.id == me
                && (m
                    .embeds
                    .iter()
                    .any(|e| e.footer.as_ref().is_some_and(|f| f.text == footer))
                    || m.content.ends_with(&as_text))
        })
        .map(|m| m.id.get()))
}

fn is_forbidden(error: &serenity::Error) -> bool {
    matches!(
        error,
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(r))
            if r.status_code.as_u16() == 403
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Profile;
    use std::time::{SystemTime, UNIX_EPOCH};

    fn player(name: &str, kills: i64, deaths: i64, team: i32, bot: bool) -> PlayerData {
        PlayerData {
            name: Some(name.into()),
            kills: Some(kills),
            deaths: Some(deaths),
            team: Some(team),
            bot,
            profile: Some(Profile {
                store: 0,
                id: if bot { "bot3".into() } else { "7656".into() },
            }),
            ..PlayerData::default()
        }
    }

    #[test]
    fn a_connected_team_server_shows_map_time_players_bots_and_scores() {
        let mut players: Vec<PlayerData> = (0..15)
            .map(|i| player(&format!("p{i}"), i, 3, 1 + i as i32 % 2, false))
            .collect();
        players.push(player("BotA", 99, 0, 1, true));
        let view = ServerView {
            server: "eu-tdm".into(),
            mode: Mode::Tdm,
            status: ConnectionStatus {
                connected_since: Some(SystemTime::now()),
                ..ConnectionStatus::default()
            },
            running: true,
            info: Some(Ok(MatchInfo {
                map: Some("Fields".into()),
                time_left: Some(272 * 60),
                max_players: Some(16),
                team1_score: Some(3),
                team2_score: Some(1),
                ..MatchInfo::default()
            })),
            scoreboard: Some(Ok(Scoreboard {
                players,
                ..Scoreboard::default()
            })),
        };
        let panel = board_panel(&view, 1_700_000_000_000);
        println!("{}\n{}", panel.title, panel.description);
        let lines: Vec<&str> = panel.description.lines().collect();
        assert_eq!(lines[0], "🟢 online · **Fields** · ⏱ 4:32 left");
        assert_eq!(
            lines[1],
            "15 players · 1 bot · 16 slots · USC 3 – 1 The Man"
        );
        assert_eq!(lines[3], "Player   K/D");
        assert_eq!(lines[4], "p14     14/3  USC");
        assert_eq!(lines[5], "p13     13/3  The Man");
        assert!(
            !panel.description.contains("BotA"),
            "bots are counted, not listed"
        );
        assert!(panel.description.ends_with("```\n+3 more"));
        assert_eq!(panel.footer.as_deref(), Some("live board · eu-tdm"));

        // Between matches: no scoreboard is asked for, the game's count is shown.
        let between = ServerView {
            running: false,
            scoreboard: None,
            info: Some(Ok(MatchInfo {
                map: Some("Fields".into()),
                players: Some(9),
                max_players: Some(16),
                ..MatchInfo::default()
            })),
            ..view
        };
        assert_eq!(
            board_panel(&between, 0).description,
            "🟢 online · **Fields** · between matches\n9 in the game · 16 slots"
        );
    }

    #[test]
    fn an_offline_server_says_since_when_and_that_it_retries() {
        let view = ServerView {
            server: "dm".into(),
            mode: Mode::Dm,
            status: ConnectionStatus {
                down_since: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
                last_error: Some("cannot connect: Connection refused".into()),
                ..ConnectionStatus::default()
            },
            running: true,
            info: None,
            scoreboard: None,
        };
        let panel = board_panel(&view, 0);
        assert_eq!(
            panel.description,
            "🔴 offline since <t:1700000000:R>, retrying\ncannot connect\\: Connection refused"
        );
        assert_eq!(panel.colour, 0xEB5757);
    }
}
