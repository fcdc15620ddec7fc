// 0.4.0, bounded memory: the bounds of Options (idle_expiry_s, max_age_s, refresh_on_read, max_sessions,
// max_bytes, user_max_sessions, user_max_bytes, when_full) and the "bounds" member of stats(); expiry
// tested through timestamps (an import keeps "updated_at" as given, an upsert keeps "created_at"), never by
// waiting; eviction of the least recently written, per-user quotas, Status::Full under WhenFull::Refuse,
// the feed's "expire" and "evict" ops; refresh_on_read on a reopened durable store (whose recency starts
// from the sessions' "updated_at", so a read now is a read since the last write, whatever the second).
#include <sessionstore.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

using nlohmann::json;
using sessionstore::Durability;
using sessionstore::Error;
using sessionstore::Mode;
using sessionstore::Options;
using sessionstore::OwnedString;
using sessionstore::Status;
using sessionstore::Store;
using sessionstore::WhenFull;

namespace {

namespace fs = std::filesystem;

template <class F>
Error expect_error(Status code, F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_EQ(static_cast<std::uint32_t>(e.status()), static_cast<std::uint32_t>(code));
    EXPECT_FALSE(e.message().empty());
    return e;
  }
  ADD_FAILURE() << "no exception; expected " << sessionstore::status_name(code);
  return Error(Status::Ok, "none");
}

// A fresh directory, removed with everything in it at the end.
class BoundsDir {
 public:
  BoundsDir() {
    static std::atomic<unsigned> counter{0};
    path_ = fs::temp_directory_path() /
            ("ss-cpp-bounds-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
  }
  ~BoundsDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  BoundsDir(const BoundsDir&) = delete;
  BoundsDir& operator=(const BoundsDir&) = delete;
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

std::string session(const std::string& id, const std::string& user = "") {
  json s{{"session_id", id}};
  if (!user.empty()) s["user_id"] = user;
  return s.dump();
}

json ids(const Store& s) { return json::parse(s.get_all_session_ids()); }

// The removals of a kind ("expire", "evict", "delete") in the whole feed, as "type/id" strings.
std::vector<std::string> removals(const Store& s, const std::string& op) {
  std::vector<std::string> found;
  const json page = s.changes<json>(0, sessionstore::max_changes, true);  // kept: the loop refers into it
  for (const json& c : page["changes"]) {
    if (c["op"] != op) continue;
    EXPECT_EQ(c.size(), 4u) << "{seq, op, session_type, session_id}: " << c;
    EXPECT_TRUE(c["seq"].is_number_unsigned()) << c;
    found.push_back(c["session_type"].get<std::string>() + "/" + c["session_id"].get<std::string>());
  }
  return found;
}

const json kNoBounds = {{"sessions", 0},         {"bytes", 0},         {"max_sessions", nullptr},
                        {"max_bytes", nullptr},  {"user_max_sessions", nullptr},
                        {"user_max_bytes", nullptr}, {"idle_expiry_s", nullptr}, {"max_age_s", nullptr},
                        {"refresh_on_read", false}, {"when_full", "evict"}, {"expired", 0},
                        {"evicted", 0}};

}  // namespace

// --- 1. the options round-trip, and bad values -----------------------------------------------------------

TEST(Bounds, DefaultsAreNoBounds) {
  const Options o;
  EXPECT_EQ(o.idle_expiry_s, 0u);
  EXPECT_EQ(o.max_age_s, 0u);
  EXPECT_FALSE(o.refresh_on_read);
  EXPECT_EQ(o.max_sessions, 0u);
  EXPECT_EQ(o.max_bytes, 0u);
  EXPECT_EQ(o.user_max_sessions, 0u);
  EXPECT_EQ(o.user_max_bytes, 0u);
  EXPECT_EQ(o.when_full, WhenFull::Evict);
  EXPECT_STREQ(sessionstore::when_full_name(WhenFull::Evict), "evict");
  EXPECT_STREQ(sessionstore::when_full_name(WhenFull::Refuse), "refuse");
  EXPECT_STREQ(sessionstore::when_full_name(static_cast<WhenFull>(7)), "");
  EXPECT_EQ(Store::open(o).stats<json>()["bounds"], kNoBounds);
  EXPECT_EQ(Store::open().stats<json>()["bounds"], kNoBounds);
  EXPECT_EQ(Store::from_config("").stats<json>()["bounds"], kNoBounds);
  // "bounds" stands between "feed" and "durability".
  const nlohmann::ordered_json st = Store::open().stats<nlohmann::ordered_json>();
  std::vector<std::string> keys;
  for (auto it = st.begin(); it != st.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"mode", "sessions", "bytes", "by_type", "feed", "bounds", "durability"}));
}

