//go:build sessionstore_shared

package sessionstore

// With -tags sessionstore_shared the binary links libsessionstore.so and finds
// it at run time through an rpath to the checkout's target/release directory;
// set LD_LIBRARY_PATH (or install the library) to run the binary elsewhere.

// #cgo LDFLAGS: -L${SRCDIR}/../../target/release -lsessionstore -Wl,-rpath,${SRCDIR}/../../target/release
import "C"
