//! Text tables aligned by display width. A full-width name (`ｗｅｉｒｄ`) takes
//! two columns per character in a terminal or a Discord code block, and a
//! combining accent none, so padding by characters would shift every column
//! after such a name.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// How many columns `s` takes in a monospace font.
pub(crate) fn width(s: &str) -> usize {
    s.width()
}

/// `s` cut to at most `max` columns, a cut marked with `…` (one column).
pub(crate) fn fit(s: &str, max: usize) -> String {
    if s.width() <= max {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > max {
            break;
        }
        out.push(c);
        used += w;
    }
    if max > 0 {
        out.push('…');
    }
    out
}

/// Which side of its column a cell keeps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
}

/// `s` padded with spaces to `columns` display columns.
pub(crate) fn pad(s: &str, columns: usize, align: Align) -> String {
    let fill = " ".repeat(columns.saturating_sub(s.width()));
    match align {
        Align::Left => format!("{s}{fill}"),
        Align::Right => format!("{fill}{s}"),
    }
}

/// One table cell and the side of its column it keeps to.
pub(crate) struct Cell {
    text: String,
    align: Align,
}

impl Cell {
    pub fn left(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            align: Align::Left,
        }
    }

    pub fn right(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            align: Align::Right,
        }
    }
}

/// Rows of cells, every column as wide as its widest cell, two spaces
/// apart, no trailing spaces; rows may differ in length (a team's header
/// line between the rows, say). Cells are shown as given: the caller fits
/// long ones and escapes untrusted text.
pub(crate) fn table(rows: &[Vec<Cell>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(width(&cell.text));
        }
    }
    let mut out = String::new();
    for row in rows {
        let line = row
            .iter()
            .zip(&widths)
            .map(|(cell, &w)| pad(&cell.text, w, cell.align))
            .collect::<Vec<_>>()
            .join("  ");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// [`table`] under a header line whose alignments every row follows.
pub(crate) fn render(header: &[(&str, Align)], rows: &[Vec<String>]) -> String {
    let cell = |text: &str, align: Align| Cell {
        text: text.to_string(),
        align,
    };
    let lines: Vec<Vec<Cell>> = std::iter::once(header.iter().map(|&(t, a)| cell(t, a)).collect())
        .chain(rows.iter().map(|row| {
            row.iter()
                .zip(header)
                .map(|(text, &(_, align))| cell(text, align))
                .collect()
        }))
        .collect();
    table(&lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_and_pads_by_display_width() {
        assert_eq!(width("ｗｅｉｒｄ"), 10);
        assert_eq!(fit("ｗｅｉｒｄ", 10), "ｗｅｉｒｄ");
        // Four wide characters (8 columns) and the mark; a fifth would not fit.
        assert_eq!(fit("ｗｅｉｒｄ", 9), "ｗｅｉｒ…");
        assert_eq!(fit("ｗｅｉｒｄ", 8), "ｗｅｉ…");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(pad("ｗ", 4, Align::Left), "ｗ  ");
        assert_eq!(pad("7", 3, Align::Right), "  7");
        // A combining accent takes no column.
        assert_eq!(width("e\u{301}"), 1);
    }

    #[test]
    fn columns_line_up_whatever_the_characters() {
        let rows = vec![
            vec!["ｗｅｉｒｄ".to_string(), "1".to_string()],
            vec!["plain".to_string(), "1234".to_string()],
            vec!["e\u{301}te\u{301}".to_string(), "56".to_string()],
        ];
        let table = render(&[("name", Align::Left), ("n", Align::Right)], &rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "name           n");
        for line in &lines {
            assert_eq!(width(line), 16, "{line:?}");
        }
        assert!(lines[1].ends_with("     1"));
    }
}
