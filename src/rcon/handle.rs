//! [`ServerHandle`]: the cloneable way for the rest of bman (the bot, chat
//! commands) to ask one game server something and await the reply, and to
//! read its connection state.

use crate::event::{MatchInfo, PlayerData, Scoreboard};
use crate::model::{Mode, ServerInfo};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, oneshot, watch};

/// How long a request waits for its reply unless the caller says otherwise.
pub(crate) const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Connection state of one server, for `/servers` and logs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionStatus {
    /// Set while logged in: when this session started.
    pub connected_since: Option<SystemTime>,
    /// When the last frame arrived (any session).
    pub last_event: Option<SystemTime>,
    /// Successful logins after the first one.
    pub reconnects: u64,
    /// Why the last session ended or the last attempt failed.
    pub last_error: Option<String>,
    /// Frames received since start (all sessions).
    pub events_received: u64,
    /// Frames that did not check out, and events that could not be decoded
    /// (each is logged; the stream goes on).
    pub decode_errors: u64,
    /// Attempts (connects and logins) that failed since the last login; a
    /// lost session is not one, so 0 while the first retry is still ahead.
    pub failed_attempts: u32,
    /// While not connected: since when (the loss, or the first attempt).
    pub down_since: Option<SystemTime>,
    /// While waiting out a backoff: when the next attempt starts.
    pub retry_at: Option<SystemTime>,
}

impl ConnectionStatus {
    pub fn is_connected(&self) -> bool {
        self.connected_since.is_some()
    }
}

/// Why a request got no reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("server {0} is not connected")]
    NotConnected(String),
    #[error("server {0} did not answer in time (some servers never answer requests)")]
    Timeout(String),
    #[error("server {0} disconnected before answering")]
    Disconnected(String),
    #[error("server {0}: the reply did not have the expected shape")]
    UnexpectedReply(String),
    #[error("refused: {0}")]
    Refused(String),
}

/// What a request asks for; the session turns it into a packet.
#[derive(Debug)]
pub(crate) enum RequestKind {
    Scoreboard,
    Match,
    Player(String),
    Command(String),
}

/// The reply a session hands back to the waiting caller.
#[derive(Debug)]
pub(crate) enum Reply {
    Scoreboard(Scoreboard),
    Match(MatchInfo),
    Player(PlayerData),
    /// command_entered's ReturnText.
    Command(String),
}

#[derive(Debug)]
pub(crate) struct Request {
    pub kind: RequestKind,
    pub reply: oneshot::Sender<Result<Reply, RequestError>>,
}

/// One server's request channel and connection state. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ServerHandle {
    info: Arc<ServerInfo>,
    requests: mpsc::Sender<Request>,
    status: watch::Receiver<ConnectionStatus>,
    timeout: Duration,
}

impl ServerHandle {
    pub(crate) fn new(
        info: Arc<ServerInfo>,
        requests: mpsc::Sender<Request>,
        status: watch::Receiver<ConnectionStatus>,
    ) -> Self {
        ServerHandle {
            info,
            requests,
            status,
            timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }

    pub fn name(&self) -> &str {
        &self.info.name
    }

    pub fn mode(&self) -> Mode {
        self.info.mode
    }

    /// A copy of this handle whose requests wait at most `timeout`.
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        ServerHandle {
            timeout,
            ..self.clone()
        }
    }

    pub fn status(&self) -> ConnectionStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status change (tests, `/servers`).
    pub fn watch_status(&self) -> watch::Receiver<ConnectionStatus> {
        self.status.clone()
    }

    pub async fn scoreboard(&self) -> Result<Scoreboard, RequestError> {
        match self.request(RequestKind::Scoreboard).await? {
            Reply::Scoreboard(s) => Ok(s),
            _ => Err(RequestError::UnexpectedReply(self.info.name.clone())),
        }
    }

    pub async fn match_info(&self) -> Result<MatchInfo, RequestError> {
        match self.request(RequestKind::Match).await? {
            Reply::Match(m) => Ok(m),
            _ => Err(RequestError::UnexpectedReply(self.info.name.clone())),
        }
    }

    /// One player by slot id or name; the game sends nothing when there is no
    /// such player, so that case ends as [`RequestError::Timeout`].
    pub async fn player(&self, id_or_name: &str) -> Result<PlayerData, RequestError> {
        match self
            .request(RequestKind::Player(id_or_name.to_string()))
            .await?
        {
            Reply::Player(p) => Ok(p),
            _ => Err(RequestError::UnexpectedReply(self.info.name.clone())),
        }
    }

    /// Runs one console command and returns the game's ReturnText. Build
    /// arguments with [`console_quote`]; a command with a line break is refused.
    pub async fn command(&self, text: &str) -> Result<String, RequestError> {
        if text.contains(['\n', '\r', '\0']) {
            return Err(RequestError::Refused(
                "a console command must be one line".into(),
            ));
        }
        match self
            .request(RequestKind::Command(text.trim().to_string()))
            .await?
        {
            Reply::Command(t) => Ok(t),
            _ => Err(RequestError::UnexpectedReply(self.info.name.clone())),
        }
    }

    async fn request(&self, kind: RequestKind) -> Result<Reply, RequestError> {
        let name = || self.info.name.clone();
        if !self.status.borrow().is_connected() {
            return Err(RequestError::NotConnected(name()));
        }
        let (tx, rx) = oneshot::channel();
        let request = Request { kind, reply: tx };
        tokio::time::timeout(self.timeout, async {
            self.requests
                .send(request)
                .await
                .map_err(|_| RequestError::NotConnected(name()))?;
            rx.await.map_err(|_| RequestError::Disconnected(name()))?
        })
        .await
        .map_err(|_| RequestError::Timeout(name()))?
    }
}

/// Quotes one console argument so it stays one argument whatever it contains.
///
/// The game's console parser is not documented, so instead of relying on an
/// escape it might not understand, a `"` becomes `'` (a name with a quote
/// still reads the same to a person), a `;` (a command separator in many
/// consoles) becomes `,`, and control characters become spaces. Nothing
/// inside the result can close the quotes or end the command.
pub fn console_quote(arg: &str) -> String {
    let inner: String = arg
        .chars()
        .map(|c| match c {
            '"' => '\'',
            ';' => ',',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    format!("\"{inner}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_cannot_break_out() {
        assert_eq!(console_quote("Bob"), "\"Bob\"");
        assert_eq!(console_quote("a\"; kick \"all"), "\"a', kick 'all\"");
        assert_eq!(console_quote("x\ny\0z\\"), "\"x y z\\\"");
        for hostile in ["\"", "\"\"\"", "\\\"", "a\r\nquit", "└\"┐"] {
            let q = console_quote(hostile);
            assert_eq!(q.matches('"').count(), 2, "{q}");
            assert!(!q.chars().any(char::is_control), "{q}");
        }
    }
}
