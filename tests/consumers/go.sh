#!/bin/sh
# The Go binding as Go users build it outside this repository. Installs sessionstore into a temporary
# prefix (`make install PREFIX=...`: library, header, sessionstore.pc), then creates a module in a
# temporary directory: go/main.go and a go.mod that requires the binding's module path with a replace
# directive pointing at this checkout's bindings/go, as a user does before a release. It builds that
# module against the installed library only, found through pkg-config (PKG_CONFIG_PATH and
# PKG_CONFIG_LIBDIR = PREFIX/lib/pkgconfig), without module downloads (GOPROXY=off):
#   - static: -tags sessionstore_pkgconfig; the binary must not depend on libsessionstore.so;
#   - shared: -tags sessionstore_pkgconfig,sessionstore_shared, with an rpath to PREFIX/lib
#     (-ldflags=-extldflags=-Wl,-rpath,PREFIX/lib), so the binary finds the installed .so by itself;
# and runs each binary with an empty environment (no SESSIONSTORE_* variable, no LD_LIBRARY_PATH): it
# opens a store, upserts, reads, and checks that Version() is Cargo.toml's version.
#
# The build uses a GOCACHE of its own: the go command's cache key for a cgo package covers its #cgo
# directives but not what pkg-config prints, so a package compiled against an earlier (since deleted)
# temporary prefix would be reused. Users who move an installation hit the same: see bindings/go/README.md.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
GO=${GO:-go}

fail() {
  echo "consumers[go]: FAIL: $*" >&2
  exit 1
}

unset SESSIONSTORE_LIB LD_LIBRARY_PATH CGO_CFLAGS CGO_LDFLAGS

VERSION=$(awk '/^\[/ { section = $0 } section == "[package]" && /^version *=/ { gsub(/.*= *"|".*/, ""); print; exit }' \
  "$ROOT/Cargo.toml")
MAJOR=${VERSION%%.*}
MODULE=$(sed -n 's/^module //p' "$ROOT/bindings/go/go.mod")
GOVERSION=$(sed -n 's/^go //p' "$ROOT/bindings/go/go.mod")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sessionstore-go-consumer.XXXXXX")
trap 'chmod -R u+w "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT INT TERM
PREFIX="$TMP/prefix"
LIB="$PREFIX/lib"

# --- install -----------------------------------------------------------------------------------------------
echo "consumers[go]: installing into $PREFIX"
make -s --no-print-directory -C "$ROOT" install PREFIX="$PREFIX" >"$TMP/install.log" 2>&1 ||
  { cat "$TMP/install.log"; fail "make install PREFIX=$PREFIX"; }
for f in include/sessionstore.h lib/libsessionstore.a "lib/libsessionstore.so.$VERSION" lib/pkgconfig/sessionstore.pc; do
  [ -f "$PREFIX/$f" ] || fail "$f not installed"
done

# --- a module outside the repository ---------------------------------------------------------------------
APP="$TMP/app"
mkdir "$APP"
cp "$HERE/go/main.go" "$APP/main.go"
cat >"$APP/go.mod" <<EOF
module example.com/sessionstore-consumer

go $GOVERSION

require $MODULE v0.0.0

replace $MODULE => $ROOT/bindings/go
EOF

export PKG_CONFIG_PATH="$LIB/pkgconfig"
export PKG_CONFIG_LIBDIR="$LIB/pkgconfig" # this prefix only, not the system's
export GOPROXY=off GOFLAGS=-mod=mod GOCACHE="$TMP/gocache"
[ "$(pkg-config --modversion sessionstore)" = "$VERSION" ] || fail "pkg-config --modversion sessionstore"
echo "consumers[go]: module $MODULE => $ROOT/bindings/go; pkg-config: $(pkg-config --cflags --libs sessionstore)"

# Neither build may reach into the checkout for the header or the library.
for tags in sessionstore_pkgconfig sessionstore_pkgconfig,sessionstore_shared; do
  flags=$(cd "$APP" && "$GO" list -tags "$tags" -f '{{.CgoPkgConfig}} {{.CgoCFLAGS}} {{.CgoLDFLAGS}}' "$MODULE")
  case $flags in
    *"$ROOT"* | *SRCDIR* | "[]"*) fail "-tags $tags: cgo flags use the checkout: $flags" ;;
  esac
  echo "consumers[go]: -tags $tags: pkg-config, cgo CFLAGS, LDFLAGS: $flags"
done

# --- static ----------------------------------------------------------------------------------------------
(cd "$APP" && "$GO" build -tags sessionstore_pkgconfig -o "$TMP/go_static" .) >"$TMP/build.log" 2>&1 ||
  { cat "$TMP/build.log"; fail "go build -tags sessionstore_pkgconfig"; }
if readelf -d "$TMP/go_static" | grep -q "libsessionstore"; then fail "go_static depends on the shared library"; fi
printf 'consumers[go]: [static, -tags sessionstore_pkgconfig] '
env -i "$TMP/go_static" "$VERSION" || fail "go_static"

# --- shared ----------------------------------------------------------------------------------------------
(cd "$APP" && "$GO" build -tags sessionstore_pkgconfig,sessionstore_shared \
  -ldflags="-extldflags=-Wl,-rpath,$LIB" -o "$TMP/go_shared" .) >"$TMP/build.log" 2>&1 ||
  { cat "$TMP/build.log"; fail "go build -tags sessionstore_pkgconfig,sessionstore_shared"; }
readelf -d "$TMP/go_shared" | grep -q "NEEDED.*\[libsessionstore.so.$MAJOR\]" || fail "go_shared does not need libsessionstore.so.$MAJOR"
readelf -d "$TMP/go_shared" | grep -Eq "R(UN)?PATH.*\[$LIB\]" || fail "go_shared has no rpath to $LIB"
env -i ldd "$TMP/go_shared" | grep -q "libsessionstore.so.$MAJOR => $LIB/" || fail "go_shared does not load the installed library"
printf 'consumers[go]: [shared, -tags sessionstore_pkgconfig,sessionstore_shared, rpath %s] ' "$LIB"
env -i "$TMP/go_shared" "$VERSION" || fail "go_shared"

echo "consumers[go]: OK (sessionstore $VERSION installed, external module, pkg-config static+shared)"
