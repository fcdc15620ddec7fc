//! Decoding bytes into operations (shared by the proptest and the fuzz target).

use super::super::ffi::Kind;
use super::docs::{escape_all, key_json, Batch, Doc, IdsDoc, ImportDoc, OuterFault, TextFault, Top, V};
use super::ops::{Bounds, Expect, Op, RunsDoc, Setup, Via};
use super::reference::{parse_query, session_size, Field};
use super::{ENTITY_KEYS, MODES};
use sessionstore::now;

pub const IDS: [&str; 9] = ["s0", "s1", "s2", "s3", "é", "q\"\\", "tab\tx", "s0 ", "zz"];
const USERS: [&str; 4] = ["u0", "u1", "", "ü"];
const ENTITIES: [&str; 3] = ["e0", "e1", ""];
const NAMES: [&str; 9] =
    ["Trip to Rome", "trip", "Été à Nice", "", "STRASSE", "q\"n", "Straße", "ΟΔΟΣ", "ΑΣΟΣ"];
const NAMES_NON_STRICT: usize = 8; // "ΑΣΟΣ" (the fixed final-sigma defect) only in strict mode
const NEEDLES: [&str; 11] = ["trip", "TRIP", "été", "ÉTÉ", "", "x", "ss", "σ", "ΑΣ", "οδος", "STRASSE"];
const TIMES: [i64; 8] = [0, 100, 100, 200, -5, 1_700_000_000, i64::MAX, i64::MIN];
const OPAQUE_KEYS: [&str; 6] = ["memory", "extra_data", "runs", "agent_data", "é", "we\"ird"];
const OPAQUE_VALUES: [&str; 9] = [
    r#"{"runs":[]}"#,
    r#"{"b" :[1.50, 2e3]}"#,
    r#""\u00e9""#,
    "null",
    "[1,2,3]",
    "true",
    r#"{"nested":{"session_id":"fake","session_data":{"session_name":"trip"}}}"#,
    r#""ΟΔΟΣ""#,
    r#"{ "deep" : [[[[{"a":[]}]]]] }"#,
];
const BAD_NUMBERS: [&str; 6] = ["1.5", "1e3", "-0", "99999999999999999999", "18446744073709551615", "1e400"];

/// Reads choices from bytes; past the end every choice is 0.
pub struct Gen<'a> {
    data: &'a [u8],
    pos: usize,
    pub strict: bool,
}

impl<'a> Gen<'a> {
    pub fn new(data: &'a [u8], strict: bool) -> Self {
        Gen { data, pos: 0, strict }
    }

    pub fn exhausted(&self) -> bool {
        self.pos >= self.data.len()
    }

    pub fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            0
        } else {
            self.byte() as usize % n
        }
    }

    /// True with about `pct` percent chance (on uniform bytes).
    pub fn pct(&mut self, pct: u32) -> bool {
        (self.byte() as u32 * 100) >> 8 < pct
    }

    pub fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())].clone()
    }

    fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i + 1);
            xs.swap(i, j);
        }
    }
}

fn str_v(s: &str, g: &mut Gen) -> V {
    let raw = if g.pct(15) { escape_all(s) } else { key_json(s) };
    V::Str(s.to_owned(), raw)
}

fn gen_id(g: &mut Gen) -> String {
    g.pick(&IDS).to_owned()
}

fn gen_name(g: &mut Gen) -> String {
    let n = if g.strict { NAMES.len() } else { NAMES_NON_STRICT };
    NAMES[g.below(n)].to_owned()
}

