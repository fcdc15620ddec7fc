package sessionstore

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeQuickStart keeps the README's snippet identical to the example
// program it claims to be, which the build compiles.
func TestReadmeQuickStart(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("examples/quickstart/main.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```go\n"+string(example)+"```\n") {
		t.Fatal("README.md does not contain examples/quickstart/main.go verbatim in a ```go block")
	}
}
