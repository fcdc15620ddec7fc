'use strict';
// Benchmark: the Node binding as a ratio to C measured in the same run. The C side is the repository's one
// C baseline (comparison/c/baseline.h), run as a separate process (comparison/c/baseline_main.c --serve, built
// by `make bench`) that holds its own store and times one round of C calls per command; this script
// makes a round of each Node variant of an op and a round of C (a few to a few tens of milliseconds each),
// REPS times (at least 5), in an order that rotates from one repetition to the next, and reports for every
// Node figure the min/median/max over the repetitions of (Node ns/op) / (C ns/op). JSON lines on
// stdout:
//   {"lang":"node","info":true,"cpu":"AMD EPYC","loadavg_start":"...","loadavg_end":"...","reps":7,...}
//   {"lang":"node","op":"read","ns_per_op":504.3,"c_op":"read","c_ns_per_op":131.5,
//    "ratio_min":3.6,"ratio_median":3.8,"ratio_max":4.1,"reps":7}
//   {"lang":"c","op":"read","ns_per_op":131.5,"min_ns":128.0,"max_ns":140.2,"reps":7}
// ns_per_op is the median over the repetitions. ops: read (readRaw of a random existing id), upsert
// (upsertRaw of an existing session), get_recent_sessions (getRecentSessionsRaw(random user, limit 5)); the
// *_parsed variants use the object API (JSON.parse / JSON.stringify included) and are compared with the same C
// op. Workload and sequences: baseline.h's (10,000 agent sessions of 1 KiB; call k of a round uses entry
// k % 65536 of the xorshift64 sequences), rebuilt here and checked against the baseline's fingerprint.
// A summary goes to stderr.
// Floor rows (op floor_*, "floor":true), measured in the read group's repetitions and given as ratios to the same
// C read: what a read from Node cannot go below with koffi on this machine. floor_call_version: a bare koffi
// call of ss_version() (static string, no arguments); floor_call_int: a koffi call of libc's abs(int) (an int
// in, an int out; Linux/glibc only); floor_decode_1k: koffi.decode.string() of 1,024 bytes of a session's
// UTF-8 in native memory into a JS string; floor_free_1k: one ss_string_free() call of a 1 KiB block that
// ss_read returned (reads untimed, in batches of 1,024); floor_read_koffi: a read as bare koffi calls on a
// second store with the same workload, no argument checks (ss_read + decode + ss_string_free);
// floor_read_nodecode: the same without the decode (what C does, plus two koffi calls); floor_read_into: the
// binding's own path as bare koffi calls (ss_read_into a 64 KiB Buffer, then Buffer's UTF-8 decoding);
// floor_read_callback: the same through ss_read_with and a koffi callback (koffi.register) decoding the lent
// bytes (one FFI call, no copy, no free, but a C-to-JS callback). The info line adds floor_estimate: the
// median over repetitions of (C read + 2 bare calls + decode) / C read, and read_over_koffi: read /
// floor_read_into (what the binding's own code adds to the same calls made bare).
// Usage: node bench/bench.js [path/to/baseline_main]
//   env: BENCH_REPS (default 41, at least 5), BENCH_OPS (calls per read round, default 20000; upsert rounds
//   make a quarter of that, get_recent_sessions rounds half)

const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const readline = require('node:readline');
const { spawn, execFileSync } = require('node:child_process');
const { SessionStore } = require('..');
const koffi = require('koffi');

// baseline.h's constants.
const N_SESSIONS = 10000;
const N_USERS = N_SESSIONS / 10;
const SESSION_BYTES = 1024;
const SEQ_LEN = 65536;
const RECENT_LIMIT = 5;
const MIN_REPS = 5;

const REPS = Math.max(MIN_REPS, Number(process.env.BENCH_REPS) > 0 ? Math.floor(Number(process.env.BENCH_REPS)) : 41);
const OPS = Number(process.env.BENCH_OPS) > 0 ? Math.floor(Number(process.env.BENCH_OPS)) : 20000;
const C_BASELINE = process.argv[2] || path.join(__dirname, '..', 'build', 'baseline_main');

