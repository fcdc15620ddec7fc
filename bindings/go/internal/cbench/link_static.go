//go:build !sessionstore_shared

package cbench

// The same linking as package sessionstore, so that the C loops run the same
// library code as the Go binding they are compared with.

// #cgo LDFLAGS: ${SRCDIR}/../../../../target/release/libsessionstore.a -lm -ldl -lpthread
import "C"
