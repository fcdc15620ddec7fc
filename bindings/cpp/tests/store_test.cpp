// Every Store method through the std::string / OwnedString API (nlohmann is used here only to inspect
// results; the nlohmann overloads themselves are in json_test.cpp).
#include <sessionstore.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <list>
#include <set>
#include <string>
#include <string_view>
#include <vector>

using nlohmann::json;
using sessionstore::Mode;
using sessionstore::OwnedString;
using sessionstore::Status;
using sessionstore::Store;

namespace {

std::vector<std::string> ids_of(const std::string& array_json) {
  return json::parse(array_json).get<std::vector<std::string>>();
}

std::vector<std::string> session_ids_of(const std::string& sessions_json) {
  std::vector<std::string> ids;
  for (const auto& s : json::parse(sessions_json)) ids.push_back(s.at("session_id").get<std::string>());
  return ids;
}

std::string agent_session(const std::string& id, const std::string& user, const std::string& agent,
                          long created_at = -1) {
  json s = {{"session_id", id}, {"user_id", user}, {"agent_id", agent}, {"memory", {{"runs", json::array()}}}};
  if (created_at >= 0) s["created_at"] = created_at;
  return s.dump();
}

}  // namespace

TEST(Open, DefaultsToAgentMode) {
  Store s = Store::open();
  ASSERT_TRUE(s.is_open());
  ASSERT_TRUE(static_cast<bool>(s));
  EXPECT_NE(s.native_handle(), nullptr);
  json st = json::parse(s.stats());
  EXPECT_EQ(st["mode"], "agent");
  EXPECT_EQ(st["sessions"], 0);
}

TEST(Open, EveryMode) {
  for (Mode m : {Mode::Agent, Mode::Team, Mode::Workflow, Mode::WorkflowV2}) {
    Store s = Store::open(m);
    EXPECT_EQ(json::parse(s.stats())["mode"], sessionstore::mode_name(m));
    Store t = Store::open(m, 1024);
    EXPECT_EQ(json::parse(t.stats())["mode"], sessionstore::mode_name(m));
  }
}

TEST(Open, MaxSessionBytesIsEnforced) {
  Store s = Store::open(Mode::Agent, 200);
  EXPECT_NO_THROW(s.upsert<void>(R"({"session_id":"small"})"));
  std::string big = json{{"session_id", "big"}, {"pad", std::string(400, 'x')}}.dump();
  try {
    s.upsert(big);
    FAIL() << "expected TOO_LARGE";
  } catch (const sessionstore::Error& e) {
    EXPECT_EQ(e.code(), Status::TooLarge);
  }
  EXPECT_FALSE(s.read("big").has_value());
}

TEST(Open, FromConfig) {
  Store d = Store::from_config("");
  EXPECT_EQ(json::parse(d.stats())["mode"], "agent");
  Store t = Store::from_config(R"({"mode":"workflow_v2","max_session_bytes":4096})");
  EXPECT_EQ(json::parse(t.stats())["mode"], "workflow_v2");
  std::string config = R"({"mode":"team"}   trailing garbage)";
  EXPECT_EQ(json::parse(Store::from_config(std::string_view(config).substr(0, 15)).stats())["mode"], "team");
}

TEST(Upsert, ReturnsStoredJson) {
  Store s = Store::open();
  json stored = json::parse(s.upsert(agent_session("s1", "u1", "a1")));
  EXPECT_EQ(stored["session_id"], "s1");
  EXPECT_EQ(stored["session_type"], "agent");
  EXPECT_TRUE(stored["created_at"].is_number_integer());
  EXPECT_TRUE(stored["updated_at"].is_number_integer());
  EXPECT_EQ(stored["version"], 1) << "set by the store: the number of the change that wrote it";
  EXPECT_EQ(stored["memory"], json({{"runs", json::array()}}));
}

TEST(Upsert, KeepsCreatedAtOnUpdate) {
  Store s = Store::open();
  s.upsert(agent_session("s1", "u1", "a1", 1000));
  json again = json::parse(s.upsert(R"({"session_id":"s1","user_id":"u1","agent_id":"a1","extra":1})"));
  EXPECT_EQ(again["created_at"], 1000);
  EXPECT_EQ(again["extra"], 1);
}

TEST(Upsert, ResultTypes) {
  Store s = Store::open();
  static_assert(std::is_same_v<decltype(s.upsert("{}")), std::string>);
  static_assert(std::is_same_v<decltype(s.upsert<OwnedString>("{}")), OwnedString>);
  static_assert(std::is_void_v<decltype(s.upsert<void>("{}"))>);
  s.upsert<void>(R"({"session_id":"v"})");
  OwnedString o = s.upsert<OwnedString>(R"({"session_id":"o"})");
  EXPECT_EQ(json::parse(o.view())["session_id"], "o");
  EXPECT_EQ(o.size(), std::strlen(o.c_str()));
  EXPECT_EQ(ids_of(s.get_all_session_ids()), (std::vector<std::string>{"v", "o"}));
}

