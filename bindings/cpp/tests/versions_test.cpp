// 0.3.0: the "version" member, the conditional writes (upsert_if, rename_session_if, delete_session_if),
// append_runs, the change feed (changes) and export_with_seq, the feed_bytes option (Options) and the
// "feed" member of stats(). The threaded appends and compare-and-set loops are in concurrency_test.cpp.
#include <sessionstore.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

using nlohmann::json;
using sessionstore::Error;
using sessionstore::ExportWithSeq;
using sessionstore::Mode;
using sessionstore::Options;
using sessionstore::OwnedString;
using sessionstore::Status;
using sessionstore::Store;

namespace {

template <class F>
Error expect_error(Status code, F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e;
  }
  ADD_FAILURE() << "no exception; expected " << sessionstore::status_name(code);
  return Error(Status::Ok, "none");
}

std::uint64_t version_of(const std::string& session_json) {
  return json::parse(session_json).at("version").get<std::uint64_t>();
}

// The store's identity (the "store" of stats()'s "feed"), checked: 32 hexadecimal digits, and the "store"
// of changes() too, in every result type.
std::string store_id(const Store& s) {
  const json feed = s.stats<json>()["feed"];
  const std::string id = feed.at("store");
  EXPECT_EQ(id.size(), 32u) << feed;
  EXPECT_EQ(id.find_first_not_of("0123456789abcdefABCDEF"), std::string::npos) << feed;
  const std::uint64_t latest = feed.at("latest");
  EXPECT_EQ(s.changes<json>(latest)["store"], id);
  EXPECT_EQ(s.changes<json>(latest, 1, true)["store"], id);
  EXPECT_EQ(json::parse(s.changes<OwnedString>(latest).view())["store"], id);
  EXPECT_EQ(s.changes<nlohmann::ordered_json>(latest).back(), id) << "the last member";
  EXPECT_EQ(s.stats<nlohmann::ordered_json>()["feed"].begin().key(), "store") << "the first member of \"feed\"";
  return id;
}

// The text of an empty page of the feed: after == latest.
std::string no_changes(std::uint64_t n, const std::string& id) {
  return R"({"changes":[],"next":)" + std::to_string(n) + R"(,"latest":)" + std::to_string(n) + R"(,"store":")" + id +
         R"("})";
}

// Applies one change of the feed to a mirror keyed by session_id (the shape of an export).
void apply(json& mirror, const json& change) {
  const std::string op = change.at("op");
  if (op == "upsert") {
    mirror[change.at("session_id").get<std::string>()] = change.at("session");
  } else if (op == "delete" || op == "expire" || op == "evict") {  // 0.4.0: a bound removed it
    mirror.erase(change.at("session_id").get<std::string>());
  } else if (op == "drop") {
    for (auto it = mirror.begin(); it != mirror.end();) {
      if ((*it)["session_type"] == change.at("session_type")) {
        it = mirror.erase(it);
      } else {
        ++it;
      }
    }
  } else {
    ADD_FAILURE() << "unknown op: " << change;
  }
}

// Follows the feed from `after` to its end, `page` changes at a time, applying each to `mirror`; checks
// that the numbers follow one another. Returns the last number applied.
std::uint64_t follow(const Store& s, json& mirror, std::uint64_t after, std::size_t page) {
  for (;;) {
    const json batch = s.changes<json>(after, page);
    for (const json& change : batch.at("changes")) {
      EXPECT_EQ(change.at("seq").get<std::uint64_t>(), after + 1) << "no gap, no repeat";
      after = change.at("seq").get<std::uint64_t>();
      apply(mirror, change);
    }
    EXPECT_EQ(batch.at("next").get<std::uint64_t>(), after);
    if (batch.at("changes").empty()) return after;
  }
}

}  // namespace

// --- versions ---------------------------------------------------------------------------------------------