// --- the workload (baseline.h) -------------------------------------------------------------------------------
function sessionText(i) {
  const head = `{"session_id":"s${i}","user_id":"u${Math.floor(i / 10)}","agent_id":"a${i % 10}",` +
    `"session_data":{"session_name":"session ${i}"},"memory":{"summary":"`;
  const tail = '"}}';
  return head + 'm'.repeat(SESSION_BYTES - head.length - tail.length) + tail;
}

const sessionJson = [];
const sessionObj = [];
const ids = [];
const users = [];
for (let i = 0; i < N_SESSIONS; i++) {
  const text = sessionText(i);
  if (Buffer.byteLength(text) !== SESSION_BYTES) throw new Error('bad session size');
  sessionJson.push(text);
  sessionObj.push(JSON.parse(text));
  ids.push(`s${i}`);
}
for (let u = 0; u < N_USERS; u++) users.push(`u${u}`);
const seqSession = new Uint32Array(SEQ_LEN);
const seqUser = new Uint32Array(SEQ_LEN);
{
  const M = (1n << 64n) - 1n;
  let x = 0x9e3779b97f4a7c15n;
  for (let j = 0; j < SEQ_LEN; j++) {
    x ^= (x << 13n) & M;
    x ^= x >> 7n;
    x ^= (x << 17n) & M;
    seqSession[j] = Number(x % BigInt(N_SESSIONS));
    seqUser[j] = Number((x >> 20n) % BigInt(N_USERS));
  }
}

// ssb_fingerprint(): FNV-1a 32 over each session's JSON + '\n' + id + '\n', each user + '\n', then the
// little-endian bytes of seq_session[j] and seq_user[j].
function fingerprint() {
  let h = 0x811c9dc5;
  const eat = (buf) => {
    for (let i = 0; i < buf.length; i++) h = Math.imul(h ^ buf[i], 16777619) >>> 0;
  };
  for (let i = 0; i < N_SESSIONS; i++) eat(Buffer.from(`${sessionJson[i]}\n${ids[i]}\n`));
  for (const u of users) eat(Buffer.from(`${u}\n`));
  const le = Buffer.alloc(8);
  for (let j = 0; j < SEQ_LEN; j++) {
    le.writeUInt32LE(seqSession[j], 0);
    le.writeUInt32LE(seqUser[j], 4);
    eat(le);
  }
  return h.toString(16).padStart(8, '0');
}

// --- the Node loops: call k of a round uses entry k % SEQ_LEN, as in baseline.h --------------------------------
const store = new SessionStore();
for (const text of sessionJson) store.upsertRaw(text);

let sink = 0;
const MASK = SEQ_LEN - 1;
const NODE = {
  read: (k) => { sink += store.readRaw(ids[seqSession[k & MASK]]).length; },
  read_parsed: (k) => { sink += store.read(ids[seqSession[k & MASK]]).session_id.length; },
  upsert: (k) => { sink += store.upsertRaw(sessionJson[seqSession[k & MASK]]).length; },
  upsert_parsed: (k) => { sink += store.upsert(sessionObj[seqSession[k & MASK]]).session_id.length; },
  get_recent_sessions: (k) => {
    sink += store.getRecentSessionsRaw({ userId: users[seqUser[k & MASK]], limit: RECENT_LIMIT }).length;
  },
  get_recent_sessions_parsed: (k) => {
    sink += store.getRecentSessions({ userId: users[seqUser[k & MASK]], limit: RECENT_LIMIT }).length;
  },
};

