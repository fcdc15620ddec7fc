// Agno's in-memory storage README, "bring your own dictionary": the sessions are saved to a file (it could
// be S3 or Redis) and loaded into a new store, as a program restart would. The export is Agno's
// storage_dict shape: {"<session_id>": session, ...}, every session type included. A dictionary written by
// Python's json.dumps may hold NaN or Infinity (Agno's float metrics); a store opened with
// NonFiniteNumbers::Null loads those as null.
#include <sessionstore.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  const fs::path file = argc > 1 ? fs::path(argv[1]) : fs::temp_directory_path() / "sessionstore-sessions.json";
  try {
    {
      sessionstore::Store agents = sessionstore::Store::open();
      sessionstore::Store teams = agents.share(sessionstore::Mode::Team);
      agents.upsert(R"({"session_id": "s1", "user_id": "ava", "agent_id": "support", "created_at": 1700000000,
                        "memory": {"runs": [{"input": "hi", "output": "hello"}]}})");
      teams.upsert(R"({"session_id": "t1", "user_id": "ava", "team_id": "triage", "created_at": 1700000100})");

      std::ofstream out(file, std::ios::binary | std::ios::trunc);
      out << agents.export_json();
      if (!out.flush()) throw std::runtime_error("cannot write " + file.string());
      std::cout << "saved " << agents.stats() << " to " << file << "\n";
    }  // every handle closed: the first store is gone

    std::ifstream in(file, std::ios::binary);
    const std::string saved((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    sessionstore::Store reloaded = sessionstore::Store::open();
    std::size_t count = reloaded.import_json(saved);
    std::cout << "reloaded " << count << " sessions into a new store\n";
    std::cout << "s1 (timestamps kept): " << reloaded.read("s1").value_or("(none)") << "\n";
    std::cout << "t1 through a team handle: "
              << reloaded.share(sessionstore::Mode::Team).read("t1").value_or("(none)") << "\n";

    // The same dictionary as Python wrote it, with a metric that is NaN: not JSON, so refused by default,
    // and loaded as null by a store opened with NonFiniteNumbers::Null.
    const std::string from_python =
        R"({"s2": {"session_id": "s2", "user_id": "ava", "agent_id": "support", "metrics": {"time_to_first_token": NaN}}})";
    try {
      reloaded.import_json(from_python);
    } catch (const sessionstore::Error& e) {
      std::cout << "default store: " << e.what() << "\n";
    }
    sessionstore::Store lenient =
        sessionstore::Store::open(sessionstore::Mode::Agent, sessionstore::NonFiniteNumbers::Null);
    lenient.import_json(from_python);
    std::cout << "NonFiniteNumbers::Null: " << lenient.read("s2").value_or("(none)") << "\n";
    fs::remove(file);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