TEST(Versions, GrowWithEveryWriteOfASession) {
  Store s = Store::open();
  Store team = s.share(Mode::Team);
  const std::uint64_t v1 = version_of(s.upsert(R"({"session_id":"a","memory":{"runs":[]}})"));
  EXPECT_EQ(v1, 1u) << "the first change of a new store";
  const std::uint64_t other = version_of(team.upsert(R"({"session_id":"t"})"));
  EXPECT_EQ(other, 2u) << "one numbering for the whole store, every type";
  const std::uint64_t v2 = version_of(s.upsert(R"({"session_id":"a","memory":{"runs":[]}})"));
  const std::uint64_t v3 = version_of(s.rename_session("a", "named"));
  const std::uint64_t v4 = version_of(s.append_runs("a", R"([{"input":"hi"}])"));
  EXPECT_LT(v1, v2);
  EXPECT_LT(v2, v3);
  EXPECT_LT(v3, v4);
  EXPECT_EQ(version_of(*s.read("a")), v4) << "read gives the stored version";
  const json batch = s.upsert_many<json>(R"([{"session_id":"b"},{"session_id":"a"}])");
  EXPECT_EQ(batch[0]["version"].get<std::uint64_t>() + 1, batch[1]["version"].get<std::uint64_t>())
      << "a batch is one change per session";
  EXPECT_GT(batch[1]["version"].get<std::uint64_t>(), v4);
}

TEST(Versions, TheMemberIsSetByTheStoreWhereverItStands) {
  Store s = Store::open();
  // Absent: appended at the end; present (a session read back and sent again): replaced where it stands.
  const std::string first = s.upsert(R"({"session_id":"a","x":1})");
  EXPECT_EQ(first.substr(first.size() - std::string(R"(,"version":1})").size()), R"(,"version":1})") << first;
  const std::string second = s.upsert(R"({"session_id":"a","version":1,"x":2})");
  EXPECT_NE(second.find(R"({"session_id":"a","version":2,"x":2)"), std::string::npos) << second;
  EXPECT_NE(s.upsert(R"({"session_id":"a","version":null})").find(R"("version":3)"), std::string::npos);
  EXPECT_NE(s.upsert(R"({"session_id":"a","version":12345})").find(R"("version":4)"), std::string::npos)
      << "an input version is replaced, whatever it says";
  for (const char* bad : {R"({"session_id":"a","version":-1})", R"({"session_id":"a","version":1.5})",
                          R"({"session_id":"a","version":"4"})", R"({"session_id":"a","version":{}})"}) {
    SCOPED_TRACE(bad);
    expect_error(Status::InvalidSession, [&] { s.upsert(bad); });
  }
  EXPECT_EQ(version_of(*s.read("a")), 4u) << "nothing changed";
}

// --- conditional writes -------------------------------------------------------------------------------------

TEST(ConditionalWrites, UpsertIfZeroCreatesOnly) {
  Store s = Store::open();
  const std::string created = s.upsert_if(R"({"session_id":"s","n":1})", 0);
  const std::uint64_t v1 = version_of(created);
  EXPECT_EQ(v1, 1u);
  const std::string before = s.export_json();
  expect_error(Status::VersionMismatch, [&] { s.upsert_if(R"({"session_id":"s","n":2})", 0); });
  EXPECT_EQ(s.export_json(), before) << "a second create changes nothing";
  // The expected version must be the stored one: older, newer and made-up ones are refused.
  for (std::uint64_t wrong : {v1 + 1, std::uint64_t{99}, UINT64_MAX}) {
    expect_error(Status::VersionMismatch, [&] { s.upsert_if<void>(R"({"session_id":"s","n":3})", wrong); });
  }
  EXPECT_EQ(s.export_json(), before);
  const std::uint64_t v2 = version_of(s.upsert_if(R"({"session_id":"s","n":4})", v1));
  EXPECT_GT(v2, v1);
  expect_error(Status::VersionMismatch, [&] { s.upsert_if(R"({"session_id":"s","n":5})", v1); });  // stale
  EXPECT_EQ(json::parse(*s.read("s"))["n"], 4);
  // Result types.
  OwnedString owned = s.upsert_if<OwnedString>(R"({"session_id":"o"})", 0);
  EXPECT_EQ(json::parse(owned.view())["session_id"], "o");
  EXPECT_EQ(s.upsert_if<json>(R"({"session_id":"j"})", 0)["session_type"], "agent");
}

