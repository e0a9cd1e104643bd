//! What a command answers, independent of Discord's API types (the bot layer
//! turns it into a poise reply), and the escaping every game-derived string
//! goes through before it reaches Discord.

/// A command's answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply {
    /// Markdown text; every part taken from game data is already escaped.
    pub content: String,
    pub embed: Option<Embed>,
    pub buttons: Vec<Button>,
    pub image: Option<Image>,
    /// Only the caller sees it.
    pub ephemeral: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Embed {
    pub title: String,
    pub description: String,
    /// (name, value, inline)
    pub fields: Vec<(String, String, bool)>,
    /// Shows the attached [`Image`] inside the embed.
    pub show_image: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Button {
    pub custom_id: String,
    pub label: String,
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub filename: String,
    pub png: Vec<u8>,
}

impl Reply {
    pub fn text(content: impl Into<String>) -> Reply {
        Reply {
            content: content.into(),
            ..Reply::default()
        }
    }

    pub fn ephemeral(content: impl Into<String>) -> Reply {
        Reply {
            ephemeral: true,
            ..Reply::text(content)
        }
    }
}

/// Unix seconds, for Discord's `<t:…:R>` timestamps.
pub fn unix_secs(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Makes game text inert in Discord markdown: formatting characters are
/// backslash-escaped, mentions and links cannot form, and line breaks and
/// control characters become spaces (a name or chat line is one line).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '#' | '-' | '[' | ']' | '(' | ')'
            | ':' | '/' => {
                out.push('\\');
                out.push(c);
            }
            // A zero-width space after @ stops @everyone / @here / <@id> forming.
            '@' => out.push_str("@\u{200B}"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Text for inside a code block: the block cannot be closed from inside.
pub(crate) fn code_safe(text: &str) -> String {
    text.replace('`', "ʹ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn game_text_cannot_mention_format_or_break_lines() {
        let e = escape("@everyone **bold** <@123> [x](http://y) `c`\nline");
        assert!(!e.contains("@everyone"), "{e}");
        assert!(!e.contains("**"), "{e}");
        assert!(!e.contains("<@1"), "{e}");
        assert!(!e.contains('\n'), "{e}");
        assert!(e.contains("\\*\\*bold\\*\\*"), "{e}");
        assert_eq!(escape("└ plain"), "└ plain");
        assert_eq!(code_safe("a```b"), "aʹʹʹb");
    }
}
