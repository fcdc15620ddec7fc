//! JSON handling shared by every entry point: UTF-8 and depth checks, objects kept as raw text so that
//! fields we do not know are handed back byte for byte, and string escaping for what we write.

use crate::error::{quote, Error, ErrorKind, Result};
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

/// Deepest nesting of arrays and objects accepted in one session, query, config or list of ids. The
/// array of ss_upsert_many() and the object of ss_import() are one level around their sessions, so an
/// export of any store can always be imported again. Far above what agent transcripts use, and low
/// enough that the JSON parsers of every binding cope with what the store hands out.
pub const MAX_DEPTH: usize = 256;

const DUPLICATE_KEY: &str = "duplicate key";
const SCAN_LIMIT: usize = 16;

/// Checks that `bytes` is UTF-8 and nests no deeper than [`MAX_DEPTH`]; returns it as text.
///
/// serde_json skips raw values iteratively, so depth never overflows the stack; this scan exists to
/// turn hostile depth into an error instead of storing data that other parsers would choke on.
pub fn checked_text(bytes: &[u8]) -> Result<&str> {
    let text = utf8(bytes)?;
    check_depth(text, MAX_DEPTH)?;
    Ok(text)
}

/// `bytes` as text, when it is UTF-8.
pub fn utf8(bytes: &[u8]) -> Result<&str> {
    simdutf8::basic::from_utf8(bytes).map_err(|_| {
        // The fast check does not say where; the error path can afford std's second look.
        let at = std::str::from_utf8(bytes).err().map_or(0, |e| e.valid_up_to());
        Error::invalid_json(format!("input is not valid UTF-8 (at byte {at})"))
    })
}

