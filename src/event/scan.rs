//! A single-pass scanner for the flat JSON objects the game sends: the fast
//! path of [`Fields::parse`](super::Fields::parse).
//!
//! It splits an object into (key, raw value text) pairs exactly as the
//! serde_json path does, but it only walks the bytes: no visitor, no
//! per-value `RawValue` round trip. It is at least as strict as serde_json:
//! whatever it does not accept (bad JSON, a key with a lone surrogate, very
//! deep nesting…) it returns `None` for, and the caller asks serde_json,
//! so behaviour on odd input is serde_json's.

use std::borrow::Cow;

/// A key (unescaped) and its value's raw JSON text.
pub(super) type Field<'a> = (Cow<'a, str>, &'a str);

/// Nesting deeper than this is left to serde_json (the game never nests
/// more than one level; the limit only bounds recursion).
const MAX_DEPTH: u8 = 32;

/// The fields of a JSON object in order, or `None` when the text is not an
/// object this scanner accepts.
pub(super) fn object(json: &str) -> Option<Vec<Field<'_>>> {
    let mut cursor = Cursor { json, pos: 0 };
    // About one field per 16 bytes of game JSON: one allocation, rarely a regrowth.
    let mut fields = Vec::with_capacity(json.len() / 16);
    cursor.skip_ws();
    cursor.members(MAX_DEPTH, |key, value| {
        fields.push((key.decode()?, value));
        Some(())
    })?;
    cursor.skip_ws();
    (cursor.pos == json.len()).then_some(fields)
}

/// A JSON string's contents (between the quotes) with escapes decoded, as
/// serde_json decodes a `String`: `None` for a raw control character, an
/// unescaped quote, a bad escape or an unpaired surrogate.
pub(super) fn unescape(contents: &str) -> Option<String> {
    let bytes = contents.as_bytes();
    let mut out = String::with_capacity(contents.len());
    let mut pos = 0;
    loop {
        let special = skip_plain(bytes, pos);
        out.push_str(contents.get(pos..special)?);
        let Some(&byte) = bytes.get(special) else {
            return Some(out);
        };
        if byte != b'\\' {
            return None;
        }
        let escape = *bytes.get(special + 1)?;
        pos = special + 2;
        out.push(match escape {
            b'u' => {
                let (c, len) = unicode_escape(&bytes[pos..])?;
                pos += len;
                c
            }
            _ => simple_escape(escape)?,
        });
    }
}

/// The first position at or after `pos` holding a `"`, a `\` or a control
/// character (or the end): eight bytes at a time, since game strings are
/// mostly plain text.
fn skip_plain(bytes: &[u8], mut pos: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH_BITS: u64 = ONES * 0x80;
    /// The high bit of every byte of `x` below `n` (exact for the lowest one).
    fn below(x: u64, n: u8) -> u64 {
        x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH_BITS
    }
    while let Some(chunk) = bytes.get(pos..pos + 8).and_then(|c| c.try_into().ok()) {
        let x = u64::from_le_bytes(chunk);
        let hits = below(x ^ (ONES * u64::from(b'"')), 1)
            | below(x ^ (ONES * u64::from(b'\\')), 1)
            | below(x, 0x20);
        if hits != 0 {
            return pos + hits.trailing_zeros() as usize / 8;
        }
        pos += 8;
    }
    let rest = bytes.get(pos..).unwrap_or_default();
    pos + rest
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(rest.len())
}

/// The character of a one-letter escape (`\n`…).
fn simple_escape(letter: u8) -> Option<char> {
    Some(match letter {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        _ => return None,
    })
}

/// The character of a `\u` escape (`bytes` starts after the `u`) and how
/// many bytes it took: a surrogate pair takes a second `\uXXXX`.
fn unicode_escape(bytes: &[u8]) -> Option<(char, usize)> {
    let first = hex4(bytes)?;
    match first {
        0xD800..=0xDBFF => {
            let low = match bytes.get(4..6)? {
                b"\\u" => hex4(&bytes[6..])?,
                _ => return None,
            };
            if !(0xDC00..=0xDFFF).contains(&low) {
                return None;
            }
            let c = 0x1_0000 + ((u32::from(first) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
            Some((char::from_u32(c)?, 10))
        }
        _ => Some((char::from_u32(first.into())?, 4)),
    }
}

fn hex4(bytes: &[u8]) -> Option<u16> {
    let digits = bytes.get(..4)?;
    digits.iter().try_fold(0u16, |n, &d| {
        Some(n << 4 | u16::try_from((d as char).to_digit(16)?).ok()?)
    })
}

/// A string scanned in place: its contents, and whether they need decoding.
struct Str<'a> {
    contents: &'a str,
    escaped: bool,
}

impl<'a> Str<'a> {
    fn decode(&self) -> Option<Cow<'a, str>> {
        if self.escaped {
            unescape(self.contents).map(Cow::Owned)
        } else {
            Some(Cow::Borrowed(self.contents))
        }
    }
}

