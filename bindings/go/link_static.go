//go:build !sessionstore_shared

package sessionstore

// By default the Rust static library is linked into the Go binary, which then
// needs nothing at run time. The Rust standard library inside it wants libm,
// libdl and libpthread from the system C library. Build with
// -tags sessionstore_shared to link libsessionstore.so instead.

// #cgo LDFLAGS: ${SRCDIR}/../../target/release/libsessionstore.a -lm -ldl -lpthread
import "C"