TEST(ConditionalWrites, UpsertIfWithNlohmann) {
  Store s = Store::open();
  json session = s.upsert_if(json{{"session_id", "n"}, {"memory", {{"runs", json::array()}}}}, 0);
  static_assert(std::is_same_v<decltype(s.upsert_if(session, 0)), json>);
  session["memory"]["runs"].push_back({{"input", "hi"}});
  const std::uint64_t read_version = session["version"];
  json stored = s.upsert_if(session, read_version);  // the input's "version" is replaced by the new one
  EXPECT_GT(stored["version"].get<std::uint64_t>(), read_version);
  EXPECT_EQ(stored["memory"]["runs"].size(), 1u);
  expect_error(Status::VersionMismatch, [&] { s.upsert_if(session, read_version); });
  nlohmann::ordered_json ordered = s.upsert_if(nlohmann::ordered_json{{"session_id", "o"}, {"z", 1}}, 0);
  EXPECT_EQ(ordered.begin().key(), "session_id");
  EXPECT_EQ(ordered.back(), 3) << "version is the last member, appended: " << ordered;
}

TEST(ConditionalWrites, RenameIf) {
  Store s = Store::open();
  const std::uint64_t v1 = version_of(s.upsert(R"({"session_id":"r","user_id":"ava"})"));
  const std::string before = s.export_json();
  expect_error(Status::VersionMismatch, [&] { s.rename_session_if("r", "stale", v1 + 1); });
  expect_error(Status::VersionMismatch, [&] { s.rename_session_if("r", "zero", 0); });  // it exists
  // A session the call cannot see (absent, another user's, another type) has version 0: expecting 0 is
  // NotFound, expecting another version a mismatch.
  expect_error(Status::NotFound, [&] { s.rename_session_if("absent", "x", 0); });
  expect_error(Status::NotFound, [&] { s.rename_session_if("r", "bob's", 0, "bob"); });
  expect_error(Status::NotFound, [&] { s.share(Mode::Team).rename_session_if("r", "team", 0); });
  expect_error(Status::VersionMismatch, [&] { s.rename_session_if("absent", "x", v1); });
  expect_error(Status::VersionMismatch, [&] { s.rename_session_if("r", "bob's", v1, "bob"); });
  expect_error(Status::VersionMismatch, [&] { s.share(Mode::Team).rename_session_if("r", "team", v1); });
  EXPECT_EQ(s.export_json(), before) << "nothing changed";
  const json renamed = s.rename_session_if<json>("r", "Trip", v1, "ava");
  EXPECT_EQ(renamed["session_data"]["session_name"], "Trip");
  const std::uint64_t v2 = renamed["version"];
  EXPECT_GT(v2, v1);
  expect_error(Status::VersionMismatch, [&] { s.rename_session_if("r", "again", v1); });
  s.rename_session_if<void>("r", "Again", v2, std::string("ava"));
  EXPECT_EQ(json::parse(*s.read("r"))["session_data"]["session_name"], "Again");
  EXPECT_EQ(json::parse(s.rename_session_if(std::string_view("r"), "Third", version_of(*s.read("r"))))["session_data"]
                ["session_name"],
            "Third");
}

