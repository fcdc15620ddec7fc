'use strict';
// Benchmark: ns/op of the Node binding and, measured in the same run, of the same operations from C
// (bench/c_bench.c, built by `make bench`). Prints one JSON line per op and language on stdout:
//   {"lang":"node","op":"read","ns_per_op":123.4}
//   {"lang":"c","op":"read","ns_per_op":80.1}
// ops: read (readRaw of a random existing id), upsert (upsertRaw of an existing session), get_recent_sessions
// (getRecentSessionsRaw(random user, limit 5)); the Node-only lines read_parsed, upsert_parsed and
// get_recent_sessions_parsed use the object API (JSON.parse / JSON.stringify included).
// Workload: 10,000 agent sessions of 1 KiB: ids "s<i>", user_id "u<i/10>", agent_id "a<i%10>", a memory
// field padding each to 1024 bytes (the same text as c_bench.c).
// Each figure is the best of 7 rounds; C and Node alternate PASSES times (default 2) and the best pass is
// kept, so that a busy machine disturbs both sides alike. A summary with the read delta goes to stderr.
// Usage: node bench/bench.js [path/to/c_bench]   env: BENCH_OPS (ops per round, default 200000), BENCH_PASSES

const path = require('node:path');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const { SessionStore } = require('..');

const N_SESSIONS = 10000;
const SESSION_BYTES = 1024;
const N_RANDOM = 65536;
const ROUNDS = 7;
const OPS = Number(process.env.BENCH_OPS) > 0 ? Number(process.env.BENCH_OPS) : 200000;
const PASSES = Number(process.env.BENCH_PASSES) > 0 ? Number(process.env.BENCH_PASSES) : 2;
const C_BENCH = process.argv[2] || path.join(__dirname, '..', 'build', 'c_bench');

function makeSession(i) {
  const head = `{"session_id":"s${i}","user_id":"u${Math.floor(i / 10)}","agent_id":"a${i % 10}","memory":{"runs":[],"padding":"`;
  const tail = '"}}';
  return head + 'x'.repeat(SESSION_BYTES - head.length - tail.length) + tail;
}

// xorshift64 with the seed of c_bench.c: the same random ids and users.
const rndSession = new Uint32Array(N_RANDOM);
const rndUser = new Uint32Array(N_RANDOM);
{
  const M = (1n << 64n) - 1n;
  let x = 0x9e3779b97f4a7c15n;
  for (let i = 0; i < N_RANDOM; i++) {
    x ^= (x << 13n) & M;
    x ^= x >> 7n;
    x ^= (x << 17n) & M;
    rndSession[i] = Number(x % BigInt(N_SESSIONS));
    rndUser[i] = Number((x >> 20n) % BigInt(N_SESSIONS / 10));
  }
}

const store = new SessionStore();
const sessionJson = [];
const sessionObj = [];
const ids = [];
const users = [];
for (let i = 0; i < N_SESSIONS; i++) {
  const text = makeSession(i);
  if (Buffer.byteLength(text) !== SESSION_BYTES) throw new Error('bad session size');
  sessionJson.push(text);
  sessionObj.push(JSON.parse(text));
  ids.push(`s${i}`);
  store.upsertRaw(text);
}
for (let i = 0; i < N_SESSIONS / 10; i++) users.push(`u${i}`);

let sink = 0;
const MASK = N_RANDOM - 1;
const OPS_NODE = {
  read: (i) => {
    sink += store.readRaw(ids[rndSession[i & MASK]]).length;
  },
  read_parsed: (i) => {
    sink += store.read(ids[rndSession[i & MASK]]).session_id.length;
  },
  upsert: (i) => {
    sink += store.upsertRaw(sessionJson[rndSession[i & MASK]]).length;
  },
  upsert_parsed: (i) => {
    sink += store.upsert(sessionObj[rndSession[i & MASK]]).session_id.length;
  },
  get_recent_sessions: (i) => {
    sink += store.getRecentSessionsRaw({ userId: users[rndUser[i & MASK]], limit: 5 }).length;
  },
  get_recent_sessions_parsed: (i) => {
    sink += store.getRecentSessions({ userId: users[rndUser[i & MASK]], limit: 5 }).length;
  },
};
const OPS_COUNT = {
  read: OPS,
  read_parsed: OPS,
  upsert: OPS / 2,
  upsert_parsed: OPS / 2,
  get_recent_sessions: OPS / 2,
  get_recent_sessions_parsed: OPS / 2,
};

function measure(fn, ops) {
  for (let i = 0; i < ops / 10; i++) fn(i); // warm up (JIT)
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < ops; i++) fn(i + r * 7919);
    const ns = Number(process.hrtime.bigint() - t0) / ops;
    if (ns < best) best = ns;
  }
  return best;
}

function runC() {
  if (!fs.existsSync(C_BENCH)) {
    throw new Error(`C benchmark not found at ${C_BENCH}: run \`make bench\` (it builds build/c_bench)`);
  }
  const out = execFileSync(C_BENCH, [String(OPS)], { encoding: 'utf8' });
  const res = {};
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    const rec = JSON.parse(line);
    res[rec.op] = rec.ns_per_op;
  }
  return res;
}

const best = { c: {}, node: {} };
const keep = (lang, op, ns) => {
  if (!(op in best[lang]) || ns < best[lang][op]) best[lang][op] = ns;
};
for (let pass = 0; pass < PASSES; pass++) {
  for (const [op, ns] of Object.entries(runC())) keep('c', op, ns);
  for (const [op, fn] of Object.entries(OPS_NODE)) keep('node', op, measure(fn, OPS_COUNT[op]));
}
store.close();

for (const lang of ['node', 'c']) {
  for (const [op, ns] of Object.entries(best[lang])) {
    console.log(JSON.stringify({ lang, op, ns_per_op: Math.round(ns * 10) / 10 }));
  }
}

const summary = ['read', 'upsert', 'get_recent_sessions']
  .map((op) => `${op}: node ${best.node[op].toFixed(0)} ns, c ${best.c[op].toFixed(0)} ns, +${(best.node[op] - best.c[op]).toFixed(0)} ns`)
  .join('; ');
process.stderr.write(`${summary}; read_parsed ${best.node.read_parsed.toFixed(0)} ns (sink ${sink % 10})\n`);