struct Cursor<'a> {
    json: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.json.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// An object from its `{` on, handing each member to `each` (whose
    /// `None` stops the scan).
    fn members(
        &mut self,
        depth: u8,
        mut each: impl FnMut(Str<'a>, &'a str) -> Option<()>,
    ) -> Option<()> {
        self.list(b'{', b'}', |cursor| {
            let key = cursor.string()?;
            cursor.skip_ws();
            cursor.eat(b':')?;
            cursor.skip_ws();
            let start = cursor.pos;
            cursor.value(depth)?;
            each(key, cursor.json.get(start..cursor.pos)?)
        })
    }

    /// Skips one value, checking it is well formed.
    fn value(&mut self, depth: u8) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => self.members(depth.checked_sub(1)?, |_, _| Some(())),
            b'[' => {
                let depth = depth.checked_sub(1)?;
                self.list(b'[', b']', |cursor| cursor.value(depth))
            }
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// `open`, then items separated by commas, then `close`. Always inlined,
    /// so that each caller gets one tight loop around its item.
    #[inline(always)]
    fn list(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.eat(open)?;
        self.skip_ws();
        if self.eat(close).is_some() {
            return Some(());
        }
        loop {
            self.skip_ws();
            item(self)?;
            self.skip_ws();
            match self.peek()? {
                b',' => self.pos += 1,
                b if b == close => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        let rest = self.json.as_bytes().get(self.pos..)?;
        rest.starts_with(word.as_bytes())
            .then(|| self.pos += word.len())
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Option<()> {
        let _ = self.eat(b'-');
        if self.eat(b'0').is_none() {
            self.digits()?;
        }
        if self.eat(b'.').is_some() {
            self.digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.digits()?;
        }
        Some(())
    }

    /// One or more digits.
    fn digits(&mut self) -> Option<()> {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        (self.pos > start).then_some(())
    }

    /// A string from its opening quote on. Escapes are checked for form
    /// only (as serde_json does for raw values); decoding checks the rest.
    /// Always inlined: it runs for every key and most values, and as a call
    /// its set-up cost more than scanning a short string.
    #[inline(always)]
    fn string(&mut self) -> Option<Str<'a>> {
        self.eat(b'"')?;
        let bytes = self.json.as_bytes();
        let start = self.pos;
        let mut escaped = false;
        loop {
            self.pos = skip_plain(bytes, self.pos);
            match *bytes.get(self.pos)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.pos += match *bytes.get(self.pos + 1)? {
                        b'u' => hex4(bytes.get(self.pos + 2..)?).map(|_| 6)?,
                        letter => simple_escape(letter).map(|_| 2)?,
                    };
                }
                _ => return None,
            }
        }
        let contents = self.json.get(start..self.pos)?;
        self.pos += 1;
        Some(Str { contents, escaped })
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::event::fields::serde_object;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    /// The serde_json path is the reference: whatever the scanner accepts it
    /// must split the same way, and it must reject what serde_json rejects.
    /// (Generated inputs nest far less than MAX_DEPTH, the one place the
    /// scanner declines valid JSON.)
    fn assert_agrees(json: &str) -> Result<(), TestCaseError> {
        let fast = object(json);
        let reference = serde_object(json).ok();
        prop_assert_eq!(fast, reference, "{:?}", json);
        Ok(())
    }

    /// Every event of one simulated match per mode: realistic game JSON.
    pub(in crate::event) fn sim_events() -> &'static [String] {
        static EVENTS: OnceLock<Vec<String>> = OnceLock::new();
        EVENTS.get_or_init(|| {
            crate::model::Mode::ALL
                .into_iter()
                .flat_map(|mode| {
                    let opts = crate::sim::SimOptions {
                        mode,
                        matches: Some(1),
                        ..Default::default()
                    };
                    crate::sim::scenario(&opts).map(|ev| ev.json)
                })
                .collect()
        })
    }

    /// Characters that matter to a JSON scanner, and some that do not.
    const TRICKY: &[char] = &[
        '{', '}', '[', ']', '"', ':', ',', '\\', '/', 'u', 'd', '8', '0', 'e', '-', '+', '.', ' ',
        '\n', '\t', '\0', '\u{1f}', 't', 'n', 'a', 'é', '└', '😀',
    ];

    /// Up to four edits (insert, delete or replace one char) of `text`.
    pub(in crate::event) fn mutated(
        text: impl Strategy<Value = String>,
    ) -> impl Strategy<Value = String> {
        let edit = (
            any::<prop::sample::Index>(),
            0..3u8,
            prop::sample::select(TRICKY),
        );
        (text, prop::collection::vec(edit, 0..4)).prop_map(|(text, edits)| {
            let mut chars: Vec<char> = text.chars().collect();
            for (at, op, c) in edits {
                let at = at.index(chars.len() + 1);
                match op {
                    0 => chars.insert(at, c),
                    _ if at == chars.len() => {}
                    1 => drop(chars.remove(at)),
                    _ => chars[at] = c,
                }
            }
            chars.into_iter().collect()
        })
    }

    pub(in crate::event) fn sim_event() -> impl Strategy<Value = String> {
        prop::sample::select(sim_events())
    }

    /// JSON string contents built from escapes good and bad, lone and paired
    /// surrogates, control characters and plain text.
    fn string_contents() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(
            &[
                "a",
                "Name",
                "é",
                "😀",
                " ",
                "\\\"",
                "\\\\",
                "\\/",
                "\\b",
                "\\f",
                "\\n",
                "\\r",
                "\\t",
                "\\u00e9",
                "\\u0000",
                "\\uD83D\\uDE00",
                "\\ud83d\\ude00",
                "\\ud800",
                "\\udc00",
                "\\ud800\\u0041",
                "\\ud800\\n",
                "\\u12",
                "\\uZZZZ",
                "\\x",
                "\\",
                "\"",
                "\n",
                "\u{1}",
            ][..],
        );
        prop::collection::vec(piece, 0..6).prop_map(|pieces| pieces.concat())
    }

    /// Arbitrary JSON values, serialised with random white space.
    fn json_value() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            string_contents().prop_map(|s| format!("\"{s}\"")),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|n| serde_json::json!(n).to_string()),
            prop::sample::select(
                &["0", "-0", "1e5", "1.5E-3", "-12.0", "true", "false", "null"][..]
            )
            .prop_map(str::to_string),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((string_contents(), inner), 0..4).prop_map(|members| {
                    let members: Vec<String> = members
                        .iter()
                        .map(|(k, v)| format!("\"{k}\" : {v}"))
                        .collect();
                    format!("{{ {} }}", members.join(" ,\n"))
                }),
            ]
        })
    }

    #[test]
    fn realistic_events_take_the_fast_path() {
        for json in sim_events() {
            assert!(object(json).is_some(), "{json}");
            assert_eq!(object(json), serde_object(json).ok());
        }
    }

    #[test]
    fn deep_nesting_is_left_to_serde_json() {
        let depth = usize::from(MAX_DEPTH) + 8;
        let json = format!("{{\"a\":{}1{}}}", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(object(&json), None);
        let fields = crate::event::Fields::parse(&json).unwrap();
        assert_eq!(fields.raw("a").map(str::len), Some(2 * depth + 1));
    }

    proptest! {
        #[test]
        fn agrees_on_mutated_events(json in mutated(sim_event())) {
            assert_agrees(&json)?;
        }

        #[test]
        fn agrees_on_arbitrary_json(json in mutated(json_value())) {
            assert_agrees(&json)?;
        }

        #[test]
        fn agrees_on_arbitrary_text(json in "[{}\\[\\]\":,\\\\ a-z0-9.eE+\\-\u{0}\u{1f}é😀]{0,40}") {
            assert_agrees(&json)?;
            assert_agrees(&format!("{{{json}"))?;
        }

        #[test]
        fn unescapes_as_serde_json_does(contents in string_contents()) {
            let reference = serde_json::from_str::<String>(&format!("\"{contents}\"")).ok();
            prop_assert_eq!(unescape(&contents), reference);
        }

        #[test]
        fn skips_plain_text_exactly(text in "[a\"\\\\\u{0}\u{1f} é└]{0,24}", from in 0usize..30) {
            let bytes = text.as_bytes();
            let from = from.min(bytes.len());
            let expected = bytes[from..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .map_or(bytes.len(), |p| from + p);
            prop_assert_eq!(skip_plain(bytes, from), expected);
        }
    }
}
