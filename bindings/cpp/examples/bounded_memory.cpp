// Bounded memory: a store that forgets idle sessions and keeps at most a few sessions, as a cache of
// agent sessions in a long-running server would (uses nlohmann::json to print the stats).
//  1. idle_expiry_s = 1: a session read at once is there; after 2.2 s without a write it has expired,
//     and read() gives std::nullopt (listings and exports leave it out too).
//  2. max_sessions = 3: a fourth session evicts the least recently written one, and the change feed says
//     so ("op":"evict"); with WhenFull::Refuse the write would throw Status::Full instead.
// It prints the "bounds" member of stats() and exits with 1 if the store does not behave so.
#include <sessionstore.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

int main() {
  using json = nlohmann::ordered_json;  // keeps the library's order of members
  try {
    // --- 1. idle expiry ----------------------------------------------------------------------------
    sessionstore::Options idle;
    idle.idle_expiry_s = 1;  // a session not written for a second expires
    sessionstore::Store chats = sessionstore::Store::open(idle);
    chats.upsert(R"({"session_id":"chat-1","user_id":"ava","agent_id":"helper","memory":{"runs":[{"input":"hi"}]}})");
    std::cout << "read at once: " << chats.read("chat-1").value_or("(none)") << "\n";
    std::cout << "sleeping 2.2 s...\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(2200));
    const std::optional<std::string> later = chats.read("chat-1");
    std::cout << "read after 2.2 s idle: " << later.value_or("(none: expired)") << "\n";
    std::cout << "ids: " << chats.get_all_session_ids() << "\n";
    std::cout << "bounds: " << chats.stats<json>()["bounds"].dump() << "\n";
    if (later) {
      std::cerr << "bounded_memory: the idle session did not expire\n";
      return 1;
    }

    // --- 2. eviction ---------------------------------------------------------------------------------
    sessionstore::Options capped;
    capped.max_sessions = 3;  // capped.when_full = sessionstore::WhenFull::Refuse would throw Full instead
    sessionstore::Store cache = sessionstore::Store::open(capped);
    for (const char* id : {"a", "b", "c", "a", "d"}) {  // "a" is written again, so "b" is the oldest write
      cache.upsert<void>(std::string(R"({"session_id":")") + id + R"(","user_id":"ava"})");
    }
    const std::string ids = cache.get_all_session_ids();
    std::cout << "\nmax_sessions 3, after writing a, b, c, a, d: " << ids << "\n";
    const json feed = cache.changes<json>(0, sessionstore::max_changes, true);
    for (const json& change : feed["changes"]) {
      std::cout << "  feed: " << change.dump() << "\n";
    }
    const json bounds = cache.stats<json>()["bounds"];
    std::cout << "bounds: " << bounds.dump() << "\n";
    if (ids != R"(["a","c","d"])" || bounds["evicted"] != 1) {
      std::cerr << "bounded_memory: expected b to be evicted\n";
      return 1;
    }
  } catch (const sessionstore::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