/// Checks that `text` nests no deeper than `limit`. A batch or an import checks each of its elements
/// against [`MAX_DEPTH`] instead of scanning the whole text byte by byte.
pub fn check_depth(text: &str, limit: usize) -> Result<()> {
    // Nesting cannot exceed the number of openers; counting them vectorises and spares almost every
    // input the byte-by-byte scan below.
    // `b | 0x20` maps '[' (0x5b) onto '{' (0x7b) and no other byte onto it: one comparison per byte.
    let openers: usize = text
        .as_bytes()
        .chunks(255)
        .map(|chunk| chunk.iter().fold(0u8, |n, &b| n + u8::from(b | 0x20 == b'{')) as usize)
        .sum();
    if openers <= limit {
        return Ok(());
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in text.as_bytes() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Err(Error::invalid_json(format!("input nests deeper than {MAX_DEPTH} levels")));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// The bare words some encoders write for non-finite floats (Python's `json.dumps` does by default).
const NON_FINITE: [&str; 3] = ["-Infinity", "Infinity", "NaN"];

/// The first of [`NON_FINITE`] that stands outside a string in `text`, with its byte offset.
pub fn find_non_finite(text: &str) -> Option<(usize, &'static str)> {
    let bytes = text.as_bytes();
    let (mut in_string, mut escaped) = (false, false);
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if matches!(b, b'N' | b'I' | b'-') {
            if let Some(word) = NON_FINITE.into_iter().find(|w| bytes[i..].starts_with(w.as_bytes())) {
                return Some((i, word));
            }
        }
    }
    None
}

/// `text` with every [`NON_FINITE`] word outside strings replaced by `null`; `None` when it has none.
pub fn non_finite_to_null(text: &str) -> Option<String> {
    let (mut at, mut word) = find_non_finite(text)?;
    let mut out = String::with_capacity(text.len() + 16);
    let mut copied = 0;
    loop {
        out.push_str(&text[copied..at]);
        out.push_str("null");
        copied = at + word.len();
        match find_non_finite(&text[copied..]) {
            Some((next, next_word)) => (at, word) = (copied + next, next_word),
            None => break,
        }
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// Maps a serde_json error to our kinds: malformed text is `InvalidJson`, a well-formed value of the
/// wrong shape is `shape_kind` (the caller knows whether that is a bad session or a bad argument).
///
/// serde_json's own categories cannot be trusted for this: it calls an out-of-range number or a
/// non-string enum value a syntax error, and may report a shape error before it has seen the rest of
/// the text. So the text is checked for syntax on its own, which costs a second parse on errors only.
pub fn classify(err: serde_json::Error, text: &str, shape_kind: ErrorKind) -> Error {
    let message = err.to_string();
    // Our own visitor says "duplicate key", serde's derive says "duplicate field".
    if message.starts_with(DUPLICATE_KEY) || message.starts_with("duplicate field") {
        return Error::invalid_json(message);
    }
    match serde_json::from_str::<de::IgnoredAny>(text) {
        Err(syntax) => match find_non_finite(text) {
            Some((at, word)) => Error::invalid_json(format!(
                "{word} (at byte {at}) is not JSON; a store opened with \"non_finite_numbers\": \"null\" \
                 stores NaN, Infinity and -Infinity as null ({syntax})"
            )),
            None => Error::invalid_json(syntax.to_string()),
        },
        Ok(_) => Error::new(shape_kind, message),
    }
}

/// Deserialises a struct from `text`, which must be a JSON object: serde's derive would also accept an
/// array of the fields' values, which no caller means. Shape errors get `shape_kind`, prefixed by `what`.
pub fn from_object<'a, T: Deserialize<'a>>(text: &'a str, what: &str, shape_kind: ErrorKind) -> Result<T> {
    if !text.trim_start().starts_with('{') {
        let error = serde_json::from_str::<de::IgnoredAny>(text).err();
        return Err(match error {
            Some(syntax) => Error::invalid_json(syntax.to_string()),
            None => Error::new(shape_kind, "expected a JSON object"),
        }
        .at(what));
    }
    // serde's derive names an unknown field whole in its message: a key longer than any field name is
    // refused here, quoted short, before it can be copied into one.
    let object = RawObject::parse(text, shape_kind).map_err(|e| e.at(what))?;
    if let Some((key, _)) = object.fields.iter().find(|(key, _)| key.len() > MAX_FIELD_NAME) {
        return Err(Error::new(shape_kind, format!("unknown field {}", quote(key))).at(what));
    }
    serde_json::from_str(text).map_err(|e| classify(e, text, shape_kind).at(what))
}

/// Longer than any field name of a config or a query.
const MAX_FIELD_NAME: usize = 64;

/// A JSON object whose values stay unparsed text, in input order, with duplicate keys rejected.
#[derive(Debug, Default)]
pub struct RawObject<'a> {
    pub fields: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'a> RawObject<'a> {
    /// Parses an object whose keys must be unique.
    pub fn parse(text: &'a str, shape_kind: ErrorKind) -> Result<Self> {
        Self::parse_with(text, shape_kind, true)
    }

    /// Parses an object and leaves duplicate keys to the caller, which may check them more cheaply.
    pub fn parse_allowing_duplicates(text: &'a str, shape_kind: ErrorKind) -> Result<Self> {
        Self::parse_with(text, shape_kind, false)
    }

    fn parse_with(text: &'a str, shape_kind: ErrorKind, unique_keys: bool) -> Result<Self> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        ObjectVisitor { unique_keys }
            .deserialize(&mut deserializer)
            .and_then(|object| deserializer.end().map(|()| object))
            .map_err(|e| classify(e, text, shape_kind))
    }

    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

struct ObjectVisitor {
    unique_keys: bool,
}

impl<'de> DeserializeSeed<'de> for ObjectVisitor {
    type Value = RawObject<'de>;

    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = RawObject<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> std::result::Result<Self::Value, M::Error> {
        let mut fields: Vec<(Cow<'de, str>, &'de RawValue)> = Vec::new();
        let mut keys = KeySet::default();
        while let Some(key) = map.next_key_seed(Key)? {
            if self.unique_keys {
                keys.insert(key.clone())?;
            }
            fields.push((key, map.next_value()?));
        }
        Ok(RawObject { fields })
    }
}

/// An object key, borrowed from the input unless it has escapes. (serde's own `Cow<str>` always
/// allocates: a `String` per key was a quarter of the cost of an import.)
pub struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Borrowed(key))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Owned(key.to_owned()))
    }
}

