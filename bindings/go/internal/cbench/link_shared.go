//go:build sessionstore_shared

package cbench

// #cgo LDFLAGS: -L${SRCDIR}/../../../../target/release -lsessionstore -Wl,-rpath,${SRCDIR}/../../../../target/release
import "C"
