'use strict';

// Who may write what: an upsert (single or batch) may not take a session another user owns
// (PERMISSION_DENIED, nothing changed), import is exempt, and renameSession / deleteSession / deleteSessions
// take an optional { userId } that limits them to that user's sessions.

const test = require('node:test');
const assert = require('node:assert/strict');
const ss = require('..');
const { SessionStore, SessionStoreError, PermissionDeniedError, NotFoundError, InvalidArgumentError } = ss;

function withStore(options, fn) {
  const s = new SessionStore(options);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

/** Asserts fn throws PermissionDeniedError (code PERMISSION_DENIED, status 8); returns it. */
function denied(fn, pattern) {
  let caught;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof PermissionDeniedError, `expected PermissionDeniedError, got ${caught && caught.stack}`);
  assert.ok(caught instanceof SessionStoreError);
  assert.equal(caught.name, 'PermissionDeniedError');
  assert.equal(caught.code, 'PERMISSION_DENIED');
  assert.equal(caught.status, 8);
  assert.equal(caught.status, ss.Status.PERMISSION_DENIED);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

/** Everything the store holds, as text: equal before and after means nothing changed. */
const snapshot = (s) => s.exportRaw();

test('upsert: another user_id, null or absent, cannot replace a session that has an owner', () => {
  withStore({}, (s) => {
    const first = s.upsert({ session_id: 's1', user_id: 'ava', memory: { n: 1 }, created_at: 100 });
    const before = snapshot(s);
    denied(() => s.upsert({ session_id: 's1', user_id: 'ben', memory: { n: 2 } }), /session "s1" belongs to another user/);
    denied(() => s.upsert({ session_id: 's1', user_id: null, memory: { n: 2 } })); // null is another user
    denied(() => s.upsert({ session_id: 's1', memory: { n: 2 } })); // so is absent
    denied(() => s.upsert({ session_id: 's1', user_id: '', memory: { n: 2 } })); // and ""
    denied(() => s.upsertRaw('{"session_id":"s1","user_id":"ben"}'));
    denied(() => s.upsertRaw(Buffer.from('{"session_id":"s1"}')));
    assert.equal(snapshot(s), before, 'nothing changed, updated_at included');
    assert.deepEqual(s.read('s1'), first);

    // The owner may write it again.
    const again = s.upsert({ session_id: 's1', user_id: 'ava', memory: { n: 3 } });
    assert.deepEqual(again.memory, { n: 3 });
    assert.equal(again.created_at, 100);

    // A session without an owner may be written by anyone, and then belongs to that user.
    s.upsert({ session_id: 'free' });
    s.upsert({ session_id: 'free', user_id: null, memory: 'still free' });
    assert.equal(s.upsert({ session_id: 'free', user_id: 'ben' }).user_id, 'ben');
    denied(() => s.upsert({ session_id: 'free', user_id: 'ava' }));
    assert.equal(s.read('free').user_id, 'ben');

    // Another handle on the same data is bound by it too.
    const other = s.share();
    try {
      denied(() => other.upsert({ session_id: 's1', user_id: 'ben' }));
    } finally {
      other.close();
    }
  });
});

test('upsertMany: one element taking another user\'s session refuses the whole batch, naming it', () => {
  withStore({ mode: 'team' }, (s) => {
    s.upsertMany([
      { session_id: 't1', user_id: 'ava', team_id: 'T' },
      { session_id: 't2', user_id: 'ben', team_id: 'T' },
    ]);
    const before = snapshot(s);
    const e = denied(
      () =>
        s.upsertMany([
          { session_id: 'new', user_id: 'ava' },
          { session_id: 't1', user_id: 'ava', team_data: { ok: true } },
          { session_id: 't2', user_id: 'ava' },
        ]),
      /sessions\[2\]/,
    );
    assert.doesNotMatch(e.message, /sessions\[[01]\]/);
    denied(() => s.upsertManyRaw('[{"session_id":"t1"}]'), /sessions\[0\]/);
    assert.equal(snapshot(s), before, 'atomic: nothing of a refused batch is stored');
    assert.equal(s.read('new'), null);

    // Within a batch, an element is checked against the owner the earlier elements gave the session.
    denied(
      () =>
        s.upsertMany([
          { session_id: 'x', user_id: 'ava' },
          { session_id: 'x', user_id: 'ben' },
        ]),
      /sessions\[1\]/,
    );
    assert.equal(s.read('x'), null);
    const stored = s.upsertMany([
      { session_id: 'y' },
      { session_id: 'y', user_id: 'ben' },
      { session_id: 'y', user_id: 'ben', memory: 1 },
    ]);
    assert.deepEqual(
      stored.map((x) => x.user_id),
      [undefined, 'ben', 'ben'],
    );
    assert.equal(s.read('y').user_id, 'ben');
  });
});

test('import is exempt: it replaces a session whatever its owner', () => {
  withStore({}, (s) => {
    s.upsert({ session_id: 's1', user_id: 'ava', memory: 'ava' });
    assert.equal(s.import({ s1: { session_id: 's1', user_id: 'ben', memory: 'ben' } }), 1);
    assert.equal(s.read('s1').user_id, 'ben');
    assert.equal(s.importRaw('{"s1":{"session_id":"s1","memory":"nobody"}}'), 1);
    assert.equal(s.read('s1').user_id, undefined);
    assert.equal(s.read('s1').memory, 'nobody');
  });
});

test('renameSession (+Raw) with { userId }: only that user\'s session; another user\'s is NOT_FOUND', () => {
  withStore({}, (s) => {
    s.upsert({ session_id: 'r', user_id: 'ava', session_data: { session_name: 'old' } });
    s.upsert({ session_id: 'unowned' });
    const before = snapshot(s);
    for (const call of [
      () => s.renameSession('r', 'stolen', { userId: 'ben' }),
      () => s.renameSessionRaw('r', 'stolen', { userId: 'ben' }),
      () => s.renameSession('unowned', 'stolen', { userId: 'ben' }),
      () => s.renameSession('missing', 'x', { userId: 'ava' }),
    ]) {
      assert.throws(call, (e) => e instanceof NotFoundError && e.code === 'NOT_FOUND' && e.status === 1);
    }
    assert.equal(snapshot(s), before, 'nothing changed');

    assert.equal(s.renameSession('r', 'mine', { userId: 'ava' }).session_data.session_name, 'mine');
    assert.equal(JSON.parse(s.renameSessionRaw('r', 'raw', { userId: 'ava' })).session_data.session_name, 'raw');
    // No user (absent, null, '' or no options) renames any session of the handle's type.
    assert.equal(s.renameSession('r', 'a').session_data.session_name, 'a');
    assert.equal(s.renameSession('r', 'b', {}).session_data.session_name, 'b');
    assert.equal(s.renameSession('r', 'c', null).session_data.session_name, 'c');
    assert.equal(s.renameSession('r', 'd', { userId: null }).session_data.session_name, 'd');
    assert.equal(s.renameSession('r', 'e', { userId: '' }).session_data.session_name, 'e');
    assert.equal(s.renameSessionRaw('unowned', 'f', { userId: undefined }).includes('"f"'), true);
    assert.equal(s.read('r').user_id, 'ava', 'a rename keeps the owner');
  });
});

test('deleteSession / deleteSessions (+Raw) with { userId }: only that user\'s sessions are removed', () => {
  withStore({}, (s) => {
    s.upsertMany([
      { session_id: 'a1', user_id: 'ava' },
      { session_id: 'a2', user_id: 'ava' },
      { session_id: 'a3', user_id: 'ava' },
      { session_id: 'b1', user_id: 'ben' },
      { session_id: 'b2', user_id: 'ben' },
      { session_id: 'n1' },
    ]);
    assert.equal(s.deleteSession('b1', { userId: 'ava' }), 0, "another user's session: 0 removed");
    assert.equal(s.deleteSession('n1', { userId: 'ava' }), 0, 'a session without owner is nobody\'s');
    assert.equal(s.deleteSession('missing', { userId: 'ava' }), 0);
    assert.equal(s.deleteSession('a1', { userId: 'ava' }), 1);
    assert.deepEqual(s.getAllSessionIds(), ['a2', 'a3', 'b1', 'b2', 'n1']);

    assert.equal(s.deleteSessions(['a2', 'b1', 'n1', 'zz'], { userId: 'ben' }), 1);
    assert.deepEqual(s.getAllSessionIds(), ['a2', 'a3', 'b2', 'n1']);
    assert.equal(s.deleteSessionsRaw('["a2","b2"]', { userId: 'ava' }), 1);
    assert.equal(s.deleteSessionsRaw(Buffer.from('["b2","a3"]'), { userId: 'nobody' }), 0);
    assert.deepEqual(s.getAllSessionIds(), ['a3', 'b2', 'n1']);

    // No user: any session of the handle's type.
    assert.equal(s.deleteSession('a3', { userId: '' }), 1);
    assert.equal(s.deleteSessions(['b2'], { userId: null }), 1);
    assert.equal(s.deleteSessionsRaw('["n1"]', {}), 1);
    assert.deepEqual(s.getAllSessionIds(), []);

    // The type scope still holds with a user.
    const team = s.share('team');
    try {
      team.upsert({ session_id: 'T', user_id: 'ava' });
      assert.equal(s.deleteSession('T', { userId: 'ava' }), 0);
      assert.equal(team.deleteSessions(['T'], { userId: 'ava' }), 1);
    } finally {
      team.close();
    }
  });
});

test('the { userId } options are checked before anything is written', () => {
  withStore({}, (s) => {
    s.upsert({ session_id: 'k', user_id: 'ava' });
    const before = snapshot(s);
    const arg = (fn, Kind, pattern) =>
      assert.throws(fn, (e) => {
        assert.ok(e instanceof Kind, e.stack);
        assert.ok(e instanceof InvalidArgumentError);
        assert.equal(e.code, 'INVALID_ARGUMENT');
        assert.match(e.message, pattern);
        return true;
      });
    for (const [name, call] of [
      ['renameSession', (o) => s.renameSession('k', 'n', o)],
      ['renameSession', (o) => s.renameSessionRaw('k', 'n', o)],
      ['deleteSession', (o) => s.deleteSession('k', o)],
      ['deleteSessions', (o) => s.deleteSessions(['k'], o)],
      ['deleteSessions', (o) => s.deleteSessionsRaw('["k"]', o)],
    ]) {
      arg(() => call('ava'), TypeError, new RegExp(`${name}: options must be an object like \\{ userId \\}`));
      arg(() => call(['ava']), TypeError, /options must be an object/);
      arg(() => call({ userID: 'ben' }), InvalidArgumentError, new RegExp(`${name}: unknown option "userID"`));
      arg(() => call({ user_id: 'ben' }), InvalidArgumentError, /unknown option "user_id"/);
      arg(() => call({ userId: 5 }), TypeError, /userId must be a string/);
      arg(() => call({ userId: 'a\0b' }), InvalidArgumentError, /userId must not contain NUL/);
    }
    assert.equal(snapshot(s), before);
  });
});
