//! Agno 2-style listing: filters, sorting and paging, with the total number of matches.

use crate::error::{quote, ErrorKind, Result};
use crate::json;
use crate::names::fold_into;
use crate::reading::{Reading, Sink};
use crate::record::{Record, Slot};
use crate::render;
use crate::session_type::SessionType;
use crate::tables::{Filter, Selection};
use memchr::memmem;
use roaring::RoaringBitmap;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::cell::RefCell;
use std::ops::{Range, RangeInclusive};

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

    /// The name search, when the query has one.
    pub(crate) fn needle(&self) -> Option<Needle> {
        self.session_name.as_deref().map(Needle::new)
    }

    /// Runs the query over `selections`, one for each of [`Query::types`] taken with [`Query::filter`]
    /// and read through `reading`; `candidates`, when given, are the slots that can match `needle`
    /// (the name index's answer, taken with the selections), and only they are looked at. Returns
    /// `{"sessions":[...],"total":N}`.
    pub(crate) fn run(
        &self,
        reading: &Reading,
        selections: &[Selection],
        needle: Option<Needle>,
        candidates: Option<&RoaringBitmap>,
    ) -> String {
        let conditions = Conditions {
            created: self.created_after.unwrap_or(i64::MIN)..=self.created_before.unwrap_or(i64::MAX),
            updated: self.updated_after.unwrap_or(i64::MIN)..=self.updated_before.unwrap_or(i64::MAX),
            needle,
        };
        let offset = usize::try_from(self.offset.unwrap_or(0)).unwrap_or(usize::MAX);
        let limit = self.limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
        let descending = self.sort_order.unwrap_or_default() == SortOrder::Desc;
        let sort_by = self.sort_by.unwrap_or_default();

        // An index is already in (created_at, insertion) order: walked in that order, it gives the
        // page without a sort.
        let walk = sort_by == SortBy::CreatedAt && selections.len() == 1 && candidates.is_none();
        let order = if walk {
            Order::Walk { offset, limit, page: Vec::new(), total: 0 }
        } else {
            Order::new(sort_by)
        };
        let mut found =
            Found { needle: conditions.needle.as_ref(), order, waiting: Vec::new(), names: String::new() };
        match candidates {
            // Only the name index's candidates, whatever their type: each is checked whole.
            Some(candidates) => {
                let filter = selections.first().map_or(Filter::default(), |s| s.filter);
                let types: Vec<SessionType> = selections.iter().map(|s| s.ty).collect();
                reading.visit(candidates.iter(), &mut found, |found, r| {
                    if types.contains(&r.ty()) && filter.admits(r) && conditions.admits(r) {
                        found.push(r);
                    }
                    true
                });
            }
            None => {
                for selection in selections {
                    let slots = reading.created(&selection.order, conditions.created.clone());
                    let slots: Box<dyn Iterator<Item = Slot>> =
                        if walk && descending { Box::new(slots.rev()) } else { Box::new(slots) };
                    reading.visit(slots, &mut found, |found, r| {
                        if selection.check.admits(r) && conditions.admits_besides_created(r) {
                            found.push(r);
                        }
                        true
                    });
                }
            }
        }
        let (page, total) = found.order.page(descending, offset, limit);

        let mut out = render::Page::new(self.fields.as_ref().unwrap_or(&Projection::All));
        reading.visit(page, &mut out, |out, r| {
            out.push(r);
            true
        });
        out.finish(total)
    }
}

/// The matches of a query, found by a long read. The name search, the costly part of a match, is
/// done when the read lets go of the store's lock: under it, a candidate's name is only copied aside.
struct Found<'n> {
    needle: Option<&'n Needle>,
    order: Order,
    /// The candidates of the read's current hold of the lock that wait for the name search, with their
    /// spans in `names`.
    waiting: Vec<(Key, Slot, Range<usize>)>,
    names: String,
}

/// What a query orders its matches by.
enum Key {
    None,
    Time((i64, u64)),
    Id(String),
}

/// A query's matches in the order it wants, or the page itself when they come in that order.
enum Order {
    /// Matches come in page order: keep the page's and count the rest.
    Walk {
        offset: usize,
        limit: usize,
        page: Vec<Slot>,
        total: usize,
    },
    /// By `created_at` or `updated_at`, ties by insertion.
    Time {
        created: bool,
        matches: Vec<((i64, u64), Slot)>,
    },
    ById(Vec<(String, Slot)>),
}

