'use strict';

// Hostile arguments: getters, Proxy traps, toJSON and typed-array subclasses that close the store or lie about
// their bytes, patched prototypes, unusual buffers, and numbers outside the C types' ranges.

const test = require('node:test');
const assert = require('node:assert/strict');
const { SessionStore, SessionStoreError, InvalidArgumentError, ClosedError } = require('..');

/** A store with sessions 'a' (user u) and 'b' (user v). */
function seeded() {
  const s = new SessionStore();
  s.upsertMany([
    { session_id: 'a', user_id: 'u', agent_id: 'x', created_at: 10 },
    { session_id: 'b', user_id: 'v', agent_id: 'y', created_at: 20 },
  ]);
  return s;
}

/** Asserts fn throws an argument error of this kind: a TypeError/RangeError that is also an InvalidArgumentError. */
function throwsArg(fn, Kind, pattern) {
  let caught;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof Kind, `expected a ${Kind.name}, got ${caught && caught.stack}`);
  assert.ok(caught instanceof InvalidArgumentError, 'an argument error is an InvalidArgumentError');
  assert.ok(caught instanceof SessionStoreError, 'an argument error is a SessionStoreError');
  assert.equal(caught.code, 'INVALID_ARGUMENT');
  assert.equal(caught.status, 2);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

/** Proxy handler whose every trap calls close() first. */
function closingTraps(close) {
  return {
    get(t, k, r) {
      close();
      return Reflect.get(t, k, r);
    },
    has(t, k) {
      close();
      return Reflect.has(t, k);
    },
    ownKeys(t) {
      close();
      return Reflect.ownKeys(t);
    },
    getOwnPropertyDescriptor(t, k) {
      close();
      return Reflect.getOwnPropertyDescriptor(t, k);
    },
    getPrototypeOf(t) {
      close();
      return Reflect.getPrototypeOf(t);
    },
  };
}

/** The bytes of text in a Uint8Array subclass whose every overridable member calls close() and lies. */
function lyingBytes(text, close) {
  const b = Buffer.from(text);
  const huge = 1 << 20;
  class Liar extends Uint8Array {
    get byteLength() {
      close();
      return huge;
    }
    get length() {
      close();
      return huge;
    }
    get byteOffset() {
      close();
      return 0;
    }
    get buffer() {
      close();
      return new ArrayBuffer(huge);
    }
    subarray() {
      close();
      return this;
    }
    slice() {
      close();
      return this;
    }
    toString() {
      close();
      return text;
    }
    valueOf() {
      close();
      return this;
    }
    [Symbol.toPrimitive]() {
      close();
      return text;
    }
    static get [Symbol.species]() {
      close();
      return Uint8Array;
    }
  }
  const view = new Liar(b.buffer, b.byteOffset, b.length);
  Object.defineProperty(view, 'constructor', {
    get() {
      close();
      return Liar;
    },
  });
  return view;
}

const closingString = (close, value) => ({
  toString() {
    close();
    return value;
  },
  [Symbol.toPrimitive]() {
    close();
    return value;
  },
});