TEST(Upsert, PayloadIsPointerAndLength) {
  Store s = Store::open();
  std::string buffer = R"({"session_id":"p1"}{"session_id":"p2"})";
  std::string_view view(buffer);
  s.upsert(view.substr(0, 19));
  s.upsert(view.substr(19));
  EXPECT_EQ(ids_of(s.get_all_session_ids()), (std::vector<std::string>{"p1", "p2"}));
}

TEST(UpsertMany, StoresAllInOrder) {
  Store s = Store::open();
  json out = json::parse(s.upsert_many(R"([{"session_id":"b"},{"session_id":"a"},{"session_id":"c"}])"));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0]["session_id"], "b");
  EXPECT_EQ(out[2]["session_type"], "agent");
  EXPECT_EQ(ids_of(s.get_all_session_ids()), (std::vector<std::string>{"b", "a", "c"}));
  s.upsert_many<void>(R"([{"session_id":"d"}])");
  EXPECT_EQ(s.upsert_many<OwnedString>("[]").view(), "[]");
}

TEST(UpsertMany, IsAtomicAndNamesTheIndex) {
  Store s = Store::open();
  try {
    s.upsert_many(R"([{"session_id":"ok"},{"session_id":""}])");
    FAIL() << "expected INVALID_SESSION";
  } catch (const sessionstore::Error& e) {
    EXPECT_EQ(e.code(), Status::InvalidSession);
    EXPECT_NE(e.message().find("sessions[1]"), std::string_view::npos) << e.what();
  }
  EXPECT_EQ(s.get_all_session_ids(), "[]");
}

TEST(Read, FoundAndNotFound) {
  Store s = Store::open();
  s.upsert(agent_session("s1", "u1", "a1"));
  std::optional<std::string> r = s.read("s1");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(json::parse(*r)["user_id"], "u1");
  EXPECT_FALSE(s.read("absent").has_value());
  EXPECT_TRUE(s.read("s1", "u1").has_value());
  EXPECT_TRUE(s.read("s1", "").has_value()) << "empty user = no filter";
  EXPECT_FALSE(s.read("s1", "someone-else").has_value());
  Store team = s.share(Mode::Team);
  EXPECT_FALSE(team.read("s1").has_value()) << "another session type reads as absent";
}

TEST(Read, EveryIdArgumentForm) {
  Store s = Store::open();
  const std::string long_id(300, 'L');  // longer than CStrArg's inline buffer
  s.upsert(json{{"session_id", "short"}, {"user_id", "u"}}.dump());
  s.upsert(json{{"session_id", long_id}, {"user_id", "u"}}.dump());
  const char* c_id = "short";
  const std::string str_id = "short";
  const std::string backing = "xshorty";
  const std::string_view view_id = std::string_view(backing).substr(1, 5);  // not NUL-terminated
  EXPECT_TRUE(s.read(c_id).has_value());
  EXPECT_TRUE(s.read(str_id).has_value());
  EXPECT_TRUE(s.read(view_id).has_value());
  EXPECT_TRUE(s.read(view_id, std::string_view("u")).has_value());
  EXPECT_TRUE(s.read(long_id).has_value());
  EXPECT_TRUE(s.read(std::string_view(long_id), std::string("u")).has_value());
  EXPECT_FALSE(s.read(std::string_view(long_id).substr(1)).has_value());
}

TEST(Read, OwnedStringAvoidsTheCopy) {
  Store s = Store::open();
  s.upsert(agent_session("s1", "u1", "a1"));
  std::optional<OwnedString> r = s.read<OwnedString>("s1");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->view(), *s.read("s1"));
  EXPECT_EQ(r->str(), *s.read("s1"));
  OwnedString moved = std::move(*r);
  EXPECT_TRUE(r->empty());
  EXPECT_STREQ(r->c_str(), "");
  EXPECT_FALSE(moved.empty());
  char* raw = moved.release();
  EXPECT_TRUE(moved.empty());
  OwnedString readopted(raw);
  EXPECT_EQ(readopted.size(), std::strlen(raw));
  OwnedString assigned;
  assigned = std::move(readopted);
  EXPECT_EQ(json::parse(assigned.view())["session_id"], "s1");
  EXPECT_TRUE(assigned == std::string_view(*s.read("s1")));
  EXPECT_FALSE(assigned != std::string_view(*s.read("s1")));
}

TEST(ReadInto, ExactFitCopiesReadsBytes) {
  Store s = Store::open();
  s.upsert(agent_session("s1", "u1", "a1"));
  const std::string expected = *s.read("s1");
  std::vector<char> buf(expected.size() + 1, '#');
  const std::optional<std::size_t> n = s.read_into("s1", buf.data(), expected.size());
  ASSERT_EQ(n, expected.size());
  EXPECT_EQ(std::string(buf.data(), *n), expected);
  EXPECT_EQ(buf[expected.size()], '#') << "not NUL-terminated: nothing written past the length";
  std::vector<char> roomy(4096, '#');
  ASSERT_EQ(s.read_into("s1", roomy.data(), roomy.size()), expected.size());
  EXPECT_EQ(std::string(roomy.data(), expected.size()), expected);
  EXPECT_EQ(roomy[expected.size()], '#');
}

