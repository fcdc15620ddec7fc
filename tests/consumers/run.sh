#!/bin/sh
# Installs sessionstore into a temporary prefix (packaging/install.sh), then builds and runs, against
# that prefix only:
#   - c/main.c with pkg-config, linked to the shared library, then statically (pkg-config --static);
#   - cpp/ with CMake: find_package(sessionstore) and sessionstore::sessionstore (+ _static);
# and checks the soname, the symlinks, what the programs load, the pkg-config/CMake versions, and that
# ss_version() == SS_VERSION_STRING (each program checks it). Builds the library first if needed.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CC=${CC:-cc}

fail() {
  echo "consumers: FAIL: $*" >&2
  exit 1
}

[ -f "$ROOT/target/release/libsessionstore.so" ] || make -C "$ROOT" lib

VERSION=$(awk '/^\[/ { section = $0 } section == "[package]" && /^version *=/ { gsub(/.*= *"|".*/, ""); print; exit }' \
  "$ROOT/Cargo.toml")
MAJOR=${VERSION%%.*}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sessionstore-consumers.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
PREFIX="$TMP/prefix"
LIB="$PREFIX/lib"

echo "consumers: installing into $PREFIX"
sh "$ROOT/packaging/install.sh" "$PREFIX" >/dev/null

# --- the installed files -----------------------------------------------------------------------------------
for f in include/sessionstore.h include/sessionstore.hpp lib/libsessionstore.a "lib/libsessionstore.so.$VERSION" \
  lib/pkgconfig/sessionstore.pc lib/cmake/sessionstore/sessionstoreConfig.cmake \
  lib/cmake/sessionstore/sessionstoreConfigVersion.cmake; do
  [ -f "$PREFIX/$f" ] || fail "$f not installed"