TEST(Bounds, EveryOptionReachesStatsBounds) {
  Options o;
  o.mode = Mode::Team;
  o.idle_expiry_s = 3600;
  o.max_age_s = 86400;
  o.refresh_on_read = true;
  o.max_sessions = 100;
  o.max_bytes = 1u << 20;
  o.user_max_sessions = 10;
  o.user_max_bytes = 65536;
  o.when_full = WhenFull::Refuse;
  Store s = Store::open(o);
  const json expected = {{"sessions", 0},         {"bytes", 0},          {"max_sessions", 100},
                         {"max_bytes", 1u << 20}, {"user_max_sessions", 10}, {"user_max_bytes", 65536},
                         {"idle_expiry_s", 3600}, {"max_age_s", 86400},  {"refresh_on_read", true},
                         {"when_full", "refuse"}, {"expired", 0},        {"evicted", 0}};
  EXPECT_EQ(s.stats<json>()["bounds"], expected);
  EXPECT_EQ(s.stats<json>()["mode"], "team");
  // The same through a config, and through a nlohmann config.
  EXPECT_EQ(Store::from_config(R"({"mode":"team","idle_expiry_s":3600,"max_age_s":86400,"refresh_on_read":true,
      "max_sessions":100,"max_bytes":1048576,"user_max_sessions":10,"user_max_bytes":65536,"when_full":"refuse"})")
                .stats<json>()["bounds"],
            expected);
  EXPECT_EQ(Store::from_config(json{{"max_sessions", 3}, {"when_full", "evict"}}).stats<json>()["bounds"]["max_sessions"], 3);
  // Held sessions and bytes are counted against the bounds, of every type.
  s.upsert(session("t1", "u1"));
  s.share(Mode::Agent).upsert(session("a1"));
  const json st = s.stats<json>();
  EXPECT_EQ(st["bounds"]["sessions"], 2);
  EXPECT_EQ(st["bounds"]["sessions"], st["sessions"]);
  EXPECT_EQ(st["bounds"]["bytes"], st["bytes"]);
  // Options with a durable store carry the bounds too.
  BoundsDir dir;
  Options durable;
  durable.durability = Durability{dir.str()};
  durable.max_sessions = 5;
  const json d = Store::open(durable).stats<json>();
  EXPECT_EQ(d["bounds"]["max_sessions"], 5);
  EXPECT_EQ(d["durability"]["path"], dir.str());
}

TEST(Bounds, BadValuesAreInvalidArgument) {
  // refresh_on_read needs idle_expiry_s (the library says so).
  Options refresh;
  refresh.refresh_on_read = true;
  Error e = expect_error(Status::InvalidArgument, [&] { Store::open(refresh); });
  EXPECT_NE(e.message().find("refresh_on_read"), std::string_view::npos) << e.what();
  refresh.max_age_s = 60;  // max_age_s is not an idle expiry
  expect_error(Status::InvalidArgument, [&] { Store::open(refresh); });
  refresh.idle_expiry_s = 60;
  EXPECT_NO_THROW(Store::open(refresh));
  // A when_full that names no policy, before the library is called.
  Options when;
  when.when_full = static_cast<WhenFull>(7);
  e = expect_error(Status::InvalidArgument, [&] { Store::open(when); });
  EXPECT_NE(e.message().find("Options::when_full"), std::string_view::npos) << e.what();
  // Through a config: negative, fractional, out-of-range or mistyped numbers, unknown when_full, a
  // refresh_on_read that is not a boolean.
  for (const char* key : {"idle_expiry_s", "max_age_s", "max_sessions", "max_bytes", "user_max_sessions",
                          "user_max_bytes"}) {
    const std::string k = key;
    expect_error(Status::InvalidArgument, [&] { Store::from_config(R"({")" + k + R"(":-1})"); });
    expect_error(Status::InvalidArgument, [&] { Store::from_config(R"({")" + k + R"(":1.5})"); });
    expect_error(Status::InvalidArgument, [&] { Store::from_config(R"({")" + k + R"(":"10"})"); });
    expect_error(Status::InvalidArgument, [&] { Store::from_config(R"({")" + k + R"(":null})"); });
    expect_error(Status::InvalidArgument, [&] { Store::from_config(R"({")" + k + R"(":18446744073709551616})"); });
    expect_error(Status::InvalidArgument, [&] { Store::from_config(json{{k, -5}}); });
    EXPECT_NO_THROW(Store::from_config(R"({")" + k + R"(":0})")) << k;
  }
  e = expect_error(Status::InvalidArgument, [] { Store::from_config(R"({"when_full":"drop"})"); });
  EXPECT_NE(e.message().find("when_full"), std::string_view::npos) << e.what();
  expect_error(Status::InvalidArgument, [] { Store::from_config(R"({"when_full":"EVICT"})"); });
  expect_error(Status::InvalidArgument, [] { Store::from_config(R"({"when_full":""})"); });
  expect_error(Status::InvalidArgument, [] { Store::from_config(R"({"when_full":null})"); });
  expect_error(Status::InvalidArgument, [] { Store::from_config(R"({"refresh_on_read":true})"); });
  expect_error(Status::InvalidArgument, [] { Store::from_config(R"({"refresh_on_read":1,"idle_expiry_s":5})"); });
  expect_error(Status::InvalidArgument, [] { Store::from_config(R"({"max_session":3})"); });  // a typo
}

