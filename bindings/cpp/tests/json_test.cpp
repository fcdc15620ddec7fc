// The nlohmann::json overloads (compiled only where <nlohmann/json.hpp> is available).
#include <sessionstore.hpp>

#include <gtest/gtest.h>

#if !SESSIONSTORE_HAS_NLOHMANN
#error "json_test.cpp needs <nlohmann/json.hpp> (make test installs nlohmann-json3-dev)"
#endif

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

using nlohmann::json;
using nlohmann::ordered_json;
using sessionstore::Mode;
using sessionstore::Status;
using sessionstore::Store;

TEST(Json, UpsertTakesAndReturnsJson) {
  Store s = Store::open();
  json in = {{"session_id", "j1"}, {"user_id", "u"}, {"agent_id", "a"}, {"memory", {{"runs", {1, 2, 3}}}}};
  static_assert(std::is_same_v<decltype(s.upsert(in)), json>);
  json stored = s.upsert(in);
  EXPECT_EQ(stored["session_type"], "agent");
  EXPECT_EQ(stored["memory"]["runs"], json({1, 2, 3}));
  EXPECT_TRUE(stored.contains("created_at"));
}

TEST(Json, StringInputCanAskForJsonOutput) {
  Store s = Store::open();
  static_assert(std::is_same_v<decltype(s.upsert("{}")), std::string>);
  static_assert(std::is_same_v<decltype(s.upsert<json>("{}")), json>);
  static_assert(std::is_same_v<decltype(s.upsert<json>(std::string("{}"))), json>);
  json stored = s.upsert<json>(std::string(R"({"session_id":"j2"})"));
  EXPECT_EQ(stored["session_id"], "j2");
  json many = s.upsert_many<json>(R"([{"session_id":"j3"}])");
  EXPECT_EQ(many.size(), 1u);
}

