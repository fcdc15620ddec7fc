//! The JSON the store writes itself: listings, query pages, exports and stats. Stored sessions and ids
//! are copied as stored, never re-serialised.

use crate::store::Stats;
use crate::tables::{Record, Tables};

/// Ids brought into the cache at once by a listing: enough to keep every cache-miss slot busy,
/// few enough to stay in L1 (256 measured best at 100k sessions; 64 and 1024 lose 10-40%).
const TOUCH_CHUNK: usize = 256;

/// A JSON array of the records' ids.
pub fn ids(records: &[&Record]) -> String {
    let mut out = String::with_capacity(records.iter().map(|r| r.quoted_id_len() + 1).sum::<usize>() + 2);
    out.push('[');
    for chunk in records.chunks(TOUCH_CHUNK) {
        Tables::touch_ids(chunk);
        for record in chunk {
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(record.quoted_id());
        }
    }
    out.push(']');
    out
}

/// A JSON array of the records' sessions.
pub fn sessions(records: &[&Record]) -> String {
    let mut array = Array::with_capacity(records.iter().map(|r| r.json().len() + 1).sum::<usize>() + 2);
    records.iter().for_each(|r| array.push(r.json()));
    array.finish()
}

/// A query's page of sessions and its total number of matches: `{"sessions":[...],"total":N}`.
pub fn page(records: &[&Record], total: usize) -> String {
    let mut out = String::with_capacity(records.iter().map(|r| r.json().len() + 1).sum::<usize>() + 32);
    out.push_str("{\"sessions\":");
    out.push_str(&sessions(records));
    out.push_str(",\"total\":");
    out.push_str(&total.to_string());
    out.push('}');
    out
}

/// Every record as `{session_id: session, ...}`, the shape of Agno's `storage_dict`; `bytes` is the
/// size of their sessions, to size the output at once.
pub fn export(records: &[&Record], bytes: usize) -> String {
    let mut out =
        String::with_capacity(bytes + records.iter().map(|r| r.quoted_id().len() + 2).sum::<usize>() + 2);
    out.push('{');
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(record.quoted_id());
        out.push(':');
        out.push_str(record.json());
    }
    out.push('}');
    out
}

pub fn stats(stats: &Stats) -> String {
    let [agent, team, workflow, workflow_v2] = stats.by_type;
    format!(
        "{{\"mode\":\"{}\",\"sessions\":{},\"bytes\":{},\"by_type\":{{\"agent\":{agent},\"team\":{team},\"workflow\":{workflow},\"workflow_v2\":{workflow_v2}}}}}",
        stats.mode,
        stats.sessions(),
        stats.bytes
    )
}

/// A JSON array written one already-serialised element at a time.
pub struct Array {
    out: String,
}

impl Array {
    pub fn with_capacity(capacity: usize) -> Self {
        let mut out = String::with_capacity(capacity);
        out.push('[');
        Array { out }
    }

    pub fn push(&mut self, item: &str) {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        self.out.push_str(item);
    }

    pub fn finish(mut self) -> String {
        self.out.push(']');
        self.out
    }
}