// For every public method, hostile calls and what must happen:
//  'closed': the hostile code runs while the arguments are read and closes the store: ClosedError, no C call;
//  'ok':     the binding never runs the hostile code (it reads the engine's view): the call succeeds;
//  'type':   the argument is refused with a TypeError before any of its code runs.
const HOSTILE = {
  upsert: [
    ['getter', 'closed', (s, c) => s.upsert({ session_id: 'h', get user_id() { c(); return 'u'; } })],
    ['toJSON', 'closed', (s, c) => s.upsert({ toJSON() { c(); return { session_id: 'h' }; } })],
    ['Proxy', 'closed', (s, c) => s.upsert(new Proxy({ session_id: 'h' }, closingTraps(c)))],
  ],
  upsertRaw: [
    ['Uint8Array subclass', 'ok', (s, c) => s.upsertRaw(lyingBytes('{"session_id":"h"}', c))],
    ['Proxy of a Uint8Array', 'type', (s, c) => s.upsertRaw(new Proxy(Buffer.from('{}'), closingTraps(c)))],
    ['object with toString', 'type', (s, c) => s.upsertRaw(closingString(c, '{"session_id":"h"}'))],
  ],
  upsertMany: [
    ['getter in an element', 'closed', (s, c) => s.upsertMany([{ get session_id() { c(); return 'h'; } }])],
    ['Proxy array', 'closed', (s, c) => s.upsertMany(new Proxy([{ session_id: 'h' }], closingTraps(c)))],
  ],
  upsertManyRaw: [
    ['Uint8Array subclass', 'ok', (s, c) => s.upsertManyRaw(lyingBytes('[{"session_id":"h"}]', c))],
    ['Proxy of a Uint8Array', 'type', (s, c) => s.upsertManyRaw(new Proxy(Buffer.from('[]'), closingTraps(c)))],
  ],
  read: [
    ['id with toString', 'type', (s, c) => s.read(closingString(c, 'a'))],
    ['userId with toString', 'type', (s, c) => s.read('a', closingString(c, 'u'))],
  ],
  readRaw: [
    ['id with toString', 'type', (s, c) => s.readRaw(closingString(c, 'a'))],
    ['userId with toString', 'type', (s, c) => s.readRaw('a', closingString(c, 'u'))],
  ],
  getAllSessionIds: [
    ['userId getter', 'closed', (s, c) => s.getAllSessionIds({ get userId() { c(); return 'u'; } })],
    ['entityId getter', 'closed', (s, c) => s.getAllSessionIds({ get entityId() { c(); return 'x'; } })],
    ['Proxy', 'closed', (s, c) => s.getAllSessionIds(new Proxy({ userId: 'u' }, closingTraps(c)))],
    ['Proxy with a has trap only', 'ok', (s, c) => s.getAllSessionIds(new Proxy({}, { has: () => (c(), true) }))],
    ['userId with toString', 'type', (s, c) => s.getAllSessionIds({ userId: closingString(c, 'u') })],
  ],
  getAllSessionIdsRaw: [
    ['userId getter', 'closed', (s, c) => s.getAllSessionIdsRaw({ get userId() { c(); return 'u'; } })],
    ['Proxy', 'closed', (s, c) => s.getAllSessionIdsRaw(new Proxy({}, closingTraps(c)))],
  ],
  getAllSessions: [
    ['userId getter', 'closed', (s, c) => s.getAllSessions({ get userId() { c(); return 'u'; } })],
    ['Proxy', 'closed', (s, c) => s.getAllSessions(new Proxy({}, closingTraps(c)))],
  ],
  getAllSessionsRaw: [
    ['entityId getter', 'closed', (s, c) => s.getAllSessionsRaw({ get entityId() { c(); return 'x'; } })],
    ['Proxy', 'closed', (s, c) => s.getAllSessionsRaw(new Proxy({}, closingTraps(c)))],
  ],
  getRecentSessions: [
    ['limit getter', 'closed', (s, c) => s.getRecentSessions({ get limit() { c(); return 5; } })],
    ['userId getter', 'closed', (s, c) => s.getRecentSessions({ get userId() { c(); return 'u'; }, limit: 5 })],
    ['Proxy', 'closed', (s, c) => s.getRecentSessions(new Proxy({ limit: 5 }, closingTraps(c)))],
    ['limit with valueOf', 'type', (s, c) => s.getRecentSessions({ limit: { valueOf: () => (c(), 5) } })],
  ],
  getRecentSessionsRaw: [
    ['limit getter', 'closed', (s, c) => s.getRecentSessionsRaw({ get limit() { c(); return 5; } })],
    ['Proxy', 'closed', (s, c) => s.getRecentSessionsRaw(new Proxy({}, closingTraps(c)))],
  ],
  query: [
    ['getter', 'closed', (s, c) => s.query({ get limit() { c(); return 1; } })],
    ['Proxy (ownKeys)', 'closed', (s, c) => s.query(new Proxy({ limit: 1 }, closingTraps(c)))],
    ['toJSON in an unknown key', 'closed', (s, c) => s.query({ bogus: { toJSON: () => (c(), 1) } })],
    [
      'Date subclass overriding getTime',
      'ok',
      (s, c) => {
        class D extends Date {
          getTime() {
            c();
            return 0;
          }
          valueOf() {
            c();
            return 0;
          }
        }
        return s.query({ createdAfter: new D(15_000) });
      },
    ],
    ['sessionName with toJSON', 'type', (s, c) => s.query({ sessionName: { toJSON: () => (c(), 'x') } })],
    ['limit with valueOf', 'type', (s, c) => s.query({ limit: { valueOf: () => (c(), 1) } })],
    ['sessionType getter', 'closed', (s, c) => s.query({ get sessionType() { c(); return 'any'; } })],
    ['sessionType Proxy array', 'closed', (s, c) => s.query({ sessionType: new Proxy(['agent'], closingTraps(c)) })],
    [
      'sessionType getter element',
      'closed',
      (s, c) => s.query({ sessionType: Object.defineProperty(['agent'], 1, { get: () => (c(), 'team'), enumerable: true }) }),
    ],
    ['sessionType with toString', 'type', (s, c) => s.query({ sessionType: closingString(c, 'any') })],
    ['sessionType element with toString', 'type', (s, c) => s.query({ sessionType: [closingString(c, 'agent')] })],
    ['fields getter', 'closed', (s, c) => s.query({ get fields() { c(); return 'metadata'; } })],
    ['fields Proxy array', 'closed', (s, c) => s.query({ fields: new Proxy(['session_id'], closingTraps(c)) })],
    [
      'fields getter element',
      'closed',
      (s, c) => s.query({ fields: Object.defineProperty(['session_id'], 1, { get: () => (c(), 'memory'), enumerable: true }) }),
    ],
    ['fields with toJSON', 'type', (s, c) => s.query({ fields: { toJSON: () => (c(), 'metadata') } })],
    ['fields element with toString', 'type', (s, c) => s.query({ fields: ['session_id', closingString(c, 'memory')] })],
  ],
  queryRaw: [
    ['Uint8Array subclass', 'ok', (s, c) => s.queryRaw(lyingBytes('{"limit":1}', c))],
    ['Proxy of a Uint8Array', 'type', (s, c) => s.queryRaw(new Proxy(Buffer.from('{}'), closingTraps(c)))],
  ],
  renameSession: [
    ['id with toString', 'type', (s, c) => s.renameSession(closingString(c, 'a'), 'n')],
    ['name with toString', 'type', (s, c) => s.renameSession('a', closingString(c, 'n'))],
    ['userId getter', 'closed', (s, c) => s.renameSession('a', 'n', { get userId() { c(); return 'u'; } })],
    ['options Proxy', 'closed', (s, c) => s.renameSession('a', 'n', new Proxy({ userId: 'u' }, closingTraps(c)))],
    ['userId with toString', 'type', (s, c) => s.renameSession('a', 'n', { userId: closingString(c, 'u') })],
  ],
  renameSessionRaw: [
    ['name with toString', 'type', (s, c) => s.renameSessionRaw('a', closingString(c, 'n'))],
    ['userId getter', 'closed', (s, c) => s.renameSessionRaw('a', 'n', { get userId() { c(); return 'u'; } })],
    ['options Proxy', 'closed', (s, c) => s.renameSessionRaw('a', 'n', new Proxy({}, closingTraps(c)))],
  ],
  deleteSession: [
    ['id with toString', 'type', (s, c) => s.deleteSession(closingString(c, 'a'))],
    ['userId getter', 'closed', (s, c) => s.deleteSession('a', { get userId() { c(); return 'u'; } })],
    ['options Proxy', 'closed', (s, c) => s.deleteSession('a', new Proxy({ userId: 'u' }, closingTraps(c)))],
    ['userId with toString', 'type', (s, c) => s.deleteSession('a', { userId: closingString(c, 'u') })],
  ],
  deleteSessions: [
    [
      'getter element',
      'closed',
      (s, c) => s.deleteSessions(Object.defineProperty([], 0, { get: () => (c(), 'a'), enumerable: true })),
    ],
    ['Proxy array', 'closed', (s, c) => s.deleteSessions(new Proxy(['a'], closingTraps(c)))],
    ['userId getter', 'closed', (s, c) => s.deleteSessions(['a'], { get userId() { c(); return 'u'; } })],
    ['options Proxy', 'closed', (s, c) => s.deleteSessions(['a'], new Proxy({ userId: 'u' }, closingTraps(c)))],
    ['userId with toString', 'type', (s, c) => s.deleteSessions(['a'], { userId: closingString(c, 'u') })],
  ],
  deleteSessionsRaw: [
    ['Uint8Array subclass', 'ok', (s, c) => s.deleteSessionsRaw(lyingBytes('["a"]', c))],
    ['Uint8Array subclass, with a userId', 'ok', (s, c) => s.deleteSessionsRaw(lyingBytes('["a"]', c), { userId: 'u' })],
    ['Proxy of a Uint8Array', 'type', (s, c) => s.deleteSessionsRaw(new Proxy(Buffer.from('[]'), closingTraps(c)))],
    ['userId getter', 'closed', (s, c) => s.deleteSessionsRaw('["a"]', { get userId() { c(); return 'u'; } })],
    ['options Proxy', 'closed', (s, c) => s.deleteSessionsRaw('["a"]', new Proxy({}, closingTraps(c)))],
    ['userId with toString', 'type', (s, c) => s.deleteSessionsRaw('["a"]', { userId: closingString(c, 'u') })],
  ],
  drop: [['ignored hostile argument', 'ok', (s, c) => s.drop(new Proxy({}, closingTraps(c)))]],
  stats: [['ignored hostile argument', 'ok', (s, c) => s.stats(new Proxy({}, closingTraps(c)))]],
  statsRaw: [['ignored hostile argument', 'ok', (s, c) => s.statsRaw(new Proxy({}, closingTraps(c)))]],
  sync: [['ignored hostile argument', 'ok', (s, c) => s.sync(new Proxy({}, closingTraps(c)))]],
  export: [['ignored hostile argument', 'ok', (s, c) => s.export(new Proxy({}, closingTraps(c)))]],
  exportRaw: [['ignored hostile argument', 'ok', (s, c) => s.exportRaw(new Proxy({}, closingTraps(c)))]],
  import: [
    ['getter', 'closed', (s, c) => s.import({ get h() { c(); return { session_id: 'h' }; } })],
    ['Proxy', 'closed', (s, c) => s.import(new Proxy({ h: { session_id: 'h' } }, closingTraps(c)))],
  ],
  importRaw: [
    ['Uint8Array subclass', 'ok', (s, c) => s.importRaw(lyingBytes('{"h":{"session_id":"h"}}', c))],
    ['Proxy of a Uint8Array', 'type', (s, c) => s.importRaw(new Proxy(Buffer.from('{}'), closingTraps(c)))],
  ],
  share: [['mode with toString', 'type', (s, c) => s.share(closingString(c, 'team'))]],
  // 0.3. In seeded(), 'a' is at version 1 and 'b' at 2; expected versions and `after` are numbers or bigints
  // only: an object is a TypeError before its valueOf/toString can run.
  upsertIf: [
    ['getter', 'closed', (s, c) => s.upsertIf({ session_id: 'h', get user_id() { c(); return 'u'; } }, 0)],
    ['toJSON', 'closed', (s, c) => s.upsertIf({ toJSON() { c(); return { session_id: 'h' }; } }, 0)],
    ['Proxy', 'closed', (s, c) => s.upsertIf(new Proxy({ session_id: 'h' }, closingTraps(c)), 0)],
    ['expectedVersion with valueOf', 'type', (s, c) => s.upsertIf({ session_id: 'h' }, { valueOf: () => (c(), 0) })],
    ['expectedVersion with toString', 'type', (s, c) => s.upsertIf({ session_id: 'h' }, closingString(c, '0'))],
  ],
  upsertIfRaw: [
    ['Uint8Array subclass', 'ok', (s, c) => s.upsertIfRaw(lyingBytes('{"session_id":"h"}', c), 0)],
    ['Proxy of a Uint8Array', 'type', (s, c) => s.upsertIfRaw(new Proxy(Buffer.from('{}'), closingTraps(c)), 0)],
    ['expectedVersion with valueOf', 'type', (s, c) => s.upsertIfRaw('{"session_id":"h"}', { valueOf: () => (c(), 0n) })],
  ],
  renameSessionIf: [
    ['id with toString', 'type', (s, c) => s.renameSessionIf(closingString(c, 'a'), 'n', 1)],
    ['name with toString', 'type', (s, c) => s.renameSessionIf('a', closingString(c, 'n'), 1)],
    ['expectedVersion with valueOf', 'type', (s, c) => s.renameSessionIf('a', 'n', { valueOf: () => (c(), 1) })],
    ['userId getter', 'closed', (s, c) => s.renameSessionIf('a', 'n', 1, { get userId() { c(); return 'u'; } })],
    ['options Proxy', 'closed', (s, c) => s.renameSessionIf('a', 'n', 1, new Proxy({ userId: 'u' }, closingTraps(c)))],
    ['userId with toString', 'type', (s, c) => s.renameSessionIf('a', 'n', 1, { userId: closingString(c, 'u') })],
  ],
  renameSessionIfRaw: [
    ['name with toString', 'type', (s, c) => s.renameSessionIfRaw('a', closingString(c, 'n'), 1)],
    ['userId getter', 'closed', (s, c) => s.renameSessionIfRaw('a', 'n', 1, { get userId() { c(); return 'u'; } })],
    ['options Proxy', 'closed', (s, c) => s.renameSessionIfRaw('a', 'n', 1, new Proxy({}, closingTraps(c)))],
  ],
  deleteSessionIf: [
    ['id with toString', 'type', (s, c) => s.deleteSessionIf(closingString(c, 'a'), 1)],
    ['expectedVersion with valueOf', 'type', (s, c) => s.deleteSessionIf('a', { valueOf: () => (c(), 1) })],
    ['userId getter', 'closed', (s, c) => s.deleteSessionIf('a', 1, { get userId() { c(); return 'u'; } })],
    ['options Proxy', 'closed', (s, c) => s.deleteSessionIf('a', 1, new Proxy({ userId: 'u' }, closingTraps(c)))],
    ['userId with toString', 'type', (s, c) => s.deleteSessionIf('a', 1, { userId: closingString(c, 'u') })],
  ],
  appendRuns: [
    ['id with toString', 'type', (s, c) => s.appendRuns(closingString(c, 'a'), [{}])],
    ['getter in a run', 'closed', (s, c) => s.appendRuns('a', [{ get input() { c(); return 'x'; } }])],
    ['toJSON of a run', 'closed', (s, c) => s.appendRuns('a', [{ toJSON: () => (c(), { input: 'x' }) }])],
    ['Proxy array', 'closed', (s, c) => s.appendRuns('a', new Proxy([{ input: 'x' }], closingTraps(c)))],
    [
      'getter element',
      'closed',
      (s, c) => s.appendRuns('a', Object.defineProperty([], 0, { get: () => (c(), { input: 'x' }), enumerable: true })),
    ],
    ['userId getter', 'closed', (s, c) => s.appendRuns('a', [{}], { get userId() { c(); return 'u'; } })],
    ['options Proxy', 'closed', (s, c) => s.appendRuns('a', [{}], new Proxy({ userId: 'u' }, closingTraps(c)))],
    ['runs with toJSON, not an array', 'type', (s, c) => s.appendRuns('a', { toJSON: () => (c(), [{}]) })],
  ],
  appendRunsRaw: [
    ['Uint8Array subclass', 'ok', (s, c) => s.appendRunsRaw('a', lyingBytes('[{"run_id":"h"}]', c))],
    ['Uint8Array subclass, with a userId', 'ok', (s, c) => s.appendRunsRaw('a', lyingBytes('[1]', c), { userId: 'u' })],
    ['Proxy of a Uint8Array', 'type', (s, c) => s.appendRunsRaw('a', new Proxy(Buffer.from('[1]'), closingTraps(c)))],
    ['object with toString', 'type', (s, c) => s.appendRunsRaw('a', closingString(c, '[1]'))],
    ['userId getter', 'closed', (s, c) => s.appendRunsRaw('a', '[1]', { get userId() { c(); return 'u'; } })],
    ['options Proxy', 'closed', (s, c) => s.appendRunsRaw('a', '[1]', new Proxy({}, closingTraps(c)))],
  ],
  changes: [
    ['after with valueOf', 'type', (s, c) => s.changes({ valueOf: () => (c(), 0) })],
    ['after with toString', 'type', (s, c) => s.changes(closingString(c, '0'))],
    ['limit getter', 'closed', (s, c) => s.changes(0, { get limit() { c(); return 5; } })],
    ['idsOnly getter', 'closed', (s, c) => s.changes(0, { get idsOnly() { c(); return true; } })],
    ['options Proxy', 'closed', (s, c) => s.changes(0, new Proxy({ limit: 5 }, closingTraps(c)))],
    ['limit with valueOf', 'type', (s, c) => s.changes(0, { limit: { valueOf: () => (c(), 5) } })],
    ['idsOnly with valueOf', 'type', (s, c) => s.changes(0, { idsOnly: { valueOf: () => (c(), true) } })],
  ],
  changesRaw: [
    ['limit getter', 'closed', (s, c) => s.changesRaw(0, { get limit() { c(); return 5; } })],
    ['options Proxy', 'closed', (s, c) => s.changesRaw(0n, new Proxy({}, closingTraps(c)))],
    ['after with valueOf', 'type', (s, c) => s.changesRaw({ valueOf: () => (c(), 0n) })],
  ],
  exportWithSeq: [['ignored hostile argument', 'ok', (s, c) => s.exportWithSeq(new Proxy({}, closingTraps(c)))]],
  exportWithSeqRaw: [['ignored hostile argument', 'ok', (s, c) => s.exportWithSeqRaw(new Proxy({}, closingTraps(c)))]],
};