done
[ "$(readlink "$LIB/libsessionstore.so.$MAJOR")" = "libsessionstore.so.$VERSION" ] || fail "libsessionstore.so.$MAJOR link"
[ "$(readlink "$LIB/libsessionstore.so")" = "libsessionstore.so.$MAJOR" ] || fail "libsessionstore.so link"
SONAME=$(readelf -d "$LIB/libsessionstore.so.$VERSION" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[ "$SONAME" = "libsessionstore.so.$MAJOR" ] || fail "soname is '$SONAME', expected libsessionstore.so.$MAJOR"
echo "consumers: soname $SONAME, links libsessionstore.so -> .so.$MAJOR -> .so.$VERSION"

# --- C with pkg-config -----------------------------------------------------------------------------------
export PKG_CONFIG_PATH="$LIB/pkgconfig"
export PKG_CONFIG_LIBDIR="$LIB/pkgconfig"  # this prefix only, not the system's
[ "$(pkg-config --modversion sessionstore)" = "$VERSION" ] || fail "pkg-config --modversion"
CFLAGS_SS=$(pkg-config --cflags sessionstore)
LIBS_SS=$(pkg-config --libs sessionstore)
LIBS_SS_STATIC=$(pkg-config --static --libs sessionstore)
echo "consumers: pkg-config --cflags --libs sessionstore: $CFLAGS_SS $LIBS_SS"

# shellcheck disable=SC2086 # word splitting of the pkg-config flags is intended
"$CC" -std=c11 -Wall -Wextra -Werror -pedantic $CFLAGS_SS "$HERE/c/main.c" -o "$TMP/c_shared" $LIBS_SS \
  -Wl,-rpath,"$LIB"
readelf -d "$TMP/c_shared" | grep -q "NEEDED.*\[libsessionstore.so.$MAJOR\]" || fail "c_shared does not need $SONAME"
ldd "$TMP/c_shared" | grep -q "libsessionstore.so.$MAJOR => $LIB/" || fail "c_shared does not load the installed library"
printf 'consumers: [C, shared] '; "$TMP/c_shared"

# Static: the archive needs no runtime library; -l: picks libsessionstore.a over the .so.
# shellcheck disable=SC2086
"$CC" -std=c11 -Wall -Wextra -Werror -pedantic $CFLAGS_SS "$HERE/c/main.c" -o "$TMP/c_static" \
  $(echo "$LIBS_SS_STATIC" | sed 's/-lsessionstore/-l:libsessionstore.a/')
if readelf -d "$TMP/c_static" | grep -q "libsessionstore"; then fail "c_static depends on the shared library"; fi
printf 'consumers: [C, static] '; "$TMP/c_static"

# --- C++ with CMake --------------------------------------------------------------------------------------
cmake -S "$HERE/cpp" -B "$TMP/cmake" -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_BUILD_TYPE=Release >"$TMP/cmake.log" 2>&1 ||
  { cat "$TMP/cmake.log"; fail "cmake configure"; }
grep "sessionstore $VERSION from" "$TMP/cmake.log" | sed 's/^-- /consumers: cmake: /'
cmake --build "$TMP/cmake" >"$TMP/build.log" 2>&1 || { cat "$TMP/build.log"; fail "cmake build"; }
readelf -d "$TMP/cmake/app" | grep -q "NEEDED.*\[libsessionstore.so.$MAJOR\]" || fail "app does not need $SONAME"
ldd "$TMP/cmake/app" | grep -q "libsessionstore.so.$MAJOR => $LIB/" || fail "app does not load the installed library"
printf 'consumers: [C++, shared] '; "$TMP/cmake/app"
if readelf -d "$TMP/cmake/app_static" | grep -q "libsessionstore"; then fail "app_static depends on the shared library"; fi
printf 'consumers: [C++, static] '; "$TMP/cmake/app_static"

# The version file: an incompatible request must fail (next major; and, while the major is 0, next minor).
MINOR=${VERSION#*.}
MINOR=${MINOR%%.*}
REFUSED="$((MAJOR + 1)).0"
[ "$MAJOR" = 0 ] && REFUSED="$REFUSED 0.$((MINOR + 1))"
for want in $REFUSED; do
  if cmake -S "$HERE/cpp" -B "$TMP/cmake-bad" -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DSESSIONSTORE_MIN_VERSION="$want" >"$TMP/cmake-bad.log" 2>&1; then
    fail "find_package(sessionstore $want) accepted version $VERSION"
  fi
  grep -q "sessionstoreConfig.cmake, version: $VERSION" "$TMP/cmake-bad.log" ||
    { cat "$TMP/cmake-bad.log"; fail "unexpected find_package failure"; }
  echo "consumers: find_package(sessionstore $want) refuses $VERSION, as it should"
  rm -rf "$TMP/cmake-bad"
done

# DESTDIR staging, then a moved tree: the .pc records PREFIX, the CMake package finds its files relative
# to itself.
DESTDIR="$TMP/stage" sh "$ROOT/packaging/install.sh" /opt/sessionstore >/dev/null
[ -f "$TMP/stage/opt/sessionstore/lib/libsessionstore.so.$VERSION" ] || fail "DESTDIR install"
grep -qx "prefix=/opt/sessionstore" "$TMP/stage/opt/sessionstore/lib/pkgconfig/sessionstore.pc" || fail "DESTDIR .pc prefix"
mv "$TMP/stage/opt/sessionstore" "$TMP/moved"
cmake -S "$HERE/cpp" -B "$TMP/cmake-moved" -DCMAKE_PREFIX_PATH="$TMP/moved" >"$TMP/cmake-moved.log" 2>&1 ||
  { cat "$TMP/cmake-moved.log"; fail "cmake configure against the moved prefix"; }
cmake --build "$TMP/cmake-moved" --target app >"$TMP/build-moved.log" 2>&1 || { cat "$TMP/build-moved.log"; fail "cmake build (moved)"; }
ldd "$TMP/cmake-moved/app" | grep -q "libsessionstore.so.$MAJOR => $TMP/moved/lib/" || fail "moved app loads another library"
printf 'consumers: [C++, DESTDIR-staged then moved prefix] '; "$TMP/cmake-moved/app"

echo "consumers: OK (sessionstore $VERSION: pkg-config C shared+static, CMake C++ shared+static, DESTDIR, relocated)"
