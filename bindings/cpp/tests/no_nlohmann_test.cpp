// The header with nlohmann hidden (-DSESSIONSTORE_NO_NLOHMANN): it compiles, offers no json overloads and
// the std::string API works. Built as its own program: mixing it into a binary whose other files see
// nlohmann would give two definitions of Store.
#include <sessionstore.hpp>

#include <gtest/gtest.h>

#include <string>
#include <type_traits>

static_assert(SESSIONSTORE_HAS_NLOHMANN == 0, "SESSIONSTORE_NO_NLOHMANN must hide nlohmann");
#ifdef NLOHMANN_JSON_VERSION_MAJOR
#error "sessionstore.hpp included <nlohmann/json.hpp> although SESSIONSTORE_NO_NLOHMANN is defined"
#endif

TEST(NoNlohmann, StringApiWorks) {
  using sessionstore::Store;
  static_assert(!sessionstore::detail::is_json<int>);
  Store s = Store::open(sessionstore::Mode::Team);
  std::string stored = s.upsert(R"({"session_id":"t1","team_id":"hn-team","user_id":"u"})");
  EXPECT_NE(stored.find("\"session_type\":\"team\""), std::string::npos);
  EXPECT_EQ(s.get_all_session_ids("u", "hn-team"), "[\"t1\"]");
  EXPECT_TRUE(s.read("t1").has_value());
  EXPECT_NE(s.rename_session("t1", "Mine", "u").find("\"session_name\":\"Mine\""), std::string::npos);
  try {
    s.upsert(R"({"session_id":"t1","team_id":"hn-team","user_id":"v"})");
    FAIL();
  } catch (const sessionstore::Error& e) {
    EXPECT_EQ(e.code(), sessionstore::Status::PermissionDenied);
  }
  EXPECT_EQ(s.delete_sessions({"t1"}, "v"), 0u);
  EXPECT_EQ(s.delete_session("t1", "v"), 0u);
  EXPECT_EQ(s.delete_sessions({"t1"}), 1u);
  EXPECT_EQ(s.query(), "{\"sessions\":[],\"total\":0}");
  try {
    s.upsert("nope");
    FAIL();
  } catch (const sessionstore::Error& e) {
    EXPECT_EQ(e.code(), sessionstore::Status::InvalidJson);
  }
}