/// Calls `each` with every string of the JSON array `text`, in order. Nothing is collected, so a call
/// costs no memory in proportion to the array: strings are borrowed from `text` unless they have escapes.
pub fn for_each_str(text: &str, what: &str, each: impl FnMut(&str)) -> Result<()> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    deserializer
        .deserialize_seq(EachStr(each))
        .and_then(|()| deserializer.end())
        .map_err(|e| classify(e, text, ErrorKind::InvalidArgument).at(what))
}

struct EachStr<F>(F);

impl<'de, F: FnMut(&str)> Visitor<'de> for EachStr<F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of strings")
    }

    fn visit_seq<S: de::SeqAccess<'de>>(mut self, mut seq: S) -> std::result::Result<(), S::Error> {
        while let Some(s) = seq.next_element_seed(Key)? {
            (self.0)(&s);
        }
        Ok(())
    }
}

/// A string value, borrowed from the input unless it has escapes: a value we only compare or quote
/// in an error is not worth a copy of whatever size the caller sent.
pub struct Str<'a>(pub Cow<'a, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        Key.deserialize(deserializer).map(Str)
    }
}

/// The keys of one object so far, to reject duplicates.
pub struct KeySet<'a> {
    // Sessions have a handful of keys, where a scan of an array on the stack beats hashing and
    // allocating; an import has one per session, where only a set keeps the check linear.
    few: [Cow<'a, str>; SCAN_LIMIT],
    len: usize,
    many: Option<HashSet<Cow<'a, str>>>,
}

impl Default for KeySet<'_> {
    fn default() -> Self {
        KeySet { few: [const { Cow::Borrowed("") }; SCAN_LIMIT], len: 0, many: None }
    }
}

impl<'a> KeySet<'a> {
    pub fn insert<E: de::Error>(&mut self, key: Cow<'a, str>) -> std::result::Result<(), E> {
        let fresh = match &mut self.many {
            Some(many) => many.insert(key.clone()),
            None if self.few[..self.len].contains(&key) => false,
            None if self.len < SCAN_LIMIT => {
                self.few[self.len] = key.clone();
                self.len += 1;
                true
            }
            None => {
                let mut many: HashSet<Cow<'a, str>> = self.few.iter_mut().map(std::mem::take).collect();
                many.insert(key.clone());
                self.many = Some(many);
                true
            }
        };
        if fresh {
            Ok(())
        } else {
            Err(duplicate_key(&key))
        }
    }
}

/// The error for a key seen twice in one object; [`classify`] makes it `InvalidJson`.
pub fn duplicate_key<E: de::Error>(key: &str) -> E {
    de::Error::custom(format_args!("{DUPLICATE_KEY} {}", crate::error::quote(key)))
}

