//! Lenient field accessors: an event object split into raw JSON values, each
//! read (as a string, a number, a flag or a profile) only when asked for.
//!
//! The game sends nearly every value as a JSON string, sometimes as a number,
//! and several forms of `Profile`; a missing or mistyped value reads as
//! `None` instead of failing the event.

use super::scan;
use super::Profile;
use crate::model::Position;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// An event object's fields as borrowed raw JSON: parsing a frame only
/// splits the object into keys and value texts, and a value is decoded when
/// (and as) it is asked for, instead of building a `serde_json::Value` tree
/// that allocates for every key and value.
pub struct Fields<'a>(Vec<scan::Field<'a>>);

/// Why a text is not a JSON object.
#[derive(Debug)]
pub enum ObjectError {
    NotJson(serde_json::Error),
    NotObject,
}

impl<'a> Fields<'a> {
    /// Splits a JSON object into its fields, in one pass over the text: the
    /// scanner for the objects the game sends, serde_json for anything else
    /// (so odd input is accepted, rejected and explained as serde_json does).
    #[inline]
    pub fn parse(json: &'a str) -> Result<Fields<'a>, ObjectError> {
        match scan::object(json) {
            Some(fields) => Ok(Fields(fields)),
            None => serde_object(json).map(Fields),
        }
    }

    /// The raw JSON text of a field (the last one, if a key repeats).
    #[inline]
    pub fn raw(&self, key: &str) -> Option<&'a str> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// Every field, in order, with its value's raw JSON text.
    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = (&str, &'a str)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), *v))
    }

    /// A non-empty string; numbers are rendered as text.
    #[inline]
    pub fn str(&self, key: &str) -> Option<String> {
        str_of(self.raw(key)?)
    }

    #[inline]
    pub fn f64(&self, key: &str) -> Option<f64> {
        f64_of(self.raw(key)?)
    }

    /// A position: both coordinates must be numbers (the game sends them as
    /// text, and drops them at times).
    pub fn position(&self, x: &str, y: &str) -> Option<Position> {
        Some(Position {
            x: self.f64(x)?,
            y: self.f64(y)?,
        })
    }

    /// An integer; `"12.0"` is accepted, `"12.5"` and `"abc"` are not.
    #[inline]
    pub fn i64(&self, key: &str) -> Option<i64> {
        i64_of(self.raw(key)?)
    }

    #[inline]
    pub fn i32(&self, key: &str) -> Option<i32> {
        i32_of(self.raw(key)?)
    }

    /// `"1"`, `1`, `true`, `"true"` are true; anything else (or missing) is false.
    #[inline]
    pub fn flag(&self, key: &str) -> bool {
        self.raw(key).is_some_and(flag_of)
    }

    /// A `Profile`-type field in any of its forms; `store_key` names the
    /// separate store field used with plain ids (usually `"Store"`).
    #[inline]
    pub fn profile(&self, key: &str, store_key: &str) -> Option<Profile> {
        profile_of(self.raw(key)?, || self.i32(store_key))
    }
}

pub(super) fn str_of(raw: &str) -> Option<String> {
    raw_text(raw).filter(|s| !s.is_empty()).map(Cow::into_owned)
}

fn f64_of(raw: &str) -> Option<f64> {
    let v: f64 = match trim(&raw_text(raw)?) {
        "true" => 1.0,
        "false" => 0.0,
        t => t.parse().ok()?,
    };
    v.is_finite().then_some(v)
}

pub(super) fn i64_of(raw: &str) -> Option<i64> {
    i64_of_text(&raw_text(raw)?)
}

/// [`i64_of`] for a scalar's text.
fn i64_of_text(text: &str) -> Option<i64> {
    match trim(text) {
        "true" => Some(1),
        "false" => Some(0),
        t => t.parse().ok().or_else(|| whole(t.parse().ok()?)),
    }
}

pub(super) fn i32_of(raw: &str) -> Option<i32> {
    i64_of(raw).and_then(|v| i32::try_from(v).ok())
}

pub(super) fn flag_of(raw: &str) -> bool {
    raw_text(raw).is_some_and(|t| match trim(&t) {
        "true" | "True" | "TRUE" => true,
        t => t.parse::<f64>().is_ok_and(|v| v != 0.0),
    })
}

/// A profile from an object, a JSON-encoded object, or a plain id (whose
/// store comes from a separate field, 0 when absent; looked up only then).
pub(super) fn profile_of(
    raw: &str,
    separate_store: impl FnOnce() -> Option<i32>,
) -> Option<Profile> {
    match usual_profile(raw) {
        Some(profile) => profile,
        None => any_profile(raw, separate_store),
    }
}

/// The form the game nearly always sends,
/// `"{\"ProfileID\":\"<id>\",\"StoreID\":\"<store>\"}"` (or `Store`), read in
/// place: [`any_profile`] would unescape it and parse it as a second object,
/// which made profiles a third of the decoding cost. An empty id (an NPC's,
/// or "no assister", on nearly every real death) is `Some(None)`: no
/// profile, as [`any_profile`] would also say. `None` for anything else
/// ([`any_profile`] then decides).
fn usual_profile(raw: &str) -> Option<Option<Profile>> {
    let rest = raw.strip_prefix(r#""{\"ProfileID\":\""#)?;
    let (id, rest) = rest.split_once(r#"\""#)?;
    let rest = rest
        .strip_prefix(r#",\"StoreID\":\""#)
        .or_else(|| rest.strip_prefix(r#",\"Store\":\""#))?;
    let store = rest.strip_suffix(r#"\"}""#)?;
    // Without a backslash in them, id and store need no unescaping, and the
    // `\"`s around them really are the quotes of the inner object.
    if id.contains('\\') || store.contains('\\') {
        return None;
    }
    if id.is_empty() {
        return Some(None);
    }
    Some(Some(Profile {
        store: i64_of_text(store)
            .and_then(|s| i32::try_from(s).ok())
            .unwrap_or(0),
        id: id.to_owned(),
    }))
}

/// [`profile_of`] for every form.
fn any_profile(raw: &str, separate_store: impl FnOnce() -> Option<i32>) -> Option<Profile> {
    if raw.starts_with('{') {
        return profile_from_object(&Fields::parse(raw).ok()?);
    }
    let text = raw_text(raw)?;
    let text = trim(&text);
    if text.is_empty() {
        return None;
    }
    if text.starts_with('{') {
        return profile_from_object(&Fields::parse(text).ok()?);
    }
    Some(Profile {
        store: separate_store().unwrap_or(0),
        id: text.to_string(),
    })
}

/// A scalar's text: strings unescaped, numbers and bools as written; `None`
/// for null, objects and arrays.
pub(super) fn raw_text(raw: &str) -> Option<Cow<'_, str>> {
    match raw.as_bytes().first()? {
        b'"' => {
            // The string is well formed (Fields::parse checked it): most game
            // strings have no escapes and are borrowed as they are.
            let contents = raw.get(1..raw.len() - 1)?;
            if contents.contains('\\') {
                scan::unescape(contents).map(Cow::Owned)
            } else {
                Some(Cow::Borrowed(contents))
            }
        }
        b'{' | b'[' | b'n' => None,
        _ => Some(Cow::Borrowed(raw)),
    }
}

/// A string borrowed from the JSON text when it has no escapes.
struct BorrowedOrOwned<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for BorrowedOrOwned<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = BorrowedOrOwned<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(BorrowedOrOwned(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(BorrowedOrOwned(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// [`Fields::parse`] for what the scanner leaves alone: serde_json splits
/// the object, or says why the text is not one.
pub(super) fn serde_object(json: &str) -> Result<Vec<scan::Field<'_>>, ObjectError> {
    match serde_json::from_str::<RawObject>(json) {
        Ok(object) => Ok(object.0),
        // Only on failure: tell "valid JSON, but not an object" from "not JSON".
        Err(e) => match serde_json::from_str::<serde::de::IgnoredAny>(json) {
            Ok(_) => Err(ObjectError::NotObject),
            Err(_) => Err(ObjectError::NotJson(e)),
        },
    }
}

/// A JSON object as (key, raw value text) pairs, in order.
struct RawObject<'a>(Vec<scan::Field<'a>>);

impl<'de> serde::Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawObject<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((key, value)) =
                    map.next_entry::<BorrowedOrOwned<'de>, &'de RawValue>()?
                {
                    fields.push((key.0, value.get()));
                }
                Ok(RawObject(fields))
            }
        }
        d.deserialize_map(V)
    }
}

/// `str::trim`, skipping its Unicode-aware scan for the usual value with
/// no white space at either end (no Unicode space starts or ends with an
/// ASCII graphic byte).
fn trim(text: &str) -> &str {
    match (text.as_bytes().first(), text.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

fn whole(v: f64) -> Option<i64> {
    (v.fract() == 0.0 && v.abs() < 9.0e15).then_some(v as i64)
}

fn profile_from_object(f: &Fields) -> Option<Profile> {
    let id = f.str("ProfileID").or_else(|| f.str("Profile"))?;
    let store = f.i32("StoreID").or_else(|| f.i32("Store")).unwrap_or(0);
    Some(Profile { store, id })
}
#[cfg(test)]
mod tests {
    use super::super::scan::tests::mutated;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn profile_forms() {
        let forms = [
            r#"{"Profile":"{\"ProfileID\":\"765\",\"StoreID\":\"0\"}"}"#,
            r#"{"Profile":"{\"ProfileID\":\"765\",\"Store\":0}"}"#,
            r#"{"Profile":"765","Store":"0"}"#,
            r#"{"Profile":765}"#,
            r#"{"Profile":{"ProfileID":"765","StoreID":"0"}}"#,
        ];
        for form in forms {
            let p = Fields::parse(form).unwrap().profile("Profile", "Store");
            assert_eq!(
                p,
                Some(Profile {
                    store: 0,
                    id: "765".into()
                }),
                "{form}"
            );
        }
        let obj = Fields::parse(r#"{"Profile":"42","Store":"2"}"#).unwrap();
        assert_eq!(obj.profile("Profile", "Store").unwrap().store, 2);
        for empty in [
            r#"{"Profile":""}"#,
            r#"{}"#,
            r#"{"Profile":null}"#,
            r#"{"Profile":"{bad"}"#,
        ] {
            assert_eq!(
                Fields::parse(empty).unwrap().profile("Profile", "Store"),
                None,
                "{empty}"
            );
        }
    }

    #[test]
    fn numbers_as_strings_or_numbers() {
        let f = Fields::parse(
            r#"{"a":"12","b":12,"c":"12.0","d":"12.5","e":"abc","f":" -1 ","g":1e300,"h":"a\"b","i":null,"a2":1,"a2":2}"#,
        )
        .unwrap();
        assert_eq!(f.str("h").as_deref(), Some("a\"b"), "escapes decoded");
        assert_eq!(f.str("i"), None);
        assert_eq!(f.i64("a2"), Some(2), "a repeated key: the last one wins");
        assert_eq!(f.i64("a"), Some(12));
        assert_eq!(f.i64("b"), Some(12));
        assert_eq!(f.i64("c"), Some(12));
        assert_eq!(f.i64("d"), None);
        assert_eq!(f.f64("d"), Some(12.5));
        assert_eq!(f.i64("e"), None);
        assert_eq!(f.i64("f"), Some(-1));
        assert_eq!(f.i64("g"), None);
        assert_eq!(f.i32("missing"), None);
    }

    /// Inner profile objects in the usual shape, with ids and stores that
    /// need escaping or trimming, or are not numbers.
    fn profile_object() -> impl Strategy<Value = String> {
        let text = "[0-9 a\"\\\\é{}\t]{0,6}";
        let key = prop::sample::select(&["StoreID", "Store", "Profile"][..]);
        (text, key, text).prop_map(|(id, key, store)| {
            serde_json::json!({ "ProfileID": id, key: store }).to_string()
        })
    }

    proptest! {
        #[test]
        fn usual_profiles_decode_as_any_profile(inner in mutated(profile_object())) {
            let raw = serde_json::to_string(&inner).unwrap();
            prop_assert_eq!(profile_of(&raw, || Some(7)), any_profile(&raw, || Some(7)), "{}", raw);
        }
    }
}
