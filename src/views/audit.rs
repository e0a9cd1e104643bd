//! The audit log for people and scripts, and the two helpers every table of
//! game or Discord text needs: UTC times and escaped control characters.

use super::table::{fit, pad, Align};
use crate::model::AuditRecord;
use serde_json::{json, Value};

/// Audit records as a JSON array, in the given order. `user_id` is a string:
/// Discord ids exceed 2^53, so readers that parse JSON numbers as doubles
/// (JavaScript, jq before 1.7) would round them; Discord's API sends them as
/// strings for the same reason.
pub fn audit_json(records: &[AuditRecord]) -> Value {
    Value::Array(
        records
            .iter()
            .map(|r| {
                json!({
                    "time_ms": r.time_ms,
                    "user_id": r.user_id.to_string(),
                    "user_name": r.user_name,
                    "server": r.server,
                    "command": r.command,
                    "allowed": r.allowed,
                    "result": r.result,
                })
            })
            .collect(),
    )
}

/// Audit records as a table, one line each. Every string came from a Discord
/// user or a game server, so it goes through [`printable`] before [`fit`]
/// (columns are counted by display width, as in every bman table).
pub fn audit_table(records: &[AuditRecord]) -> String {
    if records.is_empty() {
        return "No audit records.\n".to_string();
    }
    let line = |[time, user, id, server, status, command, result]: [&str; 7]| {
        format!(
            "{}  {} {}  {} {}  {}  {result}\n",
            pad(time, 19, Align::Left),
            pad(user, 20, Align::Left),
            pad(id, 20, Align::Right),
            pad(server, 16, Align::Left),
            pad(status, 7, Align::Left),
            pad(command, 40, Align::Left),
        )
    };
    let mut out = line([
        "time (UTC)",
        "user",
        "user id",
        "server",
        "status",
        "command",
        "result",
    ]);
    for r in records {
        out.push_str(&line([
            &utc_time(r.time_ms),
            &fit(&printable(&r.user_name), 20),
            &r.user_id.to_string(),
            &fit(&printable(&r.server), 16),
            if r.allowed { "allowed" } else { "denied" },
            &fit(&printable(&r.command), 40),
            &fit(&printable(&r.result), 60),
        ]));
    }
    out
}

/// Unix ms as UTC `YYYY-MM-DD HH:MM:SS` (proleptic Gregorian, Howard
/// Hinnant's days-to-civil algorithm: exact for every i64, no date crate).
pub(crate) fn utc_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, time) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = era * 400 + yoe + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

/// `s` with control characters (newlines, NUL, ANSI escapes) and bidi
/// overrides written as Rust escapes (`\n`, `\u{1b}`), so a hostile name or
/// game reply can neither break a table row nor restyle the terminal.
pub(crate) fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times() {
        for (ms, text) in [
            (0, "1970-01-01 00:00:00"),
            (-1, "1969-12-31 23:59:59"),
            (951_782_400_000, "2000-02-29 00:00:00"),
            (1_714_564_800_999, "2024-05-01 12:00:00"),
            (253_402_300_799_999, "9999-12-31 23:59:59"),
        ] {
            assert_eq!(utc_time(ms), text, "{ms}");
        }
        // The extremes format without overflowing.
        utc_time(i64::MIN);
        utc_time(i64::MAX);
    }

    #[test]
    fn audit_table_escapes_and_clips() {
        let record = AuditRecord {
            time_ms: 1_714_564_800_000,
            user_id: 80_351_110_224_678_912,
            user_name: "Evil\nAdmin\u{1b}[2J".into(),
            server: "eu-tdm".into(),
            command: format!("say {}", "x".repeat(2000)),
            allowed: false,
            result: "denied: not an admin\u{202e}".into(),
        };
        let table = audit_table(std::slice::from_ref(&record));
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 2, "{table}");
        let row = lines[1];
        assert!(
            row.starts_with("2024-05-01 12:00:00  Evil\\nAdmin\\u{1b}[2J"),
            "{row}"
        );
        assert!(row.contains(" 80351110224678912  eu-tdm"), "{row}");
        assert!(row.contains("denied "), "{row}");
        assert!(row.contains(&format!("say {}…", "x".repeat(35))), "{row}");
        assert!(row.ends_with("denied: not an admin\\u{202e}"), "{row}");
        assert!(!table.contains('\u{1b}') && !table.contains('\u{202e}'));
        assert_eq!(audit_table(&[]), "No audit records.\n");
    }
}