/// Whether `s` needs escaping to be written as a JSON string.
fn needs_escape(s: &str) -> bool {
    s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Appends `s` as a JSON string literal.
pub fn write_str(out: &mut String, s: &str) {
    if needs_escape(s) {
        // serde_json writes valid UTF-8 into a String-backed buffer, so this cannot fail.
        out.push_str(&serde_json::to_string(s).expect("a str always serialises"));
    } else {
        out.reserve(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_refused_with_where_it_starts() {
        for (bytes, at) in [(&b"\xff"[..], 0), (b"{\"a\":\"\xc3\"}", 6), (b"{\"a\":\"\xed\xa0\x80\"}", 6)] {
            let err = utf8(bytes).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidJson);
            assert_eq!(err.message, format!("input is not valid UTF-8 (at byte {at})"));
        }
        // Long enough for the vector path.
        let mut long = vec![b'a'; 1000];
        long.extend_from_slice(b"\xe2\x82");
        assert_eq!(utf8(&long).unwrap_err().message, "input is not valid UTF-8 (at byte 1000)");
        assert_eq!(
            utf8("{\"a\":\"r\u{e9}sum\u{e9} \u{1f600}\"}".as_bytes()).unwrap(),
            "{\"a\":\"r\u{e9}sum\u{e9} \u{1f600}\"}"
        );
    }

    #[test]
    fn depth_is_limited_outside_strings_only() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(checked_text(deep.as_bytes()).unwrap_err().kind, ErrorKind::InvalidJson);
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(checked_text(ok.as_bytes()).is_ok());
        let brackets_in_string = format!("{{\"a\":\"{}\\\"{}\"}}", "[".repeat(1000), "{".repeat(1000));
        assert!(checked_text(brackets_in_string.as_bytes()).is_ok());
    }

    #[test]
    fn invalid_utf8_is_invalid_json() {
        let err = checked_text(b"{\"session_id\":\"\xff\"}").unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidJson);
        assert!(err.message.contains("UTF-8"), "{}", err.message);
    }

    #[test]
    fn raw_object_keeps_order_and_text_and_rejects_duplicates() {
        let obj = RawObject::parse(r#"{"b": [1, 2 ], "a":{"x" :1.50}}"#, ErrorKind::InvalidSession).unwrap();
        let keys: Vec<_> = obj.fields.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["b", "a"]);
        assert_eq!(obj.get("a").unwrap().get(), r#"{"x" :1.50}"#);
        let dup = RawObject::parse(r#"{"a":1,"a":2}"#, ErrorKind::InvalidSession).unwrap_err();
        assert_eq!(dup.kind, ErrorKind::InvalidJson);
        for at in [1, SCAN_LIMIT - 1, SCAN_LIMIT, SCAN_LIMIT + 1, 500] {
            let mut keys: Vec<String> = (0..600).map(|i| format!("\"k{i}\":{i}")).collect();
            keys.push(format!("\"k{at}\":0"));
            let text = format!("{{{}}}", keys.join(","));
            let err = RawObject::parse(&text, ErrorKind::InvalidSession).unwrap_err();
            assert!(err.message.contains(&format!("k{at}")), "{}", err.message);
        }
    }

    #[test]
    fn shape_errors_and_syntax_errors_are_told_apart() {
        assert_eq!(
            RawObject::parse("[1,2]", ErrorKind::InvalidSession).unwrap_err().kind,
            ErrorKind::InvalidSession
        );
        assert_eq!(
            RawObject::parse("[1,2", ErrorKind::InvalidSession).unwrap_err().kind,
            ErrorKind::InvalidJson
        );
        assert_eq!(
            RawObject::parse("{\"a\":", ErrorKind::InvalidSession).unwrap_err().kind,
            ErrorKind::InvalidJson
        );
        assert_eq!(RawObject::parse("", ErrorKind::InvalidSession).unwrap_err().kind, ErrorKind::InvalidJson);
    }

    #[test]
    fn non_finite_words_outside_strings_become_null() {
        let text = r#"{"a":NaN,"b":[Infinity,-Infinity],"s":"NaN \" Infinity","c":-1}"#;
        assert_eq!(find_non_finite(text), Some((5, "NaN")));
        assert_eq!(
            non_finite_to_null(text).unwrap(),
            r#"{"a":null,"b":[null,null],"s":"NaN \" Infinity","c":-1}"#
        );
        assert_eq!(non_finite_to_null(r#"{"s":"NaN"}"#), None);
        let err = classify(
            serde_json::from_str::<de::IgnoredAny>(text).unwrap_err(),
            text,
            ErrorKind::InvalidSession,
        );
        assert_eq!(err.kind, ErrorKind::InvalidJson);
        assert!(
            err.message.starts_with("NaN (at byte 5) is not JSON")
                && err.message.contains("non_finite_numbers")
        );
    }

    #[test]
    fn strings_are_escaped_only_when_needed() {
        let mut out = String::new();
        write_str(&mut out, "plain");
        write_str(&mut out, "q\"\n\\");
        assert_eq!(out, r#""plain""q\"\n\\""#);
    }
}
