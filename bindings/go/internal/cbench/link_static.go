//go:build !sessionstore_shared && !sessionstore_pkgconfig

package cbench

// The same header and linking as package sessionstore (one link file per
// build tag combination there), so that the C loops run the same library code
// as the Go binding they are compared with.

// #cgo CFLAGS: -I${SRCDIR}/../../../../include
// #cgo LDFLAGS: ${SRCDIR}/../../../../target/release/libsessionstore.a -lm -ldl -lpthread
import "C"
