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

// 0.3.0 without nlohmann: versions, conditional writes, appends, the feed and export_with_seq, checked on
// the text the library returns.
TEST(NoNlohmann, VersionsAppendsAndTheFeed) {
  using sessionstore::Status;
  using sessionstore::Store;
  Store s = Store::open();
  const std::string created = s.upsert_if(R"({"session_id":"a","memory":{"runs":[0]}})", 0);
  EXPECT_NE(created.find(R"("version":1})"), std::string::npos) << created;
  try {
    s.upsert_if(R"({"session_id":"a"})", 0);
    FAIL();
  } catch (const sessionstore::Error& e) {
    EXPECT_EQ(e.code(), Status::VersionMismatch);
    EXPECT_EQ(std::string(e.what()).rfind("sessionstore: VERSION_MISMATCH: ", 0), 0u) << e.what();
    EXPECT_NE(e.message().find("\"a\""), std::string_view::npos) << e.what();
  }
  const std::string appended = s.append_runs("a", "[1,2]");
  EXPECT_NE(appended.find(R"("memory":{"runs":[0,1,2]})"), std::string::npos) << appended;
  EXPECT_NE(appended.find(R"("version":2})"), std::string::npos) << appended;
  EXPECT_NE(s.rename_session_if("a", "named", 2).find(R"("version":3)"), std::string::npos);
  EXPECT_EQ(s.delete_session_if("a", 3), 1u);
  // The store's identity, 32 hex digits: the first member of stats()'s "feed", the last of changes().
  const std::string stats = s.stats();
  const std::string key = R"("feed":{"store":")";
  const std::size_t at = stats.find(key);
  ASSERT_NE(at, std::string::npos) << stats;
  const std::string id = stats.substr(at + key.size(), 32);
  EXPECT_EQ(stats.substr(at + key.size() + 32, 12), R"(","latest":4)") << stats;
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  EXPECT_EQ(s.changes(1, 2, true),
            R"({"changes":[{"seq":2,"op":"upsert","session_type":"agent","session_id":"a","version":2},)"
            R"({"seq":3,"op":"upsert","session_type":"agent","session_id":"a","version":3}],"next":3,"latest":4,)"
            R"("store":")" + id + R"("})");
  EXPECT_EQ(s.changes(3), R"({"changes":[{"seq":4,"op":"delete","session_type":"agent","session_id":"a"}],"next":4,"latest":4,)"
                          R"("store":")" + id + R"("})");
  const sessionstore::ExportWithSeq exported = s.export_with_seq();
  EXPECT_EQ(exported.json, "{}");
  EXPECT_EQ(exported.seq, 4u);
  sessionstore::Options options;
  options.feed_bytes = 0;
  Store none = Store::open(options);
  none.upsert(R"({"session_id":"x"})");
  try {
    none.changes(0);
    FAIL();
  } catch (const sessionstore::Error& e) {
    EXPECT_EQ(e.code(), Status::FeedTruncated);
  }
  const std::string none_stats = none.stats();
  EXPECT_NE(none_stats.find(R"(","latest":1,"oldest":2,"kept":0,"bytes":0,"budget":0})"), std::string::npos)
      << none_stats;
  EXPECT_EQ(none_stats.find(id), std::string::npos) << "a store made anew has another identity";
}

// 0.4.0 without nlohmann: the bounds of Options, Status::Full and the "evict" op, on the library's text.
TEST(NoNlohmann, BoundsAndFull) {
  using sessionstore::Status;
  using sessionstore::Store;
  sessionstore::Options options;
  options.max_sessions = 2;
  Store s = Store::open(options);
  for (const char* id : {"a", "b", "c"}) s.upsert<void>(std::string(R"({"session_id":")") + id + "\"}");
  EXPECT_EQ(s.get_all_session_ids(), R"(["b","c"])");
  EXPECT_NE(s.changes(0, 10, true).find(R"({"seq":4,"op":"evict","session_type":"agent","session_id":"a"})"),
            std::string::npos)
      << s.changes(0, 10, true);
  EXPECT_NE(s.stats().find(R"("bounds":{"sessions":2,)"), std::string::npos) << s.stats();
  EXPECT_NE(s.stats().find(R"("max_sessions":2,)"), std::string::npos) << s.stats();
  EXPECT_NE(s.stats().find(R"("evicted":1})"), std::string::npos) << s.stats();

  options.when_full = sessionstore::WhenFull::Refuse;
  Store refusing = Store::open(options);
  refusing.upsert(R"({"session_id":"a"})");
  refusing.upsert(R"({"session_id":"b"})");
  try {
    refusing.upsert(R"({"session_id":"c"})");
    FAIL();
  } catch (const sessionstore::Error& e) {
    EXPECT_EQ(e.code(), Status::Full);
    EXPECT_EQ(std::string(e.what()).rfind("sessionstore: FULL: ", 0), 0u) << e.what();
  }
  EXPECT_EQ(refusing.get_all_session_ids(), R"(["a","b"])");

  sessionstore::Options idle;
  idle.idle_expiry_s = 3600;
  Store expiring = Store::open(idle);
  EXPECT_EQ(expiring.import_json(R"({"old":{"session_id":"old","updated_at":1000}})"), 1u);
  EXPECT_FALSE(expiring.read("old").has_value());
  EXPECT_EQ(expiring.export_json(), "{}");
}
