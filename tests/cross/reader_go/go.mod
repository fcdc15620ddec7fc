module github.com/sessionstore/sessionstore/tests/cross/reader_go

go 1.24

require github.com/sessionstore/sessionstore/bindings/go v0.0.0

// The binding of this checkout, not a published version: the test is of the library being built.
replace github.com/sessionstore/sessionstore/bindings/go => ../../../bindings/go
