//go:build sessionstore_pkgconfig && !sessionstore_shared

package sessionstore

// With -tags sessionstore_pkgconfig the package uses an installed library
// (`make install PREFIX=...`), found through pkg-config's sessionstore.pc
// (set PKG_CONFIG_PATH=PREFIX/lib/pkgconfig for a prefix pkg-config does not
// search), instead of the checkout's: the header from its Cflags, the
// library from its libdir. Like the default build it links the static library,
// so the binary needs nothing at run time.
//
// pkg-config --static adds the system libraries the archive needs
// (Libs.private), but its -lsessionstore would pick libsessionstore.so, which
// is installed beside the archive: -l:libsessionstore.a comes first (cgo puts
// the pkg-config flags after these) and resolves every ss_ symbol, and
// --as-needed then keeps the shared library out of the binary's dependencies.

// #cgo pkg-config: --static sessionstore
// #cgo LDFLAGS: -l:libsessionstore.a -Wl,--as-needed
import "C"