TEST(ConditionalWrites, DeleteIf) {
  Store s = Store::open();
  EXPECT_EQ(s.delete_session_if("absent", 0), 0u) << "0: must not exist, and it does not";
  const std::uint64_t v1 = version_of(s.upsert(R"({"session_id":"d","user_id":"ava"})"));
  const std::string before = s.export_json();
  expect_error(Status::VersionMismatch, [&] { s.delete_session_if("d", 0); });
  expect_error(Status::VersionMismatch, [&] { s.delete_session_if("d", v1 + 1); });
  EXPECT_EQ(s.export_json(), before) << "nothing changed";
  // Another user's session is not visible to the call: version 0, so nothing is removed.
  EXPECT_EQ(s.delete_session_if("d", 0, "bob"), 0u);
  expect_error(Status::VersionMismatch, [&] { s.delete_session_if("d", v1, "bob"); });
  EXPECT_TRUE(s.read("d").has_value());
  const std::uint64_t v2 = version_of(s.upsert(R"({"session_id":"d","user_id":"ava","n":2})"));
  expect_error(Status::VersionMismatch, [&] { s.delete_session_if("d", v1, "ava"); });  // stale
  EXPECT_EQ(s.delete_session_if("d", v2, std::string_view("ava")), 1u);
  EXPECT_FALSE(s.read("d").has_value());
  EXPECT_EQ(s.delete_session_if("d", 0, std::nullopt), 0u);
}

// --- append_runs ----------------------------------------------------------------------------------------------

TEST(AppendRuns, AddsToTheTranscriptOfEachType) {
  Store s = Store::open();
  s.upsert(R"({"session_id":"a","user_id":"ava","memory":{"runs":[{"n":0}],"summary":"kept"},"x":"kept"})");
  const json stored = json::parse(s.append_runs("a", R"([{"n":1},{"n":2}])"));
  EXPECT_EQ(stored["memory"]["runs"], json::parse(R"([{"n":0},{"n":1},{"n":2}])"));
  EXPECT_EQ(stored["memory"]["summary"], "kept");
  EXPECT_EQ(stored["x"], "kept");
  EXPECT_EQ(json::parse(*s.read("a")), stored);
  s.append_runs<void>("a", "[3]", "ava");
  EXPECT_EQ(json::parse(s.append_runs<OwnedString>(std::string("a"), "[4]").view())["memory"]["runs"].size(), 5u);
  expect_error(Status::NotFound, [&] { s.append_runs("a", "[5]", "bob"); });  // another user's
  EXPECT_EQ(json::parse(*s.read("a"))["memory"]["runs"].size(), 5u);
  // A missing or null memory / runs is created.
  s.upsert(R"({"session_id":"bare"})");
  s.upsert(R"({"session_id":"nulls","memory":null})");
  EXPECT_EQ(json::parse(s.append_runs("bare", "[1]"))["memory"], json::parse(R"({"runs":[1]})"));
  EXPECT_EQ(json::parse(s.append_runs("nulls", "[1]"))["memory"], json::parse(R"({"runs":[1]})"));
  // Team and workflow sessions keep memory.runs; workflow_v2 sessions keep a top-level runs.
  Store team = s.share(Mode::Team);
  team.upsert(R"({"session_id":"t"})");
  EXPECT_EQ(json::parse(team.append_runs("t", "[1]"))["memory"]["runs"], json::array({1}));
  Store v2 = s.share(Mode::WorkflowV2);
  v2.upsert(R"({"session_id":"w","runs":[0]})");
  const json w = json::parse(v2.append_runs("w", R"([1,{"step":2}])"));
  EXPECT_EQ(w["runs"], json::parse(R"([0,1,{"step":2}])"));
  EXPECT_FALSE(w.contains("memory"));
  expect_error(Status::NotFound, [&] { s.append_runs("w", "[1]"); });  // another type
}

