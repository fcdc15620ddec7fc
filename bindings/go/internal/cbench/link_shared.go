//go:build sessionstore_shared && !sessionstore_pkgconfig

package cbench

// #cgo CFLAGS: -I${SRCDIR}/../../../../include
// #cgo LDFLAGS: -L${SRCDIR}/../../../../target/release -lsessionstore -Wl,-rpath,${SRCDIR}/../../../../target/release
import "C"