fn gen_session_data(g: &mut Gen) -> V {
    match g.below(5) {
        0 => V::Null,
        1 => V::Obj(vec![], g.pct(50)),
        _ => {
            let mut inner = Vec::new();
            if g.pct(80) {
                let name = if g.pct(85) { str_v(&gen_name(g), g) } else { V::Null };
                inner.push(("session_name".to_owned(), name));
            }
            if g.pct(40) {
                inner.push(("turns".to_owned(), V::Int(3)));
            }
            if g.pct(30) {
                inner.push(("tags".to_owned(), V::Opaque(r#"["a", "b"]"#.into(), false)));
            }
            g.shuffle(&mut inner);
            V::Obj(inner, g.pct(30))
        }
    }
}

fn set_v(fields: &mut Vec<(String, V)>, key: &str, v: V) {
    match fields.iter_mut().find(|(k, _)| k == key) {
        Some((_, old)) => *old = v,
        None => fields.push((key.to_owned(), v)),
    }
}

/// A session document for a handle of mode `mode` (which only matters for "session_type"), with its
/// intended id. About one in four carries one fault.
fn gen_session(g: &mut Gen, mode: usize, max: usize) -> (String, Doc) {
    let id = gen_id(g);
    let mut fields: Vec<(String, V)> = vec![("session_id".into(), str_v(&id, g))];
    if g.pct(60) {
        let v = if g.pct(85) { str_v(g.pick(&USERS), g) } else { V::Null };
        fields.push(("user_id".into(), v));
    }
    for key in ENTITY_KEYS {
        if g.pct(35) {
            let v = if g.pct(85) { str_v(g.pick(&ENTITIES), g) } else { V::Null };
            fields.push((key.into(), v));
        }
    }
    if g.pct(50) {
        fields.push(("created_at".into(), if g.pct(90) { V::Int(g.pick(&TIMES)) } else { V::Null }));
    }
    if g.pct(20) {
        fields.push(("updated_at".into(), if g.pct(90) { V::Int(g.pick(&TIMES)) } else { V::Null }));
    }
    if g.pct(50) {
        fields.push(("session_data".into(), gen_session_data(g)));
    }
    if g.pct(20) {
        let v = match g.below(4) {
            0 => V::Null,
            1 | 2 => str_v(MODES[mode], g),
            _ => str_v(MODES[g.below(4)], g),
        };
        fields.push(("session_type".into(), v));
    }
    for _ in 0..g.below(3) {
        let key = g.pick(&OPAQUE_KEYS);
        if !fields.iter().any(|(k, _)| k == key) {
            fields.push((key.into(), V::Opaque(g.pick(&OPAQUE_VALUES).into(), false)));
        }
    }
    if g.pct(4) {
        // At the depth limit: the session is the first level.
        let depth = sessionstore::MAX_DEPTH - 1;
        fields.push(("deep".into(), V::Opaque(format!("{}{}", "[".repeat(depth), "]".repeat(depth)), false)));
    }
    g.shuffle(&mut fields);
    let mut doc = Doc { top: Top::Object(fields, false), fault: None };
    let faulty = g.pct(25);
    if faulty {
        add_fault(g, &mut doc, max);
    }
    if let Top::Object(_, ws) = &mut doc.top {
        *ws = g.pct(20);
    }
    if !faulty && max <= 1 << 16 && g.pct(5) {
        fill_to_limit(&mut doc, max);
    }
    (id, doc)
}

/// The size `max_session_bytes` counts, for a document that is an object.
fn doc_size(doc: &Doc) -> usize {
    let Top::Object(fields, _) = &doc.top else { return doc.bytes().len() };
    let fields: Vec<(String, Field)> =
        fields.iter().map(|(k, v)| (k.clone(), Field::Raw(v.text()))).collect();
    session_size(doc.bytes().len(), &fields)
}

/// Pads the session to exactly the size limit, when it is not over it already.
fn fill_to_limit(doc: &mut Doc, max: usize) {
    let pad = |n: usize| V::Str("x".repeat(n), format!("\"{}\"", "x".repeat(n)));
    let Top::Object(fields, _) = &mut doc.top else { return };
    fields.push(("pad".into(), pad(0)));
    match max.checked_sub(doc_size(doc)) {
        Some(n) => {
            let Top::Object(fields, _) = &mut doc.top else { unreachable!() };
            fields.last_mut().expect("pushed above").1 = pad(n);
            debug_assert_eq!(doc_size(doc), max);
        }
        None => {
            let Top::Object(fields, _) = &mut doc.top else { unreachable!() };
            fields.pop();
        }
    }
}

fn add_fault(g: &mut Gen, doc: &mut Doc, max: usize) {
    let Top::Object(fields, _) = &mut doc.top else { return };
    let faults = if g.strict { 18 } else { 17 };
    match g.below(faults) {
        0 => fields.retain(|(k, _)| k != "session_id"),
        1 => set_v(fields, "session_id", V::Str(String::new(), "\"\"".into())),
        2 => set_v(
            fields,
            "session_id",
            if g.pct(50) { V::Int(5) } else { V::Opaque(r#"["s0"]"#.into(), false) },
        ),
        3 => set_v(fields, "user_id", V::Int(1)),
        4 => set_v(fields, ENTITY_KEYS[g.below(3)], V::Opaque("{}".into(), false)),
        5 => {
            let v = if g.pct(80) {
                V::Num(g.pick(&BAD_NUMBERS))
            } else {
                V::Str("yesterday".into(), "\"yesterday\"".into())
            };
            set_v(fields, if g.pct(70) { "created_at" } else { "updated_at" }, v);
        }
        6 => set_v(
            fields,
            "session_data",
            if g.pct(50) { str_v("x", g) } else { V::Opaque("[1]".into(), false) },
        ),
        7 => set_v(fields, "session_data", V::Obj(vec![("session_name".into(), V::Int(3))], false)),
        8 => {
            let i = g.below(fields.len());
            if let Some(f) = fields.get(i).cloned() {
                fields.push(f);
            }
        }
        9 => set_v(
            fields,
            "session_data",
            V::Obj(vec![("a".into(), V::Int(1)), ("a".into(), V::Int(2))], false),
        ),
        10 => set_v(fields, "session_type", if g.pct(50) { str_v("robot", g) } else { V::Int(5) }),
        11 => doc.top = Top::Other(g.pick(&[r#"["s0"]"#, r#""s0""#, "5", "null", "true"])),
        12 => doc.fault = Some(TextFault::Truncate),
        13 => doc.fault = Some(TextFault::BadUtf8),
        14 => doc.fault = Some(TextFault::Deep),
        15 => doc.fault = Some(TextFault::Trailing),
        16 => {
            // Too large for a small store; harmless padding for a default one.
            let n = if max <= 1 << 16 { max } else { 1000 };
            fields.push(("pad".into(), V::Str("x".repeat(n), format!("\"{}\"", "x".repeat(n)))));
        }
        _ => set_v(fields, "memory", V::Opaque(r#"{"x":1,"y":{"z":1,"z":2}}"#.into(), true)),
    }
}

fn gen_outer_fault(g: &mut Gen, shapes: &[&'static str]) -> Option<OuterFault> {
    if !g.pct(8) {
        return None;
    }
    Some(match g.below(3) {
        0 => OuterFault::WrongShape(g.pick(shapes)),
        1 => OuterFault::Truncate,
        _ => OuterFault::BadUtf8,
    })
}

fn gen_opt_user(g: &mut Gen) -> Option<String> {
    if g.pct(50) {
        None
    } else {
        Some(g.pick(&USERS).to_owned())
    }
}

fn gen_opt_entity(g: &mut Gen) -> Option<String> {
    if g.pct(60) {
        None
    } else {
        Some(g.pick(&ENTITIES).to_owned())
    }
}

fn gen_query(g: &mut Gen) -> Option<Doc> {
    if g.pct(8) {
        return None;
    }
    let now = now();
    let mut fields: Vec<(String, V)> = Vec::new();
    let times = [TIMES[g.below(8)], now - 5, now, now + 5, 150];
    let invalid = |g: &mut Gen| -> V {
        match g.below(4) {
            0 => V::Opaque("[]".into(), false),
            1 => V::Num(g.pick(&["1.5", "99999999999999999999", "-0"])),
            2 => V::Int(-1),
            _ => V::Opaque("{}".into(), false),
        }
    };
    for (key, pct) in [("user_id", 30), ("entity_id", 20), ("session_name", 20)] {
        if g.pct(pct) {
            let v = match g.below(12) {
                0 => V::Null,
                1 => invalid(g),
                _ => match key {
                    "user_id" => str_v(g.pick(&USERS), g),
                    "entity_id" => str_v(g.pick(&ENTITIES), g),
                    _ => {
                        let n = if g.strict { NEEDLES.len() } else { NEEDLES.len() - 1 };
                        str_v(NEEDLES[g.below(n)], g)
                    }
                },
            };
            fields.push((key.into(), v));
        }
    }
    for key in ["created_after", "created_before", "updated_after", "updated_before"] {
        if g.pct(15) {
            let v = match g.below(12) {
                0 => V::Null,
                1 => invalid(g),
                2 if g.strict => V::Num("1e400"),
                _ => V::Int(times[g.below(times.len())]),
            };
            fields.push((key.into(), v));
        }
    }
    if g.pct(40) {
        let v = match g.below(10) {
            0 => V::Null,
            1 if g.strict && g.pct(50) => V::Int(1),
            1 => str_v("name", g),
            _ => str_v(g.pick(&["created_at", "updated_at", "session_id"]), g),
        };
        fields.push(("sort_by".into(), v));
    }
    if g.pct(40) {
        let v = match g.below(10) {
            0 => V::Null,
            1 if g.strict && g.pct(50) => V::Opaque("true".into(), false),
            1 => str_v("up", g),
            _ => str_v(g.pick(&["asc", "desc"]), g),
        };
        fields.push(("sort_order".into(), v));
    }
    for key in ["limit", "offset"] {
        if g.pct(35) {
            let v = match g.below(14) {
                0 => V::Null,
                1 => invalid(g),
                2 => V::Num("18446744073709551615"),
                3 => V::Int(i64::MAX),
                _ => V::Int(g.below(5) as i64),
            };
            fields.push((key.into(), v));
        }
    }
    if g.pct(12) {
        let v = match g.below(10) {
            0 => V::Null,
            1 => str_v("robot", g),
            2 => V::Opaque("[]".into(), false),
            3 => V::Int(5),
            4 | 5 => str_v("any", g),
            6 | 7 => {
                let types: Vec<String> = (0..1 + g.below(3)).map(|_| key_json(MODES[g.below(4)])).collect();
                V::Opaque(format!("[{}]", types.join(",")), false)
            }
            _ => str_v(MODES[g.below(4)], g),
        };
        fields.push(("session_type".into(), v));
    }
    if g.pct(12) {
        let v = match g.below(8) {
            0 => V::Null,
            1 => str_v("some", g),
            2 => V::Int(1),
            3 => str_v("all", g),
            4 | 5 => str_v("metadata", g),
            _ => {
                let names = ["session_id", "user_id", "memory", "session_data", "created_at", "nope", "é"];
                let picked: Vec<String> = (0..g.below(4)).map(|_| key_json(g.pick(&names))).collect();
                V::Opaque(format!("[{}]", picked.join(",")), false)
            }
        };
        fields.push(("fields".into(), v));
    }
    if g.pct(3) {
        fields.push(("user".into(), str_v("u0", g)));
    }
    // A duplicate key only in an otherwise valid query: the header gives no precedence between faults.
    if g.strict && g.pct(3) && !fields.is_empty() {
        let valid = parse_query(Some(&Doc { top: Top::Object(fields.clone(), false), fault: None })).is_ok();
        if valid {
            let f = fields[0].clone();
            fields.push(f);
        }
    }
    g.shuffle(&mut fields);
    let mut doc = Doc { top: Top::Object(fields, g.pct(20)), fault: None };
    if g.pct(2) {
        doc.top = Top::Other(g.pick(&["[]", r#""user_id""#, "null", "[null,null]"]));
    } else if g.pct(3) {
        doc.fault =
            Some(g.pick(&[TextFault::Truncate, TextFault::BadUtf8, TextFault::Deep, TextFault::Trailing]));
    }
    Some(doc)
}

/// The runs of an append: valid arrays (spaced and not, any values), and each documented failure.
fn gen_runs(g: &mut Gen) -> RunsDoc {
    let ok = |text: &str, inner: &str| RunsDoc { text: text.to_owned(), inner: Ok(inner.to_owned()) };
    let bad = |text: String, kind: Kind| RunsDoc { text, inner: Err(kind) };
    match g.below(12) {
        0..=3 => ok(r#"[{"n":1}]"#, r#"{"n":1}"#),
        4 => ok(r#" [ {"r":"é"} , null ] "#, r#"{"r":"é"} , null"#),
        5 => ok("[1,[2],\"x\"]", "1,[2],\"x\""),
        6 => {
            let big = format!("\"{}\"", "x".repeat(400));
            ok(&format!("[{big}]"), &big)
        }
        7 => bad("[]".into(), Kind::InvalidArgument),
        8 => bad(g.pick(&["{}", "\"run\"", "null", "5"]).into(), Kind::InvalidArgument),
        9 => bad(g.pick(&["[1", "[1,]", "[\"\\x\"]", "[]]"]).into(), Kind::InvalidJson),
        10 => {
            // Runs nest three levels below the session's top (session, memory, runs).
            let deep = 254;
            bad(format!("[{}{}]", "[".repeat(deep - 1), "]".repeat(deep - 1)), Kind::InvalidJson)
        }
        _ => {
            let deep = 253;
            let text = format!("[{}{}]", "[".repeat(deep - 1), "]".repeat(deep - 1));
            let inner = text[1..text.len() - 1].to_owned();
            RunsDoc { text, inner: Ok(inner) }
        }
    }
}

fn gen_expect(g: &mut Gen) -> Expect {
    match g.below(10) {
        0..=5 => Expect::Current,
        6 | 7 => Expect::Stale,
        8 => Expect::Zero,
        _ => Expect::Number(g.pick(&[1, 7, u64::MAX])),
    }
}

pub const MAX_OPS: usize = 80;
const MAX_HANDLES: usize = 6;

/// Decodes a setup and a sequence of operations; every handle index is valid when its operation runs.
pub fn decode(data: &[u8], strict: bool) -> (Setup, Vec<Op>) {
    let mut g = Gen::new(data, strict);
    let mode = g.below(4);
    let max = match g.below(8) {
        0 => Some(300),
        1 => Some(700),
        2 => Some(1 << 16),
        _ => None,
    };
    let shares: Vec<usize> = (0..g.below(4)).map(|_| g.below(4)).collect();
    let feed = match g.below(8) {
        0 => Some(0),
        1 => Some(600),
        2 => Some(4000),
        _ => None,
    };
    let setup = Setup { mode, max, shares: shares.clone(), feed, bounds: None };
    let max = setup.max_bytes();
    let mut modes: Vec<usize> = std::iter::once(mode).chain(shares).collect();
    let mut ops = Vec::new();
    while !g.exhausted() && ops.len() < MAX_OPS {
        let h = g.below(modes.len());
        let via = if g.pct(50) { Via::Rust } else { Via::Ffi };
        let m = modes[h];
        let op = match g.byte() {
            0..=49 => {
                let (_, doc) = gen_session(&mut g, m, max);
                Op::Upsert { h, via, doc, pad: g.pct(10) }
            }
            50..=53 => {
                let (_, doc) = gen_session(&mut g, m, max);
                Op::UpsertIf { h, via, doc, expect: gen_expect(&mut g) }
            }
            54..=56 => {
                let (id, name) = (gen_id(&mut g), gen_name(&mut g));
                Op::RenameIf { h, via, id, name, user: gen_opt_user(&mut g), expect: gen_expect(&mut g) }
            }
            57..=59 => {
                let id = gen_id(&mut g);
                Op::DeleteIf { h, via, id, user: gen_opt_user(&mut g), expect: gen_expect(&mut g) }
            }
            60..=79 => {
                let n = g.below(5);
                let elems = (0..n).map(|_| gen_session(&mut g, m, max).1).collect();
                Op::UpsertMany {
                    h,
                    via,
                    batch: Batch {
                        elems,
                        ws: g.pct(20),
                        fault: gen_outer_fault(&mut g, &["{}", "null", "\"s0\"", "5"]),
                    },
                }
            }
            80..=99 => Op::Read { h, via, id: gen_id(&mut g), user: gen_opt_user(&mut g) },
            100..=109 => Op::Ids { h, via, user: gen_opt_user(&mut g), entity: gen_opt_entity(&mut g) },
            110..=117 => Op::All { h, via, user: gen_opt_user(&mut g), entity: gen_opt_entity(&mut g) },
            118..=131 => {
                let limit = g.pick(&[-1, -7, i64::MIN, 0, 1, 2, 3, 100, i64::MAX]);
                Op::Recent { h, via, user: gen_opt_user(&mut g), entity: gen_opt_entity(&mut g), limit }
            }
            132..=161 => Op::Query { h, via, query: gen_query(&mut g) },
            162..=176 => {
                let (id, name) = (gen_id(&mut g), gen_name(&mut g));
                Op::Rename { h, via, id, name, user: gen_opt_user(&mut g) }
            }
            177..=189 => {
                let id = gen_id(&mut g);
                Op::Delete { h, via, id, user: gen_opt_user(&mut g) }
            }
            190..=199 => {
                let mut items: Vec<V> = (0..g.below(5)).map(|_| str_v(&gen_id(&mut g), &mut g)).collect();
                if g.pct(8) {
                    items.push(V::Int(1));
                }
                let fault = gen_outer_fault(&mut g, &["{}", "\"s0\"", "null"]);
                Op::DeleteMany { h, via, ids: IdsDoc { items, fault }, user: gen_opt_user(&mut g) }
            }
            200..=203 => Op::Drop { h, via },
            204..=208 => Op::Stats { h, via },
            209..=213 => Op::Export { h, via },
            214..=227 => {
                let mut records = Vec::new();
                for _ in 0..g.below(4) {
                    let (id, doc) = gen_session(&mut g, m, max);
                    let key = if g.pct(8) { gen_id(&mut g) } else { id };
                    records.push((key, g.pct(15), doc));
                }
                if g.pct(5) && !records.is_empty() {
                    let r = records[g.below(records.len())].clone();
                    records.push(r);
                }
                Op::Import {
                    h,
                    via,
                    data: ImportDoc {
                        records,
                        ws: g.pct(20),
                        fault: gen_outer_fault(&mut g, &["[]", "null", "\"s0\""]),
                    },
                }
            }
            228..=233 => {
                let id = gen_id(&mut g);
                Op::Append { h, via, id, user: gen_opt_user(&mut g), runs: gen_runs(&mut g) }
            }
            234..=237 => Op::Reimport { h, via },
            238..=239 => {
                let back = g.pick(&[0, 1, 2, 3, 5, 8, 1000, -1]);
                let limit = g.pick(&[0, 1, 2, 100]);
                Op::Changes { h, via, back, limit, ids_only: g.pct(30) }
            }
            240..=241 => Op::ExportSeq { h, via },
            242..=250 => {
                if modes.len() >= MAX_HANDLES {
                    continue;
                }
                let mode = if g.pct(20) { None } else { Some(g.below(4)) };
                modes.push(mode.unwrap_or(m));
                Op::Share { h, mode }
            }
            _ => {
                if modes.len() < 2 {
                    continue;
                }
                modes.remove(h);
                Op::Close { h }
            }
        };
        ops.push(op);
    }
    (setup, ops)
}

/// As [`decode`], for a store with bounds: the first bytes choose them (the rest decodes as
/// [`decode`] does), and the clock moves on, or the store reclaims, between some operations.
/// `refresh_on_read` comes only without a capacity bound or quota: with one, eviction gives a session
/// read since its last write a second chance, which tests/bounds.rs checks on its own.
pub fn decode_bounded(data: &[u8]) -> (Setup, Vec<Op>) {
    let (head, rest) = data.split_at(data.len().min(8));
    let mut g = Gen::new(head, false);
    let mut bounds = Bounds::default();
    match g.below(6) {
        0 => bounds.idle = Some(5 + g.below(60) as i64),
        1 => bounds.age = Some(10 + g.below(100) as i64),
        2 => {
            bounds.idle = Some(5 + g.below(60) as i64);
            bounds.refresh = true;
        }
        _ => {}
    }
    match g.below(5) {
        0 => bounds.max_sessions = Some(1 + g.below(8)),
        1 => bounds.max_bytes = Some(300 + g.below(3000)),
        2 => bounds.user_sessions = Some(1 + g.below(3)),
        3 => bounds.user_bytes = Some(200 + g.below(1500)),
        _ => bounds.max_sessions = Some(2 + g.below(6)),
    }
    if bounds.refresh && !bounds.expires() {
        bounds.refresh = false;
    }
    if bounds.refresh {
        // Reads refreshing idle time, and nothing evicted: see above.
        (bounds.max_sessions, bounds.max_bytes, bounds.user_sessions, bounds.user_bytes) =
            (None, None, None, None);
    }
    bounds.refuse = g.pct(30);
    let steps = bounds.idle.or(bounds.age).unwrap_or(10);
    let (mut setup, ops) = decode(rest, false);
    setup.bounds = Some(bounds);
    let mut timed = Vec::with_capacity(ops.len() * 2);
    let mut clock = Gen::new(data, false);
    for op in ops {
        match clock.below(8) {
            0 | 1 => timed.push(Op::Advance { secs: clock.below(steps as usize + 1) as i64 }),
            2 => timed.push(Op::Reclaim),
            _ => {}
        }
        timed.push(op);
    }
    (setup, timed)
}

/// As [`decode_bounded`], for a store whose sessions expire and that has no capacity bound or quota:
/// the bounds a Redis store keeps.
pub fn decode_expiring(data: &[u8]) -> (Setup, Vec<Op>) {
    let (mut setup, ops) = decode_bounded(data);
    let bounds = setup.bounds.as_mut().expect("decode_bounded gives bounds");
    (bounds.max_sessions, bounds.max_bytes, bounds.user_sessions, bounds.user_bytes) =
        (None, None, None, None);
    bounds.refuse = false;
    if !bounds.expires() {
        bounds.idle = Some(30);
    }
    (setup, ops)
}