TEST(Json, UpsertManyQueryDeleteImport) {
  Store s = Store::open();
  json batch = json::array();
  for (int i = 0; i < 5; ++i)
    batch.push_back({{"session_id", "b" + std::to_string(i)}, {"user_id", "u"}, {"created_at", 100 + i}});
  json stored = s.upsert_many(batch);
  ASSERT_TRUE(stored.is_array());
  EXPECT_EQ(stored.size(), 5u);

  json page = s.query(json{{"user_id", "u"}, {"sort_order", "asc"}, {"limit", 2}, {"offset", 1}});
  EXPECT_EQ(page["total"], 5);
  EXPECT_EQ(page["sessions"][0]["session_id"], "b1");
  json everything = s.query<json>();
  EXPECT_EQ(everything["total"], 5);

  EXPECT_EQ(s.delete_sessions(json{"b0", "b1", "missing"}), 2u);

  json exported = s.export_json<json>();
  EXPECT_EQ(exported.size(), 3u);
  Store other = Store::open();
  EXPECT_EQ(other.import_json(exported), 3u);
  // An import keeps everything but "version", which each store numbers itself: one change per record.
  json imported = other.export_json<json>();
  std::vector<std::uint64_t> versions;
  for (auto* side : {&imported, &exported}) {
    for (auto& record : *side) {
      if (side == &imported) versions.push_back(record.at("version").get<std::uint64_t>());
      record.erase("version");
    }
  }
  EXPECT_EQ(imported, exported);
  EXPECT_EQ(versions, (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST(Json, OwnershipUserScopedDeletesAndProjections) {
  Store s = Store::open();
  Store teams = s.share(Mode::Team);
  s.upsert_many(json::array({{{"session_id", "a1"}, {"user_id", "ava"}, {"memory", {{"runs", {1, 2}}}}},
                             {{"session_id", "a2"}, {"user_id", "ava"}},
                             {{"session_id", "b1"}, {"user_id", "bob"}}}));
  teams.upsert(json{{"session_id", "t1"}, {"user_id", "ava"}, {"team_id", "hn"},
                    {"session_data", {{"session_name", "Team talk"}}}});
  try {
    s.upsert_many(json::array({{{"session_id", "a2"}, {"user_id", "ava"}}, {{"session_id", "b1"}, {"user_id", "ava"}}}));
    FAIL() << "expected PERMISSION_DENIED";
  } catch (const sessionstore::Error& e) {
    EXPECT_EQ(e.code(), Status::PermissionDenied);
    EXPECT_NE(e.message().find("sessions[1]"), std::string_view::npos) << e.what();
  }
  EXPECT_EQ((*s.read<json>("b1"))["user_id"], "bob");

  // Across types, metadata only: the transcript and the rest of session_data are left out.
  json page = s.query(json{{"session_type", "any"}, {"fields", "metadata"}, {"user_id", "ava"}, {"sort_by", "session_id"},
                           {"sort_order", "asc"}});
  EXPECT_EQ(page["total"], 3);
  ASSERT_EQ(page["sessions"].size(), 3u);
  EXPECT_EQ(page["sessions"][0]["session_id"], "a1");
  EXPECT_FALSE(page["sessions"][0].contains("memory"));
  EXPECT_EQ(page["sessions"][2]["session_type"], "team");
  EXPECT_EQ(page["sessions"][2]["team_id"], "hn");
  EXPECT_EQ(page["sessions"][2]["session_data"], json({{"session_name", "Team talk"}}));
  ordered_json ids = s.query(ordered_json{{"session_type", {"agent", "team"}}, {"fields", {"session_id"}},
                                   {"sort_by", "session_id"}, {"limit", 2}});
  EXPECT_EQ(ids["total"], 4);
  EXPECT_EQ(ids["sessions"], ordered_json::parse(R"([{"session_id":"t1"},{"session_id":"b1"}])"));

  EXPECT_EQ(s.delete_sessions(json{"a1", "b1"}, "bob"), 1u);
  EXPECT_EQ(s.delete_sessions(json{"a1", "a2"}, std::string("ava")), 2u);
  EXPECT_EQ(s.get_all_session_ids<json>(), json::array());
}

TEST(Json, ResultTypesOfTheReadingMethods) {
  Store s = Store::open();
  s.upsert(json{{"session_id", "r1"}, {"user_id", "u"}, {"agent_id", "a"}, {"created_at", 10}});
  s.upsert(json{{"session_id", "r2"}, {"user_id", "u"}, {"agent_id", "a"}, {"created_at", 20}});
  std::optional<json> r = s.read<json>("r1");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["created_at"], 10);
  EXPECT_FALSE(s.read<json>("absent"));
  EXPECT_EQ(s.get_all_session_ids<json>().get<std::vector<std::string>>(), (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ(s.get_all_sessions<json>("u", "a").size(), 2u);
  EXPECT_EQ(s.get_recent_sessions<json>("u", {}, 1)[0]["session_id"], "r2");
  EXPECT_EQ(s.stats<json>()["sessions"], 2);
  EXPECT_EQ(s.rename_session<json>("r1", "Named")["session_data"]["session_name"], "Named");
  EXPECT_EQ(s.rename_session<json>("r1", "Mine", "u")["session_data"]["session_name"], "Mine");
}

TEST(Json, OrderedJsonKeepsKeyOrder) {
  Store s = Store::open();
  ordered_json in;
  in["session_id"] = "o1";
  in["zeta"] = 1;
  in["alpha"] = 2;
  ordered_json stored = s.upsert(in);
  static_assert(std::is_same_v<decltype(s.upsert(in)), ordered_json>);
  std::vector<std::string> keys;
  for (auto it = stored.begin(); it != stored.end(); ++it) keys.push_back(it.key());
  ASSERT_GE(keys.size(), 3u);
  EXPECT_EQ(keys[0], "session_id");
  EXPECT_EQ(keys[1], "zeta");
  EXPECT_EQ(keys[2], "alpha");
  EXPECT_EQ(s.read<ordered_json>("o1")->begin().key(), "session_id");
}

TEST(Json, FromConfig) {
  Store lenient = Store::from_config(json{{"non_finite_numbers", "null"}});
  EXPECT_EQ(lenient.upsert<json>(R"({"session_id":"n","loss":NaN})")["loss"], nullptr);
  Store s = Store::from_config(json{{"mode", "team"}, {"max_session_bytes", 100}});
  EXPECT_EQ(s.stats<json>()["mode"], "team");
  try {
    s.upsert(json{{"session_id", "x"}, {"pad", std::string(200, 'p')}});
    FAIL() << "expected TOO_LARGE";
  } catch (const sessionstore::Error& e) {
    EXPECT_EQ(e.code(), Status::TooLarge);
  }
  try {
    Store::from_config(json{{"mode", "team"}, {"typo", true}});
    FAIL() << "expected INVALID_ARGUMENT";
  } catch (const sessionstore::Error& e) {
    EXPECT_EQ(e.code(), Status::InvalidArgument);
  }
}

TEST(Json, ErrorsPropagate) {
  Store agents = Store::open();
  Store teams = agents.share(Mode::Team);
  agents.upsert(json{{"session_id", "same"}});
  EXPECT_THROW(teams.upsert(json{{"session_id", "same"}}), sessionstore::Error);
  EXPECT_THROW(agents.upsert(json::array()), sessionstore::Error);
  EXPECT_THROW(agents.query(json{{"nope", 1}}), sessionstore::Error);
  EXPECT_THROW(agents.delete_sessions(json{{"not", "an array"}}), sessionstore::Error);
  EXPECT_THROW(agents.import_json(json::array()), sessionstore::Error);
  // nlohmann refuses to serialise invalid UTF-8 itself, before the library is called; the binding
  // reports it as its own Error (NlohmannArgumentsItCannotSerialiseThrowInvalidArgument).
  EXPECT_THROW(agents.upsert(json{{"session_id", "\xff"}}), sessionstore::Error);
  // Moved-from stores throw Closed from the json overloads too.
  Store gone = std::move(agents);
  try {
    agents.upsert(json{{"session_id", "x"}});  // NOLINT(bugprone-use-after-move)
    FAIL();
  } catch (const sessionstore::Error& e) {
    EXPECT_EQ(e.code(), Status::Closed);
  }
}

namespace {

// Expects `f` to throw sessionstore::Error with `code` and a message containing `text`.
void expect_error(Status code, std::string_view text, const std::function<void()>& f) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected " << sessionstore::status_name(code);
  } catch (const sessionstore::Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(e.message().find(text), std::string_view::npos) << e.what();
  }
}

}  // namespace

// The store keeps 1e400 and lone surrogate escapes verbatim in free-form fields (docs/bad-input.md);
// nlohmann::json cannot hold them, and its parser's exceptions used to escape from every overload.
TEST(Json, StoredValuesNlohmannCannotHoldThrowInvalidJson) {
  constexpr std::string_view cannot = "the stored JSON cannot be represented by nlohmann::json";
  for (std::string memory : {R"({"n":1e400})", R"({"n":[-1e400]})", R"({"s":"\ud800"})", R"({"s":"\udc00\u0041"})"}) {
    SCOPED_TRACE(memory);
    const std::string session = R"({"session_id":"big","memory":)" + memory + "}";
    Store s = Store::open();
    s.upsert(R"({"session_id":"fine","user_id":"u"})");
    expect_error(Status::InvalidJson, cannot, [&] { s.upsert<json>(session); });
    EXPECT_NE(s.read("big")->find(R"("memory":)" + memory), std::string::npos) << "stored verbatim: " << *s.read("big");
    expect_error(Status::InvalidJson, cannot, [&] { s.read<json>("big"); });
    expect_error(Status::InvalidJson, cannot, [&] { s.read<ordered_json>("big"); });
    expect_error(Status::InvalidJson, cannot, [&] { s.get_all_sessions<json>(); });
    expect_error(Status::InvalidJson, cannot, [&] { s.get_recent_sessions<ordered_json>({}, {}, sessionstore::all); });
    expect_error(Status::InvalidJson, cannot, [&] { s.query<json>(); });
    expect_error(Status::InvalidJson, cannot, [&] { s.query(json::object()); });
    expect_error(Status::InvalidJson, cannot, [&] { s.export_json<json>(); });
    expect_error(Status::InvalidJson, cannot, [&] { s.rename_session<json>("big", "Big"); });
    expect_error(Status::InvalidJson, cannot, [&] { s.upsert_many<json>("[" + session + "]"); });
    // The other sessions and result types are unaffected.
    EXPECT_EQ((*s.read<json>("fine"))["user_id"], "u");
    EXPECT_EQ(s.get_all_sessions<json>("u").size(), 1u);
    EXPECT_NE(s.get_all_sessions().find(R"("session_id":"big")"), std::string::npos);
  }
}

TEST(Json, NlohmannArgumentsItCannotSerialiseThrowInvalidArgument) {
  constexpr std::string_view cannot = "nlohmann::json cannot serialise the argument";
  Store s = Store::open();
  const json bad = {{"session_id", "s"}, {"memory", "\xed\xa0\x80"}};  // an encoded lone surrogate
  expect_error(Status::InvalidArgument, cannot, [&] { s.upsert(bad); });
  expect_error(Status::InvalidArgument, cannot, [&] { s.upsert(ordered_json{{"session_id", "\xff"}}); });
  expect_error(Status::InvalidArgument, cannot, [&] { s.upsert_many(json::array({bad})); });
  expect_error(Status::InvalidArgument, cannot, [&] { s.query(json{{"user_id", "\xc0\xaf"}}); });
  expect_error(Status::InvalidArgument, cannot, [&] { s.delete_sessions(json{"ok", "\xff"}); });
  expect_error(Status::InvalidArgument, cannot, [&] { s.import_json(json{{"s", bad}}); });
  expect_error(Status::InvalidArgument, cannot, [&] { Store::from_config(json{{"mode", "\xff"}}); });
  EXPECT_EQ(s.stats<json>()["sessions"], 0);
}
