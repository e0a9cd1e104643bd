//! What `/healthz` answers: healthy while the store writer runs and every
//! server is connected, or has lost its connection and not yet failed a
//! retry (it is within its backoff). A server whose retry failed (it stays
//! down past its backoff), or whose login was rejected, is unhealthy until it
//! is logged in again.

use super::sampled::Sampled;
use crate::rcon::ConnectionStatus;
use serde::Serialize;
use std::sync::Arc;
use std::time::SystemTime;
use tokio_util::sync::CancellationToken;

/// Evaluates health on demand; cheap to clone.
#[derive(Clone, Debug)]
pub struct Health {
    sampled: Arc<Sampled>,
    writer_stopped: CancellationToken,
}

/// One server's state in a [`HealthReport`].
#[derive(Debug, Clone, Serialize)]
pub struct ServerHealth {
    pub name: String,
    /// `connected`, `connecting` (starting, or within its backoff after a loss) or `down`.
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub down_for_s: Option<u64>,
    #[serde(skip_serializing_if = "is_zero")]
    pub failed_attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The `/healthz` body.
#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    /// `ok` or `unhealthy`.
    pub status: &'static str,
    /// Why it is unhealthy, one sentence each (empty when ok).
    pub reasons: Vec<String>,
    /// `running` or `stopped`.
    pub writer: &'static str,
    pub servers: Vec<ServerHealth>,
}

impl HealthReport {
    pub fn is_healthy(&self) -> bool {
        self.reasons.is_empty()
    }
}

impl Health {
    pub(super) fn new(sampled: Arc<Sampled>, writer_stopped: CancellationToken) -> Health {
        Health {
            sampled,
            writer_stopped,
        }
    }

    pub fn report(&self) -> HealthReport {
        let mut reasons = Vec::new();
        let writer_running = !self.writer_stopped.is_cancelled();
        if !writer_running {
            reasons.push("the store writer stopped: nothing is recorded".to_string());
        }
        let now = SystemTime::now();
        let servers: Vec<ServerHealth> = self
            .sampled
            .statuses()
            .into_iter()
            .map(|(name, status)| server_health(name, &status, now))
            .collect();
        for s in servers.iter().filter(|s| s.state == "down") {
            reasons.push(format!(
                "server {} is down{}: {}",
                s.name,
                s.down_for_s
                    .map(|d| format!(" for {d}s"))
                    .unwrap_or_default(),
                s.last_error.as_deref().unwrap_or("no connection")
            ));
        }
        HealthReport {
            status: if reasons.is_empty() {
                "ok"
            } else {
                "unhealthy"
            },
            reasons,
            writer: if writer_running { "running" } else { "stopped" },
            servers,
        }
    }
}

fn server_health(name: String, status: &ConnectionStatus, now: SystemTime) -> ServerHealth {
    let state = if status.is_connected() {
        "connected"
    } else if status.failed_attempts == 0 {
        "connecting"
    } else {
        "down"
    };
    ServerHealth {
        name,
        state,
        down_for_s: status
            .down_since
            .filter(|_| !status.is_connected())
            .map(|t| now.duration_since(t).unwrap_or_default().as_secs()),
        failed_attempts: status.failed_attempts,
        last_error: status.last_error.clone().filter(|_| !status.is_connected()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_is_healthy_until_a_retry_fails() {
        let now = SystemTime::now();
        let mut s = ConnectionStatus::default();
        assert_eq!(server_health("a".into(), &s, now).state, "connecting");
        s.connected_since = Some(now);
        assert_eq!(server_health("a".into(), &s, now).state, "connected");
        s.connected_since = None;
        s.down_since = Some(now);
        s.last_error = Some("connection closed by the server".into());
        assert_eq!(server_health("a".into(), &s, now).state, "connecting");
        s.failed_attempts = 1;
        let down = server_health("a".into(), &s, now);
        assert_eq!(down.state, "down");
        assert_eq!(down.down_for_s, Some(0));
    }
}
