// Command export_import mirrors Agno's cookbook example of in-memory storage
// with a caller-owned storage_dict: the sessions are saved to a file when the
// program is done, and the next program loads them into a new store and
// continues the conversation where it stopped, creation times intact.
//
// Usage: export_import [file] (default: a file in the temporary directory).
package main

import (
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"

	sessionstore "github.com/sessionstore/sessionstore/bindings/go"
)

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}

// firstProgram works with sessions and saves them all to path.
func firstProgram(path string) {
	store := must(sessionstore.Open())
	defer store.Close()
	teams := must(store.Share(sessionstore.ModeTeam))
	defer teams.Close()

	chat := &sessionstore.Session{SessionID: "chat-42", UserID: "ava", AgentID: "assistant", CreatedAt: 1_700_000_000}
	if err := chat.SetName("Kitchen renovation"); err != nil {
		log.Fatal(err)
	}
	if err := chat.SetField("memory", map[string]any{"runs": []string{"Which tiles for a small kitchen?"}}); err != nil {
		log.Fatal(err)
	}
	must(store.Upsert(chat))
	must(teams.Upsert(&sessionstore.Session{SessionID: "team-7", UserID: "ava", TeamID: "builders"}))

	// Export holds every session of every type, keyed by session id: the
	// shape of Agno's storage_dict.
	data := must(store.Export())
	if err := os.WriteFile(path, data, 0o600); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("first program: saved %d sessions (%d bytes) to %s\n", len(must(exportedIDs(data))), len(data), filepath.Base(path))
}

// secondProgram loads the file into a new store and continues.
func secondProgram(path string) {
	store := must(sessionstore.Open())
	defer store.Close()
	data := must(os.ReadFile(path))
	n := must(store.Import(data))
	fmt.Printf("second program: imported %d sessions\n", n)

	chat := must(store.Read("chat-42", "ava"))
	var mem struct {
		Runs []string `json:"runs"`
	}
	must(chat.Field("memory", &mem))
	mem.Runs = append(mem.Runs, "And which grout colour?")
	if err := chat.SetField("memory", mem); err != nil {
		log.Fatal(err)
	}
	chat = must(store.Upsert(chat))
	fmt.Printf("continued %q: %d runs, created_at still %d\n", chat.Name(), len(mem.Runs), chat.CreatedAt)

	teams := must(store.Share(sessionstore.ModeTeam))
	defer teams.Close()
	fmt.Println("team sessions came along too:", must(teams.GetAllSessionIDs(sessionstore.Filter{})))
}

func exportedIDs(data []byte) ([]string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	return ids, nil
}

func main() {
	path := filepath.Join(os.TempDir(), "sessionstore-example-sessions.json")
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	firstProgram(path)
	secondProgram(path)
	if len(os.Args) <= 1 {
		os.Remove(path)
	}
}
