//! Agno 2-style listing: filters, sorting and paging, with the total number of matches.

use crate::error::{quote, ErrorKind, Result};
use crate::json;
use crate::render;
use crate::session_type::SessionType;
use crate::tables::{Filter, Record, Selection};
use caseless::Caseless;
use memchr::memmem;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::cell::RefCell;
use std::ops::RangeInclusive;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// Empty (or null in JSON) matches every user.
    #[serde(default, deserialize_with = "empty_if_null")]
    pub user_id: String,
    /// Empty (or null in JSON) matches every entity.
    #[serde(default, deserialize_with = "empty_if_null")]
    pub entity_id: String,
    /// Case-insensitive substring of `session_data.session_name`; sessions without a name never match.
    pub session_name: Option<String>,
    /// Bounds on `created_at` and `updated_at`, inclusive.
    pub created_after: Option<i64>,
    pub created_before: Option<i64>,
    pub updated_after: Option<i64>,
    pub updated_before: Option<i64>,
    #[serde(default, deserialize_with = "sort_by")]
    pub sort_by: Option<SortBy>,
    #[serde(default, deserialize_with = "sort_order")]
    pub sort_order: Option<SortOrder>,
    /// Page size; absent or null means every match.
    pub limit: Option<u64>,
    pub offset: Option<u64>,
    /// The types of session to list; absent or null means the handle's mode.
    #[serde(default, deserialize_with = "session_types")]
    pub session_type: Option<Types>,
    /// What of each session to return; absent or null means all of it.
    #[serde(default, deserialize_with = "projection")]
    pub fields: Option<Projection>,
}

/// A set of session types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Types(u8);

impl Types {
    pub const ANY: Types = Types(0b1111);

    pub fn one(ty: SessionType) -> Types {
        Types(1 << ty.index())
    }

    pub fn contains(self, ty: SessionType) -> bool {
        self.0 & (1 << ty.index()) != 0
    }

    fn iter(self) -> impl Iterator<Item = SessionType> {
        SessionType::ALL.into_iter().filter(move |&ty| self.contains(ty))
    }
}

/// What a listing returns of each session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Projection {
    /// The stored session.
    #[default]
    All,
    /// The fields the store reads: id, type, user, entity, timestamps and the session's name. Built
    /// from the record alone, so its cost does not depend on the size of the transcript.
    Metadata,
    /// The named top-level fields, in the stored session's order (each session is scanned).
    Fields(Vec<String>),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortBy {
    #[default]
    CreatedAt,
    UpdatedAt,
    SessionId,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

impl Query {
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let text = json::checked_text(bytes)?;
        json::from_object(text, "query", ErrorKind::InvalidArgument)
    }

    /// The user and entity the query filters on.
    pub(crate) fn filter(&self) -> Filter<'_> {
        Filter::new(Some(&self.user_id), Some(&self.entity_id))
    }

    /// The types of session the query lists: its own, or by default `mode`.
    pub(crate) fn types(&self, mode: SessionType) -> impl Iterator<Item = SessionType> {
        self.session_type.unwrap_or(Types::one(mode)).iter()
    }

    /// Runs the query over `selections`, one for each of [`Query::types`] taken with [`Query::filter`];
    /// returns `{"sessions":[...],"total":N}`.
    pub(crate) fn run(&self, selections: &[Selection]) -> String {
        let conditions = Conditions {
            created: self.created_after.unwrap_or(i64::MIN)..=self.created_before.unwrap_or(i64::MAX),
            updated: self.updated_after.unwrap_or(i64::MIN)..=self.updated_before.unwrap_or(i64::MAX),
            needle: self.session_name.as_deref().map(Needle::new),
        };
        let matching = |selection| conditions.matching(selection);
        let offset = usize::try_from(self.offset.unwrap_or(0)).unwrap_or(usize::MAX);
        let limit = self.limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
        let descending = self.sort_order.unwrap_or_default() == SortOrder::Desc;
        let sort_by = self.sort_by.unwrap_or_default();

        let (page, total) = match (sort_by, selections) {
            // An index is already in (created_at, insertion) order.
            (SortBy::CreatedAt, [one]) if descending => page_and_count(matching(one).rev(), offset, limit),
            (SortBy::CreatedAt, [one]) => page_and_count(matching(one), offset, limit),
            // Insertion numbers are shared by all types: merging the indexes of several types keeps
            // that order without a sort.
            (SortBy::CreatedAt, _) => {
                let walks: Vec<Box<dyn Iterator<Item = &Record>>> = selections
                    .iter()
                    .map(|selection| -> Box<dyn Iterator<Item = &Record>> {
                        if descending {
                            Box::new(matching(selection).rev())
                        } else {
                            Box::new(matching(selection))
                        }
                    })
                    .collect();
                page_and_count(Merge::new(walks, descending), offset, limit)
            }
            _ => {
                let mut all: Vec<&Record> = selections.iter().flat_map(matching).collect();
                match sort_by {
                    SortBy::UpdatedAt => all.sort_unstable_by_key(|r| (r.updated_at, r.seq)),
                    _ => all.sort_unstable_by(|a, b| a.id().cmp(&b.id())),
                }
                if descending {
                    all.reverse();
                }
                let total = all.len();
                (all.into_iter().skip(offset).take(limit).collect(), total)
            }
        };

        render::page(&page, total, self.fields.as_ref().unwrap_or(&Projection::All))
    }
}