// --- the floor: bare koffi calls and conversions, no binding code ------------------------------------------------
// A round function returns ns per op (most wrap a per-call fn with nodeRound).
const FLOOR = (() => {
  const so = koffi.load(store.libraryPath);
  const version = so.func('const char *ss_version(void)');
  const free = so.func('void ss_string_free(void *s)');
  const open = so.func('uint32_t ss_store_open(const char *config_json, size_t config_len, _Out_ void **out_store, _Out_ void **out_error)');
  const upsert = so.func('uint32_t ss_upsert(void *store, const char *json, size_t len, void *out_json, void *out_len, void *out_error)');
  const read = so.func('uint32_t ss_read(void *store, const char *session_id, const char *user_id, void *out_json, void *out_len, void *out_error)');
  const readWith = so.func('uint32_t ss_read_with(void *store, const char *session_id, const char *user_id, void *sink, void *context, void *out_error)');
  const readInto = so.func('uint32_t ss_read_into(void *store, const char *session_id, const char *user_id, void *buf, size_t cap, void *out_len, void *out_error)');
  const intoBuf = Buffer.allocUnsafeSlow(64 * 1024);
  const sinkProto = koffi.proto('void bench_ss_sink(void *context, void *json, size_t len)');
  let abs = null;
  try {
    abs = koffi.load('libc.so.6').func('int abs(int)');
  } catch (e) {
    // not glibc: no floor_call_int row
  }
  const outStore = [null];
  if (open('{}', 2, outStore, [null]) !== 0) throw new Error('floor: ss_store_open failed');
  const h = outStore[0];
  for (const text of sessionJson) {
    if (upsert(h, text, Buffer.byteLength(text), null, null, null) !== 0) throw new Error('floor: ss_upsert failed');
  }
  const scratch = koffi.alloc('uint64_t', 3);
  const slots = new BigUint64Array(koffi.view(scratch, 24));
  const pJson = scratch;
  const pLen = scratch + 8n;
  const pErr = scratch + 16n;
  const text1k = koffi.alloc('uint8_t', SESSION_BYTES);
  new Uint8Array(koffi.view(text1k, SESSION_BYTES)).set(Buffer.from(sessionJson[0]));
  const decode = koffi.decode.string;
  let lent = null;
  const sink = koffi.register((ctx, p, len) => {
    lent = decode(p, Number(len));
  }, koffi.pointer(sinkProto));
  const BATCH = 1024;
  const held = new Array(BATCH);
  const rounds = {
    floor_call_version: (ops) => nodeRound(() => { sinkAdd(version().length); }, ops),
    floor_decode_1k: (ops) => nodeRound(() => { sinkAdd(decode(text1k, SESSION_BYTES).length); }, ops),
    floor_free_1k: (ops) => {
      let ns = 0;
      let done = 0;
      while (done < ops) {
        const n = Math.min(BATCH, ops - done);
        for (let i = 0; i < n; i++) {
          if (read(h, ids[seqSession[(done + i) & MASK]], null, pJson, pLen, pErr) !== 0) throw new Error('floor: ss_read failed');
          held[i] = slots[0];
        }
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < n; i++) free(held[i]);
        ns += Number(process.hrtime.bigint() - t0);
        done += n;
      }
      return ns / ops;
    },
    floor_read_koffi: (ops) => nodeRound((k) => {
      read(h, ids[seqSession[k & MASK]], null, pJson, pLen, pErr);
      const p = slots[0];
      sinkAdd(decode(p, Number(slots[1])).length);
      free(p);
    }, ops),
    floor_read_nodecode: (ops) => nodeRound((k) => {
      read(h, ids[seqSession[k & MASK]], null, pJson, pLen, pErr);
      sinkAdd(Number(slots[1]));
      free(slots[0]);
    }, ops),
    floor_read_into: (ops) => nodeRound((k) => {
      readInto(h, ids[seqSession[k & MASK]], null, intoBuf, intoBuf.length, pLen, pErr);
      sinkAdd(intoBuf.toString('utf8', 0, Number(slots[1])).length);
    }, ops),
    floor_read_callback: (ops) => nodeRound((k) => {
      readWith(h, ids[seqSession[k & MASK]], null, sink, null, pErr);
      sinkAdd(lent.length);
      lent = null;
    }, ops),
  };
  if (abs !== null) rounds.floor_call_int = (ops) => nodeRound((k) => { sinkAdd(abs(-k)); }, ops);
  return rounds;
})();
function sinkAdd(n) {
  sink += n;
}
const FLOOR_ORDER = ['floor_call_version', 'floor_call_int', 'floor_decode_1k', 'floor_free_1k', 'floor_read_koffi',
  'floor_read_nodecode', 'floor_read_into', 'floor_read_callback'].filter((v) => FLOOR[v]);
