#!/bin/sh
# Installs sessionstore under PREFIX (what `make install PREFIX=...` runs after `make lib`):
#
#   PREFIX/lib/libsessionstore.so.X.Y.Z               the shared library (soname libsessionstore.so.X)
#   PREFIX/lib/libsessionstore.so.X -> .so.X.Y.Z      what programs linked against it load
#   PREFIX/lib/libsessionstore.so   -> .so.X          what `-lsessionstore` finds at link time
#   PREFIX/lib/libsessionstore.a                      the static library
#   PREFIX/include/sessionstore.h                     the C header
#   PREFIX/include/sessionstore.hpp                   the header-only C++17 binding
#   PREFIX/lib/pkgconfig/sessionstore.pc              pkg-config --cflags --libs [--static] sessionstore
#   PREFIX/lib/cmake/sessionstore/sessionstoreConfig.cmake, sessionstoreConfigVersion.cmake
#                                                     find_package(sessionstore); sessionstore::sessionstore
#                                                     (shared) and sessionstore::sessionstore_static
#
# The version X.Y.Z is Cargo.toml's [package] version; the install stops if the header's
# SS_VERSION_STRING or the built library's soname disagree with it.
#
# Usage: sh packaging/install.sh PREFIX
# Environment: DESTDIR (staging root prepended to every installed path, not to the paths written into
# the pkg-config and CMake files), LIBDIR (default PREFIX/lib), INCLUDEDIR (default PREFIX/include).
set -eu

die() {
  echo "install.sh: $*" >&2
  exit 1
}

[ $# -eq 1 ] && [ -n "$1" ] || {
  echo "usage: sh packaging/install.sh PREFIX" >&2
  exit 2
}

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
RELEASE="$ROOT/target/release"

# Absolute PREFIX without a trailing slash ("/" stays "").
PREFIX=$1
case $PREFIX in
  /*) ;;
  *) PREFIX="$(pwd)/$PREFIX" ;;
esac
while [ "${PREFIX%/}" != "$PREFIX" ]; do PREFIX=${PREFIX%/}; done
LIBDIR=${LIBDIR:-$PREFIX/lib}
INCLUDEDIR=${INCLUDEDIR:-$PREFIX/include}
DESTDIR=${DESTDIR:-}
case $LIBDIR in /*) ;; *) die "LIBDIR must be absolute: $LIBDIR" ;; esac
case $INCLUDEDIR in /*) ;; *) die "INCLUDEDIR must be absolute: $INCLUDEDIR" ;; esac

# --- version: Cargo.toml, the header and the soname must agree ----------------------------------------
VERSION=$(awk '/^\[/ { section = $0 } section == "[package]" && /^version *=/ { gsub(/.*= *"|".*/, ""); print; exit }' \
  "$ROOT/Cargo.toml")
DESCRIPTION=$(awk '/^\[/ { section = $0 } section == "[package]" && /^description *=/ { sub(/^[^"]*"/, ""); sub(/"[^"]*$/, ""); print; exit }' \
  "$ROOT/Cargo.toml")