TEST(AppendRuns, WithNlohmann) {
  Store s = Store::open();
  s.upsert(json{{"session_id", "n"}, {"user_id", "ava"}});
  const json runs = json::array({{{"input", "a"}}, {{"input", "b"}}});
  json stored = s.append_runs("n", runs);
  static_assert(std::is_same_v<decltype(s.append_runs("n", runs)), json>);
  EXPECT_EQ(stored["memory"]["runs"], runs);
  stored = s.append_runs(std::string("n"), json::array({3}), "ava");
  EXPECT_EQ(stored["memory"]["runs"].size(), 3u);
  expect_error(Status::InvalidArgument, [&] { s.append_runs("n", json::array()); });
  expect_error(Status::InvalidArgument, [&] { s.append_runs("n", json{{"input", "not an array"}}); });
  expect_error(Status::InvalidArgument, [&] { s.append_runs("n", json::array({"\xff"})); });  // nlohmann cannot serialise it
  EXPECT_EQ(s.append_runs<json>("n", "[4]")["memory"]["runs"].size(), 4u);
}

// --- the change feed ------------------------------------------------------------------------------------------

TEST(Feed, ChangesInOrderWithTheirFields) {
  Store s = Store::open();
  const std::string id = store_id(s);
  EXPECT_EQ(s.changes(0), no_changes(0, id));
  Store team = s.share(Mode::Team);
  s.upsert(R"({"session_id":"a","n":1})");          // 1
  team.upsert(R"({"session_id":"t"})");             // 2
  s.rename_session("a", "named");                   // 3
  s.append_runs("a", "[1]");                        // 4
  EXPECT_EQ(s.delete_session("a"), 1u);             // 5
  s.upsert_many(R"([{"session_id":"b"},{"session_id":"c"}])");  // 6, 7
  EXPECT_EQ(team.drop(), 1u);                       // 8

  const json all = s.changes<json>(0);
  EXPECT_EQ(all["next"], 8);
  EXPECT_EQ(all["latest"], 8);
  EXPECT_EQ(all["store"], id);
  const json& c = all["changes"];
  ASSERT_EQ(c.size(), 8u) << all;
  for (std::size_t i = 0; i < c.size(); ++i) EXPECT_EQ(c[i]["seq"], i + 1);
  const std::vector<std::string> ops = {"upsert", "upsert", "upsert", "upsert", "delete", "upsert", "upsert", "drop"};
  const std::vector<std::string> types = {"agent", "team", "agent", "agent", "agent", "agent", "agent", "team"};
  for (std::size_t i = 0; i < c.size(); ++i) {
    EXPECT_EQ(c[i]["op"], ops[i]) << c[i];
    EXPECT_EQ(c[i]["session_type"], types[i]) << c[i];
  }
  EXPECT_EQ(c[0]["session_id"], "a");
  EXPECT_EQ(c[0]["version"], 1);
  EXPECT_EQ(c[0]["session"]["n"], 1);
  EXPECT_EQ(c[0]["session"]["version"], 1) << "the session as that change stored it";
  EXPECT_EQ(c[2]["session"]["session_data"]["session_name"], "named");
  EXPECT_EQ(c[3]["session"]["memory"]["runs"], json::array({1}));
  EXPECT_EQ(c[4], json::parse(R"({"seq":5,"op":"delete","session_type":"agent","session_id":"a"})"));
  EXPECT_EQ(c[6]["session_id"], "c");
  EXPECT_EQ(c[7], json::parse(R"({"seq":8,"op":"drop","session_type":"team"})"));

  // Paging: limit, next, and the text of a page.
  const json page = s.changes<json>(2, 3);
  ASSERT_EQ(page["changes"].size(), 3u);
  EXPECT_EQ(page["changes"][0]["seq"], 3);
  EXPECT_EQ(page["next"], 5);
  EXPECT_EQ(page["latest"], 8);
  EXPECT_EQ(s.changes(8), no_changes(8, id));
  EXPECT_EQ(json::parse(s.changes<OwnedString>(7).view())["changes"].size(), 1u);
  EXPECT_EQ(s.changes<nlohmann::ordered_json>(0, 1)["changes"][0].begin().key(), "seq");
  // The feed covers every type whatever the handle's mode.
  EXPECT_EQ(team.changes<json>(0), all);
}