TEST(Bounds, TheLargestValuesOpen) {
  // Any std::uint64_t / std::size_t is accepted; a session written now is alive under the longest expiry.
  Options o;
  o.idle_expiry_s = std::numeric_limits<std::uint64_t>::max();
  o.max_age_s = std::numeric_limits<std::uint64_t>::max();
  o.refresh_on_read = true;
  o.max_sessions = std::numeric_limits<std::size_t>::max();
  o.max_bytes = std::numeric_limits<std::size_t>::max();
  o.user_max_sessions = std::numeric_limits<std::size_t>::max();
  o.user_max_bytes = std::numeric_limits<std::size_t>::max();
  Store s = Store::open(o);
  s.upsert(R"({"session_id":"x","user_id":"u","created_at":1000})");
  EXPECT_TRUE(s.read("x").has_value());
  const json b = s.stats<json>()["bounds"];
  EXPECT_EQ(b["max_sessions"], std::numeric_limits<std::size_t>::max());
  EXPECT_EQ(b["user_max_bytes"], std::numeric_limits<std::size_t>::max());
  EXPECT_GE(b["idle_expiry_s"].get<std::uint64_t>(), std::uint64_t{1} << 62) << b;
}

// --- 2. expiry, without waiting ----------------------------------------------------------------------------

TEST(Bounds, AnIdleSessionIsGoneForEveryCall) {
  Options o;
  o.idle_expiry_s = 3600;
  Store s = Store::open(o);
  // An import keeps "updated_at" as given: 1000 is in 1970, long idle.
  EXPECT_EQ(s.import_json(R"({"old":{"session_id":"old","user_id":"u1","agent_id":"a","updated_at":1000,
                              "memory":{"runs":[]}},
                              "fresh":{"session_id":"fresh","user_id":"u1","agent_id":"a"}})"),
            2u);
  EXPECT_FALSE(s.read("old").has_value());
  EXPECT_FALSE(s.read("old", "u1").has_value());
  EXPECT_FALSE(s.read<OwnedString>("old").has_value());
  EXPECT_FALSE(s.read<json>("old").has_value());
  EXPECT_TRUE(s.read("fresh").has_value());
  EXPECT_EQ(ids(s), json::array({"fresh"}));
  EXPECT_EQ(json::parse(s.get_all_session_ids("u1", "a")), json::array({"fresh"}));
  EXPECT_EQ(json::parse(s.get_all_sessions()).size(), 1u);
  EXPECT_EQ(json::parse(s.get_recent_sessions({}, {}, sessionstore::all)).size(), 1u);
  EXPECT_EQ(json::parse(s.query(R"({"session_type":"any","fields":"metadata"})"))["total"], 1);
  const json exported = json::parse(s.export_json());
  EXPECT_EQ(exported.size(), 1u);
  EXPECT_TRUE(exported.contains("fresh"));
  EXPECT_EQ(s.export_with_seq<json>().json, exported);
  expect_error(Status::NotFound, [&] { s.rename_session("old", "name"); });
  expect_error(Status::NotFound, [&] { s.append_runs("old", "[1]"); });
  EXPECT_EQ(s.delete_session("old"), 0u);
  EXPECT_EQ(s.delete_sessions({"old"}), 0u);
  // Held until reclaimed: stats() counts it, unless the store's reclaimer (about every second) took it.
  json b = s.stats<json>()["bounds"];
  EXPECT_EQ(b["sessions"].get<int>() + b["expired"].get<int>(), 2) << b;
  EXPECT_EQ(b["idle_expiry_s"], 3600);
  // It has no version any more: a create-only write stores a new session in its place, and the feed
  // says it expired before that (whether the reclaimer or the write removed it).
  const json created = json::parse(s.upsert_if(session("old", "u2"), 0));
  EXPECT_EQ(created["user_id"], "u2") << "another user may take the id: the old session is gone";
  EXPECT_NE(created["updated_at"], 1000);
  EXPECT_EQ(removals(s, "expire"), std::vector<std::string>{"agent/old"});
  b = s.stats<json>()["bounds"];
  EXPECT_EQ(b["sessions"], 2);
  EXPECT_EQ(b["expired"], 1);
  EXPECT_TRUE(s.read("old").has_value());
}