impl Found<'_> {
    /// A record that meets every condition of the query but the name, which is checked later.
    fn push(&mut self, record: &Record) {
        let key = match &self.order {
            Order::Walk { .. } => Key::None,
            Order::Time { created: true, .. } => Key::Time((record.created_at, record.seq())),
            Order::Time { created: false, .. } => Key::Time((record.updated_at, record.seq())),
            Order::ById(_) => Key::Id(record.id().into_owned()),
        };
        if self.needle.is_none() {
            return self.order.accept(key, record.slot);
        }
        // Sessions without a name never match a name search.
        if let Some(name) = record.name() {
            let start = self.names.len();
            self.names.push_str(&name);
            self.waiting.push((key, record.slot, start..self.names.len()));
        }
    }
}

impl Sink for Found<'_> {
    fn settle(&mut self) {
        if let Some(needle) = self.needle {
            for (key, slot, name) in self.waiting.drain(..) {
                if needle.found_in(&self.names[name]) {
                    self.order.accept(key, slot);
                }
            }
            self.names.clear();
        }
    }
}

impl Order {
    fn new(sort_by: SortBy) -> Self {
        match sort_by {
            SortBy::CreatedAt => Order::Time { created: true, matches: Vec::new() },
            SortBy::UpdatedAt => Order::Time { created: false, matches: Vec::new() },
            SortBy::SessionId => Order::ById(Vec::new()),
        }
    }

    fn accept(&mut self, key: Key, slot: Slot) {
        match (self, key) {
            (Order::Walk { offset, limit, page, total }, _) => {
                if *total >= *offset && *total - *offset < *limit {
                    page.push(slot);
                }
                *total += 1;
            }
            (Order::Time { matches, .. }, Key::Time(key)) => matches.push((key, slot)),
            (Order::ById(matches), Key::Id(id)) => matches.push((id, slot)),
            _ => unreachable!("keys are made for their order"),
        }
    }

    /// The slots of the page at `offset`, and how many matched.
    fn page(self, descending: bool, offset: usize, limit: usize) -> (Vec<Slot>, usize) {
        fn cut<K: Ord>(
            mut matches: Vec<(K, Slot)>,
            descending: bool,
            offset: usize,
            limit: usize,
        ) -> (Vec<Slot>, usize) {
            matches.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            if descending {
                matches.reverse();
            }
            let total = matches.len();
            (matches.into_iter().skip(offset).take(limit).map(|(_, slot)| slot).collect(), total)
        }
        match self {
            Order::Walk { page, total, .. } => (page, total),
            Order::Time { matches, .. } => cut(matches, descending, offset, limit),
            Order::ById(matches) => cut(matches, descending, offset, limit),
        }
    }
}

/// What a query asks of each session besides its type, user and entity.
struct Conditions {
    created: RangeInclusive<i64>,
    updated: RangeInclusive<i64>,
    needle: Option<Needle>,
}

impl Conditions {
    /// Whether `record` meets the time conditions (the name is checked by [`Found`]).
    fn admits(&self, record: &Record) -> bool {
        self.created.contains(&record.created_at) && self.admits_besides_created(record)
    }

    fn admits_besides_created(&self, record: &Record) -> bool {
        self.updated.contains(&record.updated_at)
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

/// A case-insensitive substring search, linear in the name's length whatever the needle: the needle
/// is folded once, each name is folded into a reused buffer (unless it has nothing to fold), and the
/// search is memchr's `memmem` (two-way), so a hostile needle cannot make a query quadratic while it
/// holds the store's read lock.
pub(crate) struct Needle {
    finder: memmem::Finder<'static>,
    /// A reused buffer for folded names.
    folded: RefCell<String>,
}

impl Needle {
    fn new(needle: &str) -> Self {
        let mut folded = String::new();
        fold_into(&mut folded, needle);
        Needle { finder: memmem::Finder::new(folded.as_bytes()).into_owned(), folded: RefCell::new(folded) }
    }

    /// The needle, case-folded: what the name index is asked for.
    pub(crate) fn folded(&self) -> &str {
        std::str::from_utf8(self.finder.needle()).expect("a folded str")
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
