//! One game server's check: the real supervisor and session log in (the
//! same code as `bman run`), a sink that keeps nothing remembers what the
//! server said after the login, a request_match asks for its mode and map,
//! and the connection closes.

use super::{shown, within, CheckLine};
use crate::config::ServerConfig;
use crate::event::{Event, GameEvent};
use crate::game::modes::mode_of_id;
use crate::model::ServerInfo;
use crate::rcon::supervisor::{self, Endpoint, RetryPolicy};
use crate::rcon::FrameSink;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Connect (5 s) plus login (10 s) and a little.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(17);
/// How long the server has to answer request_match (some never do).
const MATCH_TIMEOUT: Duration = Duration::from_secs(3);

/// What the server said when the login was accepted (rcon_logged_in).
#[derive(Default, Clone)]
struct Hello {
    gamemode_id: Option<i32>,
    map: Option<String>,
}

/// Records nothing: remembers only the rcon_logged_in event.
#[derive(Clone, Default)]
struct Listen(Arc<Mutex<Option<Hello>>>);

impl FrameSink for Listen {
    fn keep(&mut self, _ts_ms: i64, _id: u16, _json: &str) {}

    async fn pass_on(&mut self, _ts_ms: i64, event: GameEvent) -> bool {
        if let Event::RconLoggedIn {
            gamemode_id,
            map_name,
        } = event.event
        {
            *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(Hello {
                gamemode_id,
                map: map_name,
            });
        }
        true
    }
}

pub(super) async fn check(server: &ServerConfig) -> CheckLine {
    let label = format!("server {}", server.name);
    let address = server.address();
    let endpoint = Endpoint {
        info: Arc::new(ServerInfo {
            name: server.name.clone(),
            mode: server.mode,
        }),
        address: address.clone(),
        password: server.password.clone(),
    };
    let heard = Listen::default();
    let stop = CancellationToken::new();
    let (handle, task) = supervisor::spawn(
        endpoint,
        heard.clone(),
        stop.clone(),
        RetryPolicy::default(),
    );
    let mut status = handle.watch_status();
    let settled = within(
        LOGIN_TIMEOUT,
        status.wait_for(|s| s.is_connected() || s.last_error.is_some()),
    )
    .await
    .and_then(|s| s.ok().map(|s| s.clone()));
    let line = match settled {
        None => CheckLine::fail(
            &label,
            format!(
                "{address} did not complete a login within {}s: check host and port (is it the RCON port, RconPort in bm_server.ini?)",
                LOGIN_TIMEOUT.as_secs()
            ),
        ),
        Some(s) if !s.is_connected() => {
            CheckLine::fail(&label, failure(server, s.last_error.as_deref().unwrap_or("")))
        }
        Some(_) => {
            let answer = handle.with_timeout(MATCH_TIMEOUT).match_info().await.ok();
            // rcon_logged_in comes first, before any reply.
            let hello = heard.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
            logged_in(server, answer, hello.unwrap_or_default())
        }
    };
    stop.cancel();
    let _ = within(Duration::from_secs(2), task).await;
    line
}

/// The line for a server that accepted the login: its mode and map, and a
/// failure if it plays another mode than configured.
fn logged_in(
    server: &ServerConfig,
    answer: Option<crate::event::MatchInfo>,
    hello: Hello,
) -> CheckLine {
    let label = format!("server {}", server.name);
    let gamemode_id = answer
        .as_ref()
        .and_then(|m| m.gamemode_id)
        .or(hello.gamemode_id);
    let map = answer
        .as_ref()
        .and_then(|m| m.map.clone())
        .or(hello.map)
        .filter(|m| !m.trim().is_empty());
    let mode_name = answer.as_ref().and_then(|m| m.gamemode_name.clone());
    let plays = match (&mode_name, gamemode_id) {
        (Some(name), Some(id)) => format!("plays {} (GameModeID {id})", shown(name)),
        (Some(name), None) => format!("plays {}", shown(name)),
        (None, Some(id)) => format!("plays GameModeID {id}"),
        (None, None) => "did not say its mode".to_string(),
    };
    let on_map = map
        .map(|m| format!(" on {}", shown(&m)))
        .unwrap_or_default();
    let replied = if answer.is_some() {
        ""
    } else {
        " (no answer to request_match; some servers never answer requests)"
    };
    let summary = format!("{}: logged in; {plays}{on_map}{replied}", server.address());
    match gamemode_id.and_then(mode_of_id) {
        Some(actual) if actual != server.mode => CheckLine::fail(
            label,
            format!(
                "{summary}, but it is configured as {}: its matches would not be recorded; set its mode to {actual} (or fix its port in [bm])",
                server.mode
            ),
        ),
        _ => CheckLine::ok(label, summary),
    }
}

/// What a failed connection or login means, and what to do.
fn failure(server: &ServerConfig, error: &str) -> String {
    let address = server.address();
    if let Some(reason) = error.strip_prefix("login rejected: ") {
        return format!(
            "{address} refused the login ({reason}): check the RCON password ([config] password, RCON_PASSWORD or the server's password_env) against RconPassword in the game's bm_server.ini"
        );
    }
    let reason = error.strip_prefix("cannot connect: ").unwrap_or(error);
    if reason.to_ascii_lowercase().contains("refused") {
        return format!(
            "nothing listens on {address} (connection refused): start the game server with RCON enabled (to try bman without a game: `bman simulate --port {} --mode {}`), or fix the host and port in bmsettings.ini",
            server.port, server.mode
        );
    }
    format!(
        "cannot connect to {address} ({reason}): check the host and port, and that no firewall blocks bman"
    )
}
