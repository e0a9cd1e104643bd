//! A small INI reader matching what the original Python tool's
//! `configparser` files look like: `[section]`, `key = value` or `key: value`,
//! full-line comments with `;` or `#`, inline comments after ` ;`/` #`, and
//! case-insensitive keys. It keeps line numbers so errors can point at them.

use std::collections::BTreeMap;

/// One value with the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub value: String,
    pub line: usize,
}

/// Sections in file order; keys lower-cased.
#[derive(Debug, Default, Clone)]
pub(crate) struct Ini {
    pub sections: Vec<(String, BTreeMap<String, Entry>)>,
    /// The line of each section's header.
    pub header_lines: BTreeMap<String, usize>,
}

impl Ini {
    /// Parses INI text; errors carry the 1-based line number.
    pub fn parse(text: &str) -> Result<Ini, (usize, String)> {
        let mut ini = Ini::default();
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = strip_inline_comment(raw).trim();
            if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                let name = rest
                    .strip_suffix(']')
                    .ok_or((
                        line_no,
                        format!("section header {line:?} has no closing ']'"),
                    ))?
                    .trim();
                if ini.section(name).is_some() {
                    return Err((line_no, format!("section [{name}] appears twice")));
                }
                ini.sections.push((name.to_string(), BTreeMap::new()));
                ini.header_lines.insert(name.to_string(), line_no);
                continue;
            }
            let Some(split) = line.find(['=', ':']) else {
                return Err((line_no, format!("expected `key = value`, found {line:?}")));
            };
            let key = line[..split].trim().to_ascii_lowercase();
            let value = line[split + 1..].trim().to_string();
            let Some((section, entries)) = ini.sections.last_mut() else {
                return Err((line_no, format!("key {key:?} comes before any [section]")));
            };
            if entries.contains_key(&key) {
                return Err((line_no, format!("key {key:?} appears twice in [{section}]")));
            }
            entries.insert(
                key,
                Entry {
                    value,
                    line: line_no,
                },
            );
        }
        Ok(ini)
    }

    pub fn section(&self, name: &str) -> Option<&BTreeMap<String, Entry>> {
        self.sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, e)| e)
    }
}

/// Cuts `value ; comment` at a `;` or `#` that follows white space.
fn strip_inline_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for i in 1..bytes.len() {
        if matches!(bytes[i], b';' | b'#') && bytes[i - 1].is_ascii_whitespace() {
            return &line[..i];
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_original_tools_file() {
        let ini = Ini::parse(
            "; comment\n[bm]\nip = 127.0.0.1\ndm = 42070      ; one port per mode\nTDM: 42071\n\n[config]\npassword = a;b\n",
        )
        .unwrap();
        let bm = ini.section("bm").unwrap();
        assert_eq!(bm["ip"].value, "127.0.0.1");
        assert_eq!(bm["dm"].value, "42070");
        assert_eq!(bm["tdm"].value, "42071");
        assert_eq!(bm["tdm"].line, 5);
        assert_eq!(ini.section("config").unwrap()["password"].value, "a;b");
    }

    #[test]
    fn reports_lines() {
        assert_eq!(Ini::parse("x = 1").unwrap_err().0, 1);
        assert_eq!(Ini::parse("[a]\nnonsense\n").unwrap_err().0, 2);
        assert_eq!(Ini::parse("[a]\n[a]\n").unwrap_err().0, 2);
        assert_eq!(Ini::parse("[a\n").unwrap_err().0, 1);
    }
}