TEST(Feed, IdsOnlyLeavesTheSessionOut) {
  Store s = Store::open();
  s.upsert(R"({"session_id":"a","big":"...."})");
  s.upsert(R"({"session_id":"b"})");
  EXPECT_EQ(s.changes(1, 1, true),
            R"({"changes":[{"seq":2,"op":"upsert","session_type":"agent","session_id":"b","version":2}],"next":2,"latest":2,)"
            R"("store":")" + store_id(s) + R"("})");
  const json full = s.changes<json>(0, 10, false);
  const json ids = s.changes<json>(0, 10, true);
  ASSERT_EQ(ids["changes"].size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_FALSE(ids["changes"][i].contains("session"));
    json without = full["changes"][i];
    without.erase("session");
    EXPECT_EQ(ids["changes"][i], without);
  }
}

TEST(Feed, LimitIsCappedAtMaxChanges) {
  Store s = Store::open();
  json batch = json::array();
  for (std::size_t i = 0; i < sessionstore::max_changes + 5; ++i) batch.push_back({{"session_id", std::to_string(i)}});
  s.upsert_many<void>(batch.dump());
  const json page = s.changes<json>(0, sessionstore::max_changes * 2, true);
  EXPECT_EQ(page["changes"].size(), sessionstore::max_changes);
  EXPECT_EQ(page["next"], sessionstore::max_changes);
  EXPECT_EQ(page["latest"], sessionstore::max_changes + 5);
  EXPECT_EQ(s.changes<json>(page["next"].get<std::uint64_t>(), sessionstore::max_changes, true)["changes"].size(), 5u)
      << "the default limit";
}

TEST(Feed, ASmallFeedTruncatesOldReaders) {
  Options options;
  options.feed_bytes = 400;
  Store s = Store::open(options);
  EXPECT_EQ(s.stats<json>()["feed"]["budget"], 400);
  for (int i = 0; i < 10; ++i) s.upsert(R"({"session_id":"c","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})");
  const json feed = s.stats<json>()["feed"];
  EXPECT_EQ(feed["latest"], 10);
  EXPECT_GT(feed["oldest"].get<std::uint64_t>(), 1u) << feed;
  EXPECT_LE(feed["bytes"].get<std::uint64_t>(), 400u) << feed;
  const std::uint64_t oldest = feed["oldest"];
  expect_error(Status::FeedTruncated, [&] { s.changes(0); });
  expect_error(Status::FeedTruncated, [&] { s.changes(oldest - 2); });
  const json kept = s.changes<json>(oldest - 1);
  EXPECT_EQ(kept["changes"].size(), feed["kept"].get<std::size_t>());
  EXPECT_EQ(kept["changes"][0]["seq"], oldest);
  // The way back: export_with_seq, then the feed from its number.
  const ExportWithSeq snapshot = s.export_with_seq();
  EXPECT_EQ(snapshot.seq, 10u);
  EXPECT_EQ(s.changes(snapshot.seq), no_changes(10, store_id(s)));
}

TEST(Feed, FeedBytesZeroKeepsNothing) {
  Options options;
  options.mode = Mode::Team;
  options.feed_bytes = 0;
  Store s = Store::open(options);
  EXPECT_EQ(s.stats<json>()["mode"], "team");
  s.upsert(R"({"session_id":"t"})");
  s.upsert(R"({"session_id":"u"})");
  const std::string id = store_id(s);
  EXPECT_EQ(s.changes(2), no_changes(2, id)) << "nothing new";
  expect_error(Status::FeedTruncated, [&] { s.changes(1); });
  const json feed = s.stats<json>()["feed"];
  EXPECT_EQ(feed, json::parse(R"({"store":")" + id + R"(","latest":2,"oldest":3,"kept":0,"bytes":0,"budget":0})"));
}

TEST(Feed, AFreshStoreRefusesANumberFromAnotherLife) {
  Store s = Store::open();
  s.upsert(R"({"session_id":"a"})");
  Store fresh = Store::open();
  expect_error(Status::FeedTruncated, [&] { fresh.changes(1); });
}

