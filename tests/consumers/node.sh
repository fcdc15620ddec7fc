#!/bin/sh
# The Node package as npm users get it: `npm pack` in bindings/node (its prepack script bundles
# target/release/libsessionstore.so as prebuilds/<platform>-<arch>/libsessionstore.so), then, in a fresh
# project outside the repository, `npm install <the tarball>` (koffi comes from the npm registry) and, with
# no SESSIONSTORE_LIB, a CommonJS require and an ESM import that open a store, upsert, read, and check that
# version() is the package's version and that the library loaded is the bundled one. Also type-checks a
# consumer against the installed declarations when bindings/node has TypeScript (npm ci). Builds the
# library first if needed.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PKG="$ROOT/bindings/node"
NPM=${NPM:-npm}
NODE=${NODE:-node}

fail() {
  echo "consumers[node]: FAIL: $*" >&2
  exit 1
}

unset SESSIONSTORE_LIB
[ -f "$ROOT/target/release/libsessionstore.so" ] || make -C "$ROOT" lib

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sessionstore-node-consumer.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

VERSION=$(cd "$PKG" && "$NODE" -p "require('./package.json').version")
PLATFORM=$("$NODE" -p 'process.platform + "-" + process.arch')

# --- npm pack ------------------------------------------------------------------------------------------------
mkdir "$TMP/pack"
(cd "$PKG" && "$NPM" pack --pack-destination "$TMP/pack" >"$TMP/pack.log" 2>&1) ||
  { cat "$TMP/pack.log"; fail "npm pack"; }
TGZ="$TMP/pack/sessionstore-$VERSION.tgz"
[ -f "$TGZ" ] || { cat "$TMP/pack.log"; fail "npm pack did not write $TGZ"; }
[ ! -e "$PKG/prebuilds" ] || fail "postpack left $PKG/prebuilds behind"
tar tzf "$TGZ" | sort >"$TMP/files"
for f in package.json index.js index.mjs index.d.ts index.d.mts library-paths.js README.md "prebuilds/$PLATFORM/libsessionstore.so"; do
  grep -qx "package/$f" "$TMP/files" || { cat "$TMP/files"; fail "$f is not in the tarball"; }
done
echo "consumers[node]: npm pack: $(basename "$TGZ"): $(sed 's|^package/||' "$TMP/files" | tr '\n' ' ')"

# --- a fresh project ---------------------------------------------------------------------------------------
APP="$TMP/app"
mkdir "$APP"
printf '{ "name": "sessionstore-consumer", "version": "1.0.0", "private": true }\n' >"$APP/package.json"
(cd "$APP" && "$NPM" install --no-audit --no-fund "$TGZ" >"$TMP/install.log" 2>&1) ||
  { cat "$TMP/install.log"; fail "npm install $(basename "$TGZ")"; }
INSTALLED="$APP/node_modules/sessionstore"
BUNDLED="$INSTALLED/prebuilds/$PLATFORM/libsessionstore.so"
[ -f "$BUNDLED" ] || fail "$BUNDLED not installed"
KOFFI=$("$NODE" -p "require('$APP/package-lock.json').packages['node_modules/koffi'].version")
REGISTRY=$(cd "$APP" && "$NPM" config get registry)
echo "consumers[node]: npm install: sessionstore $VERSION, koffi $KOFFI (registry $REGISTRY)"

# Both entries: open, upsert, read, version() === the package's version, the library is the bundled copy.
cd "$APP"
printf 'consumers[node]: [CommonJS] '
"$NODE" -e "
const assert = require('node:assert/strict');
const { SessionStore, version, BINDING_VERSION } = require('sessionstore');
const expected = require('sessionstore/package.json').version;
const store = new SessionStore();
const stored = store.upsert({ session_id: 'c1', user_id: 'u', memory: { n: 1 } });
assert.equal(stored.session_type, 'agent');
assert.deepEqual(store.read('c1', 'u').memory, { n: 1 });
assert.equal(version(), expected);
assert.equal(BINDING_VERSION, expected);
assert.equal(store.libraryPath, require('node:fs').realpathSync(process.argv[1]));
store.close();
console.log('require: upsert + read OK, version() ' + version() + ', library ' + store.libraryPath);
" "$BUNDLED" || fail "CommonJS consumer"

printf 'consumers[node]: [ESM] '
"$NODE" --input-type=module -e "
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import sessionstore, { SessionStore, version } from 'sessionstore';
const expected = createRequire(import.meta.url)('sessionstore/package.json').version;
const store = new SessionStore({ mode: 'team' });
store.upsert({ session_id: 't1', team_id: 'T' });
assert.equal(store.read('t1').team_id, 'T');
assert.equal(version(), expected);
assert.equal(sessionstore.version, version);
assert.equal(store.libraryPath, realpathSync(process.argv[1]));
store.close();
console.log('import: upsert + read OK, version() ' + version() + ', library ' + store.libraryPath);
" "$BUNDLED" || fail "ESM consumer"

# The installed declarations, from a consumer's TypeScript (with bindings/node's tsc, if installed).
TSC="$PKG/node_modules/.bin/tsc"
if [ -x "$TSC" ]; then
  cat >"$APP/consumer.mts" <<'TS'
import { SessionStore, Status, version, type StoredSession } from 'sessionstore';
const store = new SessionStore({ mode: 'agent' });
const stored: StoredSession = store.upsert({ session_id: 'x' });
const closed: number = Status.CLOSED;
const v: string = version();
store.close();
void [stored.created_at, closed, v];
TS
  cat >"$APP/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "strict": true, "noEmit": true, "target": "es2022", "lib": ["es2022", "esnext.disposable"],
    "module": "node16", "moduleResolution": "node16", "types": [], "skipLibCheck": false
  },
  "files": ["consumer.mts"]
}
JSON
  "$TSC" -p "$APP/tsconfig.json" || fail "tsc against the installed declarations"
  echo "consumers[node]: [TypeScript] tsc against the installed index.d.mts: OK"
fi

echo "consumers[node]: OK (sessionstore $VERSION: npm pack with prebuilds/$PLATFORM, npm install," \
  "require + import, no SESSIONSTORE_LIB)"
