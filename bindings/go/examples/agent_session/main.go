// Command agent_session mirrors Agno's cookbook example of an agent with
// in-memory storage: the agent keeps its conversation in one session across
// runs, so a follow-up question ("their anthem") is understood; then a second
// agent process-mate, given a second handle on the same storage, picks the
// session up where the first left off.
//
// The model calls are replaced by canned replies; everything else is what an
// agent framework does with its storage around each run.
package main

import (
	"errors"
	"fmt"
	"log"

	sessionstore "github.com/sessionstore/sessionstore/bindings/go"
)

// Run is one exchange, as kept in the session's "memory" field.
type Run struct {
	Input    string `json:"input"`
	Response string `json:"response"`
}

// Memory is the agent's "memory" field. The store does not interpret it; it
// is kept verbatim.
type Memory struct {
	Runs []Run `json:"runs"`
}

// Agent is a minimal stand-in for an Agno agent with storage.
type Agent struct {
	ID      string
	Storage *sessionstore.Store
}

// Run loads the session (or starts it), appends the exchange and saves it.
func (a *Agent) Run(sessionID, userID, input, reply string) {
	sess, err := a.Storage.Read(sessionID, userID)
	switch {
	case errors.Is(err, sessionstore.ErrNotFound):
		sess = &sessionstore.Session{SessionID: sessionID, UserID: userID, AgentID: a.ID}
		if err := sess.SetName("Questions about Canada"); err != nil {
			log.Fatal(err)
		}
	case err != nil:
		log.Fatal(err)
	}
	var mem Memory
	if _, err := sess.Field("memory", &mem); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%-12s %s asks: %s\n", a.ID, userID, input)
	fmt.Printf("%-12s (history: %d earlier runs) answers: %s\n", "", len(mem.Runs), reply)
	mem.Runs = append(mem.Runs, Run{Input: input, Response: reply})
	if err := sess.SetField("memory", mem); err != nil {
		log.Fatal(err)
	}
	sess.AgentID = a.ID
	if _, err := a.Storage.Upsert(sess); err != nil {
		log.Fatal(err)
	}
}

func main() {
	storage, err := sessionstore.Open() // agent mode, default limits
	if err != nil {
		log.Fatal(err)
	}
	defer storage.Close()

	agent := &Agent{ID: "geo-agent", Storage: storage}
	agent.Run("canada", "ava", "How many people live in Canada?", "About 41 million.")
	agent.Run("canada", "ava", "What is their national anthem called?", "\"O Canada\".")

	// A second agent shares the storage through its own handle.
	shared, err := storage.Share("")
	if err != nil {
		log.Fatal(err)
	}
	defer shared.Close()
	second := &Agent{ID: "geo-agent-2", Storage: shared}
	second.Run("canada", "ava", "Who wrote its music?", "Calixa Lavallée, in 1880.")

	// Closing the first handle does not lose the session: the second handle
	// still holds the data.
	storage.Close()
	sess, err := shared.Read("canada", "ava")
	if err != nil {
		log.Fatal(err)
	}
	var mem Memory
	if _, err := sess.Field("memory", &mem); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("\nafter closing the first handle, session %q (%s, agent %s) holds %d runs:\n",
		sess.Name(), sess.SessionType, sess.AgentID, len(mem.Runs))
	for i, r := range mem.Runs {
		fmt.Printf("  %d. %s\n", i+1, r.Input)
	}
	ids, err := shared.GetAllSessionIDs(sessionstore.Filter{UserID: "ava"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ava's sessions:", ids)
	if _, err := storage.Read("canada", ""); errors.Is(err, sessionstore.ErrClosed) {
		fmt.Println("the closed handle refuses calls:", err)
	}
}
