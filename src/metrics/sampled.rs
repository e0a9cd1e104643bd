//! Metrics read at scrape time instead of counted as they happen: each
//! server's connection state, from its supervisor's status, and the store
//! writer's queue depth (a writer stuck retrying a commit cannot report it).

use crate::rcon::{ConnectionStatus, ServerHandle};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use std::sync::Mutex;
use std::time::SystemTime;
use tokio::sync::watch;

type Depth = Box<dyn Fn() -> Option<usize> + Send + Sync>;

/// The watched servers and the writer queue's probe.
#[derive(Default)]
pub(super) struct Sampled {
    servers: Mutex<Vec<(String, watch::Receiver<ConnectionStatus>)>>,
    writer_queue: Mutex<Option<Depth>>,
}

impl std::fmt::Debug for Sampled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sampled").finish_non_exhaustive()
    }
}

impl Sampled {
    pub(super) fn watch(&self, handles: &[ServerHandle]) {
        let mut servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        servers.extend(
            handles
                .iter()
                .map(|h| (h.name().to_string(), h.watch_status())),
        );
    }

    pub(super) fn set_writer_queue(&self, depth: Depth) {
        *self.writer_queue.lock().unwrap_or_else(|e| e.into_inner()) = Some(depth);
    }

    /// Each watched server's name and current status, in configuration order.
    pub(super) fn statuses(&self) -> Vec<(String, ConnectionStatus)> {
        let servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        servers
            .iter()
            .map(|(name, rx)| (name.clone(), rx.borrow().clone()))
            .collect()
    }
}

/// One labelled value per server.
fn per_server<M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    values: impl Iterator<Item = (String, M)>,
) -> std::fmt::Result {
    let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
    for (server, value) in values {
        let labels = [("server", server)];
        value.encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for Sampled {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let statuses = self.statuses();
        let each =
            |f: fn(&ConnectionStatus) -> u64| statuses.iter().map(move |(n, s)| (n.clone(), f(s)));
        per_server(
            &mut encoder,
            "server_connected",
            "1 while logged in to the server, else 0.",
            MetricType::Gauge,
            each(|s| u64::from(s.is_connected())).map(|(n, v)| (n, ConstGauge::new(v))),
        )?;
        per_server(
            &mut encoder,
            "server_reconnects",
            "Successful logins after the first one.",
            MetricType::Counter,
            each(|s| s.reconnects).map(|(n, v)| (n, ConstCounter::new(v))),
        )?;
        per_server(
            &mut encoder,
            "server_decode_errors",
            "Frames that did not check out, and events that could not be decoded.",
            MetricType::Counter,
            each(|s| s.decode_errors).map(|(n, v)| (n, ConstCounter::new(v))),
        )?;
        let now = SystemTime::now();
        per_server(
            &mut encoder,
            "server_last_event_age_seconds",
            "Seconds since the server's last frame (absent before the first).",
            MetricType::Gauge,
            statuses.iter().filter_map(|(n, s)| {
                let age = now.duration_since(s.last_event?).unwrap_or_default();
                Some((n.clone(), ConstGauge::new(age.as_secs_f64())))
            }),
        )?;
        let depth = self
            .writer_queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .and_then(|depth| depth());
        if let Some(depth) = depth {
            let gauge = ConstGauge::new(depth as u64);
            let metric = encoder.encode_descriptor(
                "writer_queue_depth",
                "Bundles waiting for the store writer.",
                None,
                gauge.metric_type(),
            )?;
            gauge.encode(metric)?;
        }
        Ok(())
    }
}