TEST(Bounds, ASessionPastItsMaximumAgeIsNotFound) {
  Options o;
  o.max_age_s = 3600;
  Store s = Store::open(o);
  // An upsert keeps "created_at" from its input: the session is stored, and is already too old.
  const json stored = json::parse(s.upsert(R"({"session_id":"m","created_at":1000})"));
  EXPECT_EQ(stored["created_at"], 1000);
  EXPECT_FALSE(s.read("m").has_value());
  EXPECT_EQ(ids(s), json::array());
  EXPECT_EQ(s.export_json(), "{}");
  // Writing the id again starts a new session: "created_at" is not taken from the expired one.
  const json again = json::parse(s.upsert(R"({"session_id":"m"})"));
  EXPECT_NE(again["created_at"], 1000);
  EXPECT_TRUE(s.read("m").has_value());
  EXPECT_EQ(removals(s, "expire"), std::vector<std::string>{"agent/m"});
  // An import with an old "created_at" and a fresh "updated_at" is too old as well: age is not activity.
  s.import_json(R"({"i":{"session_id":"i","created_at":1000}})");
  EXPECT_FALSE(s.read("i").has_value());
  EXPECT_EQ(ids(s), json::array({"m"}));
}

// --- 3. eviction -------------------------------------------------------------------------------------------

TEST(Bounds, MaxSessionsEvictsTheLeastRecentlyWritten) {
  Options o;
  o.max_sessions = 3;
  Store s = Store::open(o);
  for (const char* id : {"a", "b", "c", "a", "d"}) s.upsert<void>(session(id));
  EXPECT_EQ(ids(s), json::array({"a", "c", "d"})) << "b, the least recently written, was evicted";
  EXPECT_FALSE(s.read("b").has_value());
  EXPECT_EQ(removals(s, "evict"), std::vector<std::string>{"agent/b"});
  EXPECT_TRUE(removals(s, "delete").empty());
  // The entry's shape, with sessions too: no "session" or "version" member.
  const json page = s.changes<json>(0);
  for (const json& c : page["changes"]) {
    if (c["op"] == "evict") {
      EXPECT_EQ(c, json({{"seq", c["seq"]}, {"op", "evict"}, {"session_type", "agent"}, {"session_id", "b"}}));
    }
  }
  const json b = s.stats<json>()["bounds"];
  EXPECT_EQ(b["evicted"], 1);
  EXPECT_EQ(b["expired"], 0);
  EXPECT_EQ(b["sessions"], 3);
  EXPECT_EQ(b["max_sessions"], 3);
}

TEST(Bounds, EvictionCrossesTypesAndMirrorsFollowIt) {
  Options o;
  o.max_sessions = 2;
  Store agents = Store::open(o);
  Store teams = agents.share(Mode::Team);
  const auto start = agents.export_with_seq<json>();
  agents.upsert(session("a"));
  teams.upsert(session("t"));
  agents.upsert(session("b"));  // the bound counts every type: "a" goes
  EXPECT_EQ(ids(agents), json::array({"b"}));
  EXPECT_EQ(ids(teams), json::array({"t"}));
  // A mirror that treats "evict" (and "expire") as a delete ends up with the store's sessions.
  json mirror = start.json;
  const json page = agents.changes<json>(start.seq);
  for (const json& c : page["changes"]) {
    if (c["op"] == "upsert") {
      mirror[c["session_id"].get<std::string>()] = c["session"];
    } else if (c["op"] == "delete" || c["op"] == "expire" || c["op"] == "evict") {
      mirror.erase(c["session_id"].get<std::string>());
    }
  }
  EXPECT_EQ(mirror, json::parse(agents.export_json()));
}