/// What a query asks of each session besides its type, user and entity.
struct Conditions {
    created: RangeInclusive<i64>,
    updated: RangeInclusive<i64>,
    needle: Option<Needle>,
}

impl Conditions {
    fn matching<'s>(&'s self, selection: &'s Selection) -> impl DoubleEndedIterator<Item = &'s Record> + 's {
        selection.matching(self.created.clone()).filter(|r| {
            self.updated.contains(&r.updated_at)
                && self.needle.as_ref().is_none_or(|n| r.name().is_some_and(|name| n.found_in(&name)))
        })
    }
}

/// The most field names a projection may list.
const MAX_FIELDS: usize = 64;

/// A string or a list of strings, borrowed from the query where they have no escapes.
enum OneOrMany<'a> {
    One(Cow<'a, str>),
    Many(Vec<Cow<'a, str>>),
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<OneOrMany<'de>>, D::Error> {
    use serde::de::Error;
    let Some(raw) = Option::<&'de RawValue>::deserialize(deserializer)? else { return Ok(None) };
    let text = raw.get();
    let parsed = if text.starts_with('"') {
        serde_json::from_str::<json::Str>(text).map(|json::Str(s)| OneOrMany::One(s))
    } else if text.starts_with('[') {
        serde_json::from_str::<Vec<json::Str>>(text)
            .map(|list| OneOrMany::Many(list.into_iter().map(|json::Str(s)| s).collect()))
    } else {
        return Err(D::Error::custom("expected a string or a list of strings"));
    };
    parsed.map(Some).map_err(D::Error::custom)
}

fn session_types<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<Types>, D::Error> {
    use serde::de::Error;
    let parse = |name: &str| {
        match name {
        "any" => Ok(Types::ANY),
        name => SessionType::parse(name).map(Types::one).map_err(|_| {
            D::Error::custom(format_args!(
                "unknown session_type {}: expected \"agent\", \"team\", \"workflow\", \"workflow_v2\", \"any\" or a list of types",
                quote(name)
            ))
        }),
    }
    };
    match one_or_many(deserializer)? {
        None => Ok(None),
        Some(OneOrMany::One(name)) => parse(&name).map(Some),
        Some(OneOrMany::Many(names)) if names.is_empty() => {
            Err(D::Error::custom("session_type: an empty list selects nothing"))
        }
        Some(OneOrMany::Many(names)) => {
            names.iter().try_fold(Types(0), |set, name| parse(name).map(|one| Types(set.0 | one.0))).map(Some)
        }
    }
}

fn projection<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<Projection>, D::Error> {
    use serde::de::Error;
    match one_or_many(deserializer)? {
        None => Ok(None),
        Some(OneOrMany::One(name)) => match name.as_ref() {
            "all" => Ok(Some(Projection::All)),
            "metadata" => Ok(Some(Projection::Metadata)),
            other => Err(D::Error::custom(format_args!(
                "unknown fields {}: expected \"all\", \"metadata\" or a list of field names",
                quote(other)
            ))),
        },
        // A bound, since every listed session is matched against every name under the read lock.
        Some(OneOrMany::Many(names)) if names.len() > MAX_FIELDS => {
            Err(D::Error::custom(format_args!("fields: at most {MAX_FIELDS} names, not {}", names.len())))
        }
        Some(OneOrMany::Many(names)) => {
            Ok(Some(Projection::Fields(names.into_iter().map(Cow::into_owned).collect())))
        }
    }
}

// Only the documented strings: serde's derive would also take {"updated_at": null} for a unit variant.
fn sort_by<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<SortBy>, D::Error> {
    Option::<json::Str>::deserialize(deserializer)?
        .map(|json::Str(name)| match name.as_ref() {
            "created_at" => Ok(SortBy::CreatedAt),
            "updated_at" => Ok(SortBy::UpdatedAt),
            "session_id" => Ok(SortBy::SessionId),
            _ => Err(serde::de::Error::custom(format_args!(
                "unknown sort_by {}: expected \"created_at\", \"updated_at\" or \"session_id\"",
                quote(&name)
            ))),
        })
        .transpose()
}

fn sort_order<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<SortOrder>, D::Error> {
    Option::<json::Str>::deserialize(deserializer)?
        .map(|json::Str(name)| match name.as_ref() {
            "asc" => Ok(SortOrder::Asc),
            "desc" => Ok(SortOrder::Desc),
            _ => Err(serde::de::Error::custom(format_args!(
                "unknown sort_order {}: expected \"asc\" or \"desc\"",
                quote(&name)
            ))),
        })
        .transpose()
}

fn empty_if_null<'de, D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

fn page_and_count<'a>(
    records: impl Iterator<Item = &'a Record>,
    offset: usize,
    limit: usize,
) -> (Vec<&'a Record>, usize) {
    let mut page = Vec::new();
    let mut total = 0;
    for record in records {
        if total >= offset && page.len() < limit {
            page.push(record);
        }
        total += 1;
    }
    (page, total)
}

