//go:build !sessionstore_shared && !sessionstore_pkgconfig

package sessionstore

// By default the package compiles against the checkout's include/sessionstore.h
// and links the Rust static library of its target/release into the Go binary,
// which then needs nothing at run time. The Rust standard library inside it
// wants libm, libdl and libpthread from the system C library. Build with
// -tags sessionstore_shared to link libsessionstore.so instead, and with
// -tags sessionstore_pkgconfig to use an installed library (link_pkgconfig_*.go).

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: ${SRCDIR}/../../target/release/libsessionstore.a -lm -ldl -lpthread
import "C"
