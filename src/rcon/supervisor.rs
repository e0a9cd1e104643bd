//! One supervised task per game server: connect, run a session, and when it
//! ends reconnect with capped exponential backoff (1 s .. 30 s, jittered). A
//! rejected login is reported clearly and retried only every minute. The loop
//! owns the only socket, so there are never two connections to one server.

use super::backoff::Backoff;
use super::handle::{ConnectionStatus, Request, RequestError, ServerHandle};
use super::session::{SessionContext, SessionEnd};
use super::sink::FrameSink;
use crate::model::ServerInfo;
use crate::secret::Secret;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

/// Reconnect timing; tests shorten it.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub min: Duration,
    pub max: Duration,
    /// The wait after a rejected login.
    pub login_rejected: Duration,
    pub connect_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            min: Duration::from_secs(1),
            max: Duration::from_secs(30),
            login_rejected: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// A session that lasted this long counts as healthy: backoff starts over.
const HEALTHY_SESSION: Duration = Duration::from_secs(30);

/// Where and how to log in to one game server.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub info: Arc<ServerInfo>,
    /// `host:port`.
    pub address: String,
    pub password: Secret,
}

/// Starts the supervised connection of one server; every frame it receives
/// goes to `sink`.
pub fn spawn<S: FrameSink>(
    endpoint: Endpoint,
    sink: S,
    shutdown: CancellationToken,
    policy: RetryPolicy,
) -> (ServerHandle, JoinHandle<()>) {
    let (request_tx, request_rx) = mpsc::channel(64);
    let (status_tx, status_rx) = watch::channel(ConnectionStatus::default());
    let handle = ServerHandle::new(endpoint.info.clone(), request_tx, status_rx);
    let ctx = SessionContext {
        info: endpoint.info,
        password: endpoint.password,
        sink,
        status: status_tx,
        shutdown,
        next_request_id: 0,
    };
    let task = tokio::spawn(supervise(ctx, endpoint.address, request_rx, policy));
    (handle, task)
}

async fn supervise<S: FrameSink>(
    mut ctx: SessionContext<S>,
    address: String,
    mut requests: mpsc::Receiver<Request>,
    policy: RetryPolicy,
) {
    let name = ctx.info.name.clone();
    let mut backoff = Backoff::new(policy.min, policy.max);
    let mut rejected_before = false;
    loop {
        let started = Instant::now();
        let delay = match tokio::time::timeout(policy.connect_timeout, TcpStream::connect(&address))
            .await
        {
            Ok(Ok(stream)) => match ctx.run(stream, &mut requests).await {
                SessionEnd::Shutdown => break,
                SessionEnd::LoginRejected(reason) => {
                    let wait = policy.login_rejected;
                    if rejected_before {
                        warn!(server = %name, "login still rejected ({reason}); next try in {}s", wait.as_secs());
                    } else {
                        error!(server = %name, "login to {address} rejected: {reason}. Check the RCON password (bmsettings.ini [config] password, RCON_PASSWORD or the server's password_env). Retrying every {}s.", wait.as_secs());
                    }
                    rejected_before = true;
                    ctx.status.send_modify(|s| {
                        s.last_error = Some(format!("login rejected: {reason}"));
                        s.failed_attempts += 1;
                        s.down_since.get_or_insert_with(SystemTime::now);
                    });
                    wait
                }
                SessionEnd::Lost(reason) => {
                    rejected_before = false;
                    if started.elapsed() >= HEALTHY_SESSION {
                        backoff.reset();
                    }
                    let wait = backoff.next_delay();
                    warn!(server = %name, "connection lost: {reason}; reconnecting in {:.1}s", wait.as_secs_f64());
                    wait
                }
            },
            Ok(Err(e)) => connect_failed(&ctx, &mut backoff, &address, &e.to_string()),
            Err(_) => connect_failed(&ctx, &mut backoff, &address, "connect timed out"),
        };
        if !wait_or_refuse(&ctx, &mut requests, delay).await {
            break;
        }
    }
    info!(server = %name, "connection closed");
}

fn connect_failed<S>(
    ctx: &SessionContext<S>,
    backoff: &mut Backoff,
    address: &str,
    reason: &str,
) -> Duration {
    let wait = backoff.next_delay();
    warn!(server = %ctx.info.name, "cannot connect to {address}: {reason}; retrying in {:.1}s", wait.as_secs_f64());
    ctx.status.send_modify(|s| {
        s.last_error = Some(format!("cannot connect: {reason}"));
        s.failed_attempts += 1;
        s.down_since.get_or_insert_with(SystemTime::now);
    });
    wait
}

/// Waits out a reconnect delay, answering requests with "not connected";
/// `false` when shutdown was requested.
async fn wait_or_refuse<S>(
    ctx: &SessionContext<S>,
    requests: &mut mpsc::Receiver<Request>,
    delay: Duration,
) -> bool {
    ctx.status
        .send_modify(|s| s.retry_at = Some(SystemTime::now() + delay));
    let sleep = tokio::time::sleep(delay);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return false,
            _ = &mut sleep => return true,
            Some(request) = requests.recv() => {
                let _ = request.reply.send(Err(RequestError::NotConnected(ctx.info.name.clone())));
            }
        }
    }
}