/// Walks of indexes in `(created_at, seq)` order (descending ones in reverse), merged into one walk in
/// that order. A listing selects at most four types, so picking the next head by a scan is enough.
struct Merge<'a> {
    heads: Vec<std::iter::Peekable<Box<dyn Iterator<Item = &'a Record> + 'a>>>,
    descending: bool,
}

impl<'a> Merge<'a> {
    fn new(walks: Vec<Box<dyn Iterator<Item = &'a Record> + 'a>>, descending: bool) -> Self {
        Merge { heads: walks.into_iter().map(Iterator::peekable).collect(), descending }
    }
}

impl<'a> Iterator for Merge<'a> {
    type Item = &'a Record;

    fn next(&mut self) -> Option<&'a Record> {
        let key = |r: &Record| (r.created_at, r.seq);
        let mut best: Option<(usize, (i64, u64))> = None;
        for (i, head) in self.heads.iter_mut().enumerate() {
            if let Some(&record) = head.peek() {
                let k = key(record);
                let better = best.is_none_or(|(_, b)| if self.descending { k > b } else { k < b });
                if better {
                    best = Some((i, k));
                }
            }
        }
        best.and_then(|(i, _)| self.heads[i].next())
    }
}

/// A case-insensitive substring search, linear in the name's length whatever the needle: the needle
/// is folded once, each name is folded into a reused buffer (unless it has nothing to fold), and the
/// search is memchr's `memmem` (two-way), so a hostile needle cannot make a query quadratic while it
/// holds the store's read lock.
struct Needle {
    finder: memmem::Finder<'static>,
    folded: RefCell<String>,
}

/// Full Unicode case folding, as Python's `str.casefold` (Agno 2 compares names that way): "ς" and
/// "Σ" both fold to "σ", "ß" to "ss". Folding has no context rules, so a name folds the same alone and
/// inside a longer one.
fn fold_into(out: &mut String, s: &str) {
    out.clear();
    if s.is_ascii() {
        out.push_str(s);
        out.make_ascii_lowercase();
    } else {
        out.extend(s.chars().default_case_fold());
    }
}

impl Needle {
    fn new(needle: &str) -> Self {
        let mut folded = String::new();
        fold_into(&mut folded, needle);
        Needle { finder: memmem::Finder::new(folded.as_bytes()).into_owned(), folded: RefCell::new(folded) }
    }

    fn found_in(&self, haystack: &str) -> bool {
        let has_upper = |s: &str| s.bytes().any(|b| b.is_ascii_uppercase());
        if haystack.is_ascii() && !has_upper(haystack) {
            return self.finder.find(haystack.as_bytes()).is_some();
        }
        let mut folded = self.folded.borrow_mut();
        fold_into(&mut folded, haystack);
        self.finder.find(folded.as_bytes()).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_bad_values_are_invalid_arguments() {
        for bad in [
            &br#"{"user":"u"}"#[..],
            br#"{"sort_by":"name"}"#,
            br#"{"sort_order":"up"}"#,
            br#"{"limit":-1}"#,
            br#"{"offset":1.5}"#,
            br#"{"created_after":"now"}"#,
            br#"[]"#,
            br#"[null,null,null,null,null,null,null,null,null,null,null]"#,
            br#""user_id""#,
        ] {
            assert_eq!(Query::parse(bad).unwrap_err().kind, ErrorKind::InvalidArgument);
        }
        assert_eq!(Query::parse(b"{").unwrap_err().kind, ErrorKind::InvalidJson);
    }

    #[test]
    fn nulls_mean_defaults() {
        let q = Query::parse(br#"{"limit":null,"sort_by":null,"user_id":null}"#).unwrap();
        assert_eq!(q, Query::default());
    }

    #[test]
    fn needle_is_case_insensitive_for_ascii_and_unicode() {
        assert!(Needle::new("TRIP").found_in("my trip to Rome"));
        assert!(Needle::new("").found_in("anything"));
        assert!(!Needle::new("paris").found_in("Rome"));
        assert!(Needle::new("ÉTÉ").found_in("un été à Nice"));
        assert!(Needle::new("straße").found_in("STRASSE straße"));
        assert!(Needle::new("ΑΣ").found_in("ΑΣΟΣ"), "no final-sigma context rule");
        assert!(Needle::new("οδος").found_in("ΟΔΟΣ") && Needle::new("ΟΔΟΣ").found_in("οδος"), "final sigma");
        assert!(Needle::new("σ").found_in("ΟΔΟΣ") && Needle::new("ς").found_in("σ"));
        assert!(Needle::new("STRASSE").found_in("straße") && Needle::new("ﬃ").found_in("FFI"));
        assert!(Needle::new("İ").found_in("xİy") && !Needle::new("İ").found_in("xIy"));
        let needle = Needle::new("Ab");
        assert!(needle.found_in("xxAB") && needle.found_in("ab") && !needle.found_in("a b"));
        assert!(!needle.found_in("é") && needle.found_in("éAB"), "the buffer is reset between names");
    }
}
