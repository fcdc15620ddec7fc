// Command team_sessions mirrors Agno's cookbook example of a team with
// in-memory storage: a team leader keeps one session per conversation, its
// member agents keep their own sessions linked to it, and both kinds live in
// one shared store, each handle seeing only its own session type.
package main

import (
	"fmt"
	"log"

	sessionstore "github.com/sessionstore/sessionstore/bindings/go"
)

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}

func main() {
	teams := must(sessionstore.Open(sessionstore.WithMode(sessionstore.ModeTeam)))
	defer teams.Close()
	// The members are agents: same data, agent mode.
	agents := must(teams.Share(sessionstore.ModeAgent))
	defer agents.Close()

	members := []string{"hn-researcher", "web-searcher"}
	conversations := []struct{ id, user, name, topic string }{
		{"team-1", "ava", "AI news digest", "What is new in AI agents this week?"},
		{"team-2", "ben", "Travel plans", "Plan three days in Lisbon."},
		{"team-3", "ava", "Rust news", "Summarise the Rust release notes."},
	}
	for i, c := range conversations {
		sess := &sessionstore.Session{SessionID: c.id, UserID: c.user, TeamID: "news-team",
			CreatedAt: int64(1_700_000_000 + i*60)}
		if err := sess.SetName(c.name); err != nil {
			log.Fatal(err)
		}
		if err := sess.SetField("team_data", map[string]any{"members": members}); err != nil {
			log.Fatal(err)
		}
		if err := sess.SetField("memory", map[string]any{"runs": []map[string]string{{"input": c.topic}}}); err != nil {
			log.Fatal(err)
		}
		must(teams.Upsert(sess))
		// Each member works on the request in its own agent session, linked
		// to the team session.
		for _, m := range members {
			msess := &sessionstore.Session{SessionID: c.id + "/" + m, UserID: c.user, AgentID: m}
			if err := msess.SetField("team_session_id", c.id); err != nil {
				log.Fatal(err)
			}
			must(agents.Upsert(msess))
		}
		fmt.Printf("team session %s for %s: %q with %d member sessions\n", c.id, c.user, c.name, len(members))
	}

	// The team handle lists team sessions only; the agent handle, agents.
	fmt.Println("team sessions of news-team:", must(teams.GetAllSessionIDs(sessionstore.Filter{EntityID: "news-team"})))
	fmt.Println("sessions of member web-searcher:", must(agents.GetAllSessionIDs(sessionstore.Filter{EntityID: "web-searcher"})))

	// Ava's most recent team conversation comes first.
	for _, s := range must(teams.GetRecentSessions(sessionstore.Filter{UserID: "ava"}, 5)) {
		fmt.Printf("ava's recent: %s %q\n", s.SessionID, s.Name())
	}

	// Ben renames his session (ForUser: only his own), then finds it by a
	// part of the name, compared after Unicode case folding. Ava cannot rename
	// it, nor take it over with an upsert.
	must(teams.RenameSession("team-2", "Lisbon trip (3 days)", sessionstore.ForUser("ben")))
	res := must(teams.Query(sessionstore.Query{SessionName: "LISBON"}))
	fmt.Printf("query \"LISBON\": %d match, %s %q\n", res.Total, res.Sessions[0].SessionID, res.Sessions[0].Name())
	_, err := teams.RenameSession("team-2", "Mine", sessionstore.ForUser("ava"))
	fmt.Println("ava renames ben's session:", err)
	_, err = teams.Upsert(&sessionstore.Session{SessionID: "team-2", UserID: "ava", TeamID: "news-team"})
	fmt.Println("ava upserts ben's session:", err)

	// One list view of every type: the metadata of ava's sessions.
	all := must(teams.Query(sessionstore.Query{
		SessionTypes: []sessionstore.Mode{sessionstore.AnySessionType},
		UserID:       "ava",
		Fields:       sessionstore.MetadataFields(),
	}))
	fmt.Printf("ava has %d sessions of any type; the newest: %s (%s)\n", all.Total, all.Sessions[0].SessionID, all.Sessions[0].SessionType)

	// A team session id cannot be reused for an agent session.
	_, err = agents.Upsert(&sessionstore.Session{SessionID: "team-1"})
	fmt.Println("agent upsert of team-1:", err)

	st := must(teams.Stats())
	fmt.Printf("store holds %d sessions: %d team, %d agent\n", st.Sessions, st.ByType[sessionstore.ModeTeam], st.ByType[sessionstore.ModeAgent])
}
