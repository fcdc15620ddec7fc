// An agent's conversation that outlives the program: its session lives in a durable store, in the directory
// given as the first argument (default: sessionstore-durable-session in the system's temporary directory).
// Each run opens the store, which loads what earlier runs wrote, appends one run to the session's memory,
// saves it and exits; the next run continues from there.
//   ./durable_session /tmp/chat   # ... runs so far: 1
//   ./durable_session /tmp/chat   # ... runs so far: 2
// (Uses nlohmann::json to edit the session; the store itself keeps it verbatim.)
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
    // Durable: every upsert is in the journal, fsynced (SyncPolicy::Always), before it returns.
    sessionstore::Store storage = sessionstore::Store::open(
        sessionstore::Mode::Agent, sessionstore::Durability{dir, sessionstore::SyncPolicy::Always});

    std::optional<nlohmann::json> stored = storage.read<nlohmann::json>("canada-chat", "ava");
    nlohmann::json session = stored.value_or(nlohmann::json{
        {"session_id", "canada-chat"},
        {"user_id", "ava"},
        {"agent_id", "geo-agent"},
        {"memory", {{"runs", nlohmann::json::array()}}},
        {"session_data", {{"session_name", "Questions about Canada"}}}});
    std::cout << (stored ? "continuing session canada-chat from " : "new session canada-chat in ") << dir << "\n";

    nlohmann::json& runs = session["memory"]["runs"];
    const nlohmann::json& run = script[runs.size() % script.size()];
    std::cout << "ava asks: " << run["input"].get<std::string>() << "\n  (history: " << runs.size()
              << " earlier runs) answer: " << run["output"].get<std::string>() << "\n";
    runs.push_back(run);
    storage.upsert<void>(session.dump());
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
