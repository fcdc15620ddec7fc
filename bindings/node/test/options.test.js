'use strict';

// query's sessionType (a type, a list of types, 'any') and fields ('all', 'metadata', a list of names), and the
// nonFiniteNumbers store option ('reject' | 'null').

const test = require('node:test');
const assert = require('node:assert/strict');
const { SessionStore, InvalidArgumentError, InvalidJsonError } = require('..');

function withStore(options, fn) {
  const s = new SessionStore(options);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

/** Asserts an argument error: of this kind (TypeError, RangeError or InvalidArgumentError), code INVALID_ARGUMENT. */
function throwsArg(fn, Kind, pattern) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Kind, `expected ${Kind.name}, got ${e && e.stack}`);
    assert.ok(e instanceof InvalidArgumentError, e.stack);
    assert.equal(e.code, 'INVALID_ARGUMENT');
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

/** One session of each type, over four handles on the same data (the agent handle is returned; close it). */
function seededTypes() {
  const agent = new SessionStore();
  agent.upsert({ session_id: 'a1', user_id: 'ava', agent_id: 'E', created_at: 10, memory: 'agent transcript' });
  agent.upsert({ session_id: 'a2', user_id: 'ben', agent_id: 'F', created_at: 50 });
  for (const [mode, id, entity, at] of [
    ['team', 't1', 'team_id', 20],
    ['workflow', 'w1', 'workflow_id', 30],
    ['workflow_v2', 'v1', 'workflow_id', 40],
  ]) {
    const h = agent.share(mode);
    h.upsert({ session_id: id, user_id: 'ava', [entity]: 'E', created_at: at, session_data: { session_name: `${mode} run` } });
    h.close();
  }
  return agent;
}

const ids = (r) => r.sessions.map((x) => x.session_id);

test('query sessionType: one type, a list of types, or any; default the handle\'s mode', () => {
  const s = seededTypes();
  try {
    assert.deepEqual(ids(s.query()), ['a2', 'a1'], 'default: the handle\'s mode');
    assert.deepEqual(ids(s.query({ sessionType: null })), ['a2', 'a1']);
    const any = s.query({ sessionType: 'any' });
    assert.equal(any.total, 5);
    assert.deepEqual(ids(any), ['a2', 'v1', 'w1', 't1', 'a1'], 'across types, one created_at order');
    assert.deepEqual(
      any.sessions.map((x) => x.session_type),
      ['agent', 'workflow_v2', 'workflow', 'team', 'agent'],
    );
    assert.deepEqual(ids(s.query({ sessionType: 'team' })), ['t1'], 'another type than the handle\'s');
    assert.deepEqual(ids(s.query({ sessionType: ['team', 'workflow'], sortOrder: 'asc' })), ['t1', 'w1']);
    assert.deepEqual(ids(s.query({ session_type: ['workflow_v2'] })), ['v1'], 'snake_case key');
    // Filters apply across types; entityId is each type's own entity field.
    assert.deepEqual(ids(s.query({ sessionType: 'any', userId: 'ava', sortBy: 'session_id', sortOrder: 'asc' })), [
      'a1',
      't1',
      'v1',
      'w1',
    ]);
    assert.deepEqual(ids(s.query({ sessionType: 'any', entityId: 'E', limit: 2, offset: 1 })), ['w1', 't1']);
    assert.equal(s.query({ sessionType: 'any', entityId: 'E', limit: 2 }).total, 4);
    assert.deepEqual(ids(s.query({ sessionType: 'any', sessionName: 'RUN' })), ['v1', 'w1', 't1']);
    assert.equal(JSON.parse(s.queryRaw('{"session_type":"any"}')).total, 5);
    // From another handle too.
    const team = s.share('team');
    try {
      assert.deepEqual(ids(team.query()), ['t1']);
      assert.equal(team.query({ sessionType: 'any' }).total, 5);
    } finally {
      team.close();
    }

    throwsArg(() => s.query({ sessionType: 'robot' }), InvalidArgumentError, /session_type/);
    throwsArg(() => s.query({ sessionType: [] }), InvalidArgumentError, /empty list/);
    throwsArg(() => s.query({ sessionType: ['agent', 'robot'] }), InvalidArgumentError, /robot/);
    throwsArg(() => s.query({ sessionType: 5 }), TypeError, /sessionType must be a string or an array of strings/);
    throwsArg(() => s.query({ sessionType: { 0: 'agent', length: 1 } }), TypeError, /sessionType/);
    throwsArg(() => s.query({ sessionType: ['agent', 5] }), TypeError, /sessionType\[1\] must be a string/);
    throwsArg(() => s.query({ sessionType: [, 'agent'] }), TypeError, /sessionType\[0\]/); // eslint-disable-line no-sparse-arrays
    throwsArg(() => s.query({ sessionType: 'any', session_type: 'agent' }), InvalidArgumentError, /twice/);
  } finally {
    s.close();
  }
});