TEST(ReadInto, TooSmallReturnsTheLengthAndCopiesNothing) {
  Store s = Store::open();
  s.upsert(agent_session("s1", "u1", "a1"));
  const std::string expected = *s.read("s1");
  const std::string sentinel(expected.size(), '#');
  std::string buf = sentinel;
  EXPECT_EQ(s.read_into("s1", buf.data(), expected.size() - 1), expected.size());
  EXPECT_EQ(buf, sentinel) << "a length above cap: nothing copied";
  EXPECT_EQ(s.read_into("s1", buf.data(), 1), expected.size());
  EXPECT_EQ(buf, sentinel);
  EXPECT_EQ(s.read_into("s1", buf.data(), 0), expected.size());
  EXPECT_EQ(buf, sentinel);
  // The documented retry: a buffer of the length returned.
  EXPECT_EQ(s.read_into("s1", buf.data(), buf.size()), expected.size());
  EXPECT_EQ(buf, expected);
}

TEST(ReadInto, NullBufferWithCapZeroGivesTheLength) {
  Store s = Store::open();
  s.upsert(agent_session("s1", "u1", "a1"));
  EXPECT_EQ(s.read_into("s1", nullptr, 0), s.read("s1")->size());
  EXPECT_EQ(s.read_into("s1", nullptr, 0, "u1"), s.read("s1")->size());
  EXPECT_EQ(s.read_into("absent", nullptr, 0), std::nullopt);
}

TEST(ReadInto, NotFoundAnotherUserOrTypeIsNulloptAndWritesNothing) {
  Store s = Store::open();
  s.upsert(agent_session("s1", "u1", "a1"));
  const std::string sentinel(256, '#');
  std::string buf = sentinel;
  EXPECT_EQ(s.read_into("absent", buf.data(), buf.size()), std::nullopt);
  EXPECT_EQ(s.read_into("s1", buf.data(), buf.size(), "someone-else"), std::nullopt);
  EXPECT_EQ(s.share(Mode::Team).read_into("s1", buf.data(), buf.size()), std::nullopt)
      << "another session type reads as absent";
  EXPECT_EQ(buf, sentinel);
}

TEST(ReadInto, UserFilter) {
  Store s = Store::open();
  s.upsert(agent_session("s1", "u1", "a1"));
  s.upsert(agent_session("s2", "u2", "a1"));
  char buf[512];
  const std::optional<std::size_t> mine = s.read_into("s2", buf, sizeof buf, "u2");
  ASSERT_TRUE(mine.has_value());
  EXPECT_EQ(std::string(buf, *mine), *s.read("s2", "u2"));
  EXPECT_EQ(json::parse(std::string(buf, *mine))["user_id"], "u2");
  EXPECT_EQ(s.read_into("s2", buf, sizeof buf, "u1"), std::nullopt);
  EXPECT_EQ(s.read_into("s2", buf, sizeof buf, ""), mine) << "empty user = no filter";
  EXPECT_EQ(s.read_into("s2", buf, sizeof buf, std::nullopt), mine);
  EXPECT_EQ(s.read_into(std::string_view("s1"), buf, sizeof buf, std::string("u1")), s.read("s1")->size());
}

TEST(ReadInto, StringReusesItsCapacity) {
  Store s = Store::open();
  s.upsert(agent_session("s1", "u1", "a1"));
  std::string out;
  out.reserve(4096);
  const char* const storage = out.data();
  ASSERT_TRUE(s.read_into("s1", out));
  EXPECT_EQ(out, *s.read("s1"));
  EXPECT_EQ(out.data(), storage) << "read into the capacity it had";
  const std::string before = out;
  EXPECT_FALSE(s.read_into("absent", out));
  EXPECT_FALSE(s.read_into("s1", out, "someone-else"));
  EXPECT_EQ(out, before) << "left unchanged when not found";
  EXPECT_TRUE(s.read_into("s1", out, "u1"));
  EXPECT_EQ(out, before);
  // A session larger than the capacity: the string grows.
  const std::string big = json{{"session_id", "big"}, {"pad", std::string(10000, 'x')}}.dump();
  s.upsert<void>(big);
  ASSERT_TRUE(s.read_into("big", out));
  EXPECT_EQ(out, *s.read("big"));
  EXPECT_GT(out.size(), 10000u);
}

TEST(Listing, AllSessionIdsAndSessionsWithFilters) {
  Store s = Store::open();
  s.upsert(agent_session("s1", "u1", "a1"));
  s.upsert(agent_session("s2", "u2", "a1"));
  s.upsert(agent_session("s3", "u1", "a2"));
  s.share(Mode::Team).upsert(R"({"session_id":"t1","user_id":"u1","team_id":"a1"})");
  EXPECT_EQ(ids_of(s.get_all_session_ids()), (std::vector<std::string>{"s1", "s2", "s3"}));
  EXPECT_EQ(ids_of(s.get_all_session_ids("u1")), (std::vector<std::string>{"s1", "s3"}));
  EXPECT_EQ(ids_of(s.get_all_session_ids({}, "a1")), (std::vector<std::string>{"s1", "s2"}));
  EXPECT_EQ(ids_of(s.get_all_session_ids("u1", "a1")), (std::vector<std::string>{"s1"}));
  EXPECT_EQ(ids_of(s.get_all_session_ids("", "")), (std::vector<std::string>{"s1", "s2", "s3"}));
  EXPECT_EQ(ids_of(s.get_all_session_ids(nullptr, std::string_view("a2"))), (std::vector<std::string>{"s3"}));
  EXPECT_EQ(s.get_all_session_ids("nobody"), "[]");
  EXPECT_EQ(session_ids_of(s.get_all_sessions()), (std::vector<std::string>{"s1", "s2", "s3"}));
  EXPECT_EQ(session_ids_of(s.get_all_sessions("u1")), (std::vector<std::string>{"s1", "s3"}));
  EXPECT_EQ(session_ids_of(s.get_all_sessions("u1", "a2")), (std::vector<std::string>{"s3"}));
  EXPECT_EQ(json::parse(s.get_all_sessions<OwnedString>().view()).size(), 3u);
  EXPECT_EQ(json::parse(s.get_all_session_ids<OwnedString>().view()).size(), 3u);
}