test('hostile arguments: every method is covered', () => {
  const methods = Object.getOwnPropertyNames(SessionStore.prototype).filter(
    (name) =>
      name !== 'constructor' &&
      name !== 'close' &&
      typeof Object.getOwnPropertyDescriptor(SessionStore.prototype, name).value === 'function',
  );
  assert.deepEqual(methods.sort(), Object.keys(HOSTILE).sort());
});

test('hostile arguments: a getter, Proxy or toJSON that closes the store gets CLOSED, never a freed handle', () => {
  for (const [method, cases] of Object.entries(HOSTILE)) {
    for (const [what, expect, call] of cases) {
      const label = `${method}: ${what}`;
      const s = seeded();
      let closes = 0;
      const close = () => {
        closes++;
        s.close();
      };
      let result;
      let caught;
      try {
        result = call(s, close);
      } catch (e) {
        caught = e;
      }
      if (expect === 'closed') {
        assert.ok(closes > 0, `${label}: the hostile code did not run`);
        assert.ok(caught instanceof ClosedError, `${label}: expected CLOSED, got ${caught ? caught.stack : result}`);
        assert.equal(caught.code, 'CLOSED', label);
      } else {
        assert.equal(closes, 0, `${label}: the binding ran the argument's code`);
        assert.equal(s.closed, false, label);
        if (expect === 'type') {
          assert.ok(caught instanceof TypeError, `${label}: expected a TypeError, got ${caught && caught.stack}`);
          assert.ok(caught instanceof InvalidArgumentError, label);
        } else {
          assert.equal(caught, undefined, `${label}: ${caught && caught.stack}`);
        }
        // The store still works and holds what it should.
        assert.ok(s.stats().sessions >= 0, label);
      }
      s.close();
    }
  }
});

