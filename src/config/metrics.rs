//! The `[metrics]` section: where `/healthz` and `/metrics` are served.

use super::{ConfigError, SectionReader};
use std::net::SocketAddr;

/// The `[metrics]` section (`BMAN_METRICS_ADDR` wins); off when neither is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSettings {
    pub listen: Option<SocketAddr>,
}

impl MetricsSettings {
    pub(super) const KEYS: &'static [&'static str] = &["listen"];

    pub(super) fn read(
        m: &SectionReader,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<MetricsSettings, ConfigError> {
        const EXPECTED: &str =
            "an IP address and port, e.g. 127.0.0.1:9187 (0.0.0.0:9187 on every interface)";
        if let Some(addr) = env("BMAN_METRICS_ADDR").filter(|a| !a.trim().is_empty()) {
            let listen = addr.trim().parse().map_err(|_| ConfigError::Section {
                path: m.path.to_path_buf(),
                section: m.section.to_string(),
                message: format!("BMAN_METRICS_ADDR: expected {EXPECTED}, found {addr:?}"),
            })?;
            return Ok(MetricsSettings {
                listen: Some(listen),
            });
        }
        Ok(MetricsSettings {
            listen: m.parse("listen", EXPECTED)?,
        })
    }
}
