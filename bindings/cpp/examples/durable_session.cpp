// An agent's conversation that outlives the program: its session lives in a durable store, in the directory
// given as the first argument (default: sessionstore-durable-session in the system's temporary directory).
// Each run opens the store, which loads what earlier runs wrote, appends one run to the session's memory
// (append_runs; the session is created with upsert_if(..., 0), "only if absent") and exits; the next run
// continues from there.
//   ./durable_session /tmp/chat   # ... runs so far: 1
//   ./durable_session /tmp/chat   # ... runs so far: 2
// (Uses nlohmann::json to build and read the session; the store itself keeps it verbatim.)
#include <sessionstore.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  const std::string dir =
      argc > 1 ? std::string(argv[1]) : (fs::temp_directory_path() / "sessionstore-durable-session").string();
  const nlohmann::json script = nlohmann::json::parse(R"([
    {"input": "How many people live in Canada?", "output": "About 41 million."},
    {"input": "What is their national anthem called?", "output": "\"O Canada\"."},
    {"input": "Who wrote its music?", "output": "Calixa Lavallée, in 1880."}])");
  try {
    // Durable: every write is in the journal, fsynced (SyncPolicy::Always), before it returns.
    sessionstore::Store storage = sessionstore::Store::open(
        sessionstore::Mode::Agent, sessionstore::Durability{dir, sessionstore::SyncPolicy::Always});

    std::optional<nlohmann::json> stored = storage.read<nlohmann::json>("canada-chat", "ava");
    std::cout << (stored ? "continuing session canada-chat from " : "new session canada-chat in ") << dir << "\n";
    if (!stored) {
      // Create it only if it does not exist yet (expected version 0): a second program doing the same at
      // the same time gets VersionMismatch instead of overwriting the first one's session.
      try {
        storage.upsert_if<void>(nlohmann::json{{"session_id", "canada-chat"},
                                               {"user_id", "ava"},
                                               {"agent_id", "geo-agent"},
                                               {"memory", {{"runs", nlohmann::json::array()}}},
                                               {"session_data", {{"session_name", "Questions about Canada"}}}}
                                    .dump(),
                                0);
      } catch (const sessionstore::Error& e) {
        if (e.code() != sessionstore::Status::VersionMismatch) throw;  // else another program created it
      }
    }

    const std::size_t earlier = stored ? (*stored)["memory"]["runs"].size() : 0;
    const nlohmann::json& run = script[earlier % script.size()];
    std::cout << "ava asks: " << run["input"].get<std::string>() << "\n  (history: " << earlier
              << " earlier runs) answer: " << run["output"].get<std::string>() << "\n";
    // Only the new run is sent: appended to memory.runs in one atomic step, so runs appended meanwhile by
    // other writers are kept (an upsert of the session read above would drop them).
    const nlohmann::json saved = storage.append_runs("canada-chat", nlohmann::json::array({run}), "ava");
    std::cout << "saved as version " << saved["version"] << "\n";
    // The destructor's close cannot report a failed fsync; sync() can (a no-op here under Always).
    storage.sync();

    const nlohmann::json durability = storage.stats<nlohmann::json>()["durability"];
    std::cout << "journal: " << durability["journal_bytes"] << " bytes, sync "
              << durability["sync"].get<std::string>() << "\n";
    std::cout << "runs so far: " << (*storage.read<nlohmann::json>("canada-chat", "ava"))["memory"]["runs"].size()
              << "\n";
  } catch (const sessionstore::Error& e) {
    if (e.code() == sessionstore::Status::Locked) std::cerr << "another program has " << dir << " open\n";
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;  // the Store's destructor closed it: fsynced, and the directory is free for the next run
}
