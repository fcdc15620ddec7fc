//! Criterion micro-benchmarks of the engine called from Rust, on the benchmark's workload
//! (comparison/gen_sessions.py: Agno-shaped sessions of about 1 KiB, one user per 10 sessions, 10 agents).
//!
//!     cargo bench --bench engine                    # everything, 10k and 1M sessions
//!     cargo bench --bench engine -- get_recent      # a filter, as usual with criterion
//!
//! The data comes from $SS_BENCH_DATA (default target/bench-data) and is generated there by
//! `python3 comparison/gen_sessions.py` when missing. `make bench` runs this and copies the medians into
//! docs/bench.md; get_recent_sessions at 10k and at 1M sessions is the pair the README quotes.

use criterion::{black_box, Criterion};
use sessionstore::{Filter, Store};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const SIZES: [usize; 2] = [10_000, 1_000_000];

struct Data {
    dir: PathBuf,
}

impl Data {
    /// The workload directory for `n` sessions of about 1 KiB, generated when missing.
    fn get(n: usize) -> Data {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let base = std::env::var_os("SS_BENCH_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target/bench-data"));
        let dir = base.join(format!("n{n}-s1024"));
        if !dir.join("meta.json").exists() {
            let status = Command::new("python3")
                .arg(root.join("comparison/gen_sessions.py"))
                .args(["--sessions", &n.to_string(), "--size", "1024", "--quiet", "--out"])
                .arg(&base)
                .status()
                .expect("python3 runs comparison/gen_sessions.py");
            assert!(status.success(), "comparison/gen_sessions.py failed");
        }
        Data { dir }
    }

    fn lines(&self, name: &str) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.join(name)).expect("workload file");
        text.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()
    }

    fn store(&self) -> Store {
        let store = Store::open_json(None).expect("open");
        let text = std::fs::read_to_string(self.dir.join("sessions.jsonl")).expect("sessions.jsonl");
        for line in text.lines().filter(|l| !l.is_empty()) {
            store.upsert_with(line.as_bytes(), |_| ()).expect("load");
        }
        store
    }
}

/// Calls `f` with the items of `items` in turn, one per iteration.
fn cycle<'a, T, R>(items: &'a [T], mut f: impl FnMut(&'a T) -> R + 'a) -> impl FnMut() -> R + 'a {
    let mut i = 0usize;
    move || {
        let item = &items[i % items.len()];
        i = i.wrapping_add(1);
        f(item)
    }
}

fn benches(c: &mut Criterion) {
    for n in SIZES {
        let data = Data::get(n);
        let store = data.store();
        let ids = data.lines("read_ids.txt");
        let users = data.lines("users.txt");
        let entities = data.lines("entities.txt");
        let queries = data.lines("queries.jsonl");
        let updates = data.lines("update.jsonl");

        let mut f = cycle(&ids, |id: &String| black_box(store.read(id, None).expect("read")));
        c.bench_function(&format!("read/{n}"), |b| b.iter(&mut f));

        let mut f = cycle(&users, |u: &String| {
            black_box(store.get_recent_sessions(Filter::new(Some(u), None), 5).unwrap())
        });
        c.bench_function(&format!("get_recent_sessions/{n}"), |b| b.iter(&mut f));

        let mut f = cycle(&updates, |s: &String| store.upsert_with(s.as_bytes(), |_| ()).expect("upsert"));
        c.bench_function(&format!("upsert_update/{n}"), |b| b.iter(&mut f));

        if n <= 10_000 {
            let mut f = cycle(&entities, |e: &String| {
                black_box(store.get_all_session_ids(Filter::new(None, Some(e))).unwrap())
            });
            c.bench_function(&format!("get_all_session_ids_entity/{n}"), |b| b.iter(&mut f));

            let mut f =
                cycle(&queries, |q: &String| black_box(store.query_json(Some(q.as_bytes())).expect("query")));
            c.bench_function(&format!("query_name_page20/{n}"), |b| b.iter(&mut f));
        }
    }
}

/// A name search over one long name, with a hostile needle (a long near-match) against a one-letter
/// one: the name search is linear, so the two stay within a small factor of each other (issue 12).
fn long_name_search(c: &mut Criterion) {
    let store = Store::open_json(None).expect("open");
    let name = "a".repeat(200_000);
    let session = format!("{{\"session_id\":\"long\",\"session_data\":{{\"session_name\":\"{name}\"}}}}");
    store.upsert(session.as_bytes()).expect("upsert");
    let hostile = format!("{{\"session_name\":\"{}b\"}}", "A".repeat(100_000));
    for (label, query) in
        [("short_needle", r#"{"session_name":"b"}"#.to_owned()), ("hostile_needle", hostile)]
    {
        c.bench_function(&format!("query_name_200k/{label}"), |b| {
            b.iter(|| black_box(store.query_json(Some(query.as_bytes())).expect("query")))
        });
    }
}

/// A list view's page of 20 from 2,000 sessions of 16 KiB: the whole sessions against the metadata
/// projection, whose cost does not grow with the transcript (issue 13).
fn metadata_page(c: &mut Criterion) {
    let store = Store::open_json(None).expect("open");
    let transcript = "x".repeat(16 * 1024);
    for i in 0..2_000 {
        let session = format!(
            "{{\"session_id\":\"s{i}\",\"user_id\":\"u{}\",\"agent_id\":\"a\",\"memory\":{{\"runs\":[\"{transcript}\"]}},\"session_data\":{{\"session_name\":\"chat {i}\"}}}}",
            i % 10
        );
        store.upsert(session.as_bytes()).expect("upsert");
    }
    for (label, query) in [
        ("full", r#"{"user_id":"u3","limit":20}"#),
        ("metadata", r#"{"user_id":"u3","limit":20,"fields":"metadata"}"#),
    ] {
        c.bench_function(&format!("query_page20_16k/{label}"), |b| {
            b.iter(|| black_box(store.query_json(Some(query.as_bytes())).expect("query")))
        });
    }
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    long_name_search(&mut c);
    metadata_page(&mut c);
    benches(&mut c);
    c.final_summary();
}