TEST(Listing, RecentSessionsNewestFirst) {
  Store s = Store::open();
  s.upsert(agent_session("old", "u", "a", 100));
  s.upsert(agent_session("new", "u", "a", 300));
  s.upsert(agent_session("mid", "u", "b", 200));
  s.upsert(agent_session("tie", "u", "a", 300));  // same second as "new", inserted later: first
  s.upsert(agent_session("other", "v", "a", 400));
  EXPECT_EQ(session_ids_of(s.get_recent_sessions("u")), (std::vector<std::string>{"tie", "new"}))
      << "default limit is 2, like Agno";
  EXPECT_EQ(session_ids_of(s.get_recent_sessions("u", {}, sessionstore::all)),
            (std::vector<std::string>{"tie", "new", "mid", "old"}));
  EXPECT_EQ(session_ids_of(s.get_recent_sessions("u", "a", 10)), (std::vector<std::string>{"tie", "new", "old"}));
  EXPECT_EQ(session_ids_of(s.get_recent_sessions({}, {}, 1)), (std::vector<std::string>{"other"}));
  EXPECT_EQ(s.get_recent_sessions({}, {}, 0), "[]");
  EXPECT_EQ(json::parse(s.get_recent_sessions<OwnedString>({}, {}, -5).view()).size(), 5u);
}

TEST(Query, FiltersSortsAndPages) {
  Store s = Store::open();
  for (int i = 0; i < 10; ++i) {
    json session = {{"session_id", "q" + std::to_string(i)},
                    {"user_id", i % 2 ? "odd" : "even"},
                    {"agent_id", "a"},
                    {"created_at", 1000 + i},
                    {"session_data", {{"session_name", i < 5 ? "Trip to Paris" : "Budget"}}}};
    s.upsert(session.dump());
  }
  json all = json::parse(s.query());
  EXPECT_EQ(all["total"], 10);
  EXPECT_EQ(all["sessions"][0]["session_id"], "q9");
  json page = json::parse(s.query(R"({"user_id":"even","sort_order":"asc","limit":2,"offset":1})"));
  EXPECT_EQ(page["total"], 5);
  ASSERT_EQ(page["sessions"].size(), 2u);
  EXPECT_EQ(page["sessions"][0]["session_id"], "q2");
  EXPECT_EQ(page["sessions"][1]["session_id"], "q4");
  json named = json::parse(s.query(R"({"session_name":"paris","created_after":1002,"created_before":1003})"));
  EXPECT_EQ(named["total"], 2);
  json by_id = json::parse(s.query(R"({"sort_by":"session_id","sort_order":"asc","limit":1})"));
  EXPECT_EQ(by_id["sessions"][0]["session_id"], "q0");
  EXPECT_EQ(json::parse(s.query<OwnedString>("{}").view())["total"], 10);
}

TEST(Rename, SetsTheNameAndReturnsTheSession) {
  Store s = Store::open();
  s.upsert(agent_session("s1", "u1", "a1"));
  json renamed = json::parse(s.rename_session("s1", "Canada facts"));
  EXPECT_EQ(renamed["session_data"]["session_name"], "Canada facts");
  EXPECT_EQ(json::parse(*s.read("s1"))["session_data"]["session_name"], "Canada facts");
  s.rename_session<void>(std::string("s1"), std::string_view("Again"));
  EXPECT_EQ(json::parse(s.rename_session<OwnedString>("s1", "Third").view())["session_data"]["session_name"], "Third");
  try {
    s.rename_session("absent", "x");
    FAIL() << "expected NOT_FOUND";
  } catch (const sessionstore::Error& e) {
    EXPECT_EQ(e.code(), Status::NotFound);
    EXPECT_EQ(e.status(), SS_STATUS_NOT_FOUND);
  }
}