test('hostile arguments: typed-array subclasses are read through the engine, with the right bytes', () => {
  const s = seeded();
  try {
    const never = () => assert.fail('a typed-array member was called');
    assert.equal(JSON.parse(s.upsertRaw(lyingBytes('{"session_id":"h","k":1}', never))).k, 1);
    assert.deepEqual(JSON.parse(s.upsertManyRaw(lyingBytes('[{"session_id":"i"}]', never))).length, 1);
    assert.equal(JSON.parse(s.queryRaw(lyingBytes('{"limit":1,"sort_by":"session_id"}', never))).total, 4);
    assert.equal(s.deleteSessionsRaw(lyingBytes('["h","i"]', never)), 2);
    assert.equal(s.importRaw(lyingBytes('{"j":{"session_id":"j"}}', never)), 1);
    assert.deepEqual(s.getAllSessionIds(), ['a', 'b', 'j']);
    const j = s.read('j');
    assert.equal(JSON.parse(s.upsertIfRaw(lyingBytes('{"session_id":"j","k":2}', never), j.version)).k, 2);
    assert.deepEqual(JSON.parse(s.appendRunsRaw('j', lyingBytes('[{"n":1},{"n":2}]', never))).memory, {
      runs: [{ n: 1 }, { n: 2 }],
    });
  } finally {
    s.close();
  }
});