test('query fields: "metadata" returns ids, type, user, entity, timestamps and name, not the transcript', () => {
  const s = seededTypes();
  try {
    const meta = s.query({ sessionType: 'any', fields: 'metadata', sortBy: 'session_id', sortOrder: 'asc' });
    assert.equal(meta.total, 5);
    const full = s.export();
    const byId = Object.fromEntries(meta.sessions.map((x) => [x.session_id, x]));
    assert.deepEqual(byId.a1, {
      session_id: 'a1',
      session_type: 'agent',
      user_id: 'ava',
      agent_id: 'E',
      created_at: 10,
      updated_at: full.a1.updated_at,
    });
    assert.equal(byId.a1.memory, undefined, 'no transcript');
    assert.deepEqual(byId.t1, {
      session_id: 't1',
      session_type: 'team',
      user_id: 'ava',
      team_id: 'E',
      created_at: 20,
      updated_at: full.t1.updated_at,
      session_data: { session_name: 'team run' },
    });
    assert.deepEqual(Object.keys(byId.v1), [
      'session_id',
      'session_type',
      'user_id',
      'workflow_id',
      'created_at',
      'updated_at',
      'session_data',
    ]);
    // Unset user and entity are null.
    s.upsert({ session_id: 'bare', created_at: 1 });
    assert.deepEqual(s.query({ fields: 'metadata', limit: 1, sortOrder: 'asc' }).sessions[0], {
      session_id: 'bare',
      session_type: 'agent',
      user_id: null,
      agent_id: null,
      created_at: 1,
      updated_at: s.read('bare').updated_at,
    });
    assert.equal(JSON.parse(s.queryRaw('{"fields":"metadata","limit":1}')).sessions[0].memory, undefined);
    // 'all' (or null) is the whole session.
    assert.deepEqual(s.query({ fields: 'all', userId: 'ben' }).sessions, [s.read('a2')]);
    assert.deepEqual(s.query({ fields: null, userId: 'ben' }).sessions, [s.read('a2')]);
  } finally {
    s.close();
  }
});

test('query fields: a list of top-level names, absent ones left out, at most 64', () => {
  const s = seededTypes();
  try {
    const picked = s.query({ fields: ['memory', 'session_id'], sortOrder: 'asc' });
    assert.deepEqual(picked.sessions, [{ session_id: 'a1', memory: 'agent transcript' }, { session_id: 'a2' }]);
    assert.equal(picked.total, 2);
    assert.deepEqual(s.query({ fields: [], limit: 1 }).sessions, [{}]);
    const names = Array.from({ length: 64 }, (_, i) => `f${i}`);
    names[63] = 'session_id';
    assert.deepEqual(s.query({ fields: names, userId: 'ben' }).sessions, [{ session_id: 'a2' }]);

    throwsArg(() => s.query({ fields: [...names, 'one more'] }), RangeError, /fields may list at most 64 names, got 65/);
    throwsArg(() => s.queryRaw(JSON.stringify({ fields: [...names, 'x'] })), InvalidArgumentError, /at most 64/);
    throwsArg(() => s.query({ fields: 'everything' }), InvalidArgumentError, /fields/);
    throwsArg(() => s.query({ fields: 3 }), TypeError, /fields must be a string or an array of strings/);
    throwsArg(() => s.query({ fields: ['session_id', null] }), TypeError, /fields\[1\] must be a string/);
    throwsArg(() => s.query({ fields: new Set(['session_id']) }), TypeError, /fields/);
  } finally {
    s.close();
  }
});

