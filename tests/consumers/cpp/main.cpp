// A C++ program built with CMake against an installed sessionstore (find_package + the imported target):
// checks the header/library versions, then uses the RAII wrapper.
#include <sessionstore.hpp>

#include <iostream>
#include <string>

int main() {
  if (sessionstore::version() != sessionstore::header_version) {
    std::cerr << "cpp consumer: header " << sessionstore::header_version << " but library " << sessionstore::version()
              << "\n";
    return 1;
  }
  try {
    sessionstore::Store teams = sessionstore::Store::open(sessionstore::Mode::Team);
    teams.upsert(R"({"session_id":"cpp-1","user_id":"ada","team_id":"research"})");
    std::optional<std::string> s = teams.read("cpp-1");
    if (!s || s->find("\"session_type\":\"team\"") == std::string::npos) return 1;
    sessionstore::Store agents = teams.share(sessionstore::Mode::Agent);
    if (agents.read("cpp-1")) return 1;  // another type
    std::cout << "cpp consumer: sessionstore " << sessionstore::version() << ": " << *s << "\n";
  } catch (const sessionstore::Error& e) {
    std::cerr << "cpp consumer: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