test('hostile arguments: the constructor reads no symbol-keyed option (no way to adopt a forged handle)', () => {
  const keys = [];
  const options = new Proxy(
    { mode: 'team' },
    {
      get(t, k, r) {
        keys.push(k);
        return Reflect.get(t, k, r);
      },
    },
  );
  const s = new SessionStore(options);
  try {
    assert.equal(s.mode, 'team');
    assert.deepEqual(
      keys.filter((k) => typeof k === 'symbol'),
      [],
    );
  } finally {
    s.close();
  }
  // Getters on the options run before the store exists; they see nothing half-built.
  const t = new SessionStore({
    get mode() {
      return 'workflow';
    },
  });
  assert.equal(t.mode, 'workflow');
  t.close();
});

test('hostile arguments: nonFiniteNumbers is read once, before the store exists; an object is a TypeError', () => {
  let reads = 0;
  const s = new SessionStore({
    get nonFiniteNumbers() {
      reads++;
      return reads === 1 ? 'null' : 'reject'; // a different answer each time
    },
  });
  try {
    assert.equal(reads, 1);
    assert.equal(JSON.parse(s.upsertRaw('{"session_id":"n","x":NaN}')).x, null);
  } finally {
    s.close();
  }
  const keys = [];
  const traced = new SessionStore(
    new Proxy(
      { nonFiniteNumbers: 'reject' },
      {
        get(t, k, r) {
          keys.push(k);
          return Reflect.get(t, k, r);
        },
      },
    ),
  );
  traced.close();
  assert.deepEqual(keys.filter((k) => k === 'nonFiniteNumbers'), ['nonFiniteNumbers']);
  let called = 0;
  throwsArg(
    () => new SessionStore({ nonFiniteNumbers: { toString: () => (called++, 'null'), toJSON: () => (called++, 'null') } }),
    TypeError,
    /nonFiniteNumbers must be a string/,
  );
  assert.equal(called, 0);
});

// --- lengths ------------------------------------------------------------------------------------------------

/** Two neighbouring Buffers over one ArrayBuffer, as the Buffer pool lays them out. */
function neighbours(first, second) {
  const ab = new ArrayBuffer(first.length + second.length);
  Buffer.from(ab).write(first + second, 'latin1');
  return [Buffer.from(ab, 0, first.length), Buffer.from(ab, first.length, second.length)];
}