test('query sessionType and fields lists are read once, into the binding\'s own array', () => {
  withStore({}, (s) => {
    s.upsert({ session_id: 'x', memory: 1 });
    let reads = 0;
    const fields = ['session_id'];
    Object.defineProperty(fields, 1, {
      enumerable: true,
      get() {
        reads++;
        return reads === 1 ? 'memory' : 'session_type'; // a different answer each time
      },
    });
    assert.deepEqual(s.query({ fields }).sessions, [{ session_id: 'x', memory: 1 }]);
    assert.equal(reads, 1);
    // A Proxy of an array claiming a huge length is refused before any element is read.
    let elementReads = 0;
    const huge = new Proxy(['agent'], {
      get(t, k, r) {
        if (k === 'length') return 2 ** 40;
        if (k !== 'length') elementReads++;
        return Reflect.get(t, k, r);
      },
    });
    throwsArg(() => s.query({ fields: huge }), RangeError, /at most 64/);
    throwsArg(() => s.query({ sessionType: huge }), RangeError, /sessionType/);
    assert.equal(elementReads, 0);
  });
});

test('nonFiniteNumbers: "reject" (default) refuses NaN and Infinity, naming the option', () => {
  for (const options of [{}, { nonFiniteNumbers: 'reject' }, { nonFiniteNumbers: null }]) {
    withStore(options, (s) => {
      for (const word of ['NaN', 'Infinity', '-Infinity']) {
        assert.throws(
          () => s.upsertRaw(`{"session_id":"m","score":${word}}`),
          (e) => e instanceof InvalidJsonError && e.code === 'INVALID_JSON' && /non_finite_numbers/.test(e.message),
        );
      }
      assert.throws(() => s.upsertManyRaw('[{"session_id":"m","x":[1,NaN]}]'), { code: 'INVALID_JSON' });
      assert.throws(() => s.importRaw('{"m":{"session_id":"m","x":Infinity}}'), { code: 'INVALID_JSON' });
      assert.equal(s.read('m'), null);
      // JSON.stringify already writes them as null on the object path.
      assert.equal(s.upsert({ session_id: 'o', score: NaN }).score, null);
    });
  }
});

test('nonFiniteNumbers: "null" stores NaN, Infinity and -Infinity as null, for every handle on the data', () => {
  withStore({ nonFiniteNumbers: 'null' }, (s) => {
    const stored = s.upsertRaw('{"session_id":"m","metrics":{"a":NaN,"b":Infinity,"c":-Infinity,"d":1.5},"s":"NaN"}');
    assert.deepEqual(JSON.parse(stored).metrics, { a: null, b: null, c: null, d: 1.5 });
    assert.equal(JSON.parse(stored).s, 'NaN', 'inside a string it is text');
    assert.deepEqual(s.read('m').metrics, { a: null, b: null, c: null, d: 1.5 });
    assert.deepEqual(JSON.parse(s.upsertManyRaw('[{"session_id":"n","x":[NaN,2]}]'))[0].x, [null, 2]);
    assert.equal(s.importRaw('{"i":{"session_id":"i","x":-Infinity}}'), 1);
    assert.equal(s.read('i').x, null);
    assert.doesNotMatch(s.exportRaw(), /[:,[]-?(NaN|Infinity)/, 'exported as JSON');
    const team = s.share('team');
    try {
      assert.equal(JSON.parse(team.upsertRaw('{"session_id":"t","x":NaN}')).x, null);
    } finally {
      team.close();
    }
    // Not a licence for other invalid JSON.
    assert.throws(() => s.upsertRaw('{"session_id":"m","x":nan}'), { code: 'INVALID_JSON' });
  });
});

test('nonFiniteNumbers: other values are refused', () => {
  throwsArg(() => new SessionStore({ nonFiniteNumbers: 'zero' }), InvalidArgumentError, /non_finite_numbers/);
  throwsArg(() => new SessionStore({ nonFiniteNumbers: '' }), InvalidArgumentError, /non_finite_numbers/);
  throwsArg(() => new SessionStore({ nonFiniteNumbers: true }), TypeError, /nonFiniteNumbers must be a string/);
  throwsArg(() => new SessionStore({ nonFiniteNumbers: ['null'] }), TypeError, /nonFiniteNumbers/);
  throwsArg(() => new SessionStore({ nonFiniteNumbers: 'nu\0ll' }), InvalidArgumentError, /NUL/);
});
