//! The layout README "Code map" promises: lower layers import no higher
//! ones, and source files stay small enough to read.

use std::path::{Path, PathBuf};

/// The longest a file under `src/` may be.
const MAX_LINES: usize = 700;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources(under: &str) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join(under),
        &mut files,
    );
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

/// The top-level modules a line names after `crate::`, also inside a
/// `crate::{a, b::c}` group.
fn imported_modules(line: &str) -> impl Iterator<Item = &str> {
    line.split("crate::").skip(1).flat_map(|rest| {
        let names = match rest.strip_prefix('{') {
            Some(group) => group.split('}').next().unwrap_or(""),
            None => rest,
        };
        names.split(',').filter_map(|name| {
            let name = name.trim();
            let end = name
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(name.len());
            (end > 0).then(|| &name[..end])
        })
    })
}

#[test]
fn lower_layers_import_no_higher_ones() {
    const HIGHER: &[&str] = &[
        "game", "pipeline", "journal", "config", "discord", "app", "handlers", "writer", "views",
        "rater", "metrics", "check",
    ];
    let mut offences = Vec::new();
    for layer in ["src/model", "src/rcon", "src/store"] {
        for (path, text) in sources(layer) {
            for (n, line) in text.lines().enumerate() {
                if imported_modules(line).any(|m| HIGHER.contains(&m)) {
                    offences.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "upward imports:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_import_check_sees_plain_and_grouped_imports() {
    let names = |line| imported_modules(line).collect::<Vec<_>>();
    assert_eq!(names("use crate::journal::JournalWriter;"), ["journal"]);
    assert_eq!(
        names("use crate::{config, model::Mode};"),
        ["config", "model"]
    );
    assert_eq!(names("let x = crate::views::clip(s);"), ["views"]);
    assert!(names("use super::*;").is_empty());
}

#[test]
fn source_files_stay_readable() {
    let long: Vec<String> = sources("src")
        .into_iter()
        .map(|(path, text)| (path, text.lines().count()))
        .filter(|(_, lines)| *lines > MAX_LINES)
        .map(|(path, lines)| format!("{} ({lines} lines)", path.display()))
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines: split them along their seams:\n{}",
        long.join("\n")
    );
}