test('lengths: a byteLength that lies cannot make C read a neighbouring Buffer', () => {
  // Each payload is cut short of valid JSON, which the neighbour (holding a secret) would complete.
  const CASES = [
    ['upsertRaw', '{"session_id":"leak","v":"', 'SECRET"}'],
    ['upsertManyRaw', '[{"session_id":"leak","v":"', 'SECRET"}]'],
    ['importRaw', '{"leak":{"session_id":"leak","v":"', 'SECRET"}}'],
    ['queryRaw', '{"session_name":"', 'SECRET"}'],
    ['deleteSessionsRaw', '["', 'SECRET"]'],
  ];
  for (const [method, start, rest] of CASES) {
    const [mine, secret] = neighbours(start, rest);
    class Liar extends Uint8Array {
      get byteLength() {
        return mine.length + secret.length;
      }
      get length() {
        return this.byteLength;
      }
    }
    const lying = new Liar(mine.buffer, mine.byteOffset, mine.length);
    const s = seeded();
    try {
      assert.throws(() => s[method](lying), { code: 'INVALID_JSON' }, `${method}: C read past the view`);
      assert.doesNotMatch(s.exportRaw(), /SECRET/, method);
    } finally {
      s.close();
    }
  }
  // The 0.3 payloads: a session to upsertIfRaw, runs to appendRunsRaw (after the id).
  const CALLS = [
    ['upsertIfRaw', '{"session_id":"leak","v":"', 'SECRET"}', (s, view) => s.upsertIfRaw(view, 0)],
    ['appendRunsRaw', '[{"v":"', 'SECRET"}]', (s, view) => s.appendRunsRaw('a', view)],
  ];
  for (const [method, start, rest, call] of CALLS) {
    const [mine, secret] = neighbours(start, rest);
    class Liar extends Uint8Array {
      get byteLength() {
        return mine.length + secret.length;
      }
    }
    const s = seeded();
    try {
      const lying = new Liar(mine.buffer, mine.byteOffset, mine.length);
      assert.throws(() => call(s, lying), { code: 'INVALID_JSON' }, `${method}: C read past the view`);
      assert.doesNotMatch(s.exportRaw(), /SECRET/, method);
    } finally {
      s.close();
    }
  }
});

test('lengths: patched typed-array prototypes and Buffer.byteLength do not change what C reads', () => {
  const s = seeded();
  const proto = Object.getPrototypeOf(Uint8Array.prototype);
  const saved = ['byteLength', 'length', 'byteOffset', 'buffer'].map((k) => [
    k,
    Object.getOwnPropertyDescriptor(proto, k),
  ]);
  const savedByteLength = Buffer.byteLength;
  const [mine, secret] = neighbours('{"session_id":"p","v":"', 'SECRET"}');
  const pooled = Buffer.from('{"session_id":"r"}');
  const lie = mine.length + secret.length;
  let out;
  try {
    for (const [k] of saved) Object.defineProperty(proto, k, { get: () => lie, configurable: true });
    Buffer.byteLength = () => lie;
    out = [
      () => s.upsertRaw(mine),
      () => s.upsertRaw('{"session_id":"q"}'),
      () => s.upsertRaw(pooled),
    ].map((f) => {
      try {
        return f();
      } catch (e) {
        return e;
      }
    });
  } finally {
    for (const [k, d] of saved) Object.defineProperty(proto, k, d);
    Buffer.byteLength = savedByteLength;
  }
  try {
    assert.equal(out[0].code, 'INVALID_JSON', String(out[0]));
    assert.equal(JSON.parse(out[1]).session_id, 'q');
    assert.equal(JSON.parse(out[2]).session_id, 'r');
    assert.doesNotMatch(s.exportRaw(), /SECRET/);
  } finally {
    s.close();
  }
});

test('lengths: views, offsets, detached, shared and resizable buffers, other kinds of input', () => {
  const s = seeded();
  try {
    // A view in the middle of a larger buffer: exactly its bytes.
    const big = Buffer.from('xxxx{"session_id":"mid"}yyyy');
    assert.equal(JSON.parse(s.upsertRaw(big.subarray(4, big.length - 4))).session_id, 'mid');
    assert.throws(() => s.upsertRaw(big.subarray(4, 4)), { code: 'INVALID_JSON' }, 'an empty view is empty JSON');

    // Detached: a TypeError naming the problem, not an empty payload.
    const ab = new ArrayBuffer(32);
    const view = new Uint8Array(ab);
    structuredClone(ab, { transfer: [ab] });
    throwsArg(() => s.upsertRaw(view), TypeError, /detached/);
    throwsArg(() => s.importRaw(view), TypeError, /detached/);

    // Shared memory could change while C reads it: refused; a copy works.
    const shared = new Uint8Array(new SharedArrayBuffer(19));
    shared.set(Buffer.from('{"session_id":"sh"}'));
    throwsArg(() => s.upsertRaw(shared), TypeError, /SharedArrayBuffer/);
    assert.equal(s.read('sh'), null);
    assert.equal(JSON.parse(s.upsertRaw(Buffer.from(shared))).session_id, 'sh');

    // Resizable: a length-tracking view is read at its current length; one left out of bounds is empty.
    const rab = new ArrayBuffer(64, { maxByteLength: 64 });
    const tracking = new Uint8Array(rab);
    const fixed = new Uint8Array(rab, 0, 64);
    Buffer.from(rab).fill(0x20);
    Buffer.from(rab).write('{"session_id":"rs"}');
    rab.resize(19);
    assert.equal(JSON.parse(s.upsertRaw(tracking)).session_id, 'rs');
    assert.throws(() => s.upsertRaw(fixed), { code: 'INVALID_JSON' });

    // Other kinds: a clear TypeError.
    const text = Buffer.from('{"session_id":"k"}');
    for (const bad of [
      new DataView(text.buffer, text.byteOffset, text.length),
      text.buffer,
      new Int8Array(4),
      new Uint16Array(4),
      new Uint8ClampedArray(4),
      [123, 125],
      new String('{"session_id":"k"}'),
    ]) {
      throwsArg(() => s.upsertRaw(bad), TypeError, /JSON string or a Buffer\/Uint8Array/);
    }
    throwsArg(() => s.upsertRaw(new DataView(new ArrayBuffer(1))), TypeError, /DataView/);
    throwsArg(() => s.upsertRaw(new Proxy(text, {})), TypeError, /Proxy/);
  } finally {
    s.close();
  }
});