TEST(Delete, OneManyAndDrop) {
  Store s = Store::open();
  for (const char* id : {"a", "b", "c", "d", "e", "f", "g"}) s.upsert(json{{"session_id", id}}.dump());
  Store team = s.share(Mode::Team);
  team.upsert(R"({"session_id":"t"})");
  EXPECT_EQ(s.delete_session("a"), 1u);
  EXPECT_EQ(s.delete_session("a"), 0u);
  EXPECT_EQ(s.delete_session("t"), 0u) << "another type is not deleted";
  EXPECT_EQ(s.delete_sessions(R"(["b","zz"])"), 1u);
  EXPECT_EQ(s.delete_sessions({"c", "c", "nope"}), 1u);
  EXPECT_EQ(s.delete_sessions({}), 0u);
  EXPECT_EQ(s.delete_sessions(std::vector<std::string>{"d"}), 1u);
  EXPECT_EQ(s.delete_sessions(std::vector<const char*>{"e"}), 1u);
  EXPECT_EQ(s.delete_sessions(std::list<std::string_view>{"f"}), 1u);
  EXPECT_EQ(ids_of(s.get_all_session_ids()), (std::vector<std::string>{"g"}));
  s.upsert(R"({"session_id":"h"})");
  EXPECT_EQ(s.drop(), 2u);
  EXPECT_EQ(s.get_all_session_ids(), "[]");
  EXPECT_TRUE(team.read("t").has_value()) << "drop keeps other types";
  EXPECT_EQ(s.drop(), 0u);
}

TEST(Delete, IdsAreEscapedIntoJson) {
  Store s = Store::open();
  const std::vector<std::string> odd = {"quote\"d", "back\\slash", "tab\there", std::string("ctl\x01\x1f"), "ünï"};
  for (const auto& id : odd) s.upsert(json{{"session_id", id}}.dump());
  EXPECT_EQ(s.delete_sessions(odd), odd.size());
  EXPECT_EQ(s.get_all_session_ids(), "[]");
}

// --- who may write what ------------------------------------------------------------------------------

namespace {

// Runs f, expects sessionstore::Error with `code`, returns its message.
template <class F>
std::string error_of(Status code, F&& f) {
  try {
    f();
  } catch (const sessionstore::Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return std::string(e.message());
  }
  ADD_FAILURE() << "no exception; expected " << sessionstore::status_name(code);
  return {};
}

}  // namespace

TEST(Ownership, UpsertMayNotTakeAnotherUsersSession) {
  Store s = Store::open();
  s.upsert(agent_session("s1", "ava", "a1", 1000));
  const std::string before = s.export_json();
  for (const char* other : {R"({"session_id":"s1","user_id":"bob","agent_id":"a1"})",
                            R"({"session_id":"s1","user_id":null,"agent_id":"a1"})",
                            R"({"session_id":"s1","agent_id":"a1"})", R"({"session_id":"s1","user_id":""})"}) {
    SCOPED_TRACE(other);
    error_of(Status::PermissionDenied, [&] { s.upsert(other); });
    error_of(Status::PermissionDenied, [&] { s.upsert<void>(other); });
    error_of(Status::PermissionDenied, [&] { s.upsert<OwnedString>(other); });
    EXPECT_EQ(s.export_json(), before) << "nothing changed";
  }
  // The owner may write it again; a session without a user (null or absent) may be taken by anyone, and
  // then belongs to that user.
  EXPECT_EQ(json::parse(s.upsert(R"({"session_id":"s1","user_id":"ava","n":2})"))["n"], 2);
  s.upsert(R"({"session_id":"free"})");
  s.upsert(R"({"session_id":"free","user_id":null,"n":1})");
  s.upsert(R"({"session_id":"free","user_id":"bob","n":2})");
  error_of(Status::PermissionDenied, [&] { s.upsert(R"({"session_id":"free","user_id":"ava"})"); });
  EXPECT_EQ(json::parse(*s.read("free"))["user_id"], "bob");
  // Another handle on the same data is bound by the same rule.
  error_of(Status::PermissionDenied, [&] { s.share().upsert(R"({"session_id":"s1","user_id":"bob"})"); });
}

TEST(Ownership, ABatchIsRefusedWholeAndNamesTheElement) {
  Store s = Store::open();
  s.upsert(agent_session("s1", "ava", "a1", 1000));
  const std::string before = s.export_json();
  const std::string message = error_of(Status::PermissionDenied, [&] {
    s.upsert_many(R"([{"session_id":"new","user_id":"bob"},{"session_id":"s1","user_id":"ava","n":1},
                      {"session_id":"s1","user_id":"bob"}])");
  });
  EXPECT_NE(message.find("sessions[2]"), std::string::npos) << message;
  EXPECT_EQ(s.export_json(), before) << "nothing changed";
  EXPECT_FALSE(s.read("new").has_value());
  // Each element is checked against the owner the earlier ones gave the session.
  const std::string within = error_of(Status::PermissionDenied, [&] {
    s.upsert_many<void>(R"([{"session_id":"x","user_id":"bob"},{"session_id":"x","user_id":"carl"}])");
  });
  EXPECT_NE(within.find("sessions[1]"), std::string::npos) << within;
  EXPECT_EQ(s.export_json(), before);
  // The same user, or a session without one, is accepted.
  json out = json::parse(s.upsert_many(R"([{"session_id":"s1","user_id":"ava","n":3},{"session_id":"y"},
                                           {"session_id":"y","user_id":"dan"}])"));
  EXPECT_EQ(out.size(), 3u);
  EXPECT_EQ(json::parse(*s.read("y"))["user_id"], "dan");
}