TEST(Bounds, AUserQuotaEvictsThatUsersOwn) {
  Options o;
  o.user_max_sessions = 2;
  Store s = Store::open(o);
  s.upsert(session("x1", "u1"));
  s.upsert(session("y1", "u2"));
  s.upsert(session("n1"));  // no user: not counted
  s.upsert(session("x2", "u1"));
  s.upsert(session("x3", "u1"));
  EXPECT_EQ(ids(s), json::array({"y1", "n1", "x2", "x3"}));
  EXPECT_EQ(removals(s, "evict"), std::vector<std::string>{"agent/x1"});
}

TEST(Bounds, MaxBytesIsKeptAndAWriteTooLargeForItIsFull) {
  Options o;
  o.max_bytes = 400;
  Store s = Store::open(o);
  for (int i = 0; i < 20; ++i) {
    s.upsert(json{{"session_id", "s" + std::to_string(i)}, {"pad", std::string(40, 'x')}}.dump());
    const json b = s.stats<json>()["bounds"];
    EXPECT_LE(b["bytes"].get<std::size_t>(), 400u) << b;
  }
  EXPECT_GT(s.stats<json>()["bounds"]["evicted"].get<int>(), 10);
  EXPECT_TRUE(s.read("s19").has_value());
  // Alone larger than the bound: FULL under "evict" too, and nothing changes (no eviction either).
  const std::string before = s.export_json();
  const std::uint64_t latest = s.stats<json>()["feed"]["latest"];
  Error e = expect_error(Status::Full, [&] {
    s.upsert(json{{"session_id", "big"}, {"pad", std::string(500, 'x')}}.dump());
  });
  EXPECT_NE(e.message().find("max_bytes"), std::string_view::npos) << e.what();
  expect_error(Status::Full, [&] { s.append_runs("s19", "[\"" + std::string(500, 'x') + "\"]"); });
  expect_error(Status::Full, [&] { s.rename_session("s19", std::string(500, 'n')); });
  expect_error(Status::Full, [&] {
    s.import_json(R"({"big":)" + json{{"session_id", "big"}, {"pad", std::string(500, 'x')}}.dump() + "}");
  });
  EXPECT_EQ(s.export_json(), before);
  EXPECT_EQ(s.stats<json>()["feed"]["latest"], latest);
}

// --- 4. refusal --------------------------------------------------------------------------------------------

TEST(Bounds, RefuseThrowsFullAndChangesNothing) {
  Options o;
  o.when_full = WhenFull::Refuse;
  o.user_max_sessions = 1;
  Store s = Store::open(o);
  s.upsert(session("s1", "u1"));
  const std::string before = s.export_json();
  const std::uint64_t latest = s.stats<json>()["feed"]["latest"];
  Error e = expect_error(Status::Full, [&] { s.upsert(session("s2", "u1")); });
  EXPECT_EQ(e.status(), SS_STATUS_FULL);
  EXPECT_EQ(static_cast<std::uint32_t>(e.code()), 15u);
  EXPECT_EQ(std::string(e.what()).rfind("sessionstore: FULL: ", 0), 0u) << e.what();
  EXPECT_NE(e.message().find("user_max_sessions"), std::string_view::npos) << e.what();
  EXPECT_NE(e.message().find("u1"), std::string_view::npos) << e.what();
  expect_error(Status::Full, [&] { s.upsert<void>(session("s2", "u1")); });
  expect_error(Status::Full, [&] { s.upsert_if(session("s2", "u1"), 0); });
  expect_error(Status::Full, [&] { s.upsert_many("[" + session("s3", "u3") + "," + session("s4", "u1") + "]"); });
  expect_error(Status::Full, [&] { s.import_json(R"({"s2":)" + session("s2", "u1") + "}"); });
  EXPECT_FALSE(s.read("s2").has_value());
  EXPECT_FALSE(s.read("s3").has_value()) << "a batch is all or nothing";
  EXPECT_EQ(s.export_json(), before);
  EXPECT_EQ(s.stats<json>()["feed"]["latest"], latest) << "no change was numbered";
  EXPECT_EQ(s.stats<json>()["bounds"]["evicted"], 0);
  // Another user's session fits; so does rewriting u1's own (the session a write replaces makes room).
  EXPECT_NO_THROW(s.upsert(session("s3", "u2")));
  EXPECT_NO_THROW(s.upsert(R"({"session_id":"s1","user_id":"u1","n":2})"));
  EXPECT_NO_THROW(s.upsert(session("n1")));  // no user: no quota
  EXPECT_EQ(ids(s), json::array({"s1", "s3", "n1"}));
  // Once u1's session is deleted, u1 has room again.
  EXPECT_EQ(s.delete_session("s1"), 1u);
  EXPECT_NO_THROW(s.upsert(session("s2", "u1")));
}