// --- numbers ------------------------------------------------------------------------------------------------

test('numbers: getRecentSessions limit is an int64, neither wrapped nor turned into "no limit"', () => {
  const s = seeded();
  try {
    const n = (limit) => s.getRecentSessions({ limit }).length;
    const outOfRange = [2n ** 64n, 2n ** 64n + 3n, 2n ** 63n, -(2n ** 63n) - 1n, 2 ** 63, -(2 ** 64)];
    for (const bad of [...outOfRange, NaN, Infinity, -Infinity, 1.5]) {
      throwsArg(() => s.getRecentSessions({ limit: bad }), RangeError, /limit/);
      throwsArg(() => s.getRecentSessionsRaw({ limit: bad }), RangeError, /limit/);
    }
    for (const bad of ['3', true, {}, [], Symbol('x')]) {
      throwsArg(() => s.getRecentSessions({ limit: bad }), TypeError, /limit/);
    }
    assert.equal(n(2n ** 63n - 1n), 2);
    assert.equal(n(2 ** 62), 2);
    assert.equal(n(-(2n ** 63n)), 2, 'negative = all');
    assert.equal(n(-(2 ** 63)), 2);
    assert.equal(n(1n), 1);
    assert.equal(n(-0), 0);
  } finally {
    s.close();
  }
});

test('numbers: query limit/offset are uint64 and timestamps int64; NaN, Infinity and bigints are not null', () => {
  const s = seeded();
  try {
    const total = (q) => s.query(q).total;
    const count = (q) => s.query(q).sessions.length;
    for (const key of ['limit', 'offset']) {
      for (const bad of [NaN, Infinity, -Infinity, -1, -1n, 1.5, 2n ** 64n, 2 ** 64]) {
        throwsArg(() => s.query({ [key]: bad }), RangeError, new RegExp(key));
      }
      throwsArg(() => s.query({ [key]: '1' }), TypeError, new RegExp(key));
    }
    assert.equal(count({ limit: 2n ** 64n - 1n }), 2);
    assert.equal(count({ limit: 1n }), 1);
    assert.equal(count({ offset: 2n ** 64n - 1n }), 0);
    assert.equal(count({ offset: 1n, limit: 2 ** 60 }), 1);

    for (const key of ['createdAfter', 'createdBefore', 'updatedAfter', 'updatedBefore', 'created_after']) {
      for (const bad of [NaN, Infinity, 0.5, 2n ** 63n, -(2n ** 63n) - 1n, 1e300, new Date(NaN)]) {
        throwsArg(() => s.query({ [key]: bad }), RangeError, new RegExp(key));
      }
      throwsArg(() => s.query({ [key]: '2020-01-01' }), TypeError, new RegExp(key));
    }
    assert.equal(total({ createdAfter: 15n }), 1);
    assert.equal(total({ createdAfter: -(2n ** 63n), createdBefore: 2n ** 63n - 1n }), 2);
    assert.equal(total({ created_after: new Date(15_000) }), 1);

    for (const key of ['userId', 'entityId', 'sessionName', 'sortBy', 'sortOrder']) {
      throwsArg(() => s.query({ [key]: 5 }), TypeError, new RegExp(key));
    }
    assert.equal(total({ userId: null, sortBy: null }), 2, 'null still means the default');
    // An unknown key is still the library's to reject by name, whatever its value.
    assert.throws(() => s.query({ bogus: 1n }), { code: 'INVALID_ARGUMENT', message: /bogus/ });
    const protoKey = { __proto__: null, ['__proto__']: 1 }; // an own key, as JSON.parse makes it
    assert.throws(() => s.query(protoKey), { code: 'INVALID_ARGUMENT', message: /__proto__/ });
  } finally {
    s.close();
  }
});

test('numbers: maxSessionBytes is a size_t of at least 1', () => {
  for (const bad of [NaN, Infinity, 1.5, 0, -1, 0n, 2n ** 64n, 2 ** 64]) {
    throwsArg(() => new SessionStore({ maxSessionBytes: bad }), RangeError, /maxSessionBytes/);
  }
  throwsArg(() => new SessionStore({ maxSessionBytes: '64' }), TypeError, /maxSessionBytes/);
  const small = new SessionStore({ maxSessionBytes: 64n });
  try {
    assert.throws(() => small.upsert({ session_id: 'x', memory: 'y'.repeat(100) }), { code: 'TOO_LARGE' });
  } finally {
    small.close();
  }
  const huge = new SessionStore({ maxSessionBytes: 2n ** 64n - 1n }); // lowered to the library's cap
  huge.close();
});