const roundOf = (v, ops) => (FLOOR[v] ? FLOOR[v](ops) : nodeRound(NODE[v], ops));

// Each group: the C op, the Node variants compared with it, calls per round.
const GROUPS = [
  { op: 'read', variants: ['read', 'read_parsed', ...FLOOR_ORDER], ops: OPS },
  { op: 'upsert', variants: ['upsert', 'upsert_parsed'], ops: Math.max(1, Math.floor(OPS / 4)) },
  { op: 'get_recent_sessions', variants: ['get_recent_sessions', 'get_recent_sessions_parsed'], ops: Math.max(1, Math.floor(OPS / 2)) },
];

function nodeRound(fn, ops) {
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < ops; k++) fn(k);
  return Number(process.hrtime.bigint() - t0) / ops;
}

// --- the C process ----------------------------------------------------------------------------------------------
function startC() {
  if (!fs.existsSync(C_BASELINE)) {
    throw new Error(`C baseline not found at ${C_BASELINE}: run \`make bench\` (it builds build/baseline_main)`);
  }
  const child = spawn(C_BASELINE, ['--serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  const waiting = [];
  const early = [];
  let failure = null;
  const settle = (fnName, value) => {
    const w = waiting.shift();
    if (w) w[fnName](value);
    else if (fnName === 'resolve') early.push(value);
    else failure = value;
  };
  lines.on('line', (line) => {
    let rec;
    try {
      rec = JSON.parse(line);
    } catch (e) {
      settle('reject', new Error(`C baseline printed ${line}`));
      return;
    }
    if (rec.error) settle('reject', new Error(`C baseline: ${rec.error}`));
    else settle('resolve', rec);
  });
  child.on('exit', (code) => {
    while (waiting.length) waiting.shift().reject(new Error(`C baseline exited with status ${code}`));
    if (code) failure = failure || new Error(`C baseline exited with status ${code}`);
  });
  const next = () => {
    if (early.length) return Promise.resolve(early.shift());
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  };
  return {
    ready: next,
    async round(op, ops) {
      child.stdin.write(`${op} ${ops}\n`);
      const rec = await next();
      if (rec.op !== op) throw new Error(`C baseline answered ${JSON.stringify(rec)} to ${op}`);
      return rec.ns_per_op;
    },
    async close() {
      child.stdin.end('quit\n');
      if (child.exitCode === null) await new Promise((resolve) => child.on('exit', resolve));
      if (child.exitCode !== 0) throw new Error(`C baseline exited with status ${child.exitCode}`);
    },
  };
}

function spreadOf(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return { min: s[0], median, max: s[n - 1] };
}

function cpuModel() {
  try {
    const out = execFileSync('lscpu', { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    const m = /^Model name:\s*(.*?)\s*$/m.exec(out);
    if (m) return m[1];
  } catch (e) {
    // fall back to os.cpus()
  }
  return (os.cpus()[0] || {}).model || 'unknown';
}

const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const r1 = (x) => Math.round(x * 10) / 10;
const r3 = (x) => Math.round(x * 1000) / 1000;

async function main() {
  const loadStart = loadavg();
  const c = startC();
  const ready = await c.ready();
  const mine = fingerprint();
  if (ready.fingerprint !== mine) {
    throw new Error(`workload differs from comparison/c/baseline.h: fingerprint ${mine}, C ${ready.fingerprint}`);
  }
  const out = [];
  const summary = [];
  let floorEstimate = null;
  for (const g of GROUPS) {
    // Warm-up (the JIT, the caches), then REPS repetitions of every Node variant and C, in an order that
    // rotates from one repetition to the next, so that none always follows the same one.
    for (const v of g.variants) roundOf(v, Math.ceil(g.ops / 10));
    await c.round(g.op, Math.ceil(g.ops / 10));
    const ns = Object.fromEntries(g.variants.map((v) => [v, []]));
    const cns = [];
    const order = [...g.variants, null]; // null: the C round
    for (let r = 0; r < REPS; r++) {
      for (let k = 0; k < order.length; k++) {
        const v = order[(k + r) % order.length];
        if (v === null) cns.push(await c.round(g.op, g.ops));
        else ns[v].push(roundOf(v, g.ops));
      }
    }
    const cs = spreadOf(cns);
    for (const v of g.variants) {
      const ratio = spreadOf(ns[v].map((x, r) => x / cns[r]));
      const med = spreadOf(ns[v]).median;
      out.push({ lang: 'node', op: v, ...(FLOOR[v] ? { floor: true } : {}), ns_per_op: r1(med), c_op: g.op,
        c_ns_per_op: r1(cs.median), ratio_min: r3(ratio.min), ratio_median: r3(ratio.median),
        ratio_max: r3(ratio.max), reps: REPS });
      summary.push(`# ${v.padEnd(27)} ${med.toFixed(1).padStart(8)} ns vs C ${cs.median.toFixed(1).padStart(7)} ns: ` +
        `ratio ${ratio.median.toFixed(2)} (min ${ratio.min.toFixed(2)}, max ${ratio.max.toFixed(2)})`);
    }
    out.push({ lang: 'c', op: g.op, ns_per_op: r1(cs.median), min_ns: r1(cs.min), max_ns: r1(cs.max), reps: REPS });
    if (g.op === 'read') {
      // (C read + 2 bare koffi calls + decoding 1 KiB) / C read, per repetition.
      const est = spreadOf(cns.map((c0, r) => (c0 + 2 * ns.floor_call_version[r] + ns.floor_decode_1k[r]) / c0));
      floorEstimate = { ratio_min: r3(est.min), ratio_median: r3(est.median), ratio_max: r3(est.max),
        formula: '(c read + 2 * floor_call_version + floor_decode_1k) / c read' };
      summary.push(`# floor estimate of a read: ratio ${est.median.toFixed(2)} (min ${est.min.toFixed(2)}, max ` +
        `${est.max.toFixed(2)}) = (C read + 2 bare koffi calls + decoding 1 KiB) / C read`);
      const own = spreadOf(ns.read.map((x, r) => x / ns.floor_read_into[r]));
      floorEstimate.read_over_koffi = { median: r3(own.median), min: r3(own.min), max: r3(own.max) };
      summary.push(`# read / floor_read_into (the binding's own code): ${own.median.toFixed(3)} ` +
        `(min ${own.min.toFixed(3)}, max ${own.max.toFixed(3)})`);
    }
  }
  await c.close();
  store.close();
  const cpu = cpuModel();
  const loadEnd = loadavg();
  console.log(JSON.stringify({ lang: 'node', info: true, cpu, loadavg_start: loadStart, loadavg_end: loadEnd,
    fingerprint: mine, reps: REPS,
    order: 'per repetition: every node variant of an op and c, the order rotating from one repetition to the next',
    floor_estimate: floorEstimate }));
  for (const rec of out) console.log(JSON.stringify(rec));
  process.stderr.write(`# ${cpu}; load average ${loadStart} at start, ${loadEnd} at end; ${REPS} ` +
    `repetitions (sink ${sink % 10})\n${summary.join('\n')}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench.js: ${e.stack || e}\n`);
  process.exit(1);
});
