// Agno cookbook "in_memory_storage_for_team", in C++: a team (HackerNews researcher + web searcher) keeps
// its sessions in a team-mode handle; its members' agent sessions live in the same storage through an
// agent-mode handle, linked by team_session_id.
#include <sessionstore.hpp>

#include <iostream>
#include <string>

int main() {
  try {
    sessionstore::Store team_storage = sessionstore::Store::open(sessionstore::Mode::Team);
    sessionstore::Store member_storage = team_storage.share(sessionstore::Mode::Agent);

    std::cout << "team run: 'Write an article about the top 2 stories on hackernews'\n";
    team_storage.upsert(R"({"session_id": "hn-article-1", "user_id": "sam", "team_id": "hackernews-team",
                            "team_data": {"name": "HackerNews Team", "mode": "coordinate"},
                            "memory": {"runs": [{"input": "Write an article about the top 2 stories"}]}})");
    member_storage.upsert_many(R"([
      {"session_id": "hn-article-1/researcher", "user_id": "sam", "agent_id": "hackernews-researcher",
       "team_session_id": "hn-article-1", "memory": {"runs": [{"tool": "get_top_hackernews_stories"}]}},
      {"session_id": "hn-article-1/searcher", "user_id": "sam", "agent_id": "web-searcher",
       "team_session_id": "hn-article-1", "memory": {"runs": [{"tool": "duckduckgo_search"}]}}
    ])");

    std::cout << "an earlier team run, from November 2023\n";
    team_storage.upsert(R"({"session_id": "hn-article-2", "user_id": "sam", "team_id": "hackernews-team",
                            "created_at": 1700000000})");

    std::cout << "team sessions of sam: " << team_storage.get_all_session_ids("sam", "hackernews-team") << "\n";
    std::cout << "most recent: " << team_storage.get_recent_sessions("sam", "hackernews-team", 1) << "\n";
    std::cout << "member sessions (agent handle): " << member_storage.get_all_session_ids("sam") << "\n";
    std::cout << "the team handle does not read agent sessions: "
              << (team_storage.read("hn-article-1/researcher") ? "found" : "not found") << "\n";

    // One view of sam's sessions of every type, without their transcripts (Agno 2's
    // get_sessions(session_type=None) for a list view).
    std::cout << "sam's sessions, any type, metadata only:\n  "
              << team_storage.query(R"({"session_type": "any", "user_id": "sam", "fields": "metadata",
                                        "sort_by": "session_id", "sort_order": "asc"})")
              << "\n";

    // Closing the conversation: sam's team session and its members' sessions are deleted (the user id
    // makes sure only sam's are).
    std::size_t removed = team_storage.delete_session("hn-article-1", "sam");
    removed += member_storage.delete_sessions({"hn-article-1/researcher", "hn-article-1/searcher"}, "sam");
    std::cout << "removed " << removed << " sessions; stats: " << team_storage.stats() << "\n";
  } catch (const sessionstore::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
