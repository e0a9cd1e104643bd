//! The HTTP side: `GET /healthz` (200 or 503, JSON) and `GET /metrics`
//! (OpenMetrics text), on the address `[metrics] listen` names.

use super::{Health, Metrics, CONTENT_TYPE};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The metrics address could not be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot serve /metrics and /healthz on {addr}: {source}{hint}")]
pub struct MetricsError {
    addr: SocketAddr,
    source: std::io::Error,
    hint: &'static str,
}

/// Binds the metrics address, with an error that says what to change.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, MetricsError> {
    TcpListener::bind(addr).await.map_err(|source| {
        let hint = match source.kind() {
            std::io::ErrorKind::AddrInUse => {
                " (another process, perhaps another bman, listens there): choose another port in [metrics] listen or BMAN_METRICS_ADDR"
            }
            std::io::ErrorKind::AddrNotAvailable => {
                ": this machine has no such address; use 127.0.0.1 or 0.0.0.0 in [metrics] listen or BMAN_METRICS_ADDR"
            }
            std::io::ErrorKind::PermissionDenied => {
                ": ports below 1024 need privileges; choose a higher port in [metrics] listen or BMAN_METRICS_ADDR"
            }
            _ => ": check [metrics] listen or BMAN_METRICS_ADDR",
        };
        MetricsError { addr, source, hint }
    })
}

#[derive(Clone)]
struct Served {
    metrics: Arc<Metrics>,
    health: Health,
}

async fn healthz(State(served): State<Served>) -> impl IntoResponse {
    let report = served.health.report();
    let status = if report.is_healthy() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::to_string(&report).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body)
}

async fn render(State(served): State<Served>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        served.metrics.render(),
    )
}

/// Serves `/healthz` and `/metrics` on `listener` until `stop` is cancelled.
pub fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    health: Health,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(render))
        .with_state(Served { metrics, health });
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!("the metrics server stopped: {e}");
        }
    })
}
