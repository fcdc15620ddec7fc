'use strict';

// npm pack's lifecycle scripts (package.json): bundles the built library in the package.
//   node scripts/prebuilds.js copy    (prepack)  ../../target/release/libsessionstore.so -> prebuilds/<platform>-<arch>/,
//                                                building it with `make -C ../.. lib` when it is missing
//   node scripts/prebuilds.js clean   (postpack) removes prebuilds/ again, so that the package, used from this
//                                                repository, keeps loading the fresh build output
// index.js looks for the bundled copy at the same place (PREBUILD_LIBRARY_PATH). Messages go to stderr: npm pack
// prints the tarball's name (or its --json report) on stdout.

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const PKG = path.resolve(__dirname, '..');
const ROOT = path.resolve(PKG, '..', '..');
const { LIB_FILE, BUILT_LIBRARY_PATH: BUILT, PREBUILD_DIR: DEST_DIR } = require('../library-paths.js');
const PREBUILDS = path.join(PKG, 'prebuilds');

function log(message) {
  process.stderr.write(`sessionstore prebuilds: ${message}\n`);
}

function copy() {
  if (!fs.existsSync(BUILT)) {
    log(`${BUILT} is missing: make -C ${ROOT} lib`);
    execFileSync(process.env.MAKE || 'make', ['-C', ROOT, 'lib'], { stdio: ['ignore', 2, 2] });
    if (!fs.existsSync(BUILT)) throw new Error(`make lib did not produce ${BUILT}`);
  }
  fs.rmSync(PREBUILDS, { recursive: true, force: true }); // only this platform's library goes in the package
  fs.mkdirSync(DEST_DIR, { recursive: true });
  const dest = path.join(DEST_DIR, LIB_FILE);
  fs.copyFileSync(BUILT, dest); // the file itself, not a symlink
  log(`${path.relative(PKG, dest)} <- ${BUILT} (${fs.statSync(dest).size} bytes)`);
}

function clean() {
  fs.rmSync(PREBUILDS, { recursive: true, force: true });
}

const commands = { copy, clean };
const command = process.argv[2];
if (!Object.hasOwn(commands, command)) {
  log(`usage: node scripts/prebuilds.js ${Object.keys(commands).join('|')}`);
  process.exit(2);
}
commands[command]();
