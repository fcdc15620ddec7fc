//go:build sessionstore_pkgconfig && sessionstore_shared

package sessionstore

// With -tags sessionstore_pkgconfig,sessionstore_shared the package uses an
// installed library found through pkg-config (see link_pkgconfig_static.go)
// and links libsessionstore.so. The binary loads it at run time from the
// dynamic loader's search path: install into a directory the loader searches,
// or give the binary an rpath, e.g.
// go build -ldflags=-extldflags=-Wl,-rpath,$(pkg-config --variable=libdir sessionstore).

// #cgo pkg-config: sessionstore
import "C"