test('numbers: expected versions and `after` are uint64: safe-integer numbers or bigints, never rounded', () => {
  const s = seeded(); // 'a' at version 1, 'b' at 2
  try {
    const calls = {
      upsertIf: (v) => s.upsertIf({ session_id: 'a', user_id: 'u' }, v),
      upsertIfRaw: (v) => s.upsertIfRaw('{"session_id":"a","user_id":"u"}', v),
      renameSessionIf: (v) => s.renameSessionIf('a', 'n', v),
      renameSessionIfRaw: (v) => s.renameSessionIfRaw('a', 'n', v),
      deleteSessionIf: (v) => s.deleteSessionIf('a', v),
      changes: (v) => s.changes(v),
      changesRaw: (v) => s.changesRaw(v),
    };
    for (const [name, call] of Object.entries(calls)) {
      const what = name.startsWith('changes') ? /after/ : /expectedVersion/;
      for (const bad of [-1, -1n, 0.5, NaN, Infinity, -Infinity, 2n ** 64n, 2 ** 64, -(2n ** 63n)]) {
        throwsArg(() => call(bad), RangeError, what);
      }
      // Above 2^53 - 1 a number may already be rounded: a bigint is asked for, never a neighbouring value sent.
      for (const unsafe of [2 ** 53, 2 ** 53 + 2, 2 ** 60, 2 ** 63]) {
        throwsArg(() => call(unsafe), RangeError, /bigint above Number\.MAX_SAFE_INTEGER/);
      }
      for (const bad of ['1', true, {}, [], null, undefined, Symbol('v'), new Number(1), Object(1n)]) {
        throwsArg(() => call(bad), TypeError, what);
      }
    }
    assert.equal(s.read('a').version, 1, 'nothing was written');
    // The largest values reach C whole: versions no session has (a mismatch, naming the value), and `after`s
    // beyond the latest change (feed truncated, naming the value).
    const max = 2n ** 64n - 1n;
    assert.throws(() => s.upsertIf({ session_id: 'a', user_id: 'u' }, max), {
      code: 'VERSION_MISMATCH',
      message: /18446744073709551615/,
    });
    assert.throws(() => s.deleteSessionIf('a', 2 ** 53 - 1), { code: 'VERSION_MISMATCH', message: /9007199254740991/ });
    assert.throws(() => s.changes(max), { code: 'FEED_TRUNCATED', message: /18446744073709551615/ });
    assert.throws(() => s.changes(2 ** 53 - 1), { code: 'FEED_TRUNCATED', message: /9007199254740991/ });
    assert.throws(() => s.changes(2n ** 32n), { code: 'FEED_TRUNCATED', message: /4294967296/ });
    assert.equal(s.upsertIf({ session_id: 'a', user_id: 'u' }, 1n).version, 3);
    assert.equal(s.renameSessionIf('a', 'n', 3).version, 4);
    assert.equal(s.changes(-0).latest, 4, '-0 is 0');
  } finally {
    s.close();
  }
});

test('numbers: changes limit is a size_t of at least 1; feedBytes a size_t', () => {
  const s = seeded();
  try {
    for (const bad of [0, 0n, -1, 1.5, NaN, Infinity, 2n ** 64n, 2 ** 64]) {
      throwsArg(() => s.changes(0, { limit: bad }), RangeError, /limit/);
    }
    for (const bad of ['5', true, {}]) throwsArg(() => s.changes(0, { limit: bad }), TypeError, /limit/);
    for (const bad of ['true', 1, {}]) throwsArg(() => s.changes(0, { idsOnly: bad }), TypeError, /idsOnly/);
    throwsArg(() => s.changes(0, 5), TypeError, /options must be an object/);
    throwsArg(() => s.changes(0, [5]), TypeError, /options must be an object/);
    assert.throws(() => s.changes(0, { limt: 5 }), { code: 'INVALID_ARGUMENT', message: /unknown option "limt"/ });
    assert.throws(() => s.changes(0, { ids_only: true }), { code: 'INVALID_ARGUMENT', message: /ids_only/ });
    assert.equal(s.changes(0, { limit: 1n }).changes.length, 1);
    assert.equal(s.changes(0, { limit: 2n ** 64n - 1n }).changes.length, 2, 'capped by the library, not refused');
    assert.equal(s.changes(0, { limit: null, idsOnly: null }).changes.length, 2, 'null: the defaults');
  } finally {
    s.close();
  }
  for (const bad of [-1, 1.5, NaN, 2n ** 64n, 2 ** 64]) {
    throwsArg(() => new SessionStore({ feedBytes: bad }), RangeError, /feedBytes/);
  }
  throwsArg(() => new SessionStore({ feedBytes: '1' }), TypeError, /feedBytes/);
  const none = new SessionStore({ feedBytes: 0n });
  assert.equal(none.stats().feed.budget, 0);
  none.close();
  const huge = new SessionStore({ feedBytes: 2n ** 64n - 1n });
  assert.equal(typeof huge.stats().feed.budget, 'number');
  huge.close();
});

test('argument errors are TypeError/RangeError and still InvalidArgumentError; other errors are not', () => {
  const s = new SessionStore();
  try {
    throwsArg(() => s.read(42), TypeError, /sessionId must be a string/);
    throwsArg(() => s.getRecentSessions({ limit: 0.5 }), RangeError);
    // A value of the right type that the binding refuses stays a plain InvalidArgumentError.
    let e;
    try {
      s.read('a\0b');
    } catch (err) {
      e = err;
    }
    assert.ok(e instanceof InvalidArgumentError && !(e instanceof TypeError));
    assert.ok(!(new TypeError('x') instanceof SessionStoreError), 'only the binding own errors');
    const lookalike = Object.assign(new RangeError('x'), { code: 'INVALID_ARGUMENT', status: 2 });
    assert.ok(!(lookalike instanceof InvalidArgumentError));
    let closed;
    try {
      s.close();
      s.read('a');
    } catch (err) {
      closed = err;
    }
    assert.ok(closed instanceof ClosedError && !(closed instanceof InvalidArgumentError));
  } finally {
    s.close();
  }
});
