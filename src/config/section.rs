//! Reading one INI section with errors that point at the file, and the
//! check that every section and key is one bman reads.

use super::{discord::DiscordSettings, servers, ChatCommandSettings, ConfigError, MetricsSettings};
use crate::ini::{Entry, Ini};
use std::collections::BTreeMap;
use std::path::Path;

/// Reads one section's values with errors that point at the file.
pub(crate) struct SectionReader<'a> {
    pub(super) path: &'a Path,
    pub(super) section: &'a str,
    pub(super) entries: &'a BTreeMap<String, Entry>,
}

impl SectionReader<'_> {
    pub(crate) fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Value {
            path: self.path.to_path_buf(),
            line: self.entries.get(key).map_or(0, |e| e.line),
            section: self.section.to_string(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn text(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(|e| e.value.as_str())
    }

    pub(crate) fn required(&self, key: &str) -> Result<&str, ConfigError> {
        match self.text(key) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(ConfigError::Section {
                path: self.path.to_path_buf(),
                section: self.section.to_string(),
                message: format!("missing key `{key}`"),
            }),
        }
    }

    pub(crate) fn parse<T: std::str::FromStr>(
        &self,
        key: &str,
        expected: &str,
    ) -> Result<Option<T>, ConfigError> {
        match self.text(key) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| self.error(key, format!("expected {expected}, found {v:?}"))),
        }
    }

    pub(crate) fn port(&self, key: &str) -> Result<Option<u16>, ConfigError> {
        match self.parse::<u16>(key, "a TCP port number (1-65535)")? {
            Some(0) => Err(self.error(key, "expected a TCP port number (1-65535), found 0")),
            other => Ok(other),
        }
    }

    pub(crate) fn flag(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.text(key).map(str::to_ascii_lowercase).as_deref() {
            None | Some("") => Ok(default),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(other) => Err(self.error(
                key,
                format!("expected on/off (true/false, yes/no, 1/0), found {other:?}"),
            )),
        }
    }

    pub(crate) fn id_list(&self, key: &str) -> Result<Vec<u64>, ConfigError> {
        let Some(text) = self.text(key) else {
            return Ok(Vec::new());
        };
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse().map_err(|_| {
                    self.error(
                        key,
                        format!("expected comma-separated Discord ids, found {s:?}"),
                    )
                })
            })
            .collect()
    }
}

/// Every section and key bman reads; anything else is a typo to report.
const VOCABULARY: &[(&str, &[&str])] = &[
    ("bm", servers::BM_KEYS),
    ("config", super::CONFIG_KEYS),
    ("ratings", super::RATINGS_KEYS),
    ("server.", servers::SERVER_KEYS),
    ("discord", DiscordSettings::KEYS),
    ("chat_commands", ChatCommandSettings::KEYS),
    ("bans", crate::handlers::bans::BanSettings::KEYS),
    ("metrics", MetricsSettings::KEYS),
];

/// Refuses sections and keys bman does not read (a `pasword` would otherwise
/// look like a wrong password), naming the closest known one.
pub(super) fn check_vocabulary(path: &Path, ini: &Ini) -> Result<(), ConfigError> {
    for (section, entries) in &ini.sections {
        let line = ini.header_lines.get(section).copied().unwrap_or(0);
        let known = VOCABULARY
            .iter()
            .find(|(name, _)| match name.strip_suffix('.') {
                Some(prefix) => section
                    .strip_prefix(prefix)
                    .is_some_and(|s| s.starts_with('.')),
                None => name == section,
            });
        let Some((_, keys)) = known else {
            let names = VOCABULARY.iter().map(|(n, _)| n.trim_end_matches('.'));
            return Err(ConfigError::Syntax {
                path: path.to_path_buf(),
                line,
                message: format!(
                    "unknown section [{section}]{}",
                    did_you_mean(
                        section,
                        names.map(|n| if n == "server" { "server.NAME" } else { n })
                    )
                ),
            });
        };
        if let Some((key, entry)) = entries.iter().find(|(k, _)| !keys.contains(&k.as_str())) {
            return Err(ConfigError::Value {
                path: path.to_path_buf(),
                line: entry.line,
                section: section.clone(),
                key: key.clone(),
                message: format!("unknown key{}", did_you_mean(key, keys.iter().copied())),
            });
        }
    }
    Ok(())
}

/// "; did you mean `password`?" for the closest name within a few edits.
fn did_you_mean<'a>(typo: &str, names: impl Iterator<Item = &'a str>) -> String {
    let best = names
        .map(|n| (edit_distance(typo, n), n))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, n)| *d <= 2.max(n.len() / 3));
    match best {
        Some((_, name)) => format!("; did you mean `{name}`?"),
        None => String::new(),
    }
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}