TEST(Bounds, RefuseKeepsTheStoreBoundsToo) {
  Options o;
  o.when_full = WhenFull::Refuse;
  o.max_sessions = 2;
  Store s = Store::open(o);
  s.upsert(session("a"));
  s.share(Mode::Workflow).upsert(session("w"));
  Error e = expect_error(Status::Full, [&] { s.upsert(session("b")); });
  EXPECT_NE(e.message().find("max_sessions"), std::string_view::npos) << e.what();
  EXPECT_NO_THROW(s.upsert(R"({"session_id":"a","n":1})"));
  EXPECT_EQ(ids(s), json::array({"a"}));
  EXPECT_TRUE(removals(s, "evict").empty());
}

// --- refresh_on_read, and bounds in a durable store --------------------------------------------------------

TEST(Bounds, ReadsGiveASecondChanceWithRefreshOnRead) {
  // Three sessions last written 100, 90 and 80 s ago (imported with those "updated_at"), in a durable
  // store reopened with max_sessions 3: the reopen orders them by "updated_at", so a read now is a read
  // since their last write. Writing a fourth evicts "a" unless a read of it counts.
  const long now = static_cast<long>(std::time(nullptr));
  json data = json::object();
  int age = 100;
  for (const char* id : {"a", "b", "c"}) {
    data[id] = {{"session_id", id}, {"updated_at", now - age}};
    age -= 10;
  }
  enum class Read { None, String, Owned };
  const auto survivors = [&](bool refresh, Read read) {
    BoundsDir dir;
    Options o;
    o.durability = Durability{dir.str()};
    o.max_sessions = 3;
    o.idle_expiry_s = 3600;
    o.refresh_on_read = refresh;
    Store::open(o).import_json(data.dump());
    Store s = Store::open(o);
    if (read == Read::String) {
      EXPECT_TRUE(s.read("a").has_value());  // ss_read_with
    } else if (read == Read::Owned) {
      EXPECT_TRUE(s.read<OwnedString>("a").has_value());  // ss_read
    }
    s.upsert(session("d"));
    return ids(s);
  };
  EXPECT_EQ(survivors(true, Read::String), json::array({"a", "c", "d"}));
  EXPECT_EQ(survivors(true, Read::Owned), json::array({"a", "c", "d"}));
  EXPECT_EQ(survivors(true, Read::None), json::array({"b", "c", "d"}));
  EXPECT_EQ(survivors(false, Read::String), json::array({"b", "c", "d"})) << "reads count only with refresh_on_read";
}

TEST(Bounds, ADurableStoreDoesNotBringBackWhatItEvictedOrWhatExpired) {
  BoundsDir dir;
  Options o;
  o.durability = Durability{dir.str()};
  o.max_sessions = 2;
  o.idle_expiry_s = 3600;
  {
    Store s = Store::open(o);
    for (const char* id : {"a", "b", "c"}) s.upsert(session(id));
    s.import_json(R"({"old":{"session_id":"old","updated_at":1000}})");  // evicts "b", and is expired
    EXPECT_EQ(ids(s), json::array({"c"}));
  }
  Store s = Store::open(o);
  EXPECT_EQ(ids(s), json::array({"c"}));
  EXPECT_FALSE(s.read("a").has_value());
  EXPECT_FALSE(s.read("old").has_value());
  EXPECT_EQ(removals(s, "evict"), (std::vector<std::string>{"agent/a", "agent/b"})) << "journaled";
  const json b = s.stats<json>()["bounds"];
  EXPECT_EQ(b["evicted"], 0) << "counted since the store was opened: " << b;
  EXPECT_EQ(b["max_sessions"], 2);
}