TEST(Feed, TheStoreIdentityIsOneAStoreAndNewForAStoreMadeAnew) {
  Store s = Store::open();
  const std::string id = store_id(s);
  Store team = s.share(Mode::Team);
  team.upsert(R"({"session_id":"t"})");
  s.upsert(R"({"session_id":"a"})");
  EXPECT_EQ(store_id(team), id) << "every handle on the store";
  EXPECT_EQ(store_id(s), id) << "writes do not change it";
  const std::string text = s.changes(0);
  EXPECT_EQ(text.substr(text.size() - 44), R"(,"store":")" + id + R"("})") << text;
  EXPECT_NE(s.stats().find(R"("feed":{"store":")" + id + R"(","latest":2,)"), std::string::npos) << s.stats();
  // A store made anew has another identity, even loaded from this one's export (same sessions, same numbers).
  Store copy = Store::open();
  const ExportWithSeq exported = s.export_with_seq();
  EXPECT_EQ(copy.import_json(exported.json), 2u);
  EXPECT_EQ(copy.stats<json>()["feed"]["latest"], exported.seq);
  const std::vector<std::string> ids = {id, store_id(copy), store_id(Store::open()), store_id(Store::open(Mode::Team))};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    for (std::size_t j = i + 1; j < ids.size(); ++j) EXPECT_NE(ids[i], ids[j]) << i << " and " << j;
  }
}

TEST(Feed, StatsExposeTheFeed) {
  Store s = Store::open();
  json feed = s.stats<json>()["feed"];
  EXPECT_EQ(feed, json({{"store", store_id(s)},
                        {"latest", 0},
                        {"oldest", 1},
                        {"kept", 0},
                        {"bytes", 0},
                        {"budget", sessionstore::default_feed_bytes}}));
  s.upsert(R"({"session_id":"a"})");
  EXPECT_EQ(s.delete_session("a"), 1u);
  feed = s.stats<json>()["feed"];
  EXPECT_EQ(feed["latest"], 2);
  EXPECT_EQ(feed["oldest"], 1);
  EXPECT_EQ(feed["kept"], 2);
  EXPECT_GT(feed["bytes"].get<std::uint64_t>(), 2u * 48u);
}

TEST(Options, EveryOptionReachesTheLibrary) {
  Options options;
  options.mode = Mode::WorkflowV2;
  options.max_session_bytes = 200;
  options.non_finite_numbers = sessionstore::NonFiniteNumbers::Null;
  options.feed_bytes = 1234;
  Store s = Store::open(options);
  const json st = s.stats<json>();
  EXPECT_EQ(st["mode"], "workflow_v2");
  EXPECT_EQ(st["feed"]["budget"], 1234);
  EXPECT_TRUE(st["durability"].is_null());
  EXPECT_TRUE(json::parse(s.upsert(R"({"session_id":"w","x":NaN})"))["x"].is_null());
  expect_error(Status::TooLarge, [&] { s.upsert(json{{"session_id", "big"}, {"pad", std::string(300, 'x')}}.dump()); });
  EXPECT_EQ(Store::open(Options{}).stats<json>()["feed"]["budget"], sessionstore::default_feed_bytes);
  EXPECT_EQ(Store::from_config(R"({"feed_bytes":7})").stats<json>()["feed"]["budget"], 7);
}

// --- export_with_seq and mirroring --------------------------------------------------------------------------

