// Agno cookbook "in_memory_storage_for_agent", in C++: an agent keeps its session in a store within
// the program, across two turns, and a second handle on the same storage sees it.
#include <sessionstore.hpp>

#include <iostream>
#include <optional>
#include <string>

int main() {
  try {
    sessionstore::Store agent_storage = sessionstore::Store::open(sessionstore::Mode::Agent);

    // Turn 1: "How many people live in Canada?" The agent saves its session.
    agent_storage.upsert(R"({"session_id": "canada-chat", "user_id": "ava", "agent_id": "web-agent", "memory":
      {"runs": [{"input": "How many people live in Canada?", "output": "About 41 million."}]}})");

    // Turn 2: it loads the session (add_history_to_messages), answers, and saves it again.
    std::optional<std::string> session = agent_storage.read("canada-chat", "ava");
    std::cout << "turn 2 loads: " << session.value_or("(none)") << "\n";
    agent_storage.upsert(R"({"session_id": "canada-chat", "user_id": "ava", "agent_id": "web-agent", "memory":
      {"runs": [{"input": "How many people live in Canada?"}, {"input": "What is their national anthem called?"}]}})");
    agent_storage.rename_session("canada-chat", "Canada facts", "ava");  // only if it is ava's

    // A session belongs to its user: another user's upsert of it is refused, and changes nothing.
    try {
      agent_storage.upsert(R"({"session_id": "canada-chat", "user_id": "bob", "agent_id": "web-agent"})");
    } catch (const sessionstore::Error& e) {
      std::cout << "bob may not overwrite it: " << e.what() << "\n";  // sessionstore: PERMISSION_DENIED: ...
    }

    // A second handle on the same data, e.g. for another component of the program.
    sessionstore::Store viewer = agent_storage.share();
    std::cout << "ava's recent sessions: " << viewer.get_recent_sessions("ava", "web-agent", 5) << "\n";
    std::cout << "stats: " << viewer.stats() << "\n";
  } catch (const sessionstore::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
