module github.com/sessionstore/sessionstore/bindings/go

go 1.24