TEST(Ownership, ImportIsExempt) {
  Store s = Store::open();
  s.upsert(agent_session("s1", "ava", "a1", 1000));
  EXPECT_EQ(s.import_json(R"({"s1":{"session_id":"s1","user_id":"bob","agent_id":"a1","created_at":5}})"), 1u);
  EXPECT_FALSE(s.read("s1", "ava").has_value());
  EXPECT_EQ(json::parse(*s.read("s1", "bob"))["created_at"], 5);
  error_of(Status::PermissionDenied, [&] { s.upsert(agent_session("s1", "ava", "a1")); });
}

TEST(UserScoped, RenameOnlyThatUsersSession) {
  Store s = Store::open();
  s.upsert(agent_session("s1", "ava", "a1"));
  s.upsert(R"({"session_id":"anon"})");
  EXPECT_EQ(json::parse(s.rename_session("s1", "by ava", "ava"))["session_data"]["session_name"], "by ava");
  const std::string before = *s.read("s1");
  const std::string message = error_of(Status::NotFound, [&] { s.rename_session("s1", "by bob", "bob"); });
  EXPECT_FALSE(message.empty());
  error_of(Status::NotFound, [&] { s.rename_session<void>("anon", "by bob", std::string("bob")); });
  EXPECT_EQ(*s.read("s1"), before) << "another user's session is not renamed";
  // No user (the default, nullptr, std::nullopt, an empty optional, "") renames any session.
  const std::optional<std::string> no_user;
  const std::optional<std::string_view> ava = std::string_view("avaXX").substr(0, 3);
  s.rename_session<void>("s1", "any 1");
  s.rename_session<void>("s1", "any 2", nullptr);
  s.rename_session<void>("s1", "any 3", std::nullopt);
  s.rename_session<void>("s1", "any 4", no_user);
  s.rename_session<void>("s1", "any 5", "");
  EXPECT_EQ(json::parse(*s.read("s1"))["session_data"]["session_name"], "any 5");
  EXPECT_EQ(json::parse(s.rename_session<OwnedString>("s1", "via optional", ava).view())["session_data"]["session_name"],
            "via optional");
  EXPECT_EQ(json::parse(s.rename_session("anon", "unowned"))["session_data"]["session_name"], "unowned");
}

TEST(UserScoped, DeleteOnlyThatUsersSessions) {
  Store s = Store::open();
  for (const char* id : {"a1", "a2", "a3", "a4", "a5"}) s.upsert(agent_session(id, "ava", "x"));
  for (const char* id : {"b1", "b2", "b3"}) s.upsert(agent_session(id, "bob", "x"));
  s.upsert(R"({"session_id":"anon"})");
  EXPECT_EQ(s.delete_session("a1", "bob"), 0u) << "another user's session is not removed";
  EXPECT_EQ(s.delete_session("anon", "bob"), 0u) << "nor one without a user";
  EXPECT_TRUE(s.read("a1").has_value());
  EXPECT_EQ(s.delete_session("a1", "ava"), 1u);
  EXPECT_EQ(s.delete_session("a1", "ava"), 0u);
  EXPECT_EQ(s.delete_sessions(R"(["a2","b1","anon","zz"])", "bob"), 1u);
  EXPECT_EQ(s.delete_sessions({"a2", "b2"}, std::string("ava")), 1u);
  EXPECT_EQ(s.delete_sessions(std::vector<std::string>{"a3", "b2", "b3"}, std::string_view("ava")), 1u);
  EXPECT_EQ(ids_of(s.get_all_session_ids()), (std::vector<std::string>{"a4", "a5", "b2", "b3", "anon"}));
  // No user (the default, std::nullopt, "") deletes any session.
  EXPECT_EQ(s.delete_session("a4", std::nullopt), 1u);
  EXPECT_EQ(s.delete_sessions({"b2"}, ""), 1u);
  EXPECT_EQ(s.delete_sessions(R"(["a5","b3","anon"])"), 3u);
  EXPECT_EQ(s.get_all_session_ids(), "[]");
}

// --- queries across types and projections (the query JSON goes to the library as is) ------------------

TEST(Query, AcrossSessionTypes) {
  Store agents = Store::open();
  Store teams = agents.share(Mode::Team);
  Store workflows = agents.share(Mode::Workflow);
  agents.upsert(R"({"session_id":"a","user_id":"u","agent_id":"x","created_at":1})");
  teams.upsert(R"({"session_id":"t","user_id":"u","team_id":"x","created_at":2})");
  workflows.upsert(R"({"session_id":"w","user_id":"v","workflow_id":"x","created_at":3})");
  auto ids_and_types = [](const std::string& result) {
    std::vector<std::string> out;
    const json page = json::parse(result);
    for (const auto& s : page["sessions"])
      out.push_back(s["session_id"].get<std::string>() + ":" + s["session_type"].get<std::string>());
    return out;
  };
  EXPECT_EQ(ids_and_types(agents.query()), (std::vector<std::string>{"a:agent"})) << "default: the handle's mode";
  EXPECT_EQ(ids_and_types(agents.query(R"({"session_type":"any"})")),
            (std::vector<std::string>{"w:workflow", "t:team", "a:agent"}));
  EXPECT_EQ(ids_and_types(agents.query(R"({"session_type":["agent","team"],"sort_order":"asc"})")),
            (std::vector<std::string>{"a:agent", "t:team"}));
  EXPECT_EQ(ids_and_types(agents.query(R"({"session_type":"team"})")), (std::vector<std::string>{"t:team"}));
  EXPECT_EQ(ids_and_types(workflows.query(R"({"session_type":"any","user_id":"u","entity_id":"x"})")),
            (std::vector<std::string>{"t:team", "a:agent"}));
  EXPECT_EQ(json::parse(teams.query<OwnedString>(R"({"session_type":"any","limit":1})").view())["total"], 3);
  error_of(Status::InvalidArgument, [&] { agents.query(R"({"session_type":"robot"})"); });
  error_of(Status::InvalidArgument, [&] { agents.query(R"({"session_type":[]})"); });
}

