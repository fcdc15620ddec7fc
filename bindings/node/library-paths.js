'use strict';
// Where the native library lives, shared by the loader (index.js) and the packing script
// (scripts/prebuilds.js) so that both agree on the file name and the prebuild folder.

const path = require('node:path');

/** The library's file name on this platform. */
const LIB_FILE =
  process.platform === 'win32'
    ? 'sessionstore.dll'
    : process.platform === 'darwin'
      ? 'libsessionstore.dylib'
      : 'libsessionstore.so';

/** The project's build output, ../../target/release: the loader's last resort inside a checkout. */
const BUILT_LIBRARY_PATH = path.resolve(__dirname, '..', '..', 'target', 'release', LIB_FILE);

/** The folder npm pack bundles the library in: prebuilds/<platform>-<arch>. */
const PREBUILD_DIR = path.join(__dirname, 'prebuilds', `${process.platform}-${process.arch}`);

module.exports = { LIB_FILE, BUILT_LIBRARY_PATH, PREBUILD_DIR };
