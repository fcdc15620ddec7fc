//! Generated JSON documents.

use std::fmt;

/// A JSON value as generated: its text, plus what the schema makes of it.
#[derive(Clone, Debug, PartialEq)]
pub enum V {
    /// A string: its value and its text (plain or with every character \u-escaped).
    Str(String, String),
    Null,
    Int(i64),
    /// A valid JSON number that is not an i64 (1.5, 1e3, -0, 1e400, ...).
    Num(&'static str),
    /// Any other valid JSON text; the flag says whether it holds a duplicate key somewhere inside (kept
    /// verbatim by policy, so only informative).
    Opaque(String, bool),
    /// An object (session_data); the flag asks for whitespace in its text.
    Obj(Vec<(String, V)>, bool),
}

impl V {
    pub fn text(&self) -> String {
        match self {
            V::Str(_, raw) => raw.clone(),
            V::Null => "null".into(),
            V::Int(n) => n.to_string(),
            V::Num(s) => (*s).into(),
            V::Opaque(s, _) => s.clone(),
            V::Obj(fields, ws) => render_object(fields.iter().map(|(k, v)| (k.as_str(), v.text())), *ws),
        }
    }
}

pub(super) fn key_json(k: &str) -> String {
    serde_json::to_string(k).unwrap()
}

pub(super) fn render_object<'a>(fields: impl Iterator<Item = (&'a str, String)>, ws: bool) -> String {
    let (open, colon, comma, close) = if ws { ("{ ", " : ", " , ", " }") } else { ("{", ":", ",", "}") };
    let body: Vec<String> = fields.map(|(k, v)| format!("{}{colon}{v}", key_json(k))).collect();
    if body.is_empty() {
        return if ws { "{ }".into() } else { "{}".into() };
    }
    format!("{open}{}{close}", body.join(comma))
}

/// Faults that make a text unacceptable as JSON.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TextFault {
    Truncate,
    BadUtf8,
    Deep,
    Trailing,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Top {
    Object(Vec<(String, V)>, bool),
    /// Valid JSON that is not an object.
    Other(&'static str),
}

/// One generated document: a session, a query, or an import record.
#[derive(Clone, PartialEq)]
pub struct Doc {
    pub top: Top,
    pub fault: Option<TextFault>,
}

impl Doc {
    pub fn bytes(&self) -> Vec<u8> {
        let text = match &self.top {
            Top::Object(fields, ws) => render_object(fields.iter().map(|(k, v)| (k.as_str(), v.text())), *ws),
            Top::Other(s) => (*s).into(),
        };
        apply_fault(text.into_bytes(), self.fault)
    }

    pub(super) fn fields(&self) -> Option<&Vec<(String, V)>> {
        match &self.top {
            Top::Object(f, _) => Some(f),
            Top::Other(_) => None,
        }
    }
}

fn apply_fault(mut bytes: Vec<u8>, fault: Option<TextFault>) -> Vec<u8> {
    match fault {
        None => {}
        Some(TextFault::Truncate) => bytes.truncate(bytes.len() / 2),
        Some(TextFault::BadUtf8) => bytes.insert(1.min(bytes.len()), 0xff),
        Some(TextFault::Deep) => {
            let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
            if bytes.first() == Some(&b'{') {
                let tail = bytes.split_off(1);
                bytes.extend_from_slice(format!("\"deep\":{deep}").as_bytes());
                if tail.iter().any(|b| !b" }".contains(b)) {
                    bytes.push(b',');
                }
                bytes.extend_from_slice(&tail);
            } else {
                bytes = format!("[{deep},{}]", String::from_utf8_lossy(&bytes)).into_bytes();
            }
        }
        Some(TextFault::Trailing) => bytes.extend_from_slice(b" x"),
    }
    bytes
}

impl fmt::Debug for Doc {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.bytes()))
    }
}

/// Faults of a whole array or object payload.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OuterFault {
    /// Valid JSON of the wrong shape.
    WrongShape(&'static str),
    Truncate,
    BadUtf8,
}

fn outer_bytes(open: char, items: Vec<Vec<u8>>, close: char, ws: bool, fault: Option<OuterFault>) -> Vec<u8> {
    if let Some(OuterFault::WrongShape(s)) = fault {
        return s.as_bytes().to_vec();
    }
    let mut out = vec![open as u8];
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(if ws { b" ,\n " } else { b"," });
        }
        out.extend_from_slice(item);
    }
    out.push(close as u8);
    if ws {
        out.insert(0, b' ');
        out.push(b'\n');
    }
    match fault {
        Some(OuterFault::Truncate) => out.truncate(out.len() / 2),
        Some(OuterFault::BadUtf8) => out.insert(1, 0xfe),
        _ => {}
    }
    out
}

/// A payload for ss_upsert_many: sessions in an array.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub elems: Vec<Doc>,
    pub ws: bool,
    pub fault: Option<OuterFault>,
}

impl Batch {
    pub fn bytes(&self) -> Vec<u8> {
        outer_bytes('[', self.elems.iter().map(Doc::bytes).collect(), ']', self.ws, self.fault)
    }
}

/// A payload for ss_import: records keyed by id. The flag asks for a \u-escaped key.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportDoc {
    pub records: Vec<(String, bool, Doc)>,
    pub ws: bool,
    pub fault: Option<OuterFault>,
}

impl ImportDoc {
    pub fn bytes(&self) -> Vec<u8> {
        let items = self
            .records
            .iter()
            .map(|(k, esc, d)| {
                let mut item = if *esc { escape_all(k) } else { key_json(k) }.into_bytes();
                item.push(b':');
                item.extend_from_slice(&d.bytes());
                item
            })
            .collect();
        outer_bytes('{', items, '}', self.ws, self.fault)
    }
}

/// A payload for ss_delete_sessions: ids (and maybe non-strings) in an array.
#[derive(Clone, Debug, PartialEq)]
pub struct IdsDoc {
    pub items: Vec<V>,
    pub fault: Option<OuterFault>,
}

impl IdsDoc {
    pub fn bytes(&self) -> Vec<u8> {
        outer_bytes('[', self.items.iter().map(|v| v.text().into_bytes()).collect(), ']', false, self.fault)
    }
}

/// Every character as a \u escape (surrogate pairs above the BMP).
pub fn escape_all(s: &str) -> String {
    let mut out = String::from("\"");
    for unit in s.encode_utf16() {
        out.push_str(&format!("\\u{unit:04x}"));
    }
    out.push('"');
    out
}
