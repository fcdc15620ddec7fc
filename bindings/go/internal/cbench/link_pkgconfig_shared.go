//go:build sessionstore_pkgconfig && sessionstore_shared

package cbench

// #cgo pkg-config: sessionstore
import "C"