TEST(Mirror, ExportWithSeqResultTypes) {
  Store s = Store::open();
  const ExportWithSeq empty = s.export_with_seq();
  static_assert(std::is_same_v<decltype(s.export_with_seq()), ExportWithSeq<std::string>>);
  EXPECT_EQ(empty.json, "{}");
  EXPECT_EQ(empty.seq, 0u);
  s.upsert(R"({"session_id":"a"})");
  s.share(Mode::Team).upsert(R"({"session_id":"t"})");
  const ExportWithSeq<OwnedString> owned = s.export_with_seq<OwnedString>();
  EXPECT_EQ(owned.seq, 2u);
  EXPECT_EQ(owned.json.view(), s.export_json());
  const ExportWithSeq<json> parsed = s.export_with_seq<json>();
  EXPECT_EQ(parsed.seq, 2u);
  EXPECT_EQ(parsed.json, s.export_json<json>());
  EXPECT_EQ(parsed.json["t"]["session_type"], "team") << "every type";
}

TEST(Mirror, ExportThenFeedEqualsAFreshExport) {
  Store s = Store::open();
  Store team = s.share(Mode::Team);
  Store v2 = s.share(Mode::WorkflowV2);
  for (int i = 0; i < 5; ++i) s.upsert(json{{"session_id", "a" + std::to_string(i)}, {"user_id", "ava"}}.dump());
  team.upsert(R"({"session_id":"t0"})");
  const ExportWithSeq<json> start = s.export_with_seq<json>();
  EXPECT_EQ(start.seq, 6u);
  json mirror = start.json;

  // Every kind of write after the export, across types.
  s.upsert(R"({"session_id":"a0","user_id":"ava","n":1})");
  s.rename_session("a1", "named");
  s.append_runs("a2", R"([{"input":"x"}])");
  s.upsert_if(R"({"session_id":"new"})", 0);
  s.rename_session_if("a3", "cas", version_of(*s.read("a3")));
  EXPECT_EQ(s.delete_session("a4"), 1u);
  EXPECT_EQ(s.delete_session_if("new", version_of(*s.read("new"))), 1u);
  EXPECT_EQ(s.delete_sessions({"a0", "absent"}), 1u);
  s.upsert_many(R"([{"session_id":"m1"},{"session_id":"m2"}])");
  EXPECT_EQ(s.import_json(R"({"i1":{"session_id":"i1","session_type":"team","created_at":5}})"), 1u);
  v2.upsert(R"({"session_id":"w","runs":[]})");
  v2.append_runs("w", "[1,2]");
  EXPECT_EQ(team.drop(), 2u);
  team.upsert(R"({"session_id":"t1"})");

  const std::uint64_t last = follow(s, mirror, start.seq, 3);
  EXPECT_EQ(last, s.changes<json>(0, 1, true)["latest"].get<std::uint64_t>());
  EXPECT_EQ(mirror, s.export_json<json>());
}

TEST(Mirror, ExportWhileWritersRunMissesNothingAndRepeatsNothing) {
  Store s = Store::open();
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&, t] {
      Store h = s.share(t == 2 ? Mode::Team : Mode::Agent);
      const std::string prefix = "w" + std::to_string(t) + "-";
      for (int i = 0; !stop.load() || i < 20; ++i) {
        const std::string id = prefix + std::to_string(i % 7);
        try {
          switch (i % 4) {
            case 0: h.upsert(json{{"session_id", id}, {"i", i}}.dump()); break;
            case 1: h.append_runs(id, json::array({i}).dump()); break;
            case 2: h.rename_session(id, "n" + std::to_string(i)); break;
            default: h.delete_session(prefix + std::to_string((i + 3) % 7)); break;
          }
        } catch (const Error& e) {
          if (e.code() != Status::NotFound) ++failures;  // appending to or renaming a deleted session
        }
        ++written;
        if (i > 2000) break;  // bounded under valgrind
      }
    });
  }
  // A mirror started while they write.
  while (written.load() < 30) std::this_thread::yield();
  const ExportWithSeq<json> start = s.export_with_seq<json>();
  json mirror = start.json;
  std::uint64_t at = follow(s, mirror, start.seq, 16);  // catch up while they still write
  stop = true;
  for (auto& w : writers) w.join();
  at = follow(s, mirror, at, 16);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(at, s.export_with_seq().seq);
  EXPECT_EQ(mirror, s.export_json<json>());
}
