//go:build sessionstore_pkgconfig && !sessionstore_shared

package cbench

// #cgo pkg-config: --static sessionstore
// #cgo LDFLAGS: -l:libsessionstore.a -Wl,--as-needed
import "C"