TEST(Query, MetadataAndFieldProjections) {
  Store s = Store::open();
  Store teams = s.share(Mode::Team);
  const std::string transcript(10000, 'r');
  s.upsert(json{{"session_id", "named"},
                {"user_id", "ava"},
                {"agent_id", "web"},
                {"created_at", 100},
                {"memory", {{"runs", {transcript}}}},
                {"session_data", {{"session_name", "Canada facts"}, {"session_state", {{"k", 1}}}}}}
               .dump());
  s.upsert(R"({"session_id":"unnamed","agent_id":"web","created_at":50,"extra":true})");
  teams.upsert(R"({"session_id":"team","user_id":"ava","team_id":"hn","created_at":10})");

  const std::string text = s.query(R"({"fields":"metadata","sort_order":"asc","session_type":"any"})");
  EXPECT_EQ(text.find(transcript), std::string::npos) << "no transcript in a metadata listing";
  json page = json::parse(text);
  EXPECT_EQ(page["total"], 3);
  ASSERT_EQ(page["sessions"].size(), 3u);
  const json& team = page["sessions"][0];
  const json& unnamed = page["sessions"][1];
  const json& named = page["sessions"][2];
  EXPECT_EQ(team["team_id"], "hn") << "the entity field of the session's own type";
  EXPECT_EQ(team["session_type"], "team");
  EXPECT_FALSE(team.contains("agent_id"));
  EXPECT_EQ(named["session_id"], "named");
  EXPECT_EQ(named["session_type"], "agent");
  EXPECT_EQ(named["user_id"], "ava");
  EXPECT_EQ(named["agent_id"], "web");
  EXPECT_EQ(named["created_at"], 100);
  EXPECT_TRUE(named["updated_at"].is_number_integer());
  EXPECT_EQ(named["session_data"], json({{"session_name", "Canada facts"}})) << "only the name of session_data";
  EXPECT_FALSE(named.contains("memory"));
  EXPECT_FALSE(unnamed.contains("session_data")) << "an unnamed session has no session_data here";
  EXPECT_FALSE(unnamed.contains("extra"));

  // A list of top-level fields: those present, nothing else.
  json picked = json::parse(s.query(R"({"fields":["session_id","extra"],"sort_order":"asc"})"));
  EXPECT_EQ(picked["sessions"], json::parse(R"([{"session_id":"unnamed","extra":true},{"session_id":"named"}])"));
  EXPECT_EQ(json::parse(s.query(R"({"fields":"all","user_id":"ava"})"))["sessions"][0]["memory"]["runs"][0],
            transcript);
  json too_many = json::array();
  for (int i = 0; i <= 64; ++i) too_many.push_back("f" + std::to_string(i));
  error_of(Status::InvalidArgument, [&] { s.query(json{{"fields", too_many}}.dump()); });
  too_many.erase(too_many.begin());
  EXPECT_EQ(json::parse(s.query(json{{"fields", too_many}}.dump()))["total"], 2) << "64 fields are accepted";
  error_of(Status::InvalidArgument, [&] { s.query(R"({"fields":"some"})"); });
}

// --- non-finite numbers --------------------------------------------------------------------------------

TEST(Open, NonFiniteNumbers) {
  const std::string python = R"({"session_id":"m","metrics":{"a":NaN,"b":Infinity,"c":-Infinity},"s":"NaN"})";
  Store strict = Store::open();
  const std::string message = error_of(Status::InvalidJson, [&] { strict.upsert(python); });
  EXPECT_NE(message.find("NaN"), std::string::npos) << message;
  EXPECT_NE(message.find("non_finite_numbers"), std::string::npos) << message;
  error_of(Status::InvalidJson, [&] { Store::open(Mode::Agent, sessionstore::NonFiniteNumbers::Reject).upsert(python); });
  EXPECT_STREQ(sessionstore::non_finite_numbers_name(sessionstore::NonFiniteNumbers::Reject), "reject");
  EXPECT_STREQ(sessionstore::non_finite_numbers_name(sessionstore::NonFiniteNumbers::Null), "null");

  Store lenient = Store::open(Mode::Agent, sessionstore::NonFiniteNumbers::Null);
  json stored = json::parse(lenient.upsert(python));
  EXPECT_EQ(stored["metrics"], json::parse(R"({"a":null,"b":null,"c":null})"));
  EXPECT_EQ(stored["s"], "NaN") << "strings are left alone";
  EXPECT_EQ(json::parse(lenient.export_json())["m"]["metrics"]["b"], nullptr);
  EXPECT_EQ(json::parse(lenient.upsert_many("[" + python + "]"))[0]["metrics"]["c"], nullptr);

  Store team = Store::open(Mode::Team, 4096, sessionstore::NonFiniteNumbers::Null);
  EXPECT_EQ(json::parse(team.stats())["mode"], "team");
  EXPECT_EQ(json::parse(team.upsert(python))["metrics"]["a"], nullptr);
  error_of(Status::TooLarge, [&] { team.upsert(json{{"session_id", "big"}, {"pad", std::string(5000, 'x')}}.dump()); });
  EXPECT_EQ(json::parse(Store::from_config(R"({"non_finite_numbers":"null"})").upsert(python))["metrics"]["a"], nullptr);
  error_of(Status::InvalidArgument, [] { Store::from_config(R"({"non_finite_numbers":"zero"})"); });
}