[ -n "$DESCRIPTION" ] || DESCRIPTION="sessionstore: an in-memory session store for AI-agent frameworks"
echo "$VERSION" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$' || die "Cargo.toml's version is not MAJOR.MINOR.PATCH: '$VERSION'"
MAJOR=${VERSION%%.*}
MINOR=${VERSION#*.}
MINOR=${MINOR%%.*}

for f in "$RELEASE/libsessionstore.so" "$RELEASE/libsessionstore.a" "$ROOT/include/sessionstore.h" \
  "$ROOT/bindings/cpp/include/sessionstore.hpp"; do
  [ -f "$f" ] || die "$f is missing: run 'make lib' first"
done

HEADER_VERSION=$(sed -n 's/^#define SS_VERSION_STRING "\(.*\)".*/\1/p' "$ROOT/include/sessionstore.h")
[ "$HEADER_VERSION" = "$VERSION" ] ||
  die "include/sessionstore.h says $HEADER_VERSION but Cargo.toml says $VERSION: rebuild with 'make lib'"

SONAME="libsessionstore.so.$MAJOR"
SIZEOF_VOID_P=8
if command -v readelf >/dev/null 2>&1; then
  ACTUAL_SONAME=$(readelf -d "$RELEASE/libsessionstore.so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
  [ "$ACTUAL_SONAME" = "$SONAME" ] || die "the library's soname is '$ACTUAL_SONAME', expected $SONAME"
  readelf -h "$RELEASE/libsessionstore.so" | grep -q 'Class: *ELF32' && SIZEOF_VOID_P=4
fi

# --- relative paths for the relocatable CMake package ----------------------------------------------------
# Path of $1 relative to PREFIX when it lies under it, else $1 itself.
under_prefix() {
  case $1 in
    "$PREFIX"/*) echo "${1#"$PREFIX"/}" ;;
    *) echo "$1" ;;
  esac
}
LIBDIR_FROM_PREFIX=$(under_prefix "$LIBDIR")
INCLUDEDIR_FROM_PREFIX=$(under_prefix "$INCLUDEDIR")
CMAKEDIR="$LIBDIR/cmake/sessionstore"
case $LIBDIR_FROM_PREFIX in
  /*) PREFIX_FROM_CMAKEDIR=$PREFIX ;;  # LIBDIR outside PREFIX: absolute paths
  *)
    # One ".." per component of LIBDIR_FROM_PREFIX/cmake/sessionstore.
    PREFIX_FROM_CMAKEDIR=$(echo "$LIBDIR_FROM_PREFIX/cmake/sessionstore" | awk -F/ '{ s = ".."; for (i = 2; i <= NF; i++) s = s "/.."; print s }')
    ;;
esac

# pkg-config paths: ${prefix}-relative when possible.
case $LIBDIR in "$PREFIX"/*) PC_LIBDIR="\${exec_prefix}/$LIBDIR_FROM_PREFIX" ;; *) PC_LIBDIR=$LIBDIR ;; esac
case $INCLUDEDIR in "$PREFIX"/*) PC_INCLUDEDIR="\${prefix}/$INCLUDEDIR_FROM_PREFIX" ;; *) PC_INCLUDEDIR=$INCLUDEDIR ;; esac
# rustc --print native-static-libs on x86_64-unknown-linux-gnu.
NATIVE_STATIC_LIBS="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

# sed replacement text: escape \, & and the | delimiter.
esc() { printf '%s' "$1" | sed 's/[\\&|]/\\&/g'; }
fill() {
  sed -e "s|@PREFIX@|$(esc "${PREFIX:-/}")|g" \
    -e "s|@LIBDIR@|$(esc "$PC_LIBDIR")|g" \
    -e "s|@INCLUDEDIR@|$(esc "$PC_INCLUDEDIR")|g" \
    -e "s|@DESCRIPTION@|$(esc "$DESCRIPTION")|g" \
    -e "s|@VERSION@|$VERSION|g" \
    -e "s|@VERSION_MAJOR@|$MAJOR|g" \
    -e "s|@VERSION_MINOR@|$MINOR|g" \
    -e "s|@SONAME@|$SONAME|g" \
    -e "s|@SIZEOF_VOID_P@|$SIZEOF_VOID_P|g" \
    -e "s|@NATIVE_STATIC_LIBS@|$NATIVE_STATIC_LIBS|g" \
    -e "s|@PREFIX_FROM_CMAKEDIR@|$(esc "$PREFIX_FROM_CMAKEDIR")|g" \
    -e "s|@LIBDIR_FROM_PREFIX@|$(esc "$LIBDIR_FROM_PREFIX")|g" \
    -e "s|@INCLUDEDIR_FROM_PREFIX@|$(esc "$INCLUDEDIR_FROM_PREFIX")|g" \
    "$1"
}

# --- install ---------------------------------------------------------------------------------------------
D_LIB="$DESTDIR$LIBDIR"
D_INC="$DESTDIR$INCLUDEDIR"
D_PC="$DESTDIR$LIBDIR/pkgconfig"
D_CMAKE="$DESTDIR$CMAKEDIR"
mkdir -p "$D_LIB" "$D_INC" "$D_PC" "$D_CMAKE"

install -m 0755 "$RELEASE/libsessionstore.so" "$D_LIB/libsessionstore.so.$VERSION"
ln -sf "libsessionstore.so.$VERSION" "$D_LIB/$SONAME"
ln -sf "$SONAME" "$D_LIB/libsessionstore.so"
install -m 0644 "$RELEASE/libsessionstore.a" "$D_LIB/libsessionstore.a"
install -m 0644 "$ROOT/include/sessionstore.h" "$D_INC/sessionstore.h"
install -m 0644 "$ROOT/bindings/cpp/include/sessionstore.hpp" "$D_INC/sessionstore.hpp"

fill "$HERE/sessionstore.pc.in" >"$D_PC/sessionstore.pc"
fill "$HERE/sessionstoreConfig.cmake.in" >"$D_CMAKE/sessionstoreConfig.cmake"
fill "$HERE/sessionstoreConfigVersion.cmake.in" >"$D_CMAKE/sessionstoreConfigVersion.cmake"
chmod 0644 "$D_PC/sessionstore.pc" "$D_CMAKE/sessionstoreConfig.cmake" "$D_CMAKE/sessionstoreConfigVersion.cmake"

if grep -n '@[A-Z_]*@' "$D_PC/sessionstore.pc" "$D_CMAKE/sessionstoreConfig.cmake" \
  "$D_CMAKE/sessionstoreConfigVersion.cmake"; then
  die "unfilled placeholders above"
fi

echo "installed sessionstore $VERSION into $DESTDIR${PREFIX:-/}:"
echo "  $LIBDIR/libsessionstore.so.$VERSION ($SONAME, libsessionstore.so), libsessionstore.a"
echo "  $INCLUDEDIR/sessionstore.h, sessionstore.hpp"
echo "  $LIBDIR/pkgconfig/sessionstore.pc, $CMAKEDIR/sessionstoreConfig{,Version}.cmake"
