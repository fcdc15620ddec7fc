//go:build sessionstore_shared && !sessionstore_pkgconfig

package sessionstore

// With -tags sessionstore_shared the binary links the checkout's
// target/release/libsessionstore.so and finds it at run time through an rpath
// to that directory; set LD_LIBRARY_PATH (or install the library and use
// -tags sessionstore_pkgconfig,sessionstore_shared) to run the binary
// elsewhere.

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: -L${SRCDIR}/../../target/release -lsessionstore -Wl,-rpath,${SRCDIR}/../../target/release
import "C"