TEST(Stats, CountsEveryType) {
  Store s = Store::open();
  s.upsert(R"({"session_id":"a"})");
  s.share(Mode::Workflow).upsert(R"({"session_id":"w","workflow_id":"wf"})");
  json st = json::parse(s.stats());
  EXPECT_EQ(st["mode"], "agent");
  EXPECT_EQ(st["sessions"], 2);
  EXPECT_GT(st["bytes"].get<long>(), 0);
  EXPECT_EQ(st["by_type"], json({{"agent", 1}, {"team", 0}, {"workflow", 1}, {"workflow_v2", 0}}));
  EXPECT_EQ(st["feed"]["latest"], 2);
  EXPECT_EQ(st["feed"]["kept"], 2);
  EXPECT_EQ(st["feed"]["budget"], sessionstore::default_feed_bytes);
  EXPECT_EQ(json::parse(s.stats<OwnedString>().view())["sessions"], 2);
}

TEST(ExportImport, RoundTripIntoANewStore) {
  Store s = Store::open();
  s.upsert(agent_session("s1", "u1", "a1", 1234));
  s.share(Mode::Team).upsert(R"({"session_id":"t1","team_id":"team","created_at":55})");
  std::string dump = s.export_json();
  json exported = json::parse(dump);
  ASSERT_EQ(exported.size(), 2u);
  EXPECT_EQ(exported["t1"]["session_type"], "team");
  EXPECT_EQ(json::parse(s.export_json<OwnedString>().view()), exported);

  Store fresh = Store::open();
  EXPECT_EQ(fresh.import_json(dump), 2u);
  // Everything is kept as given (timestamps included) except "version", numbered by the importing store
  // (here the same numbers, 1 and 2: the records in order, one change each).
  EXPECT_EQ(json::parse(fresh.export_json()), exported) << "timestamps kept as given";
  Store later = Store::open();
  later.upsert(R"({"session_id":"other"})");
  EXPECT_EQ(later.import_json(dump), 2u);
  EXPECT_EQ(json::parse(*later.read("s1"))["version"], 2) << "the importing store's own number";
  EXPECT_EQ(json::parse(*later.share(Mode::Team).read("t1"))["version"], 3);
  EXPECT_EQ(json::parse(*fresh.read("s1"))["created_at"], 1234);
  EXPECT_TRUE(fresh.share(Mode::Team).read("t1").has_value());
  EXPECT_EQ(fresh.import_json("{}"), 0u);
  EXPECT_EQ(fresh.import_json(R"({"n1":{"session_id":"n1"}})"), 1u);
  EXPECT_EQ(json::parse(*fresh.read("n1"))["session_type"], "agent") << "records without a type take the mode";
}

TEST(Share, SameDataAnyMode) {
  Store agents = Store::open();
  Store same = agents.share();
  Store by_name = agents.share("team");
  Store by_view = agents.share(std::string_view("workflow_v2xx").substr(0, 11));
  Store by_null = agents.share(nullptr);
  Store teams = agents.share(Mode::Team);
  EXPECT_EQ(json::parse(same.stats())["mode"], "agent");
  EXPECT_EQ(json::parse(by_null.stats())["mode"], "agent");
  EXPECT_EQ(json::parse(by_name.stats())["mode"], "team");
  EXPECT_EQ(json::parse(by_view.stats())["mode"], "workflow_v2");
  same.upsert(R"({"session_id":"s"})");
  EXPECT_TRUE(agents.read("s").has_value());
  teams.upsert(R"({"session_id":"t"})");
  EXPECT_TRUE(by_name.read("t").has_value());
  EXPECT_EQ(json::parse(agents.stats())["sessions"], 2);
}

TEST(Share, DataLivesUntilTheLastHandleCloses) {
  Store second;
  {
    Store first = Store::open();
    first.upsert(R"({"session_id":"kept"})");
    second = first.share();
  }
  EXPECT_TRUE(second.read("kept").has_value());
  Store third = second.share();
  second.close();
  EXPECT_TRUE(third.read("kept").has_value());
}

TEST(Version, RuntimeMatchesHeader) {
  EXPECT_EQ(Store::version(), sessionstore::header_version);
  EXPECT_EQ(sessionstore::version(), std::string_view(ss_version()));
}
